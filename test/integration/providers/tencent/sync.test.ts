// The engine end to end: the three Tencent dialects over real HTTP against the emulator, into dynalite.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiId } from "../../../../lib/model.ts";
import { type Stack, startStack } from "../../../helpers/stack.ts";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ scale: 0.5 });
});
afterAll(async () => {
  await stack?.close();
});

const records = (api: ApiId, scope: string) => stack.emulator.catalogue.get(api)?.get(scope) ?? [];

describe("sync of every Tencent dialect", () => {
  it("tencent-cvm pages at 100 with requests = ceil(n / 100) and normalises onto the common model", async () => {
    const store = await stack.freshStore();
    const n = records("tencent-cvm", "ap-guangzhou").length;
    expect(n).toBeGreaterThan(200);
    stack.emulator.stats.reset();
    const r = await stack.sync(
      stack.config(["tencent-cvm"], () => ({ scopes: ["ap-guangzhou"] })),
      { store },
    );
    // A first sync of more than one page is confirmed by a second sweep (lib/sync/confirm.ts).
    const pages = Array.from({ length: Math.ceil(n / 100) }, (_, i) => i + 1);
    expect(r.scopes[0]).toMatchObject({ status: "complete", fetched: n, added: n, requests: 2 * pages.length });
    expect(stack.emulator.stats.log.map((l) => l.pageNumber)).toEqual([...pages, ...pages]);
    const all = await store.listImages({ account: "tencent-cvm", scope: "ap-guangzhou", all: true });
    expect(all).toHaveLength(n);
    const sample = all.find((i) => i.raw.ImageState === "NORMAL" && i.raw.ImageDeprecated === false);
    expect(sample).toMatchObject({ provider: "tencent", state: "active", available: true, status: "NORMAL" });
    expect(sample?.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
    expect(["public", "custom", "shared", "marketplace"]).toContain(sample?.imageType);
    // CREATEFAILED and ImageDeprecated images are stored as deprecated from the start.
    for (const i of all.filter((x) => x.raw.ImageState === "CREATEFAILED" || x.raw.ImageDeprecated === true)) {
      expect(i.state).toBe("deprecated");
    }
  });

  it("tencent-image-v2 syncs a region over the legacy GET signature with both request-id spellings", async () => {
    const store = await stack.freshStore();
    const n = records("tencent-image-v2", "ap-guangzhou").length;
    const r = await stack.sync(
      stack.config(["tencent-image-v2"], () => ({ scopes: ["ap-guangzhou"] })),
      { store },
    );
    // Two sweeps: a first sync of more than one page is confirmed (lib/sync/confirm.ts).
    expect(r.scopes[0]).toMatchObject({ status: "complete", fetched: n, requests: 2 * Math.ceil(n / 100) });
    const second = await stack.sync(
      stack.config(["tencent-image-v2"], () => ({ scopes: ["ap-guangzhou"] })),
      { store },
    );
    expect(second.scopes[0]).toMatchObject({ status: "complete", added: 0, updated: 0, deprecated: 0, writes: 0 });
  });

  it("tencent-cvm-v2 walks imageType 1 to 4, each paged at 100 and checked on its own", async () => {
    const store = await stack.freshStore();
    const list = records("tencent-cvm-v2", "gz");
    const perType = [1, 2, 3, 4].map((t) => list.filter((x) => x.imageType === t).length);
    const expected = perType.reduce((sum, k) => sum + Math.max(1, Math.ceil(k / 100)), 0);
    stack.emulator.stats.reset();
    const r = await stack.sync(
      stack.config(["tencent-cvm-v2"], () => ({ scopes: ["gz"] })),
      { store },
    );
    // Two sweeps: a first sync of more than one page is confirmed (lib/sync/confirm.ts).
    expect(r.scopes[0]).toMatchObject({ status: "complete", fetched: list.length, requests: 2 * expected });
    expect(new Set(stack.emulator.stats.log.map((l) => l.part))).toEqual(new Set(["1", "2", "3", "4"]));
    // A failure in one image type marks the whole region incomplete... or failed: nothing changes.
    list.splice(0, 3);
    stack.emulator.inject({
      match: { api: "tencent-cvm-v2", part: "4" },
      times: Number.POSITIVE_INFINITY,
      action: { type: "failure", failure: "internal" },
    });
    try {
      const failed = await stack.sync(
        stack.config(["tencent-cvm-v2"], () => ({ scopes: ["gz"] })),
        { store },
      );
      expect(failed.scopes[0]).toMatchObject({ status: "failed", deprecated: 0, writes: 0 });
      expect(failed.scopes[0]?.error?.code).toBe("6000");
    } finally {
      stack.emulator.clearFaults();
    }
  });

  it("throttling answered with RequestLimitExceeded is retried, then succeeds", async () => {
    const store = await stack.freshStore();
    stack.emulator.inject({
      match: { api: "tencent-cvm", scope: "ap-singapore" },
      times: 2,
      action: { type: "failure", failure: "throttle" },
    });
    const r = await stack.sync(
      stack.config(["tencent-cvm"], () => ({ scopes: ["ap-singapore"] })),
      { store },
    );
    const n = records("tencent-cvm", "ap-singapore").length;
    expect(r.scopes[0]).toMatchObject({ status: "complete", fetched: n, requests: Math.ceil(n / 100) + 2 });
    expect(
      stack.emulator.stats.log.filter((l) => l.scope === "ap-singapore" && l.status === 200).length,
    ).toBeGreaterThan(0);
  });

  it("an error inside HTTP 200 is surfaced with the provider's code and request id, naming account and region", async () => {
    const store = await stack.freshStore();
    stack.emulator.inject({
      match: { api: "tencent-cvm", scope: "ap-beijing", pageNumber: 2 },
      action: {
        type: "http",
        status: 200,
        body: JSON.stringify({
          Response: {
            Error: { Code: "InvalidParameterValue.InvalidImageState", Message: "bad state" },
            RequestId: "req-0000-beijing",
          },
        }),
      },
    });
    const r = await stack.sync(
      stack.config(["tencent-cvm"], () => ({ scopes: ["ap-beijing"] })),
      { store },
    );
    expect(r.scopes[0]?.status).toBe("failed");
    expect(r.scopes[0]?.error).toMatchObject({
      code: "InvalidParameterValue.InvalidImageState",
      requestId: "req-0000-beijing",
    });
    expect(r.scopes[0]?.error?.message).toMatch(/account tencent-cvm.*scope ap-beijing/);
    expect(await store.listImages({ account: "tencent-cvm", scope: "ap-beijing", all: true })).toEqual([]);
  });

  it("a bad signature is rejected with AuthFailure and never retried; the key appears nowhere", async () => {
    const store = await stack.freshStore();
    const wrongKey = "not-the-secret-key-0123456789";
    for (const api of ["tencent-cvm", "tencent-image-v2", "tencent-cvm-v2"] as const) {
      const scope = api === "tencent-cvm-v2" ? "sh" : api === "tencent-cvm" ? "ap-shanghai" : "ap-hongkong";
      const cfg = stack.config([api], () => ({
        scopes: [scope],
        credentials: { secretId: stack.emulator.credentials.tencent.secretId, secretKey: wrongKey },
      }));
      stack.emulator.stats.reset();
      const r = await stack.sync(cfg, { store });
      expect(r.scopes[0]).toMatchObject({ status: "failed" });
      // tencent-cvm-v2 lists its four image types at once, so up to four first requests may be in flight
      // when the first fails; none is ever sent twice.
      const sent = stack.emulator.stats.log.filter((q) => q.api === api && q.action === "DescribeImages");
      expect(sent.length).toBeLessThanOrEqual(api === "tencent-cvm-v2" ? 4 : 1);
      expect(new Set(sent.map((q) => `${q.part}#${q.pageNumber}`)).size).toBe(sent.length);
      expect(r.scopes[0]?.error?.code).toMatch(api === "tencent-cvm-v2" ? /^4100$/ : /^AuthFailure\.SignatureFailure$/);
      expect(JSON.stringify(r)).not.toContain(wrongKey);
    }
  });

  it("regions come from DescribeRegions when the account lists none", async () => {
    const store = await stack.freshStore();
    const r = await stack.sync(stack.config(["tencent-cvm"]), { store });
    expect(r.ok).toBe(true);
    const scopes = new Set(r.scopes.map((s) => s.scope));
    for (const region of stack.emulator.catalogue.get("tencent-cvm")?.keys() ?? [])
      expect(scopes.has(region)).toBe(true);
  });
});
