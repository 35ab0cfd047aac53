// The query API's shapes: what callers pass and what they get back.
import type { ChangeEntry } from "../events/history.ts";
import type { ApiId, ChangeKind, ImageState, ProviderName, ScopeOutcome, ScopeStatus } from "../model.ts";

export type { AnomalyEntry, ChangeEntry, HistoryEntry } from "../events/history.ts";
export type { StoredImage } from "../model.ts";

/** One page of results. `nextPageToken` is opaque; pass it back to get the next page. Absent on the last page. */
export interface Page<T> {
  items: T[];
  nextPageToken?: string;
}

export interface PageOptions {
  /** At most this many items per page (default 100, at most 1000). */
  limit?: number;
  pageToken?: string;
}

export interface ScopeRef {
  account: string;
  scope: string;
}

export interface ImageRef extends ScopeRef {
  imageId: string;
}

export interface ListScopeQuery extends ScopeRef {
  /** Active images only (the sparse index), the default; false lists deprecated ones too. */
  activeOnly?: boolean;
}

export interface FindImagesQuery {
  /** Lower case, as normalised: ubuntu, centos, debian, windows, ... */
  osFamily: string;
  /** A version or a prefix of one by whole parts: "22.04" matches 22.04 and 22.04.3; "7" matches 7.4 and 7.9. */
  osVersion?: string;
  /** x86_64, arm64 or i386 (amd64, aarch64 and arm are read as their usual names). */
  architecture?: string;
  provider?: ProviderName;
  api?: ApiId;
  account?: string;
  scope?: string;
  /** Only images the provider reports usable (true) or not (false). */
  available?: boolean;
  /** Only active or only deprecated images; both when absent. */
  state?: ImageState;
  /** public, custom, shared, marketplace (or a provider's own value). */
  imageType?: string;
}

/**
 * "Which image do I launch?" in one scope. Ask by `osFamily` (and `osVersion`), or by an image `family`. Leave
 * `architecture` or `imageType` open only when the scope's matching images have one: otherwise the answer is
 * the error AMBIGUOUS_QUERY, never a guess.
 */
export interface LatestImageQuery {
  osFamily?: string;
  osVersion?: string;
  /** A provider image family (Tencent ImageFamily): its newest usable custom image. */
  family?: string;
  scope: string;
  /** x86_64, arm64, i386 (amd64, aarch64, arm read as usual). An image of unknown architecture never matches. */
  architecture?: string;
  account?: string;
  imageType?: string;
}

export interface LatestImageOptions {
  /**
   * At most this many items of the OS family's index (which holds every scope of every account) are examined
   * (default 1000, in Query pages of 100). A question still open then (no usable image found yet, or, with
   * architecture or imageType left open, no proof that a single one matches) throws QueryError READ_LIMIT.
   */
  maxExamined?: number;
}

export interface ChangesFilter extends PageOptions {
  /** Changes detected before this time only (default: now). */
  until?: Date;
  account?: string;
  scope?: string;
  /** One kind of image change, or "anomaly" for the held mass deprecations alone. */
  changeType?: ChangeKind | "anomaly";
  provider?: ProviderName;
  api?: ApiId;
  osFamily?: string;
  /** The current time, for the default `until` (tests pass a fixed clock). */
  now?: Date;
}

export interface ScopeStatusOptions {
  /** A scope with no complete sweep for longer than this is stale (default 6). */
  staleAfterHours?: number;
  account?: string;
  /** The current time (default: now). */
  now?: Date;
}

/** One scope's freshness: when it was last swept completely, and whether that is too long ago. */
export interface ScopeFreshness {
  account: string;
  api: ApiId;
  scope: string;
  lastOutcome: ScopeOutcome;
  lastAttemptAt: string;
  /** The last complete sweep; null when there never was one. */
  lastCompleteAt: string | null;
  baselineAt: string | null;
  /** Hours since the last complete sweep; null when there never was one. */
  ageHours: number | null;
  /** No complete sweep within the threshold (or never). */
  stale: boolean;
  counts: ScopeStatus["counts"];
  lastError: ScopeStatus["lastError"];
  /** Deprecations held by the mass-deprecation guard, awaiting confirmation; 0 when none. */
  heldDeprecations: number;
}

/** What changesSince returns: a page of history entries, oldest first. */
export type ChangesPage = Page<ChangeEntry>;
