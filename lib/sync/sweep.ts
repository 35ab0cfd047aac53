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

async function sweepPart(adapter: ProviderAdapter, scope: string, part: string, fetch: FetchPage): Promise<PartResult> {
  const images = new Map<string, FetchedImage>();
  const pageSize = adapter.maxPageSize;
  if (pageSize === null) {
    // Unpaged dialect: one call is the whole listing, so it is consistent by construction.
    const page = await fetch({ scope, part, pageNumber: 1, pageSize: 0 });
    for (const image of page.images) images.set(image.imageId, image);
    return { images, consistent: true };
  }
  let firstTotal: number | null = null;
  let lastTotal: number | null = null;
  for (let pageNumber = 1; ; pageNumber++) {
    const page = await fetch({ scope, part, pageNumber, pageSize });
    if (page.totalCount === null) return { images, consistent: false, problem: "the provider gave no totalCount" };
    if (firstTotal === null) firstTotal = page.totalCount;
    lastTotal = page.totalCount;
    for (const image of page.images) images.set(image.imageId, image);
    if (page.images.length < pageSize || pageNumber * pageSize >= lastTotal) break;
    // A totalCount that keeps growing must not page forever.
    if (pageNumber >= Math.ceil(firstTotal / pageSize) + 2) {
      return { images, consistent: false, problem: `still paging at page ${pageNumber} of ${firstTotal} records` };
    }
  }
  if (firstTotal !== lastTotal) {
    return {
      images,
      consistent: false,
      problem: `totalCount moved from ${firstTotal} to ${lastTotal} during the sweep`,
    };
  }
  if (images.size !== lastTotal) {
    return { images, consistent: false, problem: `${images.size} unique images but totalCount ${lastTotal}` };
  }
  return { images, consistent: true };
}

export async function sweepScope(adapter: ProviderAdapter, scope: string, fetch: FetchPage): Promise<SweepResult> {
  const all = new Map<string, FetchedImage>();
  const partCounts: Record<string, number> = {};
  for (const part of adapter.parts(scope)) {
    let result = await sweepPart(adapter, scope, part, fetch);
    if (!result.consistent) result = await sweepPart(adapter, scope, part, fetch);
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
