import { describe, expect, it } from "vitest";
import { defaultPlanOptions } from "../lib/sync/fanout.ts";
import { estimateScopeSeconds, planSweeps, type ScopeEstimateInput } from "../lib/sync/plan.ts";

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
