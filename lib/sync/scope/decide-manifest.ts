// The manifest a scope's status names once its images changed (lib/store/manifest.ts): the digests of the stored
// images, and an index of the sweep's pages that list them as stored. Decides: no clock, no I/O.
import type { FetchedImage } from "../../model.ts";
import type { Manifest, PageIndex } from "../../store/manifest.ts";
import type { StoredDigest } from "../diff.ts";
import { contentHash, fingerprint } from "../hash.ts";
import { PAGE_FORMAT, type PageRecord } from "../pages.ts";
import type { SweptPageRecord } from "../sweep.ts";

/** A manifest to write: the digests of the stored images, and the index of the pages that list them. */
export interface ManifestRecord {
  digests: Manifest;
  pages: PageIndex;
}

/**
 * A manifest of the stored images, with the fingerprint of each listed image its content hash was taken of,
 * and an index of the sweep's pages whose images are all stored as listed.
 */
export function withFingerprints(
  stored: ReadonlyMap<string, StoredDigest>,
  fetched: readonly FetchedImage[],
  records: readonly SweptPageRecord[],
): ManifestRecord {
  const digests: Manifest = new Map();
  for (const [id, s] of stored)
    digests.set(id, { state: s.state, contentHash: s.contentHash, deprecationReason: s.deprecationReason });
  for (const image of fetched) {
    const d = digests.get(image.imageId);
    // A held change leaves the stored hash behind the listing's: that image gets no fingerprint.
    if (d && d.contentHash === contentHash(image)) d.fingerprint = fingerprint(image);
  }
  return { digests, pages: pageIndex(digests, records) };
}

/**
 * A page with an image stored otherwise than listed (a held change), or one another page lists too, is not
 * recorded: it must be parsed. So recorded pages never share an image, and their counts add up.
 */
function pageIndex(digests: Manifest, records: readonly SweptPageRecord[]): PageIndex {
  const pages = new Map<string, PageRecord>();
  const listed = new Set<string>();
  for (const page of records) {
    const ids = new Set(page.ids);
    if (ids.size !== page.ids.length) continue;
    if (page.ids.some((id) => listed.has(id) || digests.get(id)?.fingerprint === undefined)) continue;
    for (const id of ids) listed.add(id);
    pages.set(page.digest, { totalCount: page.totalCount, count: ids.size });
  }
  let covers = true;
  for (const [id, d] of digests) if (d.state === "active" && !listed.has(id)) covers = false;
  return { pageFormat: PAGE_FORMAT, pages, covers };
}
