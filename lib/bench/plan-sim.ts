// A local simulation of fan-out planning (`npm run plan:sim [-- --scopes 10000]`): a synthetic fleet of
// scopes sized like the emulator's (Zenlayer zones of 300-2600 images, Tencent regions of 90-450), planned
// for a 900 s Lambda with the sync's 120 s reserve, printing the batch counts and the expected duration.
import { parseArgs } from "node:util";
import { createRng } from "../emulator/rng.ts";
import type { ApiId } from "../model.ts";
import { defaultPlanOptions } from "../sync/fanout.ts";
import { planSweeps, type ScopeEstimateInput } from "../sync/plan.ts";
import { formatDuration, renderTable } from "../sync/summary.ts";

const { values } = parseArgs({
  options: { scopes: { type: "string", default: "10000" }, workers: { type: "string", default: "20" } },
});
const n = Number(values.scopes);
const rng = createRng(7);
const apis: Array<[ApiId, number, number]> = [
  ["zenlayer-zec", 450, 2600],
  ["zenlayer-vm", 300, 1500],
  ["tencent-cvm", 160, 450],
  ["tencent-image-v2", 120, 260],
  ["tencent-cvm-v2", 90, 220],
];
const input: ScopeEstimateInput[] = Array.from({ length: n }, (_, i) => {
  const [api, lo, hi] = rng.pick(apis);
  return { account: `${api}-acct${i % 25}`, api, scope: `scope-${i}`, knownImages: rng.int(lo, hi) };
});
const rows: string[][] = [];
for (const workers of [1, 5, Number(values.workers), 50]) {
  const plan = planSweeps(input, defaultPlanOptions(780, workers));
  const sizes = plan.batches.map((b) => b.scopes.length);
  rows.push([
    String(n),
    String(workers),
    plan.inline ? "inline" : "fan-out",
    String(plan.batches.length),
    `${Math.min(...sizes)}-${Math.max(...sizes)}`,
    formatDuration(plan.estimatedSweepSeconds * 1000),
    formatDuration(plan.expectedDurationSeconds * 1000),
  ]);
}
process.stdout.write(
  `${renderTable(["scopes", "workers", "mode", "batches", "scopes/batch", "sweep work", "expected duration"], rows)}\n`,
);
