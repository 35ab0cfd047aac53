// The change history: one entry per change event, written by the stream consumer (never by the sync, whose
// writes stay limited to what changed) and kept with a TTL, so "what changed since T" is a Query, not a scan
// of every image. Keys live in lib/store/items.ts (historyItem); reads in lib/query (changesSince).
import { ConfigError } from "../errors.ts";
import type { ApiId, ChangeKind, DeprecationReason, ImageState, ProviderName } from "../model.ts";
import { HISTORY_TTL_SECONDS } from "../store/items.ts";
import { ANOMALY_DETAIL_TYPE, type AnomalyDetail, type ChangeEvent, type EventImage } from "./types.ts";

export interface HistoryEntry {
  /** The change event's id: the same change always has the same id (and so the same history item). */
  eventId: string;
  changeType: ChangeKind;
  /** The EventBridge detail-type the change was published under ("Image Added", ...). */
  detailType: string;
  account: string;
  api: ApiId;
  provider: ProviderName;
  scope: string;
  imageId: string;
  name: string | null;
  osFamily: string | null;
  osVersion: string | null;
  architecture: string | null;
  imageType: string | null;
  /** Why an image was deprecated; null for other changes. */
  reason: DeprecationReason | null;
  /** The image's provider status, state and availability after the change. */
  status: string | null;
  state: ImageState;
  available: boolean;
  /** Normalised fields whose value differs before and after the change (empty for an added image). */
  changedFields: string[];
  runId: string;
  /** When the sync saw the change (ISO 8601 UTC, milliseconds): the history is ordered and partitioned by it. */
  detectedAt: string;
  /** The readable one-line alert. */
  message: string;
}

/**
 * A mass deprecation the guard held (a "Sync Anomaly" event): nothing was deprecated, so it is no image's
 * change, but it is in the history, because "what happened to my images since T" must not miss the run whose
 * listing came back (nearly) empty. `changeType` tells it from an image's change.
 */
export interface AnomalyEntry {
  /** The anomaly event's id (one per account, scope and run). */
  eventId: string;
  changeType: "anomaly";
  detailType: typeof ANOMALY_DETAIL_TYPE;
  account: string;
  api: ApiId;
  provider: ProviderName;
  scope: string;
  runId: string;
  detectedAt: string;
  /** Active images the sweep would have deprecated; held until the next complete sweep agrees. */
  wouldDeprecate: number;
  /** Active images in the scope before the sweep. */
  knownImages: number;
  /** Some of the held images (at most the first few). */
  sample: AnomalyDetail["sample"];
  message: string;
}

/** One entry of the change history: an image's change, or a held mass deprecation. */
export type ChangeEntry = HistoryEntry | AnomalyEntry;

/** Stores history entries. Resolves to one boolean per entry, true when stored; never throws. */
export interface HistoryWriter {
  record(entries: readonly ChangeEntry[]): Promise<boolean[]>;
}

/** Bookkeeping that changes on every write, so naming it as a changed field would say nothing. */
const NOT_A_CHANGE = new Set(["lastChangedAt"]);

export function changedFields(before: EventImage | null, after: EventImage): string[] {
  if (!before) return [];
  const a = before as unknown as Record<string, unknown>;
  const b = after as unknown as Record<string, unknown>;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys]
    .filter((k) => !NOT_A_CHANGE.has(k) && JSON.stringify(a[k] ?? null) !== JSON.stringify(b[k] ?? null))
    .sort();
}

/** A fixed-width ISO time, so that string order is time order in the history's sort keys. */
function canonicalTime(iso: string): string {
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : iso;
}

export function historyEntry(event: ChangeEvent): HistoryEntry {
  const d = event.detail;
  return {
    eventId: d.eventId,
    changeType: d.changeType,
    detailType: event.detailType,
    account: d.account,
    api: d.api,
    provider: d.provider,
    scope: d.scope,
    imageId: d.imageId,
    name: d.name,
    osFamily: d.osFamily,
    osVersion: d.osVersion,
    architecture: d.after.architecture,
    imageType: d.imageType,
    reason: d.reason,
    status: d.after.status,
    state: d.after.state,
    available: d.after.available,
    changedFields: changedFields(d.before, d.after),
    runId: d.runId,
    detectedAt: canonicalTime(d.detectedAt),
    message: d.message,
  };
}

export function anomalyHistoryEntry(detail: AnomalyDetail): AnomalyEntry {
  return {
    eventId: detail.eventId,
    changeType: "anomaly",
    detailType: ANOMALY_DETAIL_TYPE,
    account: detail.account,
    api: detail.api,
    provider: detail.provider,
    scope: detail.scope,
    runId: detail.runId,
    detectedAt: canonicalTime(detail.detectedAt),
    wouldDeprecate: detail.wouldDeprecate,
    knownImages: detail.knownImages,
    sample: detail.sample,
    message: detail.message,
  };
}

/** The one store call the history writer needs (Store.putHistory). */
export interface HistorySink {
  putHistory(entry: ChangeEntry, ttlSeconds: number): Promise<void>;
}

export interface StoreHistoryWriterOptions {
  /** How long entries are kept (DynamoDB TTL on expiresAt), counted from the change. */
  ttlSeconds?: number;
  /** Parallel writes. */
  concurrency?: number;
  onError?: (message: string, fields: Record<string, unknown>) => void;
}

/** A writer that puts each entry as its own item, so a failure is pinned to exactly one stream record. */
export function storeHistoryWriter(sink: HistorySink, opts: StoreHistoryWriterOptions = {}): HistoryWriter {
  const ttlSeconds = opts.ttlSeconds ?? HISTORY_TTL_SECONDS;
  const concurrency = opts.concurrency ?? 16;
  return {
    async record(entries) {
      const ok = entries.map(() => false);
      let next = 0;
      const worker = async () => {
        while (next < entries.length) {
          const i = next++;
          const entry = entries[i] as ChangeEntry;
          try {
            await sink.putHistory(entry, ttlSeconds);
            ok[i] = true;
          } catch (e) {
            opts.onError?.("history write failed", { eventId: entry.eventId, error: (e as Error).message });
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, entries.length) }, worker));
      return ok;
    },
  };
}

/** What the stream consumer needs to record history, read once at cold start. */
export interface HistorySettings {
  tableName: string;
  region: string;
  ttlSeconds: number;
}

export function loadHistorySettings(env: Record<string, string | undefined>): HistorySettings {
  const problems: string[] = [];
  const tableName = env.TABLE_NAME?.trim();
  if (!tableName) problems.push("TABLE_NAME is not set (the images table, where change history is recorded)");
  const days = Number(env.HISTORY_TTL_DAYS ?? "30");
  if (!(days > 0)) problems.push("HISTORY_TTL_DAYS must be a positive number");
  if (problems.length) throw new ConfigError(problems);
  return {
    tableName: tableName as string,
    region: env.AWS_REGION?.trim() || "us-east-1",
    ttlSeconds: Math.round(days * 24 * 3600),
  };
}
