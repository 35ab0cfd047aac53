// The provider interface: one adapter per API dialect. An adapter knows the wire (signing, envelopes,
// errors, paging parameters) and normalisation; the sync engine owns paging order, retries, pacing,
// completeness and request counting, so every dialect gets them the same way.
import type { AccountConfig } from "../config.ts";
import type { ApiId, FetchedImage, ProviderName } from "../model.ts";
import type { HttpClient } from "./http.ts";

export interface PageQuery {
  scope: string;
  /** The sub-listing of the scope ("" when the scope is a single listing). */
  part: string;
  /** 1-based page number; adapters turn it into pageNum or Offset = (pageNumber - 1) * pageSize. */
  pageNumber: number;
  pageSize: number;
  /**
   * Only these images: a lookup by id (lib/sync/confirm.ts), which every dialect's DescribeImages can answer.
   * The reply lists those the provider still has; its totalCount counts them, not the listing.
   */
  imageIds?: readonly string[];
}

export interface Page {
  images: FetchedImage[];
  /** The provider's count of all records of the listing, or null when the dialect has none (unpaged). */
  totalCount: number | null;
  requestId: string | null;
}

export interface ProviderAdapter {
  readonly api: ApiId;
  readonly provider: ProviderName;
  /** The largest page the API allows; null when the listing is not paged (one call returns everything). */
  readonly maxPageSize: number | null;
  /** Sustained requests per second the provider allows per account and scope, or null when unpublished. */
  readonly defaultRequestsPerSecond: number | null;
  /** The scopes to sweep: the account's own list when it has one, else discovery (one attempt, may throw). */
  listScopes(): Promise<string[]>;
  /** Independent sub-listings of a scope, each paged and checked for completeness on its own. */
  parts(scope: string): string[];
  /** Exactly one signed request for one page (signed afresh on every call). Throws ImageSyncError. */
  fetchPage(query: PageQuery): Promise<Page>;
}

export interface AdapterContext {
  account: AccountConfig;
  http: HttpClient;
  /** Unix milliseconds; injectable so signing can be tested. */
  now: () => number;
}

export type AdapterFactory = (ctx: AdapterContext) => ProviderAdapter;
