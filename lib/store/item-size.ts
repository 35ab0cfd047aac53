// The size DynamoDB counts for an item, computed on the JavaScript object before marshalling (as the document
// client marshals it: undefined values removed). DynamoDB refuses an item over 400 KB, and a BatchWriteItem
// holding one such item fails whole, so every image item is measured before it is sent.

/** DynamoDB's item size limit (attribute names and values included). */
export const ITEM_LIMIT_BYTES = 400 * 1024;

/** The bytes DynamoDB counts for an item: each attribute's name plus its value. */
export function itemSizeBytes(item: Readonly<Record<string, unknown>>): number {
  let n = 0;
  for (const [k, v] of Object.entries(item)) if (v !== undefined) n += Buffer.byteLength(k) + valueBytes(v);
  return n;
}

/**
 * The bytes of one attribute value: strings their UTF-8 length, numbers about one byte per two significant
 * digits plus one (21 at most), booleans and null one byte, lists and maps 3 bytes plus one per element
 * (and each map key's name).
 */
export function valueBytes(v: unknown): number {
  if (typeof v === "string") return Buffer.byteLength(v);
  if (typeof v === "number" || typeof v === "bigint") return numberBytes(String(v));
  if (typeof v === "boolean" || v === null) return 1;
  if (v instanceof Uint8Array) return v.byteLength;
  if (Array.isArray(v)) {
    let n = 3;
    for (const e of v) n += 1 + valueBytes(e ?? null);
    return n;
  }
  if (typeof v === "object") {
    if (v instanceof Set) return [...v].reduce((n: number, e) => n + valueBytes(e), 0);
    let n = 3;
    for (const [k, e] of Object.entries(v as Record<string, unknown>))
      if (e !== undefined) n += Buffer.byteLength(k) + 1 + valueBytes(e);
    return n;
  }
  return 0;
}

function numberBytes(text: string): number {
  const digits = text
    .replace(/^-|e.*$/i, "")
    .replace(".", "")
    .replace(/^0+/, "").length;
  return Math.min(21, Math.ceil(Math.max(1, digits) / 2) + 1);
}
