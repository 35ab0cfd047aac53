// The common image model every provider dialect is normalised into, and the shapes the sync writes.

export const API_IDS = [
  "zenlayer-bmc",
  "zenlayer-zec",
  "zenlayer-vm",
  "tencent-cvm",
  "tencent-image-v2",
  "tencent-cvm-v2",
] as const;
export type ApiId = (typeof API_IDS)[number];
export type ProviderName = "zenlayer" | "tencent";

export function providerOf(api: ApiId): ProviderName {
  return api.startsWith("zenlayer") ? "zenlayer" : "tencent";
}

/** Known image types; an unknown provider value is kept as the provider spelled it. */
export type ImageType = "public" | "custom" | "shared" | "marketplace";

/** Why an image stopped being usable: absent from a complete sweep, a status that says so, or a provider flag. */
export type DeprecationReason = "missing" | "status" | "flag";

/** What an adapter produces from one provider record: the provider's facts, normalised, with the raw record. */
export interface FetchedImage {
  imageId: string;
  name: string | null;
  description: string | null;
  /** Lower case: linux, windows, ... */
  osType: string | null;
  /** Lower case: ubuntu, centos, windows, ... */
  osFamily: string | null;
  /** Dotted version when one can be read: "22.04", "7.4", "2019". */
  osVersion: string | null;
  /** x86_64, arm64, i386, or the provider's own value; null when neither a field nor the provider's text states it
   *  (unknown: such an image never answers an architecture-specific question). */
  architecture: string | null;
  imageType: ImageType | string | null;
  /**
   * The provider's image family (Tencent API 3.0 `ImageFamily`), as spelled; null when it states none or the
   * dialect has no families. Left out of the content hash while null, so images of no family keep their hash.
   */
  family: string | null;
  /** The provider's status value, unchanged (numeric legacy statuses as their string). */
  status: string | null;
  /** True when the provider says the image can be used to launch machines. */
  available: boolean;
  /** Set when the provider itself marks the image unusable (a status or a deprecation flag). */
  unusable: Exclude<DeprecationReason, "missing"> | null;
  sizeGiB: number | null;
  /** ISO 8601 UTC, or null when the provider does not say. */
  createdAt: string | null;
  /** The provider's record exactly as received. */
  raw: Record<string, unknown>;
}

export type ImageState = "active" | "deprecated";
export type ChangeKind = "added" | "updated" | "deprecated" | "restored";

export interface LastChange {
  kind: ChangeKind;
  at: string;
  runId: string;
  /** Written by the first complete sweep of a scope: stored, but never alerted on. */
  baseline: boolean;
  reason?: DeprecationReason;
  /** The changes the scope applied in this run (lib/sync/run-changes.ts): what digests are derived from. */
  runChanges?: RunChanges;
}

/**
 * Written on each image change of a run after the baseline, the same on all of the scope's changes but one
 * flag: how many changes the scope applied in the run, by kind. The stream consumer decides `digested` from it
 * and builds the scope's "Sync Digest" from the one change that carries it, so an event's content never
 * depends on which records share a batch.
 */
export interface RunChanges {
  total: number;
  byChange: Partial<Record<ChangeKind, number>>;
  /** On exactly one change of the scope's run: the one whose record emits the digest. */
  carriesDigest?: true;
}

/** A normalised image as stored and as printed by `image-sync images`. */
export interface StoredImage extends Omit<FetchedImage, "unusable"> {
  account: string;
  api: ApiId;
  provider: ProviderName;
  scope: string;
  state: ImageState;
  firstSeenAt: string;
  lastChangedAt: string;
  deprecatedAt: string | null;
  deprecationReason: DeprecationReason | null;
  /** sha256 of the provider-derived content (normalised fields and raw record). */
  contentHash: string;
  /** Incremented on every write; writes are conditioned on it. */
  rev: number;
  lastChange: LastChange;
  /** On a deprecated image: what to move to, chosen when the deprecated image was written (lib/sync/replacement.ts). */
  replacement?: Replacement | null;
}

/**
 * Why a replacement was chosen: the same image family (custom images with one), the same OS version, or (none
 * usable left) the OS family's next higher version. Always of the same architecture and image type.
 */
