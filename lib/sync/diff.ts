// The pure diff: (stored state, a complete sweep, now) -> the writes that bring the store up to date.
// Everything that decides added / updated / deprecated / restored / unchanged lives here.
// Only ever called with a complete, consistent sweep: an incomplete one changes nothing.
import type { ChangeKind, DeprecationReason, FetchedImage, ProviderName, ScopeKey, StoredImage } from "../model.ts";
import { contentHash, preFamilyHash } from "./hash.ts";

export interface Change {
  kind: ChangeKind;
  /** The stored image before this change; null for an image never seen. */
  before: StoredImage | null;
  after: StoredImage;
  /**
   * Set on a rewrite that only adds what a newer normaliser reads from an unchanged record (today: the image
   * family of an image stored before families existed). It keeps the image's lastChange, so the stream emits no
   * event for it; the run report counts it as updated.
   */
  silent?: true;
}

export interface DiffInput {
  key: ScopeKey & { provider: ProviderName };
  stored: ReadonlyMap<string, StoredImage>;
  /** The sweep's images, de-duplicated by id. */
  fetched: readonly FetchedImage[];
  /** True for the scope's first complete sweep: written, never alerted on. */
  baseline: boolean;
  /** ISO time of the run. */
  now: string;
  runId: string;
}

export interface DiffResult {
  changes: Change[];
  unchanged: number;
  /** Image counts after applying the changes. */
  counts: { active: number; deprecated: number };
}

export function diffScope(input: DiffInput): DiffResult {
  const { stored, fetched } = input;
  const changes: Change[] = [];
  let unchanged = 0;
  const seen = new Set<string>();

  for (const image of fetched) {
    seen.add(image.imageId);
    const before = stored.get(image.imageId) ?? null;
    const kind = classify(before, image);
    if (kind === null) unchanged++;
    else if (before && kind === "updated" && onlyFamilyAdded(before, image)) changes.push(silentRefresh(before, image));
    else
      changes.push({
        kind,
        before,
        after: build(input, kind, before, image, kind === "restored" ? null : image.unusable),
      });
  }

  for (const before of stored.values()) {
    if (seen.has(before.imageId)) continue;
    if (before.state === "active") {
      // Absent from a complete sweep: the provider no longer offers it. Keep its last known content.
      changes.push({ kind: "deprecated", before, after: build(input, "deprecated", before, null, "missing") });
    } else {
      unchanged++;
    }
  }

  return { changes, unchanged, counts: countsAfter(stored, changes) };
}

/** The image as stored after a change: the fetched image's content (or, for a missing one, the last known). */
function build(
  { key, now, runId, baseline }: DiffInput,
  kind: ChangeKind,
  before: StoredImage | null,
  image: FetchedImage | null,
  reason: DeprecationReason | null,
): StoredImage {
  // A missing image keeps its last known content, but can no longer be launched.
  const base = image ? toStoredFields(image) : { ...storedContent(before as StoredImage), available: false };
  const hash = image ? contentHash(image) : (before as StoredImage).contentHash;
  const state = reason ? "deprecated" : "active";
  const deprecatedAt = reason ? (before?.state === "deprecated" ? before.deprecatedAt : now) : null;
  return {
    ...base,
    account: key.account,
    api: key.api,
    provider: key.provider,
    scope: key.scope,
    state,
    firstSeenAt: before?.firstSeenAt ?? now,
    lastChangedAt: now,
    deprecatedAt,
    deprecationReason: reason,
    contentHash: hash,
    rev: (before?.rev ?? 0) + 1,
    lastChange: { kind, at: now, runId, baseline, ...(reason && kind === "deprecated" ? { reason } : {}) },
  };
}

/** Image counts after applying the changes. */
function countsAfter(
  stored: ReadonlyMap<string, StoredImage>,
  changes: readonly Change[],
): { active: number; deprecated: number } {
  const states = new Map<string, string>();
  for (const s of stored.values()) states.set(s.imageId, s.state);
  for (const c of changes) states.set(c.after.imageId, c.after.state);
  let active = 0;
  for (const state of states.values()) if (state === "active") active++;
  return { active, deprecated: states.size - active };
}

/** What is known of a stored image that decides whether a fetched one changes it (lib/store/manifest.ts). */
export type StoredDigest = Pick<StoredImage, "state" | "contentHash" | "deprecationReason"> & {
  /** The fingerprint (lib/sync/hash.ts) of the image the content hash was taken of, when the manifest knows it. */
  fingerprint?: string;
};

/** The change a fetched image makes to what is stored of it, or null when it changes nothing. */
export function classify(before: StoredDigest | null, image: FetchedImage): ChangeKind | null {
  const reason = image.unusable;
  if (!before) return "added";
  if (before.state === "active" && reason) return "deprecated";
  if (before.state === "deprecated" && !reason) return "restored";
  if (before.contentHash !== contentHash(image)) return "updated";
  if (before.state === "deprecated" && before.deprecationReason !== reason) return "updated";
  return null;
}

/**
 * True when a complete sweep changes nothing against the stored digests: every fetched image is known and
 * unchanged, and every active image is still listed. Exactly when diffScope would return no changes.
 */
export function sweepChangesNothing(
  stored: ReadonlyMap<string, StoredDigest>,
  fetched: readonly FetchedImage[],
): boolean {
  let listedActive = 0;
  for (const image of fetched) {
    const before = stored.get(image.imageId);
    if (!before || classify(before, image) !== null) return false;
    if (before.state === "active") listedActive++;
  }
  let storedActive = 0;
  for (const d of stored.values()) if (d.state === "active") storedActive++;
  // Fetched ids are de-duplicated, so equal counts mean every stored active image was listed.
  return listedActive === storedActive;
}

/** The stored image's hash is the one taken before families existed, of this very content: only `family` is new. */
function onlyFamilyAdded(before: StoredImage, image: FetchedImage): boolean {
  return image.family != null && (before.family ?? null) === null && before.contentHash === preFamilyHash(image);
}

/** The image rewritten with its new family and hash, its lastChange and lastChangedAt kept: no event, no alert. */
function silentRefresh(before: StoredImage, image: FetchedImage): Change {
  return {
    kind: "updated",
    before,
    silent: true,
    after: { ...before, family: image.family, raw: image.raw, contentHash: contentHash(image), rev: before.rev + 1 },
  };
}

function toStoredFields(image: FetchedImage): Omit<FetchedImage, "unusable"> {
  const { unusable: _unusable, ...rest } = image;
  return rest;
}

/** The provider-derived fields of a stored image (what a fetched image would have carried). */
function storedContent(s: StoredImage): Omit<FetchedImage, "unusable"> {
  return {
    imageId: s.imageId,
    name: s.name,
    description: s.description,
    osType: s.osType,
    osFamily: s.osFamily,
    osVersion: s.osVersion,
    architecture: s.architecture,
    imageType: s.imageType,
    // Absent on images stored before families existed.
    family: s.family ?? null,
    status: s.status,
    available: s.available,
    sizeGiB: s.sizeGiB,
    createdAt: s.createdAt,
    raw: s.raw,
  };
}
