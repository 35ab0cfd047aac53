// Keeps an image's raw provider record small enough that its item stays under DynamoDB's 400 KB, whatever the
// provider sends: fields are dropped largest first (ties by name, so the same record is always trimmed the same
// way and its content hash is stable) until the record fits, with a marker saying what was dropped; the
// record's identity fields are always kept. An image whose other attributes alone leave no room is kept with
// the marker and the identity fields only; the store refuses it alone if its item is still too large.
import type { FetchedImage } from "../model.ts";
import { ITEM_LIMIT_BYTES, itemSizeBytes, valueBytes } from "../store/item-size.ts";
import { jsonBytesBound } from "./hash.ts";

/** A raw provider record larger than this is trimmed (with a marker). */
export const RAW_BUDGET_BYTES = 96 * 1024;
/** Room kept for what the store adds to an image: keys, index keys, lastChange, replacement, timestamps. */
export const ITEM_OVERHEAD_BYTES = 8 * 1024;
export const TRIM_MARKER = "_imageSyncTrimmed";
/** The marker names this many dropped fields at most (a record may have thousands). */
const MAX_NAMED_FIELDS = 50;
/** Fields that say which record this is, kept whatever their size. */
const IDENTITY_FIELDS = new Set(["imageId", "ImageId", "unImgId"]);
/** The marker without the names of the fields it lists: its own name, three attribute names, two numbers. */
const MARKER_BASE_BYTES = 128;

export interface TrimMarker {
  originalBytes: number;
  droppedFields: string[];
  droppedCount: number;
}

/** The image with its raw record trimmed to fit, or the image itself when it fits already. */
export function fitRaw(image: FetchedImage): FetchedImage {
  // The whole image as JSON bounds its raw record: most images are far below the budget.
  if (jsonBytesBound(image) <= RAW_BUDGET_BYTES) return image;
  const size = valueBytes(image.raw);
  const rest = itemSizeBytes({ ...image, raw: undefined });
  const budget = Math.min(RAW_BUDGET_BYTES, ITEM_LIMIT_BYTES - ITEM_OVERHEAD_BYTES - rest);
  if (size <= budget) return image;
  return { ...image, raw: trimRaw(image.raw, size, budget) };
}

/** The record with its largest fields dropped until it (marker included) is at most `budget` bytes. */
export function trimRaw(raw: Record<string, unknown>, size: number, budget: number): Record<string, unknown> {
  const fields = Object.entries(raw).map(([k, v]) => ({ k, bytes: Buffer.byteLength(k) + 1 + valueBytes(v) }));
  const droppable = fields
    .filter((f) => !IDENTITY_FIELDS.has(f.k))
    .sort((a, b) => b.bytes - a.bytes || (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
  const dropped = new Set<string>();
  let kept = size;
  // The marker's size: its fixed part (names, two numbers) plus the dropped fields it names.
  let markerBytes = MARKER_BASE_BYTES;
  for (const f of droppable) {
    if (kept + markerBytes <= budget) break;
    if (dropped.size < MAX_NAMED_FIELDS) markerBytes += Buffer.byteLength(f.k) + 1;
    dropped.add(f.k);
    kept -= f.bytes;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) if (!dropped.has(k)) out[k] = v;
  out[TRIM_MARKER] = marker(size, dropped);
  return out;
}

function marker(size: number, dropped: ReadonlySet<string>): TrimMarker {
  const names: string[] = [];
  for (const k of dropped) {
    if (names.length === MAX_NAMED_FIELDS) break;
    names.push(k);
  }
  return { originalBytes: size, droppedFields: names, droppedCount: dropped.size };
}
