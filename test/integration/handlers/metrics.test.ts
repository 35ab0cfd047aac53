// The scheduled and fan-out handlers as Lambda runs them (env, SDK clients from their endpoints, EMF on stdout),
// over dynalite, the provider emulator and a local SQS: what the stack's alarms and dashboard read.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createStore, type Store } from "../../../lib/store/store.ts";
import { type LocalSqs, startLocalSqs } from "../../helpers/sqs.ts";
import { type Stack, startStack } from "../../helpers/stack.ts";

interface Emf {
  _aws: { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string }> }> };
  [key: string]: unknown;
}

let stack: Stack;
let sqs: LocalSqs;
let store: Store;
type Handler = (event: unknown, context: { getRemainingTimeInMillis(): number }) => Promise<Record<string, unknown>>;
let scheduled: Handler;
let workerHandler: (
  event: { Records: Array<{ messageId: string; body: string }> },
  context: { getRemainingTimeInMillis(): number },
) => Promise<Record<string, unknown>>;
/** A worker invocation with a fresh 900 s Lambda's time left. */
const worker = (event: { Records: Array<{ messageId: string; body: string }> }) =>
  workerHandler(event, { getRemainingTimeInMillis: () => 899_000 });

const RESERVE_MS = 120_000;
const HOUR = 3_600_000;

/** The EMF documents a call printed on stdout. */
async function emfOf<T>(call: () => Promise<T>): Promise<{ result: T; emf: Emf[]; logs: Record<string, unknown>[] }> {
  const lines: string[] = [];
  const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    lines.push(...String(chunk).split("\n"));
    return true;
  });
  try {
    const result = await call();
    const json = lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
    return {
      result,
      emf: json.filter((l) => "_aws" in l) as unknown as Emf[],
      logs: json.filter((l) => !("_aws" in l)),
    };
  } finally {
    spy.mockRestore();
  }
}

/** Every (metric, dimension set) the documents carry, with the value. */
function datapoints(emf: readonly Emf[]) {
  return emf.flatMap((doc) =>
    doc._aws.CloudWatchMetrics.flatMap((d) =>
      d.Metrics.map((m) => ({
        namespace: d.Namespace,
        name: m.Name,
        dimensions: [...(d.Dimensions[0] ?? [])].sort(),
        values: Object.fromEntries((d.Dimensions[0] ?? []).map((k) => [k, doc[k]])),
        value: doc[m.Name] as number,
      })),
    ),
  );
}

/** The README's metrics table: metric name -> its documented dimensions, sorted. */
function documentedMetrics(): Map<string, string[]> {
  const readme = readFileSync(join(import.meta.dirname, "..", "..", "..", "README.md"), "utf8");
  const table = readme.split("| metric | dimensions |")[1]?.split("\n\n")[0] ?? "";
  const rows = table.split("\n").filter((l) => /^\| `\w+` \|/.test(l));
  return new Map(
    rows.map((row) => {
      const [name, dims] = row
        .split("|")
        .slice(1, 3)
        .map((c) => c.trim());
      return [
        name?.replaceAll("`", "") ?? "",
        (dims ?? "")
          .split(",")
          .map((d) => d.trim().replaceAll("`", ""))
          .sort(),
      ];
    }),
  );
}

async function makeStale(hoursAgo: number) {
  const [status] = (await store.listScopeStatuses()).filter((s) => s.account === "zenlayer-zec");
  if (!status) throw new Error("no zenlayer-zec status");
  await store.putScopeStatus({ ...status, lastCompleteAt: new Date(Date.now() - hoursAgo * HOUR).toISOString() });
  return status;
}

beforeAll(async () => {
  [stack, sqs] = await Promise.all([startStack({ scale: 0.1 }), startLocalSqs()]);
  const tableName = "lambda-metrics";
  store = createStore({ tableName, endpoint: stack.dynamo.endpoint, localCredentials: true });
  await store.ensureTable();
  const config = stack.config(["zenlayer-zec", "tencent-cvm"]);
  // A first sweep: every scope complete, a status for each.
  await stack.sync(config, { store });
  Object.assign(process.env, {
    TABLE_NAME: tableName,
    AWS_REGION: "eu-central-1",
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
    AWS_ENDPOINT_URL_DYNAMODB: stack.dynamo.endpoint,
    AWS_ENDPOINT_URL_SQS: sqs.endpoint,
    IMAGE_SYNC_CONFIG: JSON.stringify(config),
    FANOUT_QUEUE_URL: `${sqs.endpoint}/000000000000/fanout`,
    FANOUT_WORKERS: "2",
    STALE_AFTER_HOURS: "6",
    SYNC_RESERVE_MS: String(RESERVE_MS),
  });
  scheduled = (await import("../../../handlers/sync.ts")).handler as unknown as Handler;
  workerHandler = (await import("../../../handlers/sync-worker.ts")).handler as unknown as typeof workerHandler;
}, 120_000);

