// Scale-out planning (pure): when the configured scopes need more than one invocation's time budget, the
// scheduled sync fans scope sweeps out to workers through SQS. This module estimates each scope's sweep
// time from what the last sweep saw and the provider's limits, and packs scopes into batches that each fit
// one worker invocation. A batch never mixes accounts, and its id is stable for the same scopes, so the
// lease that keeps two runs off the same scopes works per batch exactly as it does per account inline.
import { createHash } from "node:crypto";
import type { ApiId } from "../model.ts";

export interface ScopeEstimateInput {
  account: string;
  api: ApiId;
  scope: string;
  /** Images the last complete sweep saw (0 when never swept). */
  knownImages: number;
}

export interface PlanOptions {
  /** Seconds one worker may spend sweeping (the Lambda timeout less a safety reserve). */
  budgetSeconds: number;
  /** Typical provider round trip. */
  latencyMs: number;
  /** Pages in flight per scope. */
  pageConcurrency: number;
  /** Scopes swept at once inside one worker. */
  scopeConcurrency: number;
  /** Workers running at once (the SQS event source's maximum concurrency). */
  workerConcurrency: number;
  /** Requests per second per scope, by API. */
  requestsPerSecond: (api: ApiId) => number;
  /** Maximum page size by API (null: unpaged). */
  maxPageSize: (api: ApiId) => number | null;
  /** Sub-listings per scope (tencent-cvm-v2 walks four image types). */
  parts: (api: ApiId) => number;
  /** Seconds of DynamoDB work per image read or written, from the benchmark. */
  storeSecondsPerImage: number;
  /** Fixed seconds per scope (status read and write, lease, pointers). */
  scopeOverheadSeconds: number;
}

export interface Batch {
  id: string;
  account: string;
  scopes: string[];
  estimatedSeconds: number;
}

export interface Plan {
  batches: Batch[];
  /** True when everything fits one invocation: no fan-out needed. */
  inline: boolean;
  totalScopes: number;
  estimatedSweepSeconds: number;
  /** Wall time expected with `workerConcurrency` workers (longest-processing-time scheduling). */
  expectedDurationSeconds: number;
}

/** Seconds to sweep one scope: its pages paced by the rate limit or the latency, plus store work. */
export function estimateScopeSeconds(s: ScopeEstimateInput, o: PlanOptions): number {
  const size = o.maxPageSize(s.api);
  const parts = o.parts(s.api);
  const requests = size === null ? 1 : parts * Math.max(1, Math.ceil(s.knownImages / parts / size));
  const byRate = requests / o.requestsPerSecond(s.api);
  const byLatency = ((o.latencyMs / 1000) * requests) / Math.max(1, o.pageConcurrency) + o.latencyMs / 1000;
  return Math.max(byRate, byLatency) + s.knownImages * o.storeSecondsPerImage + o.scopeOverheadSeconds;
}

export function planSweeps(scopes: readonly ScopeEstimateInput[], o: PlanOptions): Plan {
  const withTime = scopes.map((s) => ({ ...s, seconds: estimateScopeSeconds(s, o) }));
  const byAccount = new Map<string, typeof withTime>();
  for (const s of withTime) byAccount.set(s.account, [...(byAccount.get(s.account) ?? []), s]);

  const batches: Batch[] = [];
  for (const [account, list] of [...byAccount].sort(([a], [b]) => (a < b ? -1 : 1))) {
    // First-fit decreasing on each batch's scopeConcurrency lanes: a batch's time is its busiest lane.
    const sorted = [...list].sort((a, b) => b.seconds - a.seconds || (a.scope < b.scope ? -1 : 1));
    const open: Array<{ scopes: typeof sorted; lanes: number[] }> = [];
    for (const s of sorted) {
      let placed = false;
      for (const b of open) {
        const lane = b.lanes.indexOf(Math.min(...b.lanes));
        if ((b.lanes[lane] as number) + s.seconds <= o.budgetSeconds) {
          b.lanes[lane] = (b.lanes[lane] as number) + s.seconds;
          b.scopes.push(s);
          placed = true;
          break;
        }
      }
      if (!placed) {
        const lanes = Array.from({ length: Math.max(1, o.scopeConcurrency) }, () => 0);
        lanes[0] = s.seconds; // a scope larger than the budget still gets a batch of its own
        open.push({ scopes: [s], lanes });
      }
    }
    for (const b of open) {
      const names = b.scopes.map((s) => s.scope).sort();
      batches.push({
        id: `${account}#${createHash("sha256").update(names.join("\u0000")).digest("hex").slice(0, 12)}`,
        account,
        scopes: names,
        estimatedSeconds: Math.max(...b.lanes),
      });
    }
  }

  // Expected wall time: longest batches first onto the least loaded of the workers.
  const workers = Array.from({ length: Math.max(1, o.workerConcurrency) }, () => 0);
  for (const b of [...batches].sort((a, b) => b.estimatedSeconds - a.estimatedSeconds)) {
    const w = workers.indexOf(Math.min(...workers));
    workers[w] = (workers[w] as number) + b.estimatedSeconds;
  }
  // Inline means one invocation sweeping every scope with its own lanes fits the budget.
  const lanes = Array.from({ length: Math.max(1, o.scopeConcurrency) }, () => 0);
  for (const s of [...withTime].sort((a, b) => b.seconds - a.seconds)) {
    const l = lanes.indexOf(Math.min(...lanes));
    lanes[l] = (lanes[l] as number) + s.seconds;
  }
  return {
    batches,
    inline: Math.max(...lanes) <= o.budgetSeconds,
    totalScopes: scopes.length,
    estimatedSweepSeconds: withTime.reduce((n, s) => n + s.seconds, 0),
    expectedDurationSeconds: Math.max(...workers),
  };
}
