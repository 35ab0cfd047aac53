// Recovery of lost change events: re-publishes the change events, anomalies and latest-image moves of a time
// window or of one run, and re-records their change history, from what the table holds, through the stream
// consumer's own code (processStreamRecords), so nothing is built twice.
//
// What the table holds is each image's and pointer's latest state, stamped with its last change (kind, time,
// run) or move: re-published events are those last changes. An image changed again after the window has only
// its newer change left to re-publish. The image before a change is not kept, so a re-published event has
// `before: null`. Event ids are derived from account, scope, image, change kind and run, exactly as the stream
// consumer derives them: consumers de-duplicate a re-published event against the original by detail.eventId, and
// a history item already recorded is left as it is (its changed fields were computed from the real before).
import { marshall } from "@aws-sdk/util-dynamodb";
import type { Anomaly, LatestPointer, StoredImage } from "../model.ts";
import { anomalyItem, historyItem, imageItem, pointerItem } from "../store/items.ts";
import type { ItemReader, Store } from "../store/store.ts";
import type { StreamRecord } from "./change-event.ts";
import type { HistoryWriter } from "./history.ts";
import { processStreamRecords } from "./process.ts";
import type { Publisher } from "./publish.ts";
import type { ParameterPublisher } from "./ssm-publish.ts";

/** Which changes: those detected in [since, until), or those of one run (both: both must hold). */
export interface RepublishSelection {
  since?: Date;
  until?: Date;
  runId?: string;
}

export interface RepublishOptions {
  publish: Publisher;
  history?: HistoryWriter;
  parameters?: ParameterPublisher;
  digestThreshold?: number;
  /** Records per call of the consumer code (the stream mapping's batch size). */
  batchSize?: number;
}

export interface RepublishResult {
  scopes: number;
  /** Stream records rebuilt from the table: image changes, anomalies and pointer moves. */
  records: number;
  events: number;
  anomalies: number;
  pointerEvents: number;
  digests: number;
  /** History entries in the table afterwards: written now (those missing) or already there. */
  recorded: number;
  /** Records whose event, history or parameter could not be written: run the command again. */
  failed: number;
}

type RepublishStore = Pick<Store, "listScopeStatuses" | "loadScope" | "loadPointers"> & ItemReader;

const marshalOpts = { removeUndefinedValues: true, convertClassInstanceToMap: false } as const;

export function selects(selection: RepublishSelection, at: string, runId: string): boolean {
  const ms = Date.parse(at);
  if (selection.runId !== undefined && runId !== selection.runId) return false;
  if (selection.since && !(ms >= selection.since.getTime())) return false;
  if (selection.until && !(ms < selection.until.getTime())) return false;
  return true;
}

/** The stream records DynamoDB delivered (or would have) for the selected items: INSERTs without an old image. */
export function recordsFor(
  selection: RepublishSelection,
  items: { images: Iterable<StoredImage>; pointers: Iterable<LatestPointer>; anomalies: Iterable<Anomaly> },
): StreamRecord[] {
  const news: Record<string, unknown>[] = [];
  for (const image of items.images) {
    const c = image.lastChange;
    if (c && !c.baseline && selects(selection, c.at, c.runId)) news.push(imageItem(image));
  }
  for (const a of items.anomalies) {
    if (selects(selection, a.detectedAt, a.runId)) news.push(anomalyItem(a, Date.now()));
  }
  for (const p of items.pointers) {
    if (p.movedAt && selects(selection, p.movedAt, p.runId)) news.push(pointerItem(p));
  }
  return news.map((item, i) => ({
    eventName: "INSERT",
    dynamodb: { SequenceNumber: String(i + 1).padStart(21, "0"), NewImage: marshall(item, marshalOpts) },
  }));
}

/** A history writer that leaves entries already in the table as they are (and counts them as stored). */
export function missingOnlyHistory(reader: ItemReader, writer: HistoryWriter): HistoryWriter {
  return {
    async record(entries) {
      const present = await Promise.all(
        entries.map(async (e) => {
          const { PK, SK } = historyItem(e) as { PK: string; SK: string };
          return (await reader.getItem({ PK, SK }).catch(() => undefined)) !== undefined;
        }),
      );
      const missing = entries.filter((_, i) => !present[i]);
      const stored = missing.length ? await writer.record(missing) : [];
      let m = 0;
      return present.map((p) => p || stored[m++] === true);
    },
  };
}

async function anomaliesOf(reader: ItemReader, account: string, scope: string): Promise<Anomaly[]> {
  const out: Anomaly[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await reader.queryPage({
      KeyConditionExpression: "PK = :pk",
      ExpressionAttributeValues: { ":pk": `ANOMALY#${account}#${scope}` },
      ...(start ? { ExclusiveStartKey: start } : {}),
    });
    out.push(...(page.items as unknown as Anomaly[]));
    start = page.lastKey;
  } while (start);
  return out;
}

/** Re-publishes what the selection names, scope by scope, in batches as the stream would deliver them. */
export async function republish(
  store: RepublishStore,
  selection: RepublishSelection,
  opts: RepublishOptions,
): Promise<RepublishResult> {
  const result: RepublishResult = {
    scopes: 0,
    records: 0,
    events: 0,
    anomalies: 0,
    pointerEvents: 0,
    digests: 0,
    recorded: 0,
    failed: 0,
  };
  const history = opts.history ? missingOnlyHistory(store, opts.history) : undefined;
  const batchSize = opts.batchSize ?? 100;
  for (const { account, scope } of await store.listScopeStatuses()) {
    const key = { account, scope };
    const [images, pointers, anomalies] = await Promise.all([
      store.loadScope(key),
      store.loadPointers(key),
      anomaliesOf(store, account, scope),
    ]);
    const records = recordsFor(selection, { images: images.values(), pointers: pointers.values(), anomalies });
    result.scopes++;
    result.records += records.length;
    for (let i = 0; i < records.length; i += batchSize) {
      const batch = await processStreamRecords(records.slice(i, i + batchSize), {
        publish: opts.publish,
        ...(history ? { history } : {}),
        ...(opts.parameters ? { parameters: opts.parameters } : {}),
        ...(opts.digestThreshold !== undefined ? { digestThreshold: opts.digestThreshold } : {}),
      });
      result.events += batch.events.length;
      result.anomalies += batch.anomalies.length;
      result.pointerEvents += batch.pointerEvents.length;
      result.digests += batch.digests.length;
      result.recorded += batch.recorded;
      result.failed += batch.batchItemFailures.length;
    }
  }
  return result;
}
