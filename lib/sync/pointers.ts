// Latest-image pointers, pure: from a scope's images after a run and its stored pointers, the pointer writes
// that bring them up to date. A pointer follows one line (lib/model.ts PointerLine): an OS family, version,
// architecture and image type, or a custom image family and architecture. It moves (new movedAt and runId: one
// "Latest Image Changed" event and one SSM parameter write downstream) only when the newest usable image of its
// line is another image.
import {
  type LatestPointer,
  type PointerLine,
  type ProviderName,
  type ScopeKey,
  type StoredImage,
  UNKNOWN_ARCH,
} from "../model.ts";
import { pointerSk } from "../store/items.ts";
import { isUsable, newest } from "./replacement.ts";

export interface PointerWrite {
  /** The stored pointer; null for a new one. */
  before: LatestPointer | null;
  after: LatestPointer;
  /**
   * True when the pointer names another image than before (or is new). Other writes only mark a pointer stale
   * or fresh again, or refresh the name of the image it already names: they publish no new image.
   */
  moved: boolean;
}

export interface PointerInput {
  key: ScopeKey & { provider: ProviderName };
  /** The scope's images as they stand after this run's changes. */
  images: Iterable<StoredImage>;
  /** The scope's stored pointers, by sort key (pointerSk). */
  stored: ReadonlyMap<string, LatestPointer>;
  /** The scope's first complete sweep: its pointers are published but never alerted on. */
  baseline: boolean;
  /** ISO time of the run. */
  now: string;
  runId: string;
}

/** The fields that name a line; the rest of a pointer follows its current image. */
export type LineKey = Required<Pick<LatestPointer, "line" | "architecture" | "imageType" | "family">> &
  Pick<LatestPointer, "osFamily" | "osVersion">;

/**
 * The lines a usable image belongs to: its OS family, version, architecture and image type when it states an
 * OS family, and its image family and architecture when it is a custom image of one. An unstated architecture
 * is the line "unknown", never folded into a known one; an unstated image type likewise.
 */
export function linesOf(image: StoredImage): LineKey[] {
  if (!isUsable(image)) return [];
  const architecture = image.architecture ?? UNKNOWN_ARCH;
  const imageType = image.imageType ?? "unknown";
  const line = (kind: PointerLine, family: string | null): LineKey => ({
    line: kind,
    osFamily: image.osFamily,
    osVersion: image.osVersion,
    architecture,
    imageType,
    family,
  });
  const lines: LineKey[] = [];
  if (image.osFamily) lines.push(line("os", null));
  const family = image.family ?? null;
  if (family !== null && image.imageType === "custom") lines.push(line("family", family));
  return lines;
}

/** A pointer written before lines existed (one per OS family and version). */
export const isLegacyPointer = (p: LatestPointer): boolean => p.line === undefined;

/**
 * The scope still has only legacy pointers: this run creates its per-line pointers. They are written like a
 * baseline (published as parameters, not alerted), since every one of them would otherwise be "new"; each legacy
 * pointer is marked stale once, which announces the upgrade with one "Latest Image Stale" event per pointer.
 */
export function isUpgradeRun(stored: ReadonlyMap<string, LatestPointer>): boolean {
  const all = [...stored.values()];
  return all.some(isLegacyPointer) && !all.some((p) => !isLegacyPointer(p));
}

/** The scope's usable images by line (pointer sort key), with the line's key. */
export function groupByLine(images: Iterable<StoredImage>): Map<string, { key: LineKey; images: StoredImage[] }> {
  const groups = new Map<string, { key: LineKey; images: StoredImage[] }>();
  for (const image of images) {
    for (const key of linesOf(image)) {
      const sk = pointerSk(key);
      const group = groups.get(sk);
      if (group) group.images.push(image);
      else groups.set(sk, { key, images: [image] });
    }
  }
  return groups;
}

/**
 * For each line with a usable image, its newest one. Then, against what is stored:
 * - no pointer yet, or it names another image: the pointer moves (previous = the image it named);
 * - it names the same image: nothing, unless it was stale (made fresh again) or the image's name, creation time
 *   or version changed (refreshed in place), neither of which is a move;
 * - its line has no usable image left (legacy pointers never have one): it keeps naming its last image, so that
 *   templates resolving the parameter still deploy, and is marked stale once (written once, not on every run).
 * Pointers are never deleted. A run with nothing to change returns no write.
 */
export function planPointers(input: PointerInput): PointerWrite[] {
  const { stored, now } = input;
  const groups = groupByLine(input.images);
  const baseline = input.baseline || isUpgradeRun(stored);
  const writes: PointerWrite[] = [];
  for (const [sk, group] of groups) {
    const current = newest(group.images) as StoredImage;
    const write = planLine({ ...input, baseline }, group.key, current, stored.get(sk) ?? null);
    if (write) writes.push(write);
  }
  for (const [sk, before] of stored) {
    if (groups.has(sk) || before.stale) continue;
    writes.push({ before, moved: false, after: { ...before, stale: true, staleSince: now, rev: before.rev + 1 } });
  }
  return writes;
}

function planLine(input: PointerInput, key: LineKey, current: StoredImage, before: LatestPointer | null) {
  if (!before || before.imageId !== current.imageId)
    return { before, moved: true, after: moved(input, key, current, before) };
  const follows = {
    osFamily: current.osFamily,
    osVersion: current.osVersion,
    name: current.name,
    createdAt: current.createdAt,
  };
  const same = (Object.keys(follows) as Array<keyof typeof follows>).every((k) => before[k] === follows[k]);
  if (same && !before.stale) return null;
  return {
    before,
    moved: false,
    after: { ...before, ...follows, stale: false, staleSince: null, rev: before.rev + 1 },
  };
}

function moved(input: PointerInput, key: LineKey, current: StoredImage, before: LatestPointer | null): LatestPointer {
  return {
    account: input.key.account,
    api: input.key.api,
    provider: input.key.provider,
    scope: input.key.scope,
    ...key,
    osFamily: current.osFamily,
    osVersion: current.osVersion,
    imageId: current.imageId,
    name: current.name,
    createdAt: current.createdAt,
    movedAt: input.now,
    runId: input.runId,
    baseline: input.baseline,
    previous: before ? { imageId: before.imageId, name: before.name } : null,
    stale: false,
    staleSince: null,
    rev: (before?.rev ?? 0) + 1,
  };
}