afterAll(async () => {
  store?.close();
  await Promise.all([stack?.close(), sqs?.close()]);
});

describe("the sync handlers' metrics, as the alarms and the dashboard read them", () => {
  it("measures a stale scope when the run fans out, in the StaleScopes metric the alarm reads, and workers never report 0 for it", async () => {
    const stale = await makeStale(7);
    // Little time left: the plan does not fit this invocation, so the run fans out.
    const tick = await emfOf(() => scheduled({}, { getRemainingTimeInMillis: () => RESERVE_MS + 1 }));
    expect(tick.result.fannedOut).toBeGreaterThan(0);
    const points = datapoints(tick.emf);
    // The StaleScopes alarm: namespace ImageSync, metric StaleScopes, dimension service=image-sync, Maximum > 0.
    expect(points.filter((p) => p.name === "StaleScopes")).toEqual([
      expect.objectContaining({
        namespace: "ImageSync",
        dimensions: ["service"],
        values: { service: "image-sync" },
        value: 1,
      }),
    ]);
    const hours = points.find((p) => p.name === "HoursSinceCompleteSweep" && p.values.Scope === stale.scope);
    expect(hours?.value).toBeGreaterThan(6.9);
    expect(hours?.dimensions).toEqual(["Account", "Scope", "service"]);

    const records = sqs.messages.map(({ messageId, body }) => ({ messageId, body }));
    const batches = await emfOf(() => worker({ Records: records }));
    expect(batches.result.batchItemFailures).toEqual([]);
    const names = datapoints(batches.emf).map((p) => p.name);
    expect(names).toContain("ImagesFetched");
    expect(names).not.toContain("StaleScopes");
    // Each batch's lines carry the scheduled run's id and the batch's id as correlation keys.
    const synced = batches.logs.filter((l) => l.message === "batch synced");
    expect(synced).toHaveLength(records.length);
    for (const line of synced) {
      expect(line).toMatchObject({ level: "INFO", service: "image-sync", runId: tick.result.runId });
      expect(line.batchId).toEqual(expect.any(String));
    }
    expect(tick.logs.find((l) => l.message === "sync fanned out")).toMatchObject({ runId: tick.result.runId });
    // The workers swept the stale scope: the next tick measures it fresh.
    const next = await emfOf(() => scheduled({}, { getRemainingTimeInMillis: () => RESERVE_MS + 1 }));
    expect(datapoints(next.emf).find((p) => p.name === "StaleScopes")?.value).toBe(0);
  });

  it("measures it the same when the run is inline", async () => {
    await makeStale(8);
    const run = await emfOf(() => scheduled({}, { getRemainingTimeInMillis: () => 900_000 }));
    expect(run.result.fannedOut).toBeUndefined();
    expect(run.result.ok).toBe(true);
    const stalePoints = datapoints(run.emf).filter((p) => p.name === "StaleScopes");
    expect(stalePoints).toEqual([expect.objectContaining({ dimensions: ["service"], value: 1 })]);
  });

  it("publishes every metric the README documents with exactly the dimensions it documents", async () => {
    const documented = documentedMetrics();
    expect([...documented.keys()].sort()).toEqual(
      [
        "FailedScopes",
        "HoursSinceCompleteSweep",
        "ImageChanges",
        "ImageWrites",
        "ImagesFetched",
        "IncompleteScopes",
        "ProviderRequests",
        "ScopeComplete",
        "ScopeDuration",
        "StaleScopes",
        "SyncRuns",
      ].sort(),
    );
    await makeStale(9);
    const inline = await emfOf(() => scheduled({}, { getRemainingTimeInMillis: () => 900_000 }));
    sqs.messages.length = 0;
    const fanned = await emfOf(() => scheduled({}, { getRemainingTimeInMillis: () => RESERVE_MS + 1 }));
    const records = sqs.messages.map(({ messageId, body }) => ({ messageId, body }));
    const batches = await emfOf(() => worker({ Records: records }));
    for (const [mode, emf] of [
      ["inline", inline.emf],
      ["fan-out", [...fanned.emf, ...batches.emf]],
    ] as const) {
      const points = datapoints(emf);
      for (const [name, dimensions] of documented) {
        const of = points.filter((p) => p.name === name);
        expect(of.length, `${mode} ${name}`).toBeGreaterThan(0);
        for (const p of of) expect(p.dimensions, `${mode} ${name}`).toEqual(dimensions);
      }
      // Every scope has its per-scope metrics, with its own Account and Scope values.
      const scopes = new Set(
        points.filter((p) => p.name === "ScopeDuration").map((p) => `${p.values.Account}#${p.values.Scope}`),
      );
      for (const name of ["ImagesFetched", "ImageChanges", "ProviderRequests", "ImageWrites", "ScopeComplete"]) {
        const seen = new Set(points.filter((p) => p.name === name).map((p) => `${p.values.Account}#${p.values.Scope}`));
        expect(seen, `${mode} ${name}`).toEqual(scopes);
      }
    }
  });
});
