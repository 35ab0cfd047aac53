// Pure mapping from a written latest-image pointer (as a DynamoDB stream delivers it) to a move: the pointer
// now names another image. A move is published as an SSM parameter (baseline included, so that templates can
// resolve it from the start) and, unless it is a baseline write, as one "Latest Image Changed" event.
import { createHash } from "node:crypto";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { LatestPointer } from "../model.ts";
import { POINTER_ITEM, pointerVersionKey } from "../store/items.ts";
import type { StreamRecord } from "./change-event.ts";
import { POINTER_DETAIL_TYPE, type PointerDetail } from "./types.ts";

export function pointerEventId(
  account: string,
  scope: string,
  osFamily: string,
  osVersion: string | null,
  runId: string,
): string {
  return createHash("sha256")
    .update([account, scope, "pointer", osFamily, pointerVersionKey(osVersion), runId].join("\u0000"))
    .digest("hex")
    .slice(0, 32);
}

/**
 * The pointer when the record moved it (a new pointer, or a new movedAt/runId), else null: REMOVE records,
 * other items, and writes that only marked it stale or fresh again or refreshed its image's name.
 */
export function movedPointerFromRecord(record: StreamRecord): LatestPointer | null {
  if (record.eventName !== "INSERT" && record.eventName !== "MODIFY") return null;
  const newRaw = record.dynamodb?.NewImage;
  if (!newRaw) return null;
  const next = unmarshall(newRaw) as LatestPointer & { itemType?: string };
  if (next.itemType !== POINTER_ITEM || !next.imageId || !next.movedAt) return null;
  const prev = record.dynamodb?.OldImage ? (unmarshall(record.dynamodb.OldImage) as LatestPointer) : null;
  if (prev && prev.movedAt === next.movedAt && prev.runId === next.runId) return null;
  return next;
}

/** The "Latest Image Changed" event of a moved pointer; null for a baseline write (published, never alerted). */
export function pointerEvent(pointer: LatestPointer): { detailType: string; detail: PointerDetail } | null {
  if (pointer.baseline) return null;
  const detail: PointerDetail = {
    eventId: pointerEventId(pointer.account, pointer.scope, pointer.osFamily, pointer.osVersion, pointer.runId),
    account: pointer.account,
    api: pointer.api,
    provider: pointer.provider,
    scope: pointer.scope,
    osFamily: pointer.osFamily,
    osVersion: pointer.osVersion,
    previous: pointer.previous ? { imageId: pointer.previous.imageId, name: pointer.previous.name ?? null } : null,
    current: { imageId: pointer.imageId, name: pointer.name, createdAt: pointer.createdAt },
    runId: pointer.runId,
    detectedAt: pointer.movedAt,
    message: "",
  };
  detail.message = pointerMessage(detail);
  return { detailType: POINTER_DETAIL_TYPE, detail };
}

function pointerMessage(d: PointerDetail): string {
  const label = (i: { imageId: string; name: string | null }) => (i.name ? `${i.name} (${i.imageId})` : i.imageId);
  const what = `${d.osFamily} ${d.osVersion ?? "(no version)"}`;
  const was = d.previous ? `, was ${label(d.previous)}` : " (new)";
  return `Latest ${what} in ${d.account} ${d.scope}: ${label(d.current)}${was}`;
}
