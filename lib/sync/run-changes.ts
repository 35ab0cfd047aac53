// Stamps a scope's changes of one run with what they add up to (RunChanges), so that the stream consumer can
// tell from any one record whether its change is covered by a digest, and build that digest from one record:
// the same id and content on every delivery, whatever batching, bisecting and retries did to the stream.
import type { ChangeKind, RunChanges } from "../model.ts";
import { ITEM_LIMIT_BYTES, itemSizeBytes } from "../store/item-size.ts";
import { imageItem } from "../store/items.ts";
import type { Change } from "./diff.ts";

const KINDS: readonly ChangeKind[] = ["added", "updated", "deprecated", "restored"];

/**
 * The changes with `lastChange.runChanges` set; the first one the store will accept carries the digest.
 * Baseline changes emit no event and are returned as they are.
 */
export function withRunChanges(changes: readonly Change[]): Change[] {
  if (changes.length === 0 || changes.every((c) => c.after.lastChange.baseline)) return [...changes];
  const byChange: Partial<Record<ChangeKind, number>> = {};
  for (const k of KINDS) {
    const n = changes.filter((c) => c.kind === k).length;
    if (n > 0) byChange[k] = n;
  }
  const summary: RunChanges = { total: changes.length, byChange };
  // An image too large to store is not written: its record would never carry the digest to the stream.
  const carrier = changes.find((c) => itemSizeBytes(imageItem(c.after)) <= ITEM_LIMIT_BYTES) ?? changes[0];
  return changes.map((c) => {
    const runChanges: RunChanges = c === carrier ? { ...summary, carriesDigest: true } : summary;
    return { ...c, after: { ...c.after, lastChange: { ...c.after.lastChange, runChanges } } };
  });
}
