// A scope's manifest: every stored image's id, content hash, state, deprecation reason and (for images the last
// sweep listed) fingerprint, packed into a few items, so a sync can tell "nothing changed" without reading the
// scope's images back (a 7,800-image scope is 3 items instead of 7,800). Pure builders and codecs; store.ts
// does the I/O.
//
//   item       PK                          SK             attributes
//   manifest   MANIFEST#<account>#<scope>  CHUNK#<nnnn>   runId, index, entries (JSON of [id, hash, state, reason, fp])
//   pages      MANIFEST#<account>#<scope>  PAGES          runId, pageFormat, covers, pages (JSON of [digest, total, n])
//
// The pages item lists the last sweep's pages whose images are all stored as listed (lib/sync/pages.ts). When
// a sweep recognises every one of them, and they cover every active image, nothing changed: that one small
// item is all a steady scope reads.
//
// The scope's status names the manifest that is valid ({ runId, chunks, count }). A run that is about to
// change the scope's images first removes that reference, and names a new manifest only after every image and
// pointer write succeeded; so a named manifest always describes the table, and a crash in between leaves the
// scope without one (the next run then reads the images back, as it would without manifests).
import type { QueryCommandInput } from "@aws-sdk/lib-dynamodb";
import type { ScopeKey } from "../model.ts";
import type { StoredDigest } from "../sync/diff.ts";
import type { PageRecord } from "../sync/pages.ts";

export interface ManifestRef {
  runId: string;
  chunks: number;
  /** Images described (a check on the chunks read back). */
  count: number;
}

export type Manifest = Map<string, StoredDigest>;

/** The pages a manifest records (see above). */
export interface PageIndex {
  /** What the digests are relative to (lib/sync/pages.ts PAGE_FORMAT). */
  pageFormat: string;
  /** By digest. */
  pages: Map<string, PageRecord>;
  /** True when every active image of the manifest is on one of the pages. */
  covers: boolean;
}

export const MANIFEST_ITEM = "manifest";
/** A chunk's entries stay under this many bytes, far inside DynamoDB's 400 KB item limit. */
export const MANIFEST_CHUNK_BYTES = 300_000;

export const manifestPk = (key: Pick<ScopeKey, "account" | "scope">): string => `MANIFEST#${key.account}#${key.scope}`;
export const manifestSk = (index: number): string => `CHUNK#${String(index).padStart(4, "0")}`;
export const PAGES_SK = "PAGES";
/** Pages one index records: about 40 bytes each, so far inside DynamoDB's 400 KB item limit. */
export const MAX_RECORDED_PAGES = 5_000;

/** The manifest's page index item, written with its chunks by run `runId` (null: too many pages to record). */
export function pageIndexItem(
  key: Pick<ScopeKey, "account" | "scope">,
  runId: string,
  index: PageIndex,
): Record<string, unknown> | null {
  if (index.pages.size > MAX_RECORDED_PAGES) return null;
  return {
    PK: manifestPk(key),
    SK: PAGES_SK,
    itemType: MANIFEST_ITEM,
    runId,
    pageFormat: index.pageFormat,
    covers: index.covers,
    pages: JSON.stringify([...index.pages].map(([digest, r]) => [digest, r.totalCount, r.count])),
  };
}

/** The page index of the manifest the reference names, or null when the item is another run's or unreadable. */
export function pageIndexFromItem(item: Record<string, unknown> | undefined, ref: ManifestRef): PageIndex | null {
  if (!item || item.runId !== ref.runId || typeof item.pageFormat !== "string" || typeof item.pages !== "string")
    return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(item.pages);
  } catch {
    return null;
  }
  if (!Array.isArray(parsed)) return null;
  const pages = new Map<string, PageRecord>();
  for (const p of parsed as unknown[]) {
    if (!Array.isArray(p) || typeof p[0] !== "string" || typeof p[2] !== "number") return null;
    pages.set(p[0], { totalCount: typeof p[1] === "number" ? p[1] : null, count: p[2] });
  }
  return { pageFormat: item.pageFormat, pages, covers: item.covers === true };
}

/** Every chunk of the scope's manifest (one Query; manifestFromItems keeps the ones the reference names). */
export function manifestQuery(tableName: string, key: Pick<ScopeKey, "account" | "scope">): QueryCommandInput {
  return {
    TableName: tableName,
    KeyConditionExpression: "PK = :pk",
    ExpressionAttributeValues: { ":pk": manifestPk(key) },
  };
}

type Entry = [id: string, hash: string, state: "a" | "d", reason: string | null, fingerprint?: string];

/** The manifest's chunk items for a scope's digests, written by run `runId`. */
export function manifestItems(
  key: Pick<ScopeKey, "account" | "scope">,
  runId: string,
  digests: Iterable<[string, StoredDigest]>,
): { items: Record<string, unknown>[]; ref: ManifestRef } {
  const chunks: string[] = [];
  let current: string[] = [];
  let bytes = 2;
  let count = 0;
  for (const [id, d] of digests) {
    const entry: Entry = [id, d.contentHash, d.state === "active" ? "a" : "d", d.deprecationReason ?? null];
    if (d.fingerprint) entry.push(d.fingerprint);
    const json = JSON.stringify(entry);
    const size = Buffer.byteLength(json) + 1;
    if (current.length > 0 && bytes + size > MANIFEST_CHUNK_BYTES) {
      chunks.push(`[${current.join(",")}]`);
      current = [];
      bytes = 2;
    }
    current.push(json);
    bytes += size;
    count++;
  }
  chunks.push(`[${current.join(",")}]`);
  const pk = manifestPk(key);
  return {
    items: chunks.map((entries, index) => ({
      PK: pk,
      SK: manifestSk(index),
      itemType: MANIFEST_ITEM,
      runId,
      index,
      entries,
    })),
    ref: { runId, chunks: chunks.length, count },
  };
}

/**
 * The manifest the reference names, from the scope's chunk items, or null when they do not make it up
 * exactly (a chunk missing or left by another run, or the count off): the caller then reads the images.
 */
export function manifestFromItems(items: readonly Record<string, unknown>[], ref: ManifestRef): Manifest | null {
  const byIndex = new Map<number, string>();
  for (const item of items) {
    if (item.runId === ref.runId && typeof item.index === "number" && typeof item.entries === "string")
      byIndex.set(item.index, item.entries);
  }
  const out: Manifest = new Map();
  for (let i = 0; i < ref.chunks; i++) {
    const entries = byIndex.get(i);
    if (entries === undefined) return null;
    let parsed: unknown;
    try {
      parsed = JSON.parse(entries);
    } catch {
      return null;
    }
    if (!Array.isArray(parsed)) return null;
    for (const e of parsed as unknown[]) {
      if (!Array.isArray(e) || typeof e[0] !== "string" || typeof e[1] !== "string") return null;
      out.set(e[0], {
        contentHash: e[1],
        state: e[2] === "a" ? "active" : "deprecated",
        deprecationReason: (e[3] ?? null) as StoredDigest["deprecationReason"],
        ...(typeof e[4] === "string" ? { fingerprint: e[4] } : {}),
      });
    }
  }
  return out.size === ref.count ? out : null;
}
