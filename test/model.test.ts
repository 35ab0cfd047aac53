// The model-based adversarial test of issue 14 (lib/bench/model.ts): random sequences of catalogue changes
// (between runs and between the pages of one sweep), provider and DynamoDB faults, dead stops, concurrent
// inline and fanned-out runs, redeliveries and clock jumps, with the contract's invariants checked after every
// step. The defects of issue 14 not fixed yet are left out by KNOWN_DEFECTS; `npm run soak -- --model` runs
// it long. MODEL_SEED and MODEL_PATH replay a failure; MODEL_RUNS sets the size.
import { describe, expect, it } from "vitest";
import { KNOWN_DEFECTS, runModel } from "../lib/bench/model.ts";

const env = process.env;

describe("model-based adversarial test", () => {
  it("no sequence of changes, faults and overlapping runs breaks the contract", async () => {
    const result = await runModel({
      numRuns: Number(env.MODEL_RUNS ?? 30),
      maxOps: 8,
      ...(env.MODEL_SEED ? { seed: Number(env.MODEL_SEED) } : {}),
      ...(env.MODEL_PATH ? { path: env.MODEL_PATH } : {}),
      known:
        env.MODEL_KNOWN !== undefined ? new Set(env.MODEL_KNOWN.split(",").filter(Boolean).map(Number)) : KNOWN_DEFECTS,
    });
    expect(result.failed, result.report).toBe(false);
  }, 600_000);
});
