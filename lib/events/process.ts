// The stream consumer's core: stream records -> change events (+ digests) and latest-image moves -> publish
// (and, when asked, the change history and the pointers' SSM parameters) -> batchItemFailures.
// Processing is idempotent: the same change always yields the same eventId, so a retried batch only
// re-sends what consumers can de-duplicate, and rewrites the same history items.
import type { PutEventsRequestEntry } from "@aws-sdk/client-eventbridge";
import type { LatestPointer } from "../model.ts";
import { scopeDigest } from "./alert.ts";
import { anomalyEventFromRecord, changeEventFromRecord, type StreamRecord } from "./change-event.ts";
import { anomalyHistoryEntry, type ChangeEntry, type HistoryWriter, historyEntry } from "./history.ts";
import { pointerEvent, pointerNewsFromRecord, staleEvent } from "./pointer-event.ts";
import { entrySize, MAX_ENTRY_BYTES, type Publisher } from "./publish.ts";
import type { ParameterPublisher } from "./ssm-publish.ts";
import {
  type AnomalyDetail,
  type ChangeEvent,
  DIGEST_DETAIL_TYPE,
  type DigestDetail,
  EVENT_SOURCE,
  type PointerDetail,
  type StaleDetail,
} from "./types.ts";

export interface BatchResult {
  batchItemFailures: Array<{ itemIdentifier: string }>;
  events: ChangeEvent[];
  digests: DigestDetail[];
  anomalies: AnomalyDetail[];
  /** "Latest Image Changed" events (pointer moves after the baseline). */
  pointerEvents: PointerDetail[];
  /** "Latest Image Stale" events (pointers that have just turned stale). */
  staleEvents: StaleDetail[];
  /** History entries stored (0 without a history writer). */
  recorded: number;
  /** Pointer parameters written (0 without a parameter publisher). */
  parameters: number;
}

export interface ProcessOptions {
  publish: Publisher;
  /** A scope with more changes than this in one run is alerted as one digest (per scope and run). */
  digestThreshold?: number;
  /** Records one history entry per change event and per anomaly; a record whose entry is not stored is reported
   *  failed. */
  history?: HistoryWriter;
  /** Publishes each moved pointer (baseline moves included) and each staleness change as parameters; a record not
   *  published is reported failed. */
  parameters?: ParameterPublisher;
}

function toEntry(detailType: string, detail: object, time: string): PutEventsRequestEntry {
  return {
    Source: EVENT_SOURCE,
    DetailType: detailType,
    Detail: JSON.stringify(detail),
    Time: new Date(time),
    Resources: [],
  };
}

/** Keeps an entry under the size limit by dropping the image snapshots, which consumers can re-read. */
function fitted(event: ChangeEvent): PutEventsRequestEntry {
  const entry = toEntry(event.detailType, event.detail, event.detail.detectedAt);
  if (entrySize(entry) <= MAX_ENTRY_BYTES) return entry;
  const slim = {
    ...event.detail,
    before: event.detail.before ? { ...event.detail.before, description: null } : null,
    after: { ...event.detail.after, description: null },
    truncated: true,
  };
  return toEntry(event.detailType, slim, event.detail.detectedAt);
}

export async function processStreamRecords(
  records: readonly StreamRecord[],
  opts: ProcessOptions,
): Promise<BatchResult> {
  const sorted = sortRecords(records);
  const { items, anomalies, moves, pointerEvents, staleEvents } = sorted;
  const { entries, owners, digests } = eventEntries(sorted, opts.digestThreshold ?? 25);
  const histories: Array<{ seq: string; entry: ChangeEntry }> = [
    ...items.map((i) => ({ seq: i.seq, entry: historyEntry(i.event) })),
    ...anomalies.map((a) => ({ seq: a.seq, entry: anomalyHistoryEntry(a.detail) })),
  ];
  const [ok, stored, published] = await Promise.all([
    entries.length ? opts.publish(entries) : Promise.resolve([] as boolean[]),
    recordHistory(opts.history, histories),
    publishParameters(opts.parameters, moves),
  ]);
  const failed = new Set<string>();
  ok.forEach((published, i) => {
    if (!published) for (const seq of owners[i] ?? []) failed.add(seq);
  });
  stored.forEach((done, i) => {
    if (!done) failed.add(histories[i]?.seq ?? "");
  });
  published.forEach((done, i) => {
    if (!done) failed.add(moves[i]?.seq ?? "");
  });
  return {
    batchItemFailures: [...failed].filter(Boolean).map((itemIdentifier) => ({ itemIdentifier })),
    events: items.map((i) => i.event),
    digests,
    anomalies: anomalies.map((a) => a.detail),
    pointerEvents: pointerEvents.map((p) => p.detail),
    staleEvents: staleEvents.map((p) => p.detail),
    recorded: stored.filter(Boolean).length,
    parameters: published.filter(Boolean).length,
  };
}

