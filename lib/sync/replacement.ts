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

/**
 * The replacement for `deprecated` among `candidates` (the images of its account and scope): the newest usable
 * image of the same OS family and version, else the newest usable image of the family's next higher version
 * that has one (numeric order: 10 above 9, 22.04 above 20.04), else null. Versions compare by version key, so
 * "22.04" and "22.4" are one version. An image without a family has no replacement; one without a version is
 * replaced only by another versionless image of its family, since no version is known to be above it.
 */
export function chooseReplacement(deprecated: StoredImage, candidates: Iterable<StoredImage>): Replacement | null {
  const family = deprecated.osFamily;
  if (!family) return null;
  const version = versionKey(deprecated.osVersion);
  const same: StoredImage[] = [];
  const higher = new Map<string, StoredImage[]>();
  for (const c of candidates) {
    if (c.imageId === deprecated.imageId || c.osFamily !== family || !isUsable(c)) continue;
    if (c.account !== deprecated.account || c.scope !== deprecated.scope) continue;
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
  return { imageId: image.imageId, name: image.name, osVersion: image.osVersion, why };
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
  // Usable images by family, once: a mass deprecation must not scan the whole scope per image.
  const byFamily = new Map<string, StoredImage[]>();
  for (const image of applyChanges(stored, changes).values()) {
    if (!image.osFamily || !isUsable(image)) continue;
    const list = byFamily.get(image.osFamily);
    if (list) list.push(image);
    else byFamily.set(image.osFamily, [image]);
  }
  return changes.map((c) =>
    c.after.state === "deprecated"
      ? {
          ...c,
          after: { ...c.after, replacement: chooseReplacement(c.after, byFamily.get(c.after.osFamily ?? "") ?? []) },
        }
      : c,
  );
}
