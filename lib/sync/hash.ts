// Content hashing: a stable digest of everything the provider told us about an image, so an
// unchanged image is recognised without comparing field by field and costs no write.
import crypto, { createHash } from "node:crypto";
import type { FetchedImage } from "../model.ts";

/** JSON with object keys sorted at every depth, so key order on the wire never looks like a change. */
export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) out += (i ? "," : "") + stableStringify(value[i]);
    return `${out}]`;
  }
  const obj = value as Record<string, unknown>;
  let out = "{";
  let first = true;
  for (const k of Object.keys(obj).sort()) {
    const v = obj[k];
    if (v === undefined) continue;
    out += `${first ? "" : ","}${JSON.stringify(k)}:${stableStringify(v)}`;
    first = false;
  }
  return `${out}}`;
}

// A sweep's images are hashed more than once (watching pages against the manifest, then the diff): once is
// enough. Fetched images are never modified after normalisation.
const hashes = new WeakMap<FetchedImage, string>();

export function contentHash(image: FetchedImage): string {
  let hash = hashes.get(image);
  if (hash === undefined) {
    // `family` came after images were first hashed: left out while null, every image of no family keeps the
    // hash stored before it existed (test/integration/store/manifest.test.ts pins one), so an upgrade rewrites none of them.
    hash = image.family == null ? preFamilyHash(image) : sha256Hex(stableStringify(image));
    hashes.set(image, hash);
  }
  return hash;
}

/**
 * The content hash as computed before images had a `family`: equal to a stored hash, it says the provider's
 * record and every other field are unchanged, whatever the family (lib/sync/diff.ts writes such images silently).
 */
export function preFamilyHash(image: FetchedImage): string {
  const { family: _family, ...rest } = image;
  return sha256Hex(stableStringify(rest));
}

const sha256Hex = (text: string): string => createHash("sha256").update(text).digest("hex");

// The fingerprint: a digest of the image exactly as it came (keys in wire order), a fifth of the content hash's
// cost. Equal fingerprints mean equal content, so a fingerprint the manifest knows stands for the content hash
// it recorded; a different one (new content, or only a new key order) falls back to the content hash itself.
const prints = new WeakMap<FetchedImage, { fingerprint: string; chars: number }>();
// One-shot hashing (Node 20.12+) skips the Hash object: a fifth less time on a 1 KB input.
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: "base64") => string }).hash;

/** SHA-256 of a string, base64. */
export const sha256Base64 = (text: string): string =>
  oneShot ? oneShot("sha256", text, "base64") : createHash("sha256").update(text).digest("base64");

function print(image: FetchedImage): { fingerprint: string; chars: number } {
  let p = prints.get(image);
  if (p === undefined) {
    const json = JSON.stringify(image);
    const digest = sha256Base64(json);
    p = { fingerprint: digest.slice(0, 22), chars: json.length };
    prints.set(image, p);
  }
  return p;
}

export const fingerprint = (image: FetchedImage): string => print(image).fingerprint;

/** An upper bound on the image's size as UTF-8 JSON (3 bytes per UTF-16 unit at most), hence on its raw record's. */
export const jsonBytesBound = (image: FetchedImage): number => print(image).chars * 3;

/** Takes `hash` as the image's content hash when its fingerprint is `known` (recorded with that hash). */
export function primeContentHash(image: FetchedImage, known: string | undefined, hash: string): void {
  if (known !== undefined && !hashes.has(image) && fingerprint(image) === known) hashes.set(image, hash);
}
