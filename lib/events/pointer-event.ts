// Pure mapping from a written latest-image pointer (as a DynamoDB stream delivers it) to what downstream must
// hear of it. A move (the pointer now names another image) is published as SSM parameters (baseline included,
// so that templates can resolve them from the start) and, unless it is a baseline write, as one "Latest Image
// Changed" event. A pointer turning stale (its line has no usable image left) republishes its parameters with
// `stale` "true" and sends one "Latest Image Stale" event; turning fresh again republishes them with "false".
import { createHash } from "node:crypto";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { LatestPointer } from "../model.ts";
import { POINTER_ITEM, pointerSk } from "../store/items.ts";
import type { StreamRecord } from "./change-event.ts";
import {
  POINTER_DETAIL_TYPE,
  type PointerDetail,
  type PointerLineDetail,
  STALE_DETAIL_TYPE,
  type StaleDetail,
} from "./types.ts";

/** Stable for the same news about the same pointer: account, scope, the pointer's key, what happened, when. */
export function pointerEventId(p: LatestPointer, what: "moved" | "stale", at: string): string {
  return createHash("sha256")
    .update([p.account, p.scope, "pointer", pointerSk(p), what, at].join("\u0000"))
    .digest("hex")
    .slice(0, 32);
}

/** What one pointer record means downstream; null for REMOVE records, other items and writes that change neither. */
export interface PointerNews {
  pointer: LatestPointer;
  /** A new pointer, or one that names another image (a new movedAt/runId). */
  moved: boolean;
  /** Stale now and not before (written once: the sync marks a pointer stale once). */
  becameStale: boolean;
  /** Fresh again without a move. */
  becameFresh: boolean;
}

/** The news of a pointer record; null when it neither moved nor changed staleness (a name refreshed in place). */
export function pointerNewsFromRecord(record: StreamRecord): PointerNews | null {
  if (record.eventName !== "INSERT" && record.eventName !== "MODIFY") return null;
  const newRaw = record.dynamodb?.NewImage;
  if (!newRaw) return null;
  const next = unmarshall(newRaw) as LatestPointer & { itemType?: string };
  if (next.itemType !== POINTER_ITEM || !next.imageId || !next.movedAt) return null;
  const prev = record.dynamodb?.OldImage ? (unmarshall(record.dynamodb.OldImage) as LatestPointer) : null;
  const moved = !prev || prev.movedAt !== next.movedAt || prev.runId !== next.runId;
  const becameStale = next.stale === true && prev?.stale !== true;
  const becameFresh = !moved && next.stale !== true && prev?.stale === true;
  if (!moved && !becameStale && !becameFresh) return null;
  return { pointer: next, moved, becameStale, becameFresh };
}

/** The pointer when the record moved it, else null (see pointerNewsFromRecord). */
export function movedPointerFromRecord(record: StreamRecord): LatestPointer | null {
  const news = pointerNewsFromRecord(record);
  return news?.moved ? news.pointer : null;
}

/** The line fields every pointer event carries. A legacy pointer's line is null, its architecture and type too. */
export function lineDetail(p: LatestPointer): PointerLineDetail {
  return {
    line: p.line ?? null,
    osFamily: p.osFamily,
    osVersion: p.osVersion,
    architecture: p.architecture ?? null,
    imageType: p.imageType ?? null,
    family: p.family ?? null,
  };
}

/** The "Latest Image Changed" event of a moved pointer; null for a baseline write (published, never alerted). */
export function pointerEvent(pointer: LatestPointer): { detailType: string; detail: PointerDetail } | null {
  if (pointer.baseline) return null;
  const detail: PointerDetail = {
    eventId: pointerEventId(pointer, "moved", pointer.runId),
    account: pointer.account,
    api: pointer.api,
    provider: pointer.provider,
    scope: pointer.scope,
    ...lineDetail(pointer),
    previous: pointer.previous ? { imageId: pointer.previous.imageId, name: pointer.previous.name ?? null } : null,
    current: { imageId: pointer.imageId, name: pointer.name, createdAt: pointer.createdAt },
    runId: pointer.runId,
    detectedAt: pointer.movedAt,
    message: "",
  };
  detail.message = `Latest ${lineLabel(pointer)} in ${detail.account} ${detail.scope}: ${label(detail.current)}${
    detail.previous ? `, was ${label(detail.previous)}` : " (new)"
  }`;
  return { detailType: POINTER_DETAIL_TYPE, detail };
}

/** The "Latest Image Stale" event of a pointer that has just turned stale. */
export function staleEvent(pointer: LatestPointer): { detailType: string; detail: StaleDetail } {
  const since = pointer.staleSince ?? pointer.movedAt;
  const legacy = pointer.line === undefined;
  const detail: StaleDetail = {
    eventId: pointerEventId(pointer, "stale", since),
    account: pointer.account,
    api: pointer.api,
    provider: pointer.provider,
    scope: pointer.scope,
    ...lineDetail(pointer),
    current: { imageId: pointer.imageId, name: pointer.name, createdAt: pointer.createdAt },
    staleSince: since,
    legacy,
    detectedAt: since,
    message: legacy
      ? `Latest ${lineLabel(pointer)} in ${pointer.account} ${pointer.scope} is no longer updated: superseded by ` +
        `per-architecture pointers; it keeps naming ${label(pointer)}`
      : `Latest ${lineLabel(pointer)} in ${pointer.account} ${pointer.scope} is stale: no usable image left; ` +
        `it keeps naming ${label(pointer)}`,
  };
  return { detailType: STALE_DETAIL_TYPE, detail };
}

const label = (i: { imageId: string; name: string | null }) => (i.name ? `${i.name} (${i.imageId})` : i.imageId);

/** "public ubuntu 22.04 x86_64", "image family web-golden arm64", or a legacy "ubuntu 22.04". */
export function lineLabel(p: LatestPointer): string {
  if (p.line === "family") return `image family ${p.family} ${p.architecture}`;
  const os = `${p.osFamily ?? "(no OS)"} ${p.osVersion ?? "(no version)"}`;
  return p.line === "os" ? `${p.imageType} ${os} ${p.architecture}` : os;
}
