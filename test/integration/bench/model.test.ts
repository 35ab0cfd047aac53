// The model-based adversarial test of issue 14 (lib/bench/model.ts): random sequences of catalogue changes
// (between runs and between the pages of one sweep), provider and DynamoDB faults, dead stops, concurrent inline
// and fanned-out runs, redeliveries and clock jumps, with the contract's invariants checked after every step.
// The defects of issue 14 not fixed yet are left out by KNOWN_DEFECTS; `npm run soak -- --model` runs it long.
// MODEL_RUNS sets the size, MODEL_SEED and MODEL_PATH replay a failure (MODEL_SEED=random draws a seed),
// MODEL_KNOWN ("1,2,redelivery-event-id" or "none") replaces the defects left out.
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { BatchWriteCommand, DynamoDBDocumentClient, PutCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  KNOWN_DEFECTS,
  type ModelStack,
  parseDefects,
  runModel,
  runSequence,
  type Sequence,
  startModelStack,
  type Tamper,
} from "../../../lib/bench/model.ts";
import { tableDefinition } from "../../../lib/store/table.ts";

const env = process.env;

describe("model-based adversarial test", () => {
  it("no sequence of changes, faults and overlapping runs breaks the contract", async () => {
    const result = await runModel({
      numRuns: Number(env.MODEL_RUNS ?? 50),
      maxOps: 8,
      // A fixed seed keeps npm test deterministic (the soak explores); MODEL_SEED=random draws one.
      ...(env.MODEL_SEED === "random" ? {} : { seed: Number(env.MODEL_SEED ?? 20261201) }),
      ...(env.MODEL_PATH ? { path: env.MODEL_PATH } : {}),
      known: env.MODEL_KNOWN !== undefined ? parseDefects(env.MODEL_KNOWN) : KNOWN_DEFECTS,
    });
    expect(result.failed, result.report).toBe(false);
  }, 600_000);
});

// The checks themselves can fail: a table changed behind the engine's back after a clean run is caught.
describe("the model's checks", () => {
  let stack: ModelStack;
  beforeAll(async () => {
    stack = await startModelStack();
  });
  afterAll(async () => {
    await stack?.close();
  });
  const inline = { mode: "inline", batch: 0, redelivery: false, db: {} } as const;
  const oneRun: Sequence = { sizes: [6, 0], ops: [{ t: "sync", runs: [{ ...inline }], mid: [], faults: [] }] };
  const images = async (ctx: Parameters<Tamper>[0]) =>
    ((await ctx.raw.send(new ScanCommand({ TableName: ctx.table }))).Items ?? []).filter((i) => i.itemType === "image");

  it("a clean sequence passes", async () => {
    expect((await runSequence(stack, oneRun)).violations).toEqual([]);
  });

  it("an image deprecated as missing while the provider listed it breaks C1, C2 and C3", async () => {
    const result = await runSequence(stack, oneRun, KNOWN_DEFECTS, async (ctx) => {
      const img = (await images(ctx))[0] as Record<string, unknown>;
      await ctx.raw.send(
        new PutCommand({ TableName: ctx.table, Item: { ...img, state: "deprecated", deprecationReason: "missing" } }),
      );
    });
    const broken = result.violations.map((v) => v.slice(0, 2));
    expect(broken).toEqual(expect.arrayContaining(["C1", "C2", "C3"]));
  });

  it("a lease left held by a run that ended breaks C6", async () => {
    const result = await runSequence(stack, oneRun, KNOWN_DEFECTS, async (ctx) => {
      await ctx.raw.send(
        new PutCommand({
          TableName: ctx.table,
          Item: {
            PK: "LEASES",
            SK: "vm",
            itemType: "lease",
            "S#Z1": { owner: `${ctx.runIds[0]}/00000000`, until: Date.now() + 60_000 },
          },
        }),
      );
    });
    expect(result.violations.some((v) => v.startsWith("C6"))).toBe(true);
  });

  it("a change written but never handed to onChanges breaks C5 (once defect 8 is fixed)", async () => {
    const result = await runSequence(stack, oneRun, new Set([...KNOWN_DEFECTS].filter((d) => d !== 8)), async (ctx) => {
      const img = (await images(ctx))[0] as Record<string, unknown> & { rev: number };
      await ctx.raw.send(new PutCommand({ TableName: ctx.table, Item: { ...img, rev: img.rev + 1 } }));
    });
    expect(result.violations.some((v) => v.startsWith("C5"))).toBe(true);
  });
});

// Found by the long model run (seed 9003, sequence 2,439, check C8): a run that died after its k-th write had its
// next write already on the way; it landed after the step's snapshot, so the next step judged it as a write of
// the run's redelivery (same run id). The proxy now lets the model wait until nothing is in flight.
describe("the model's DynamoDB proxy", () => {
  let stack: ModelStack;
  beforeAll(async () => {
    stack = await startModelStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("a dead run's write already on its way has landed once the proxy is quiet", async () => {
    const table = `wire-quiet-${process.pid}`;
    await stack.raw.send(new CreateTableCommand(tableDefinition(table)));
    const endpoint = stack.wire.endpointFor("quiet-probe", { dieAfterWrite: 1 });
    const client = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        region: "us-east-1",
        endpoint,
        credentials: { accessKeyId: "local", secretAccessKey: "local" },
        maxAttempts: 1,
      }),
    );
    const big = "x".repeat(30_000);
    const batch = Array.from({ length: 25 }, (_, i) => ({ PutRequest: { Item: { PK: "b", SK: String(i), big } } }));
    // A small write and a large one at once: the small one lands first and kills the run.
    const sent = [
      client.send(new PutCommand({ TableName: table, Item: { PK: "a", SK: "0" } })),
      client.send(new BatchWriteCommand({ RequestItems: { [table]: batch } })),
    ];
    for (const s of sent) s.catch(() => undefined);
    await stack.wire.run("quiet-probe")?.died;
    await stack.wire.quiet();
    const items = (await stack.raw.send(new ScanCommand({ TableName: table }))).Items ?? [];
    expect(stack.wire.run("quiet-probe")?.writes).toBe(2);
    expect(items.length).toBe(26);
    client.destroy();
    stack.wire.dropHeld();
  });
});
