// Pure mapping from a written image (as a DynamoDB stream delivers it) to at most one change event.
import { createHash } from "node:crypto";
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { Anomaly, ChangeKind, Replacement, StoredImage } from "../model.ts";
import { ANOMALY_ITEM, IMAGE_ITEM } from "../store/items.ts";
import { alertLine } from "./alert.ts";
import { ANOMALY_DETAIL_TYPE, type AnomalyDetail, type ChangeEvent, DETAIL_TYPES, type EventImage } from "./types.ts";

/** The part of a DynamoDB stream record this module reads. */
export interface StreamRecord {
  eventName?: "INSERT" | "MODIFY" | "REMOVE" | string;
  dynamodb?: {
    SequenceNumber?: string;
    NewImage?: Record<string, AttributeValue>;
    OldImage?: Record<string, AttributeValue>;
  };
}

/**
 * The id of one change: the image, the kind, the run and the revision it wrote. The same write delivered again
 * (a stream retry, a republish from the table) has the same id; a redelivered worker message that writes the
 * image again in the same run writes another revision, and so another change with another id.
 */
export function eventId(
  account: string,
  scope: string,
  imageId: string,
  kind: ChangeKind,
  runId: string,
  rev: number,
): string {
  return createHash("sha256")
    .update([account, scope, imageId, kind, runId, String(rev)].join("\u0000"))
    .digest("hex")
    .slice(0, 32);
}

export function toEventImage(image: StoredImage): EventImage {
  const {
    raw: _raw,
    contentHash: _h,
    rev: _r,
    lastChange: _l,
    ...rest
  } = image as StoredImage & Record<string, unknown>;
  for (const k of ["PK", "SK", "itemType", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK"])
    delete (rest as Record<string, unknown>)[k];
  return rest as EventImage;
}

const sameChange = (a: StoredImage["lastChange"] | undefined, b: StoredImage["lastChange"] | undefined): boolean =>
  !!a && !!b && a.kind === b.kind && a.at === b.at && a.runId === b.runId;

/**
 * The event for one stream record, or null when the record is not a new, alertable image change:
 * REMOVE records, non-image items, baseline writes and rewrites of an already-reported change emit nothing.
 */
export function changeEventFromRecord(record: StreamRecord): ChangeEvent | null {
  if (record.eventName !== "INSERT" && record.eventName !== "MODIFY") return null;
  const newRaw = record.dynamodb?.NewImage;
  if (!newRaw) return null;
  const next = unmarshall(newRaw) as StoredImage & { itemType?: string };
  if (next.itemType !== IMAGE_ITEM || !next.lastChange) return null;
  const prev = record.dynamodb?.OldImage ? (unmarshall(record.dynamodb.OldImage) as StoredImage) : null;
  if (prev && sameChange(prev.lastChange, next.lastChange)) return null;
  if (next.lastChange.baseline) return null;
  return changeEvent(prev, next);
}

export function changeEvent(before: StoredImage | null, after: StoredImage): ChangeEvent {
  const kind = after.lastChange.kind;
  const reason = kind === "deprecated" ? (after.lastChange.reason ?? after.deprecationReason ?? null) : null;
  const detail = {
    eventId: eventId(after.account, after.scope, after.imageId, kind, after.lastChange.runId, after.rev),
    changeType: kind,
    account: after.account,
    api: after.api,
    provider: after.provider,
    scope: after.scope,
    imageId: after.imageId,
    name: after.name,
    osFamily: after.osFamily,
    osVersion: after.osVersion,
    imageType: after.imageType,
    reason,
    replacement: kind === "deprecated" ? (after.replacement ?? null) : null,
    before: before ? toEventImage(before) : null,
    after: toEventImage(after),
    runId: after.lastChange.runId,
    detectedAt: after.lastChange.at,
    message: "",
    digested: false,
  };
  detail.message = alertLine(detail) + replacementText(detail.replacement);
  const runChanges = after.lastChange.runChanges;
  return { detailType: DETAIL_TYPES[kind], detail, ...(runChanges ? { runChanges } : {}) };
}

/** The alert line's answer to "what do I move to?", when there is one. */
function replacementText(r: Replacement | null): string {
  if (!r) return "";
  const what = r.name ? `${r.name} (${r.imageId})` : r.imageId;
  return `; replacement: ${what}, ${r.why === "same-version" ? "same version" : `next version ${r.osVersion ?? ""}`.trim()}`;
}

/** The "Sync Anomaly" event for a newly written anomaly item, else null. */
export function anomalyEventFromRecord(record: StreamRecord): { detailType: string; detail: AnomalyDetail } | null {
  if (record.eventName !== "INSERT" || !record.dynamodb?.NewImage) return null;
  const item = unmarshall(record.dynamodb.NewImage) as Anomaly & { itemType?: string };
  if (item.itemType !== ANOMALY_ITEM) return null;
  const detail: AnomalyDetail = {
    eventId: createHash("sha256")
      .update([item.account, item.scope, "anomaly", item.runId].join("\u0000"))
      .digest("hex")
      .slice(0, 32),
    account: item.account,
    api: item.api,
    provider: item.provider,
    scope: item.scope,
    runId: item.runId,
    detectedAt: item.detectedAt,
    wouldDeprecate: item.wouldDeprecate,
    knownImages: item.knownImages,
    sample: item.sample,
    message: `Anomaly: ${item.account} ${item.scope} would deprecate ${item.wouldDeprecate} of ${item.knownImages} active images; held until the next complete sweep agrees`,
  };
  return { detailType: ANOMALY_DETAIL_TYPE, detail };
}
