// Recovery of lost events: `image-sync republish` rebuilds the change events, pointer moves and history of a
// run or window from the table and publishes them through the stream consumer's code, to the EventBridge
// stand-in over dynalite. A run whose events and history were lost comes back with the same event ids.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DeleteCommand, DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "../../../lib/cli.ts";
import { type LocalEventBridge, startLocalEventBridge } from "../../helpers/eventbridge.ts";
import { type Stack, startStack } from "../../helpers/stack.ts";

let stack: Stack;
let bridge: LocalEventBridge;
let dir: string;
let doc: DynamoDBDocumentClient;
const table = "republish";
const APIS = ["zenlayer-zec", "tencent-cvm"] as const;

interface Delivered {
  "detail-type": string;
  detail: { eventId: string; runId: string; detectedAt: string };
}

const env = () => ({
  DYNAMODB_ENDPOINT: stack.dynamo.endpoint,
  TABLE_NAME: table,
  EVENT_BUS_NAME: "image-sync-test",
  EVENTBRIDGE_ENDPOINT: bridge.endpoint,
});

async function cli(args: string[]) {
  let stdout = "";
  let stderr = "";
  const code = await main(args, {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    env: env(),
  });
  return { code, stdout, stderr };
}

/** A CLI sync (which runs the stream consumer locally: events to a file, history to the table). */
async function sync(name: string): Promise<Delivered[]> {
  const events = join(dir, `${name}.jsonl`);
  const out = await cli(["sync", "--config", join(dir, "config.json"), "--events", events]);
  expect(out.code, out.stderr).toBe(0);
  return readFileSync(events, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Delivered);
}

async function historyItems(runId?: string): Promise<Record<string, unknown>[]> {
  const day = `HIST#${new Date().toISOString().slice(0, 10)}`;
  const out = await doc.send(
    new QueryCommand({
      TableName: table,
      KeyConditionExpression: "PK = :pk",
      ExpressionAttributeValues: { ":pk": day },
    }),
  );
  return (out.Items ?? []).filter((i) => runId === undefined || i.runId === runId);
}

/** What the bus received from one republish, as (detail type, event id) pairs. */
async function republished(args: string[]) {
  bridge.accepted.length = 0;
  const out = await cli(["republish", ...args, "--json"]);
  expect(out.code, out.stderr).toBe(0);
  const ids = bridge.accepted.map((e) => `${e.DetailType}|${(JSON.parse(e.Detail) as { eventId: string }).eventId}`);
  return { result: JSON.parse(out.stdout), ids: ids.sort(), details: bridge.accepted.map((e) => JSON.parse(e.Detail)) };
}

const idsOf = (events: readonly Delivered[]) => events.map((e) => `${e["detail-type"]}|${e.detail.eventId}`).sort();

beforeAll(async () => {
  [stack, bridge] = await Promise.all([startStack({ scale: 0.1 }), startLocalEventBridge()]);
  dir = mkdtempSync(join(tmpdir(), "image-sync-republish-"));
  writeFileSync(
    join(dir, "config.json"),
    JSON.stringify(
      stack.config([...APIS], (a) => ({
        scopes: [...(stack.emulator.catalogue.get(a.api)?.keys() ?? [])].slice(0, 3),
      })),
    ),
  );
  doc = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: stack.dynamo.endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    }),
  );
  // The EventBridge client reads its region and credentials from the process environment.
  vi.stubEnv("AWS_REGION", "eu-central-1");
  vi.stubEnv("AWS_ACCESS_KEY_ID", "local");
  vi.stubEnv("AWS_SECRET_ACCESS_KEY", "local");
}, 60_000);

