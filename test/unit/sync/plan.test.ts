import { describe, expect, it } from "vitest";
import type { AccountConfig } from "../../../lib/config.ts";
import type { ScopeStatus } from "../../../lib/model.ts";
import { sweepOrder } from "../../../lib/sync/engine.ts";
import { defaultPlanOptions } from "../../../lib/sync/fanout.ts";
import { estimateScopeSeconds, planSweeps, type ScopeEstimateInput } from "../../../lib/sync/plan.ts";

const scopes = (n: number, images: number, account = "acct", api: ScopeEstimateInput["api"] = "tencent-cvm") =>
  Array.from({ length: n }, (_, i) => ({ account, api, scope: `r${i}`, knownImages: images }));

describe("planSweeps", () => {
  it("keeps a small configuration inline: no fan-out", () => {
    const plan = planSweeps(scopes(20, 300), defaultPlanOptions(780, 10));
    expect(plan.inline).toBe(true);
  });

  it("packs 10,000 scopes into batches that each fit the budget, one account per batch, every scope once", () => {
    const input = [...scopes(6000, 800, "tc"), ...scopes(4000, 2500, "zl", "zenlayer-zec")];
    const o = defaultPlanOptions(780, 20);
    const plan = planSweeps(input, o);
    expect(plan.inline).toBe(false);
    const seen = plan.batches.flatMap((b) => b.scopes.map((s) => `${b.account}#${s}`));
    expect(new Set(seen).size).toBe(10_000);
    expect(plan.batches.every((b) => b.estimatedSeconds <= 780)).toBe(true);
    expect(
      plan.batches.every(
        (b) => input.filter((s) => s.account === b.account && b.scopes.includes(s.scope)).length === b.scopes.length,
      ),
    ).toBe(true);
    // Total work spread over 20 workers: no better than a perfect split, not far from it.
    const perfect = plan.estimatedSweepSeconds / o.scopeConcurrency / 20;
    expect(plan.expectedDurationSeconds).toBeGreaterThanOrEqual(perfect * 0.99);
    expect(plan.expectedDurationSeconds).toBeLessThan(perfect * 1.5 + 780);
  });

  it("gives batches stable ids for the same scopes, whatever their order", () => {
    const o = defaultPlanOptions(60, 5);
    const a = planSweeps(scopes(300, 3000), o)
      .batches.map((b) => b.id)
      .sort();
    const b = planSweeps(scopes(300, 3000).reverse(), o)
      .batches.map((x) => x.id)
      .sort();
    expect(a).toEqual(b);
  });

  it("estimates a scope by its rate limit or its latency, whichever binds", () => {
    const o = defaultPlanOptions(780, 1);
    const big = estimateScopeSeconds({ account: "a", api: "tencent-cvm", scope: "r", knownImages: 10_000 }, o);
    expect(big).toBeGreaterThanOrEqual(100 / 40); // 100 pages at 40 requests/s
    const one = estimateScopeSeconds({ account: "a", api: "zenlayer-bmc", scope: "global", knownImages: 60 }, o);
    expect(one).toBeLessThan(0.2);
  });
});

describe("sweepOrder", () => {
  const account = (name: string, api: AccountConfig["api"]): AccountConfig => ({
    name,
    api,
    credentials: { secretId: "x", secretKey: "y" },
  });
  const tc = account("tc", "tencent-cvm");
  const zl = account("zl", "zenlayer-zec");
  const status = (acct: AccountConfig, scope: string, patch: Partial<ScopeStatus>): ScopeStatus => ({
    account: acct.name,
    api: acct.api,
    scope,
    lastRunId: "20260301T001500Z-aaaaaa",
    lastAttemptAt: "2026-03-01T00:15:40.000Z",
    lastOutcome: "complete",
    lastCompleteAt: "2026-03-01T00:15:40.000Z",
    baselineAt: "2026-01-01T00:00:00.000Z",
    lastError: null,
    counts: { active: 0, deprecated: 0 },
    heldDeprecations: null,
    partCounts: {},
    ...patch,
  });

  it("never-swept and stale scopes first; among those one run completed, the longest sweep first", () => {
    const statuses = new Map(
      [
        // Completed early in the last run, but small: 2 pages at 40/s.
        status(tc, "small", { lastCompleteAt: "2026-03-01T00:15:01.000Z", partCounts: { "*": 150 } }),
        // Completed late in the same run: 6 pages at 20/s, the longest.
        status(zl, "big", { lastCompleteAt: "2026-03-01T00:16:30.000Z", partCounts: { "*": 5200 } }),
        // 9 pages at 40/s.
        status(tc, "mid", { lastCompleteAt: "2026-03-01T00:15:20.000Z", partCounts: { "*": 900 } }),
        // Failed in the last run: last complete in the run before.
        status(tc, "failed", {
          lastOutcome: "failed",
          lastCompleteAt: "2026-03-01T00:00:30.000Z",
          partCounts: { "*": 10 },
        }),
      ].map((s) => [`${s.account}#${s.scope}`, s]),
    );
    const tasks = [
      { account: tc, scope: "small" },
      { account: zl, scope: "big" },
      { account: tc, scope: "mid" },
      { account: tc, scope: "failed" },
      { account: tc, scope: "new" },
    ];
    sweepOrder(tasks, statuses);
    expect(tasks.map((t) => t.scope)).toEqual(["new", "failed", "big", "mid", "small"]);
  });
});
