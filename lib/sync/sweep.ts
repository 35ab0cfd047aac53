// The sweep of one scope: every page of every sub-listing at the maximum page size, de-duplicated,
// and checked for completeness (unique ids equal the last totalCount, and totalCount did not move
// between the first and the last page). An inconsistent listing is swept once more, then given up.
//
// Pages recognised from the last sweep (lib/sync/pages.ts) are not parsed. A listing whose every page is
// recognised is the recorded listing, so its count comes from the records (whose pages never share an
// image); a listing with any other page parses its recognised pages too, and is checked image by image.
import type { FetchedImage } from "../model.ts";
import type { Page, PageQuery, ProviderAdapter } from "../providers/types.ts";
import { Halt, settleAll } from "./settle.ts";

/** A page as the engine hands it over: parsed, or recognised from the last sweep. */
export interface SweptPage extends Page {
  /** The digest of the page's reply (lib/sync/pages.ts); absent when it has none. */
  digest?: string | null;
  /** For a recognised page (whose `images` are then empty): its recorded image count, and how to parse it. */
  reused?: { count: number; parse: () => Promise<FetchedImage[]> } | null;
}

/** A page of a complete sweep, as the manifest may record it. */
export interface SweptPageRecord {
  digest: string;
  totalCount: number | null;
  ids: string[];
}

export interface SweepResult {
  /** The images parsed, de-duplicated by id: every image unless `unparsedPages` > 0. */
  images: FetchedImage[];
  /** Pages left unparsed: those of listings whose every page was recognised. */
  unparsedPages: number;
  /** All pages of the sweep. */
  pageCount: number;
  /** Parses the pages left unparsed and gives every image of the sweep (the same objects as `images`). */
  parseAll: () => Promise<FetchedImage[]>;
  /** The digest, totalCount and image ids of every page with a digest (pages left unparsed: after parseAll). */
  pageRecords: () => SweptPageRecord[];
  complete: boolean;
  /** Unique images per sub-listing, keyed by part ("*" for a single listing: DynamoDB map keys cannot be empty). */
  partCounts: Record<string, number>;
  /** Why the sweep is incomplete. */
  problem?: string;
}

/** Fetches one page; calls `sent` once the request goes out (after the caller's pacing). */
export type FetchPage = (query: PageQuery, sent?: () => void) => Promise<SweptPage>;

export interface SweepOptions {
  /** Pages in flight at once per listing after the first. */
  concurrency?: number;
  /** Told each listing's size after its first page, before the rest is fetched. */
  onSize?: (total: number) => Promise<void>;
  /** The last complete sweep's unique images per sub-listing (ScopeStatus.partCounts), when there was one. */
  lastCounts?: Record<string, number>;
  /**
   * Called once every request of the sweep has gone out (only replies are awaited): the caller may start
   * another scope's requests. A listing swept again for inconsistency sends more after it.
   */
  onAllSent?: () => void;
}

/** A page as the sweep keeps it: its images once parsed. */
interface Kept {
  pageNumber: number;
  page: SweptPage;
  images: FetchedImage[] | null;
}

interface PartResult {
  images: Map<string, FetchedImage>;
  pages: Kept[];
  /** True when every page was recognised and none is parsed: `images` is then empty. */
  recognised: boolean;
  unique: number;
  consistent: boolean;
  problem?: string;
}

/** One listing of a scope to sweep, and what the sweep is told of it. */
interface Listing {
  scope: string;
  part: string;
  fetch: FetchPage;
  concurrency: number;
  onSize: (total: number) => Promise<void>;
  /** The listing's size in the last complete sweep, if known. */
  lastCount: number | undefined;
  /** Called once every page of the listing has been sent. */
  allSent: () => void;
}