export type ReplacementReason = "same-family" | "same-version" | "next-version";

/** The suggested successor of a deprecated image, in the same account and scope. */
export interface Replacement {
  imageId: string;
  name: string | null;
  osVersion: string | null;
  architecture: string;
  why: ReplacementReason;
}

/**
 * What a pointer follows. "os": the newest usable image of one OS family, version, architecture and image type
 * (public never mixed with custom, shared or marketplace), like an AWS public "latest AMI" parameter. "family":
 * the newest usable custom image of one provider image family and architecture, as Tencent's
 * DescribeImageFromFamily answers. Pointers written before lines existed have none (`legacy`, see pointers.ts).
 */
export type PointerLine = "os" | "family";

/** The architecture segment of a pointer whose images state none. */
export const UNKNOWN_ARCH = "unknown";

/**
 * The newest usable image of one line in one account and scope. Moved (a new `movedAt` and `runId`) only when
 * the answer changes; see lib/sync/pointers.ts.
 */
export interface LatestPointer {
  account: string;
  api: ApiId;
  provider: ProviderName;
  scope: string;
  /** Absent on a pointer written before per-architecture pointers (one per OS family and version only). */
  line?: PointerLine;
  /** The OS family of an "os" pointer; of a "family" pointer, its current image's (or null). */
  osFamily: string | null;
  /** The current image's version; null for images that state none (the pointer's version segment is "any"). */
  osVersion: string | null;
  /** x86_64, arm64, ... or "unknown" when its images state none (never matched by an architecture question). */
  architecture?: string;
  /** public, custom, shared, marketplace, or the provider's own value ("unknown" when it states none). */
  imageType?: string;
  /** The provider image family of a "family" pointer; null on "os" pointers. */
  family?: string | null;
  imageId: string;
  name: string | null;
  createdAt: string | null;
  /** When the pointer last moved to another image (or was created), and by which run. */
  movedAt: string;
  runId: string;
  /** Set by the scope's first complete sweep (or the upgrade to per-architecture pointers): published, not alerted. */
  baseline: boolean;
  /** The image it pointed to before its last move; null for a new pointer. */
  previous: { imageId: string; name: string | null } | null;
  /**
   * True when its line has no usable image left: the pointer keeps naming its last image (so templates resolving
   * it keep deploying) until a usable one appears; `where`, the SSM parameter `<name>/stale` and one
   * "Latest Image Stale" event say so. Legacy pointers are stale for good once the upgrade has run.
   */
  stale: boolean;
  staleSince: string | null;
  /** Incremented on every write; writes are conditioned on it. */
  rev: number;
}

/** The fields that identify a scope. */
export interface ScopeKey {
  account: string;
  api: ApiId;
  scope: string;
}

export type ScopeOutcome = "complete" | "incomplete" | "failed" | "skipped";

export interface ScopeStatus extends ScopeKey {
  lastRunId: string;
  lastAttemptAt: string;
  lastOutcome: ScopeOutcome;
  lastCompleteAt: string | null;
  baselineAt: string | null;
  lastError: { code: string; message: string; requestId?: string } | null;
  counts: { active: number; deprecated: number };
  /** Images per sub-listing at the last complete sweep (an emptied listing is suspicious). */
  partCounts?: Record<string, number>;
  /** Deprecations held by the mass-deprecation guard, awaiting confirmation by the next complete sweep. */
  heldDeprecations?: { digest: string; count: number; since: string; runId: string } | null;
  /** The manifest that describes the scope's stored images (lib/store/manifest.ts); absent while none is valid. */
  manifest?: { runId: string; chunks: number; count: number } | null;
}

/** Written when the guard holds a mass deprecation; the stream turns it into one "Sync Anomaly" event. */
export interface Anomaly extends ScopeKey {
  provider: ProviderName;
  runId: string;
  detectedAt: string;
  /** Images the sweep would have deprecated. */
  wouldDeprecate: number;
  /** Active images in the scope before the sweep (the share the guard weighs is of these). */
  knownImages: number;
  sample: Array<{ imageId: string; name: string | null; reason: DeprecationReason | null }>;
}
