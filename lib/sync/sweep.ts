// The sweep of one scope: every page of every sub-listing at the maximum page size, de-duplicated,
// and checked for completeness (unique ids equal the last totalCount, and totalCount did not move
// between the first and the last page). An inconsistent listing is swept once more, then given up.
import type { FetchedImage } from "../model.ts";
import type { Page, PageQuery, ProviderAdapter } from "../providers/types.ts";

export interface SweepResult {
  images: FetchedImage[];
  complete: boolean;
  /** Unique images per sub-listing, keyed by part ("*" for a single listing: DynamoDB map keys cannot be empty). */
  partCounts: Record<string, number>;
  /** Why the sweep is incomplete. */
  problem?: string;
}

export type FetchPage = (query: PageQuery) => Promise<Page>;

interface PartResult {
  images: Map<string, FetchedImage>;
  consistent: boolean;
  problem?: string;
}

async function sweepPart(
  adapter: ProviderAdapter,
  scope: string,
  part: string,
  fetch: FetchPage,
  concurrency: number,
  onSize: (total: number) => Promise<void>,
): Promise<PartResult> {
  const images = new Map<string, FetchedImage>();
  const pageSize = adapter.maxPageSize;
  if (pageSize === null) {
    // Unpaged dialect: one call is the whole listing, so it is consistent by construction.
    const page = await fetch({ scope, part, pageNumber: 1, pageSize: 0 });
    for (const image of page.images) images.set(image.imageId, image);
    return { images, consistent: true };
  }
  // Page 1 tells how many pages there are; the rest are fetched `concurrency` at a time (the caller paces
  // them), because with offset paging each page is addressable and a provider's rate limit, not its
  // latency, should bound the sweep.
  const first = await fetch({ scope, part, pageNumber: 1, pageSize });
  if (first.totalCount === null) return { images, consistent: false, problem: "the provider gave no totalCount" };
  const firstTotal = first.totalCount;
  const totals = new Set([firstTotal]);
  for (const image of first.images) images.set(image.imageId, image);
  const pages = Math.max(1, Math.ceil(firstTotal / pageSize));
  // The caller may wait here for memory: it now knows how big the listing is, and holds only one page.
  await onSize(firstTotal);
  let next = 2;
  const worker = async () => {
    while (next <= pages) {
      const pageNumber = next++;
      const page = await fetch({ scope, part, pageNumber, pageSize });
      totals.add(page.totalCount ?? -1);
      for (const image of page.images) images.set(image.imageId, image);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, concurrency), pages - 1) }, worker));
  if (totals.size > 1) {
    const seen = [...totals].map((t) => (t < 0 ? "none" : String(t))).join(", ");
    return { images, consistent: false, problem: `totalCount moved during the sweep (${seen})` };
  }
  if (images.size !== firstTotal) {
    return { images, consistent: false, problem: `${images.size} unique images but totalCount ${firstTotal}` };
  }
  return { images, consistent: true };
}

export async function sweepScope(
  adapter: ProviderAdapter,
  scope: string,
  fetch: FetchPage,
  /** Pages in flight at once after the first. */
  concurrency = 1,
  /** Told each listing's size after its first page, before the rest is fetched. */
  onSize: (total: number) => Promise<void> = async () => {},
): Promise<SweepResult> {
  const all = new Map<string, FetchedImage>();
  const partCounts: Record<string, number> = {};
  for (const part of adapter.parts(scope)) {
    let result = await sweepPart(adapter, scope, part, fetch, concurrency, onSize);
    if (!result.consistent) result = await sweepPart(adapter, scope, part, fetch, concurrency, onSize);
    if (!result.consistent) {
      const where = part ? ` (listing ${part})` : "";
      return {
        images: [],
        complete: false,
        partCounts,
        problem: `inconsistent listing twice${where}: ${result.problem}`,
      };
    }
    partCounts[part || "*"] = result.images.size;
    for (const [id, image] of result.images) all.set(id, image);
  }
  return { images: [...all.values()], complete: true, partCounts };
}
