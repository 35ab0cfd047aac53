// What to move to when an image is deprecated: a pure choice among the scope's images as they stand after the
// run's changes. The engine stores the answer on the deprecated image, so the Image Deprecated event (and
// anyone reading the image later) carries it without another query.
import type { Replacement, StoredImage } from "../model.ts";
import { versionKey } from "../store/items.ts";
import type { Change } from "./diff.ts";

/** Usable means a machine can be launched from it now: not deprecated, and the provider says available. */
export const isUsable = (image: StoredImage): boolean => image.state === "active" && image.available;

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Positive when `a` is newer than `b`: the later createdAt, then (equal or unknown times, as Zenlayer never
 * states one) the higher image id, which for dated public builds such as ubuntu2204_20240712 is the newer build.
 * A total order, so every caller picks the same image from the same set.
 */
export function newer(a: StoredImage, b: StoredImage): number {
  return cmp(a.createdAt ?? "", b.createdAt ?? "") || cmp(a.imageId, b.imageId);
}

/** The newest of `images`, or undefined for none. */
export function newest(images: Iterable<StoredImage>): StoredImage | undefined {
  let best: StoredImage | undefined;
  for (const image of images) if (!best || newer(image, best) > 0) best = image;
  return best;
}

/** Candidates are of the same architecture and image type; unknown ones (null) are nobody's kin. */
const kinKey = (image: StoredImage): string | null =>
  image.architecture === null || image.imageType === null ? null : `${image.architecture}\u0000${image.imageType}`;

/**
 * The replacement for `deprecated` among `candidates` (the images of its account and scope), always of the same
 * architecture and image type: for a custom image of an image family, the newest usable image of that family;
 * else the newest usable image of the same OS family and version; else the newest usable image of the OS
 * family's next higher version that has one (numeric order: 10 above 9, 22.04 above 20.04); else null. Versions
 * compare by version key, so "22.04" and "22.4" are one version. An image of unknown architecture or type has no
 * replacement (any choice would be a guess); one without an OS family is replaced only within its image family;
 * one without a version only by another versionless image of its OS family.
 */
export function chooseReplacement(deprecated: StoredImage, candidates: Iterable<StoredImage>): Replacement | null {
  const kin = kinKey(deprecated);
  if (kin === null) return null;
  const pool = [...candidates].filter(
    (c) =>
      c.imageId !== deprecated.imageId &&
      isUsable(c) &&
      kinKey(c) === kin &&
      c.account === deprecated.account &&
      c.scope === deprecated.scope,
  );
  const family = deprecated.family ?? null;
  const inFamily = family === null ? undefined : newest(pool.filter((c) => (c.family ?? null) === family));
  if (inFamily) return replacementOf(inFamily, "same-family");
  return byVersion(deprecated, pool);
}

function byVersion(deprecated: StoredImage, pool: readonly StoredImage[]): Replacement | null {
  if (!deprecated.osFamily) return null;
  const version = versionKey(deprecated.osVersion);
  const same: StoredImage[] = [];
  const higher = new Map<string, StoredImage[]>();
  for (const c of pool) {
    if (c.osFamily !== deprecated.osFamily) continue;
    const v = versionKey(c.osVersion);
    if (v === version) same.push(c);
    else if (version !== "" && v > version) {
      const list = higher.get(v);
      if (list) list.push(c);
      else higher.set(v, [c]);
    }
  }
  const pick = newest(same);
  if (pick) return replacementOf(pick, "same-version");
  const next = [...higher.keys()].sort(cmp)[0];
  const up = next === undefined ? undefined : newest(higher.get(next) ?? []);
  return up ? replacementOf(up, "next-version") : null;
}

function replacementOf(image: StoredImage, why: Replacement["why"]): Replacement {
  return {
    imageId: image.imageId,
    name: image.name,
    osVersion: image.osVersion,
    architecture: image.architecture as string,
    why,
  };
}

/** The scope's images after `changes` are applied to `stored`. */
export function applyChanges(
  stored: ReadonlyMap<string, StoredImage>,
  changes: readonly Change[],
): Map<string, StoredImage> {
  const after = new Map(stored);
  for (const c of changes) after.set(c.after.imageId, c.after);
  return after;
}

/**
 * The changes with a replacement chosen for every deprecated image they write (a deprecation, or a rewrite of an
 * already deprecated image, which refreshes the answer), from the scope as it stands after all of them.
 * Images written active carry none.
 */
export function withReplacements(stored: ReadonlyMap<string, StoredImage>, changes: readonly Change[]): Change[] {
  if (!changes.some((c) => c.after.state === "deprecated")) return [...changes];
  // Usable images by architecture and type, once: a mass deprecation must not scan the whole scope per image.
  const byKin = new Map<string, StoredImage[]>();
  for (const image of applyChanges(stored, changes).values()) {
    const kin = kinKey(image);
    if (kin === null || !isUsable(image)) continue;
    const list = byKin.get(kin);
    if (list) list.push(image);
    else byKin.set(kin, [image]);
  }
  return changes.map((c) =>
    c.after.state === "deprecated"
      ? { ...c, after: { ...c.after, replacement: chooseReplacement(c.after, byKin.get(kinKey(c.after) ?? "") ?? []) } }
      : c,
  );
}