afterAll(async () => {
  vi.unstubAllEnvs();
  doc?.destroy();
  await Promise.all([stack?.close(), bridge?.close()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("image-sync republish", () => {
  let delivered: Delivered[];
  let lost: Delivered[];
  let lostRun: string;
  let deliveredHistory: Record<string, unknown>[];

  it("re-publishes a run whose events and history were lost, with the same event ids, and records its history again", async () => {
    expect(await sync("baseline")).toEqual([]);
    stack.emulator.drift({ add: 4, remove: 3, unusable: 2, seed: 11, apis: [...APIS] });
    delivered = await sync("delivered");
    deliveredHistory = await historyItems(delivered[0]?.detail.runId);
    expect(deliveredHistory.length).toBeGreaterThan(0);
    stack.emulator.drift({ add: 5, remove: 2, unusable: 1, seed: 12, apis: [...APIS] });
    lost = await sync("lost");
    lostRun = lost[0]?.detail.runId as string;
    expect(lost.length).toBeGreaterThan(5);
    // The consumer "crashed": the events never reached the bus, and the history items are gone too.
    const lostHistory = await historyItems(lostRun);
    expect(lostHistory.length).toBeGreaterThan(0);
    for (const item of lostHistory)
      await doc.send(new DeleteCommand({ TableName: table, Key: { PK: item.PK, SK: item.SK } }));
    expect(await historyItems(lostRun)).toEqual([]);

    const again = await republished(["--run", lostRun]);
    expect(again.ids).toEqual(idsOf(lost));
    expect(again.result).toMatchObject({ failed: 0 });
    expect(again.details.every((d) => d.runId === lostRun)).toBe(true);
    // The history items are back, under the same keys (detectedAt and event id).
    const keys = (items: Record<string, unknown>[]) => items.map((i) => `${i.PK}|${i.SK}`).sort();
    expect(keys(await historyItems(lostRun))).toEqual(keys(lostHistory));
  });

  it("is idempotent: a second republish sends the same ids and leaves the history as it is", async () => {
    const before = await historyItems();
    const twice = await republished(["--run", lostRun]);
    expect(twice.ids).toEqual(idsOf(lost));
    expect(await historyItems()).toEqual(before);
  });

  it("selects a time window: everything the table still holds of it, and history already recorded is kept as recorded", async () => {
    const lostAt = Math.min(...lost.map((e) => Date.parse(e.detail.detectedAt)));
    const deliveredAt = Math.min(...delivered.map((e) => Date.parse(e.detail.detectedAt)));
    const onlyLost = await republished(["--since", new Date(lostAt).toISOString()]);
    expect(onlyLost.ids).toEqual(idsOf(lost));
    const nothing = await republished([
      "--since",
      new Date(deliveredAt - 60_000).toISOString(),
      "--until",
      new Date(deliveredAt - 1).toISOString(),
    ]);
    // That minute holds the baseline sync: its pointers are rebuilt (their parameters would be re-published) but
    // a baseline raises no event.
    expect(nothing.ids).toEqual([]);
    expect(nothing.result).toMatchObject({ events: 0, pointerEvents: 0, anomalies: 0 });
    // Both runs: every lost event, and the delivered run's changes whose image or pointer has not changed since.
    const both = await republished(["--since", new Date(deliveredAt).toISOString()]);
    expect(both.ids).toEqual(expect.arrayContaining(idsOf(lost)));
    const deliveredIds = new Set(idsOf(delivered));
    const fromDelivered = both.ids.filter((id) => deliveredIds.has(id));
    expect(fromDelivered.length).toBeGreaterThan(0);
    expect(both.ids.length).toBe(idsOf(lost).length + fromDelivered.length);
    // The delivered run's history items keep what the consumer recorded (changed fields from the real before).
    expect(await historyItems(delivered[0]?.detail.runId)).toEqual(deliveredHistory);
  });

  it("counts without publishing on a dry run, and needs the bus otherwise", async () => {
    bridge.accepted.length = 0;
    const dry = await cli(["republish", "--run", lostRun, "--dry-run", "--json"]);
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({
      events: lost.filter((e) => e["detail-type"].startsWith("Image")).length,
    });
    expect(bridge.accepted).toEqual([]);
    const noBus = await main(["republish", "--run", lostRun], {
      stdout: () => {},
      stderr: () => {},
      env: { ...env(), EVENT_BUS_NAME: "" },
    });
    expect(noBus).toBe(2);
    expect((await cli(["republish"])).code).toBe(2);
  });
});