async function sweepPart(listing: Listing, pageSize: number | null): Promise<PartResult> {
  const { scope, part } = listing;
  if (pageSize === null) {
    // Unpaged dialect: one call is the whole listing, so it is consistent by construction.
    const page = await listing.fetch({ scope, part, pageNumber: 1, pageSize: 0 }, listing.allSent);
    return settle([keep(1, page)], true, null);
  }
  const { pages, first, totals } = await fetchPages(listing, pageSize);
  if (first?.totalCount == null) {
    listing.allSent();
    return settle(pages, false, null, "the provider gave no totalCount");
  }
  const firstTotal = first.totalCount;
  // Empty pages sent past the end (the listing shrank) are no part of it: a later sweep would not send them, so
  // recording them would keep it from recognising the listing. A page past the end that lists images is kept.
  const last = Math.max(1, Math.ceil(firstTotal / pageSize));
  for (let i = pages.length - 1; i >= 0; i--) {
    const k = pages[i] as Kept;
    const empty = k.page.reused ? k.page.reused.count === 0 : k.page.images.length === 0;
    if (k.pageNumber > last && empty) pages.splice(i, 1);
  }
  if (totals.size > 1) {
    const seen = [...totals].map((t) => (t < 0 ? "none" : String(t))).join(", ");
    return settle(pages, false, firstTotal, `totalCount moved during the sweep (${seen})`);
  }
  return settle(pages, true, firstTotal);
}

const keep = (pageNumber: number, page: SweptPage): Kept => ({
  pageNumber,
  page,
  images: page.reused ? null : page.images,
});

/**
 * The pages of an offset-paged listing, in the order they came in. Page 1 tells how many pages there are. With
 * offset paging each page is addressable, so the rest are fetched `concurrency` at a time (the caller paces
 * them): a provider's rate limit, not its latency, bounds the sweep. When the last sweep says how long the
 * listing was, its pages go out with page 1 instead of after it (a listing that shrank by a page costs one empty
 * page; one that grew gets its new pages once page 1 says so).
 */
async function fetchPages(
  listing: Listing,
  pageSize: number,
): Promise<{ pages: Kept[]; first: SweptPage | null; totals: Set<number> }> {
  const { scope, part, fetch, concurrency, onSize, allSent } = listing;
  const pagesOf = (n: number) => Math.max(1, Math.ceil(n / pageSize));
  const pages: Kept[] = [];
  const totals = new Set<number>();
  let first: SweptPage | null = null;
  // Every page is sent once the first has told how many there are and each of those has gone out.
  const sent = new Set<number>();
  const checkSent = () => {
    const total = first?.totalCount;
    if (total === undefined || total === null) return;
    for (let p = 1; p <= pagesOf(total); p++) if (!sent.has(p)) return;
    allSent();
  };
  const fetchRange = async (from: number, to: () => number) => {
    let next = from;
    const worker = async () => {
      while (next <= to()) {
        const pageNumber = next++;
        const page = await fetch({ scope, part, pageNumber, pageSize }, () => {
          sent.add(pageNumber);
          checkSent();
        });
        if (pageNumber === 1) {
          first = page;
          checkSent();
          // The caller may wait here for memory: it now knows how big the listing is.
          if (page.totalCount !== null) await onSize(page.totalCount);
        }
        totals.add(page.totalCount ?? -1);
        pages.push(keep(pageNumber, page));
      }
    };
    // A page that fails stops the others (the fetch is the sweep's guarded one), and they settle before it is told.
    await settleAll(Array.from({ length: Math.max(1, Math.min(concurrency, to() - from + 1)) }, worker));
  };
  const guessed = listing.lastCount === undefined ? 1 : pagesOf(listing.lastCount);
  await fetchRange(1, () => (first?.totalCount == null ? guessed : Math.min(guessed, pagesOf(first.totalCount))));
  const firstPage = first as SweptPage | null;
  const firstTotal = firstPage?.totalCount;
  if (firstTotal != null && pagesOf(firstTotal) > guessed) await fetchRange(guessed + 1, () => pagesOf(firstTotal));
  return { pages, first: firstPage, totals };
}

/** Counts a listing's unique images: from the records when every page was recognised, else by parsing. */
async function settle(
  pages: Kept[],
  consistent: boolean,
  totalCount: number | null,
  problem?: string,
): Promise<PartResult> {
  // In page order, whatever order they came in: the same listing gives the same sweep.
  pages.sort((a, b) => a.pageNumber - b.pageNumber);
  const images = new Map<string, FetchedImage>();
  const recognised = pages.length > 0 && pages.every((k) => k.page.reused);
  let unique: number;
  if (recognised) {
    unique = pages.reduce((n, k) => n + (k.page.reused?.count ?? 0), 0);
  } else {
    for (const k of pages) {
      k.images ??= (await k.page.reused?.parse()) ?? [];
      for (const image of k.images) images.set(image.imageId, image);
    }
    unique = images.size;
  }
  if (consistent && totalCount !== null && unique !== totalCount)
    return {
      images,
      pages,
      recognised,
      unique,
      consistent: false,
      problem: `${unique} unique images but totalCount ${totalCount}`,
    };
  return { images, pages, recognised, unique, consistent, ...(problem ? { problem } : {}) };
}

