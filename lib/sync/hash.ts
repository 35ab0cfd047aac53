// Content hashing: a stable digest of everything the provider told us about an image, so an
// unchanged image is recognised without comparing field by field and costs no write.
import { createHash } from "node:crypto";
import type { FetchedImage } from "../model.ts";

/** JSON with object keys sorted at every depth, so key order on the wire never looks like a change. */
export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(",")}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${stableStringify(obj[k])}`).join(",")}}`;
}

export function contentHash(image: FetchedImage): string {
  return createHash("sha256").update(stableStringify(image)).digest("hex");
}