/** A batch's records by what they carry, each with the sequence number of the record it came from. */
interface SortedRecords {
  items: Array<{ seq: string; event: ChangeEvent }>;
  anomalies: Array<{ seq: string; detailType: string; detail: AnomalyDetail }>;
  moves: Array<{ seq: string; pointer: LatestPointer }>;
  pointerEvents: Array<{ seq: string; detailType: string; detail: PointerDetail }>;
  staleEvents: Array<{ seq: string; detailType: string; detail: StaleDetail }>;
}

function sortRecords(records: readonly StreamRecord[]): SortedRecords {
  const sorted: SortedRecords = { items: [], anomalies: [], moves: [], pointerEvents: [], staleEvents: [] };
  for (const record of records) {
    const seq = record.dynamodb?.SequenceNumber ?? "";
    const event = changeEventFromRecord(record);
    if (event) sorted.items.push({ seq, event });
    const anomaly = event ? null : anomalyEventFromRecord(record);
    if (anomaly) sorted.anomalies.push({ seq, ...anomaly });
    const news = event || anomaly ? null : pointerNewsFromRecord(record);
    if (news) {
      sorted.moves.push({ seq, pointer: news.pointer });
      const moved = news.moved ? pointerEvent(news.pointer) : null;
      if (moved) sorted.pointerEvents.push({ seq, ...moved });
      if (news.becameStale) sorted.staleEvents.push({ seq, ...staleEvent(news.pointer) });
    }
  }
  return sorted;
}

/**
 * The entries to publish (change events, each followed by its digest when it carries one, then anomalies and
 * pointer events), with the sequence numbers each entry answers for, and the digests. Marks each change event
 * digested or not.
 */
function eventEntries(
  sorted: SortedRecords,
  threshold: number,
): { entries: PutEventsRequestEntry[]; owners: string[][]; digests: DigestDetail[] } {
  const entries: PutEventsRequestEntry[] = [];
  const owners: string[][] = [];
  const digests: DigestDetail[] = [];
  // Whether a change is digested, and the digest itself, come from its own record (RunChanges), never from the
  // batch it was delivered in: every delivery of a record yields the same events.
  for (const item of sorted.items) {
    const runChanges = item.event.runChanges;
    const big = runChanges !== undefined && runChanges.total > threshold;
    item.event.detail.digested = big;
    entries.push(fitted(item.event));
    owners.push([item.seq]);
    if (big && runChanges.carriesDigest) {
      const d = scopeDigest(item.event.detail, runChanges);
      digests.push(d);
      entries.push(toEntry(DIGEST_DETAIL_TYPE, d, item.event.detail.detectedAt));
      owners.push([item.seq]);
    }
  }
  for (const a of [...sorted.anomalies, ...sorted.pointerEvents, ...sorted.staleEvents]) {
    entries.push(toEntry(a.detailType, a.detail, a.detail.detectedAt));
    owners.push([a.seq]);
  }
  return { entries, owners, digests };
}

/** One parameter write per moved or stale-changed pointer, in stream order; a publisher that throws fails them all. */
async function publishParameters(
  parameters: ParameterPublisher | undefined,
  moves: ReadonlyArray<{ pointer: LatestPointer }>,
): Promise<boolean[]> {
  if (!parameters || moves.length === 0) return [];
  try {
    const done = await parameters(moves.map((m) => m.pointer));
    return moves.map((_, i) => done[i] === true);
  } catch {
    return moves.map(() => false);
  }
}

/** One history entry per change event and anomaly, in order; a writer that throws fails them all. */
async function recordHistory(
  history: HistoryWriter | undefined,
  items: ReadonlyArray<{ entry: ChangeEntry }>,
): Promise<boolean[]> {
  if (!history || items.length === 0) return [];
  try {
    const stored = await history.record(items.map((i) => i.entry));
    return items.map((_, i) => stored[i] === true);
  } catch {
    return items.map(() => false);
  }
}
