// The change-event contract (documented by schema.json beside this file and in the README).
import type {
  ApiId,
  ChangeKind,
  DeprecationReason,
  ProviderName,
  Replacement,
  RunChanges,
  StoredImage,
} from "../model.ts";

export const EVENT_SOURCE = "image-sync";

export const DETAIL_TYPES: Record<ChangeKind, string> = {
  added: "Image Added",
  updated: "Image Updated",
  deprecated: "Image Deprecated",
  restored: "Image Restored",
};
export const DIGEST_DETAIL_TYPE = "Sync Digest";
export const ANOMALY_DETAIL_TYPE = "Sync Anomaly";
export const POINTER_DETAIL_TYPE = "Latest Image Changed";
export const STALE_DETAIL_TYPE = "Latest Image Stale";

/** A normalised image as carried in events: no raw record and no bookkeeping. */
export type EventImage = Omit<StoredImage, "raw" | "contentHash" | "rev" | "lastChange">;

export interface ChangeDetail {
  /** Stable for the same change: derived from account, scope, image, change kind and run. */
  eventId: string;
  changeType: ChangeKind;
  account: string;
  api: ApiId;
  provider: ProviderName;
  scope: string;
  imageId: string;
  name: string | null;
  osFamily: string | null;
  osVersion: string | null;
  imageType: string | null;
  reason: DeprecationReason | null;
  /** For a deprecation: the image to move to (same version, else the next higher one), or null when none. */
  replacement: Replacement | null;
  before: EventImage | null;
  after: EventImage;
  runId: string;
  detectedAt: string;
  /** The readable one-line alert for this change. */
  message: string;
  /** True when this change is covered by a "Sync Digest" alert instead of its own (a big release). */
  digested: boolean;
}

export interface ChangeEvent {
  detailType: string;
  detail: ChangeDetail;
  /** What the scope's run added up to, as the record carries it (absent on records of older writers). */
  runChanges?: RunChanges;
}

export interface DigestDetail {
  eventId: string;
  runId: string;
  total: number;
  byChange: Partial<Record<ChangeKind, number>>;
  byScope: Array<{ account: string; scope: string; count: number }>;
  message: string;
}

/** An event as EventBridge delivers it to a target (the shape of each line of `--events` output). */
export interface DeliveredEvent<D = ChangeDetail | DigestDetail | AnomalyDetail | PointerDetail | StaleDetail> {
  version: "0";
  id: string;
  source: typeof EVENT_SOURCE;
  "detail-type": string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: D;
}

/** A mass deprecation held by the guard: one event per scope and run, never per image. */
export interface AnomalyDetail {
  eventId: string;
  account: string;
  api: ApiId;
  provider: ProviderName;
  scope: string;
  runId: string;
  detectedAt: string;
  wouldDeprecate: number;
  knownImages: number;
  sample: Array<{ imageId: string; name: string | null; reason: DeprecationReason | null }>;
  message: string;
}

/** The line a pointer follows (lib/model.ts PointerLine); all but the OS fields null on a legacy pointer. */
export interface PointerLineDetail {
  /** "os" or "family"; null for a pointer written before per-architecture pointers. */
  line: "os" | "family" | null;
  /** null for a family pointer whose image states no OS family. */
  osFamily: string | null;
  /** null for images that state no version (the parameter's segment "any"). */
  osVersion: string | null;
  /** x86_64, arm64, ... or "unknown" when the line's images state none. */
  architecture: string | null;
  /** public, custom, shared, marketplace or the provider's own value. */
  imageType: string | null;
  /** The provider image family of a family pointer. */
  family: string | null;
}

/** A latest-image pointer moved: the newest usable image of its line in a scope is another one. */
export interface PointerDetail extends PointerLineDetail {
  /** Stable for the same move: derived from account, scope, the pointer's key and run. */
  eventId: string;
  account: string;
  api: ApiId;
  provider: ProviderName;
  scope: string;
  /** The image named before; null when the line had no pointer in this scope yet. */
  previous: { imageId: string; name: string | null } | null;
  current: { imageId: string; name: string | null; createdAt: string | null };
  runId: string;
  detectedAt: string;
  message: string;
}

/** A pointer's line has no usable image left (or a legacy pointer was superseded): it keeps naming `current`. */
export interface StaleDetail extends PointerLineDetail {
  /** Stable for the same pointer turning stale at the same time. */
  eventId: string;
  account: string;
  api: ApiId;
  provider: ProviderName;
  scope: string;
  current: { imageId: string; name: string | null; createdAt: string | null };
  staleSince: string;
  /** True for a pointer of before per-architecture pointers, retired by the upgrade (never fresh again). */
  legacy: boolean;
  detectedAt: string;
  message: string;
}
