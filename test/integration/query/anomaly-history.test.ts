// Held mass deprecations in the change history: the stream consumer records each "Sync Anomaly" as a history
// entry (changeType "anomaly"), so changesSince, the query Lambda's "changes" and `image-sync changes` show
// the run whose listing came back empty, not only the images that changed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../../lib/cli.ts";
import { type ChangeEntry, storeHistoryWriter } from "../../../lib/events/history.ts";
import { streamRecordForAnomaly } from "../../../lib/events/local.ts";
import { processStreamRecords } from "../../../lib/events/process.ts";
import type { Publisher } from "../../../lib/events/publish.ts";
import type { Anomaly } from "../../../lib/model.ts";
import { changesSince, handleQuery } from "../../../lib/query/index.ts";
import type { Store } from "../../../lib/store/store.ts";
import { type Stack, startStack } from "../../helpers/stack.ts";

const publish: Publisher = async (entries) => entries.map(() => true);
let stack: Stack;
let store: Store;
let since: Date;
const anomalies: Anomaly[] = [];
const eventIds: string[] = [];

beforeAll(async () => {
  stack = await startStack({ scale: 0.2 });
  store = await stack.freshStore();
  const config = stack.config(["zenlayer-vm"], () => ({ scopes: ["FRA-A"] }));
  expect((await stack.sync(config, { store })).ok).toBe(true);
  since = new Date();
  stack.emulator.inject({
    match: { api: "zenlayer-vm", scope: "FRA-A" },
    times: 1,
    action: {
      type: "transform",
      apply: (j: { response: object }) => ({ ...j, response: { ...j.response, totalCount: 0, dataSet: [] } }),
    },
  });
  const history = storeHistoryWriter(store);
  const held = await stack.sync(config, {
    store,
    onAnomaly: async (a) => {
      anomalies.push(a);
      // Delivered twice, as the stream may: the history keeps one entry.
      for (let i = 0; i < 2; i++) {
        const r = await processStreamRecords([streamRecordForAnomaly(a, Date.now())], { publish, history });
        expect(r.batchItemFailures).toEqual([]);
        expect(r.recorded).toBe(1);
        eventIds.push(...r.anomalies.map((d) => d.eventId));
      }
    },
  });
  expect(held.scopes[0]).toMatchObject({ status: "complete", deprecated: 0 });
  expect(anomalies).toHaveLength(1);
}, 120_000);

afterAll(async () => {
  store?.close();
  await stack?.close();
});

describe("anomalies in the change history", () => {
  it("changesSince lists a held mass deprecation once, typed as an anomaly, with its counts and message", async () => {
    const page = await changesSince(store, since);
    expect(page.items).toHaveLength(1);
    const [entry] = page.items as [ChangeEntry];
    const a = anomalies[0] as Anomaly;
    expect(entry).toEqual({
      eventId: eventIds[0],
      changeType: "anomaly",
      detailType: "Sync Anomaly",
      account: "zenlayer-vm",
      api: "zenlayer-vm",
      provider: "zenlayer",
      scope: "FRA-A",
      runId: a.runId,
      detectedAt: new Date(a.detectedAt).toISOString(),
      wouldDeprecate: a.wouldDeprecate,
      knownImages: a.knownImages,
      sample: a.sample,
      message: expect.stringContaining(`would deprecate ${a.wouldDeprecate} of ${a.knownImages} active images`),
    });
    expect(eventIds).toEqual([eventIds[0], eventIds[0]]);
  });

  it('is selected by changeType "anomaly" alone, and left out by an image change type or an OS filter', async () => {
    expect((await changesSince(store, since, { changeType: "anomaly" })).items).toHaveLength(1);
    expect((await changesSince(store, since, { changeType: "deprecated" })).items).toEqual([]);
    expect((await changesSince(store, since, { osFamily: "ubuntu" })).items).toEqual([]);
    expect((await changesSince(store, since, { scope: "HKG-A" })).items).toEqual([]);
  });

  it("the query Lambda's changes action and image-sync changes show it", async () => {
    const deps = { reader: store, staleAfterHours: 6 };
    const lambda = await handleQuery({ action: "changes", since: "1h", changeType: "anomaly" }, deps);
    expect("changes" in lambda && lambda.changes.map((c) => c.changeType)).toEqual(["anomaly"]);
    const cli = async (args: string[]) => {
      let stdout = "";
      const code = await main(args, {
        stdout: (t) => {
          stdout += t;
        },
        stderr: () => {},
        env: { DYNAMODB_ENDPOINT: stack.dynamo.endpoint, TABLE_NAME: store.tableName, AWS_REGION: "us-east-1" },
      });
      return { code, stdout };
    };
    const table = await cli(["changes", "--since", "1h"]);
    expect(table.code).toBe(0);
    const a = anomalies[0] as Anomaly;
    expect(table.stdout).toContain(`held: ${a.wouldDeprecate} of ${a.knownImages} active`);
    const json = await cli(["changes", "--since", "1h", "--type", "anomaly", "--json"]);
    expect(JSON.parse(json.stdout)).toMatchObject([{ changeType: "anomaly", scope: "FRA-A" }]);
  });

  it("an anomaly whose history entry is not stored fails its stream record, so the stream retries it", async () => {
    const failing = { record: async (entries: readonly ChangeEntry[]) => entries.map(() => false) };
    const record = streamRecordForAnomaly(anomalies[0] as Anomaly, Date.now());
    const r = await processStreamRecords([record], { publish, history: failing });
    expect(r.batchItemFailures).toEqual([{ itemIdentifier: record.dynamodb?.SequenceNumber }]);
  });
});
