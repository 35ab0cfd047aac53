// Latest-image pointers, pure: from a scope's images after a run and its stored pointers, the pointer writes
// that bring them up to date. A pointer moves (new movedAt and runId: one "Latest Image Changed" event and one
// SSM parameter write downstream) only when the newest usable image of its family and version is another image.
import type { LatestPointer, ProviderName, ScopeKey, StoredImage } from "../model.ts";
import { pointerSk } from "../store/items.ts";
import { isUsable, newest } from "./replacement.ts";

export interface PointerWrite {
  /** The stored pointer; null for a new one. */
  before: LatestPointer | null;
  after: LatestPointer;
  /**
   * True when the pointer names another image than before (or is new). Other writes only mark a pointer stale
   * or fresh again, or refresh the name of the image it already names: they alert nobody and publish nothing.
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

/**
 * For each OS family and version with a usable image, the newest one; images without a family get no pointer,
 * images without a version share the family's "any" pointer. Then, against what is stored:
 * - no pointer yet, or it names another image: the pointer moves (previous = the image it named);
 * - it names the same image: nothing, unless it was stale (made fresh again) or the image's name or creation
 *   time changed (refreshed in place), neither of which is a move;
 * - its family and version have no usable image left: it keeps naming its last image, so that templates
 *   resolving the parameter still deploy, and is marked stale once (written once, not on every run).
 * Pointers are never deleted. A run with nothing to change returns no write.
 */
export function planPointers(input: PointerInput): PointerWrite[] {
  const { key, stored, baseline, now, runId } = input;
  const groups = new Map<string, StoredImage[]>();
  for (const image of input.images) {
    if (!image.osFamily || !isUsable(image)) continue;
    const sk = pointerSk(image.osFamily, image.osVersion);
    const list = groups.get(sk);
    if (list) list.push(image);
    else groups.set(sk, [image]);
  }

  const writes: PointerWrite[] = [];
  for (const [sk, images] of groups) {
    const current = newest(images) as StoredImage;
    const before = stored.get(sk) ?? null;
    if (!before || before.imageId !== current.imageId) {
      writes.push({
        before,
        moved: true,
        after: {
          account: key.account,
          api: key.api,
          provider: key.provider,
          scope: key.scope,
          osFamily: current.osFamily as string,
          osVersion: current.osVersion,
          imageId: current.imageId,
          name: current.name,
          createdAt: current.createdAt,
          movedAt: now,
          runId,
          baseline,
          previous: before ? { imageId: before.imageId, name: before.name } : null,
          stale: false,
          staleSince: null,
          rev: (before?.rev ?? 0) + 1,
        },
      });
    } else if (
      before.stale ||
      before.name !== current.name ||
      before.createdAt !== current.createdAt ||
      before.osVersion !== current.osVersion
    ) {
      writes.push({
        before,
        moved: false,
        after: {
          ...before,
          osVersion: current.osVersion,
          name: current.name,
          createdAt: current.createdAt,
          stale: false,
          staleSince: null,
          rev: before.rev + 1,
        },
      });
    }
  }
  for (const [sk, before] of stored) {
    if (groups.has(sk) || before.stale) continue;
    writes.push({ before, moved: false, after: { ...before, stale: true, staleSince: now, rev: before.rev + 1 } });
  }
  return writes;
}
