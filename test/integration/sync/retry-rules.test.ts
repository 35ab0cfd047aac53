// The one retry rule (lib/sync/retry.ts, README "Reliability"): the same for every dialect, Retry-After
// honoured in full, and a wait that would pass the deadline fails the scope at once instead of sleeping.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProviderError } from "../../../lib/errors.ts";
import type { ApiId } from "../../../lib/model.ts";
import { backoffDelay, DEFAULT_RETRY, withDeadline, withRetry } from "../../../lib/sync/retry.ts";
import { type Stack, startStack } from "../../helpers/stack.ts";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ scale: 0.1 });
});
afterAll(async () => {
  await stack?.close();
});

const throttled = (retryAfterMs: number) =>
  new ProviderError("REQUEST_LIMIT_EXCEEDED", "slow down", { retryable: true, context: { retryAfterMs } });

describe("the retry rule", () => {
  it("waits the whole Retry-After, however long", () => {
    expect(backoffDelay(DEFAULT_RETRY, 1, 0.5, 60_000)).toBe(60_000);
    expect(backoffDelay(DEFAULT_RETRY, 3, 0.999, 120_000)).toBe(120_000);
    expect(backoffDelay(DEFAULT_RETRY, 3, 0.999, 0)).toBe(1_998);
  });

  it("sleeps a long Retry-After in full when there is time for it", async () => {
    const slept: number[] = [];
    let n = 0;
    const deps = withDeadline({ sleep: async (ms) => void slept.push(ms), random: () => 0 }, () => 300_000);
    const out = await withRetry(
      async () => {
        if (++n === 1) throw throttled(90_000);
        return "ok";
      },
      DEFAULT_RETRY,
      deps,
    );
    expect([out, slept]).toEqual(["ok", [90_000]]);
  });

  it("fails at once with RETRY_DEADLINE when the wait would pass the deadline", async () => {
    const slept: number[] = [];
    let n = 0;
    const deps = withDeadline({ sleep: async (ms) => void slept.push(ms), random: () => 0 }, () => 5_000);
    const err = await withRetry(
      async () => {
        n++;
        throw throttled(10_000);
      },
      DEFAULT_RETRY,
      deps,
    ).catch((e: ProviderError) => e);
    expect(err).toMatchObject({ code: "RETRY_DEADLINE", retryable: false });
    expect((err as Error).message).toContain("10000 ms");
    expect((err as Error).message).toContain("REQUEST_LIMIT_EXCEEDED");
    expect([n, slept]).toEqual([1, []]);
  });
});

describe("a Retry-After longer than the time left, over real HTTP", () => {
  it("fails the scope at once with RETRY_DEADLINE, deprecating nothing", async () => {
    const store = await stack.freshStore();
    const config = stack.config(["zenlayer-vm"]);
    const account = config.accounts[0];
    if (!account) throw new Error("no zenlayer-vm account");
    const scope = [...(stack.emulator.catalogue.get("zenlayer-vm")?.keys() ?? [])][0] as string;
    const one = { accounts: [{ ...account, scopes: [scope] }] };
    expect((await stack.sync(one, { store })).ok).toBe(true);
    stack.emulator.inject({
      match: { api: "zenlayer-vm", action: "DescribeImages", scope },
      times: 1,
      action: { type: "failure", failure: "throttle", retryAfterSeconds: 600 },
    });
    const slept: number[] = [];
    const started = Date.now();
    try {
      const r = await stack.sync(one, {
        store,
        retryDeps: withDeadline({ sleep: async (ms) => void slept.push(ms), random: () => 0 }, () => 60_000),
      });
      expect(r.scopes[0]).toMatchObject({ status: "failed", deprecated: 0, requests: 1 });
      expect(r.scopes[0]?.error?.code).toBe("RETRY_DEADLINE");
      expect(r.scopes[0]?.error?.message).toContain("600000 ms");
      expect(slept).toEqual([]);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect((await store.listImages({ account: account.name, scope })).length).toBeGreaterThan(0);
    } finally {
      stack.emulator.clearFaults();
    }
  });
});

/** A provider's failure envelope at HTTP 503 with a code no list names. */
const UNKNOWN_5XX: Record<string, string> = {
  "tencent-cvm": JSON.stringify({
    Response: { Error: { Code: "ResourceUnavailable.Maintenance", Message: "later" }, RequestId: "r-1" },
  }),
  "tencent-image-v2": JSON.stringify({
    Response: { Error: { Code: "ResourceUnavailable.Maintenance", Message: "later" }, RequestId: "r-1" },
  }),
  "tencent-cvm-v2": JSON.stringify({ code: 5100, message: "later", codeDesc: "Maintenance" }),
  "zenlayer-vm": JSON.stringify({ requestId: "r-1", code: "RESOURCE_MAINTENANCE", message: "later" }),
};

describe("HTTP 5xx with an unknown error code, over real HTTP", () => {
  it.each(Object.keys(UNKNOWN_5XX))("is retried by %s and the sweep completes", async (api) => {
    const store = await stack.freshStore();
    const config = stack.config([api as ApiId]);
    const account = config.accounts[0];
    if (!account) throw new Error(`no ${api} account`);
    const scope = [...(stack.emulator.catalogue.get(api as ApiId)?.keys() ?? [])][0] as string;
    const one = { accounts: [{ ...account, scopes: [scope] }] };
    stack.emulator.inject({
      match: { api: api as ApiId, action: "DescribeImages", scope },
      times: 1,
      action: { type: "http", status: 503, body: UNKNOWN_5XX[api] as string },
    });
    try {
      const r = await stack.sync(one, { store });
      expect(r.scopes[0]).toMatchObject({ status: "complete" });
      expect(r.scopes[0]?.fetched).toBeGreaterThan(0);
    } finally {
      stack.emulator.clearFaults();
    }
  });

  it("an auth failure at HTTP 5xx is still not retried", async () => {
    const store = await stack.freshStore();
    const config = stack.config(["tencent-cvm"]);
    const account = config.accounts[0];
    if (!account) throw new Error("no tencent-cvm account");
    const scope = [...(stack.emulator.catalogue.get("tencent-cvm")?.keys() ?? [])][0] as string;
    stack.emulator.inject({
      match: { api: "tencent-cvm", action: "DescribeImages", scope },
      times: 1,
      action: {
        type: "http",
        status: 500,
        body: JSON.stringify({
          Response: { Error: { Code: "AuthFailure.SignatureFailure", Message: "no" }, RequestId: "r-2" },
        }),
      },
    });
    try {
      const r = await stack.sync({ accounts: [{ ...account, scopes: [scope] }] }, { store });
      expect(r.scopes[0]).toMatchObject({ status: "failed", requests: 1 });
      expect(r.scopes[0]?.error?.code).toBe("AuthFailure.SignatureFailure");
    } finally {
      stack.emulator.clearFaults();
    }
  });
});
