// Page digests: a steady sweep recognises a page it has seen before without parsing it.
//
// The digest of a page is a hash of its request (dialect, scope, listing, page number and size), of the code
// that turns a body into images, and of the body as received, with the request id at the envelope's edges
// masked (it differs on every call). The manifest records, for each page of the last sweep whose every image it
// describes as stored, the page's digest, totalCount and image count (lib/store/manifest.ts). A reply with a
// recorded digest is the same bytes the same code parsed into exactly those stored images, so the sweep takes
// its totalCount and count from the record and keeps the body, parsed only if the scope turns out to have
// changed elsewhere.
import { createHash } from "node:crypto";
import type { ApiId } from "../model.ts";
import type { HttpClient, HttpResponse } from "../providers/http.ts";
import type { PageQuery, ProviderAdapter } from "../providers/types.ts";
import { sha256Base64 } from "./hash.ts";
import type { SweptPage } from "./sweep.ts";

/** A hash of the bundle's provider, model and sync sources, set at build time (lib/build/build.mjs). */
declare const __IMAGE_SYNC_PARSER_HASH__: string | undefined;

/**
 * What page digests are relative to: this scheme's version and the code that parses pages. A deployment that
 * changes that code changes every digest, so its first sweep parses every page (and records them again).
 * Unbundled runs (tests) have no build hash and only ever compare pages within one code version.
 */
export const PAGE_FORMAT = `1.${typeof __IMAGE_SYNC_PARSER_HASH__ === "string" ? __IMAGE_SYNC_PARSER_HASH__ : "source"}`;

/** What the manifest records of a page: its totalCount and how many images it lists. */
export interface PageRecord {
  totalCount: number | null;
  count: number;
}

/** Where a request id may be masked: the envelope's first and last bytes, never among the images. */
const EDGE_CHARS = 512;
const REQUEST_ID = /"(?:requestId|RequestId|RequestID)"\s*:\s*"[^"\\]*"/g;
const maskIds = (text: string): string => text.replace(REQUEST_ID, '"requestId":""');

/** The digest of a page's reply (see above). */
export function pageDigest(api: ApiId, query: PageQuery, body: string): string {
  const request = `${PAGE_FORMAT}\n${api}\n${query.scope}\n${query.part}\n${query.pageNumber}\n${query.pageSize}\n`;
  if (body.length <= 2 * EDGE_CHARS) {
    const text = request + maskIds(body);
    return sha256Base64(text).slice(0, 22);
  }
  return createHash("sha256")
    .update(request)
    .update(maskIds(body.slice(0, EDGE_CHARS)))
    .update(body.slice(EDGE_CHARS, body.length - EDGE_CHARS))
    .update(maskIds(body.slice(body.length - EDGE_CHARS)))
    .digest("base64")
    .slice(0, 22);
}

/** Thrown through the adapter when a reply is recognised, so it is not parsed; the probe says what matched. */
class PageRecognised extends Error {}

/**
 * An HttpClient for one page request that digests the (successful) reply and, when the digest is among the
 * recorded pages, stops the adapter before it parses the body: `match` then holds the record and the reply.
 */
export class PageProbe {
  digest: string | null = null;
  match: { record: PageRecord; response: HttpResponse } | null = null;
  readonly http: HttpClient;

  constructor(
    inner: HttpClient,
    /** The recorded pages, when the scope has a manifest (awaited only once a reply is in). */
    known: Promise<ReadonlyMap<string, PageRecord> | null> | null,
    api: ApiId,
    query: PageQuery,
  ) {
    this.http = {
      send: async (req) => {
        const res = await inner.send(req);
        if (res.status !== 200) return res;
        this.digest = pageDigest(api, query, res.body);
        const record = (await known?.catch(() => null))?.get(this.digest);
        if (record) {
          this.match = { record, response: res };
          throw new PageRecognised("page recognised from the last sweep");
        }
        return res;
      },
      close: () => Promise.resolve(),
    };
  }
}

/** An HttpClient that answers with one recorded reply: parses a recognised page without sending anything. */
export function replaying(response: HttpResponse): HttpClient {
  return { send: () => Promise.resolve(response), close: () => Promise.resolve() };
}

/**
 * One request for one page through a probe: a reply recognised from the last sweep comes back unparsed (its
 * images empty), with its recorded count and how to parse it should the scope turn out to have changed.
 */
export async function fetchRecognising(
  adapterFor: (http: HttpClient) => ProviderAdapter,
  http: HttpClient,
  known: Promise<ReadonlyMap<string, PageRecord> | null> | null,
  api: ApiId,
  query: PageQuery,
): Promise<SweptPage> {
  const probe = new PageProbe(http, known, api, query);
  try {
    const page = await adapterFor(probe.http).fetchPage(query);
    return { ...page, digest: probe.digest, reused: null };
  } catch (e) {
    const match = probe.match;
    if (!match) throw e;
    const parse = async () => (await adapterFor(replaying(match.response)).fetchPage(query)).images;
    return {
      images: [],
      totalCount: match.record.totalCount,
      requestId: null,
      digest: probe.digest,
      reused: { count: match.record.count, parse },
    };
  }
}