export async function sweepScope(
  adapter: ProviderAdapter,
  scope: string,
  fetch: FetchPage,
  options: SweepOptions = {},
): Promise<SweepResult> {
  const names = adapter.parts(scope);
  const results = await sweepParts(adapter, scope, names, fetch, options);
  const parts: PartResult[] = [];
  const partCounts: Record<string, number> = {};
  for (const [i, part] of names.entries()) {
    const result = results[i] as PartResult;
    if (!result.consistent) {
      const where = part ? ` (listing ${part})` : "";
      return {
        images: [],
        unparsedPages: 0,
        pageCount: 0,
        parseAll: async () => [],
        pageRecords: () => [],
        complete: false,
        partCounts,
        problem: `inconsistent listing twice${where}: ${result.problem}`,
      };
    }
    partCounts[part || "*"] = result.unique;
    parts.push(result);
  }
  return completeSweep(parts, partCounts);
}

/**
 * Every sub-listing, swept at once (the caller's pace is shared), each retried on its own once when it is
 * inconsistent. Once any page of any sub-listing has failed, the sweep sends nothing more (lib/sync/settle.ts).
 */
async function sweepParts(
  adapter: ProviderAdapter,
  scope: string,
  names: readonly string[],
  fetch: FetchPage,
  options: SweepOptions,
): Promise<PartResult[]> {
  const { concurrency = 1, onSize = async () => {}, lastCounts = {} } = options;
  let signalled = false;
  const onAllSent = () => {
    if (signalled) return;
    signalled = true;
    options.onAllSent?.();
  };
  const halt = new Halt();
  const guarded: FetchPage = halt.guard(fetch);
  let sending = names.length;
  const swept = settleAll(
    names.map(async (part) => {
      let counted = false;
      const allSent = () => {
        if (counted) return;
        counted = true;
        if (--sending === 0) onAllSent();
      };
      const lastCount = lastCounts[part || "*"] ?? undefined;
      const listing: Listing = { scope, part, fetch: guarded, concurrency, onSize, lastCount, allSent };
      // A listing that fails on a page sends nothing more.
      const result = await sweepPart(listing, adapter.maxPageSize).finally(allSent);
      return result.consistent ? result : sweepPart(listing, adapter.maxPageSize);
    }),
  );
  const results = await swept.catch((e: unknown) => {
    halt.rethrow();
    throw e;
  });
  onAllSent();
  return results;
}

/** The result of a complete sweep: its images, and how to parse the pages left unparsed. */
function completeSweep(parts: PartResult[], partCounts: Record<string, number>): SweepResult {
  const merge = (): FetchedImage[] => {
    const all = new Map<string, FetchedImage>();
    for (const p of parts) for (const [id, image] of p.images) all.set(id, image);
    return [...all.values()];
  };
  const kept = parts.flatMap((p) => p.pages);
  let images = merge();
  const unparsed = parts.filter((p) => p.recognised);
  const parseAll = async (): Promise<FetchedImage[]> => {
    for (const p of unparsed.splice(0)) {
      for (const k of p.pages) {
        k.images ??= (await k.page.reused?.parse()) ?? [];
        for (const image of k.images) p.images.set(image.imageId, image);
      }
      p.recognised = false;
    }
    images = merge();
    return images;
  };
  const pageRecords = (): SweptPageRecord[] =>
    kept.flatMap((k) =>
      k.page.digest && k.images
        ? [{ digest: k.page.digest, totalCount: k.page.totalCount, ids: k.images.map((i) => i.imageId) }]
        : [],
    );
  return {
    images,
    unparsedPages: unparsed.reduce((n, p) => n + p.pages.length, 0),
    pageCount: kept.length,
    parseAll,
    pageRecords,
    complete: true,
    partCounts,
  };
}
