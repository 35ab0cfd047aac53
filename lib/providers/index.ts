// The adapter registry: one factory per API dialect.
import type { ApiId } from "../model.ts";
import { TENCENT_MAX_PAGE_SIZE, TENCENT_REQUESTS_PER_SECOND } from "./tencent/api3.ts";
import { tencentCvm, tencentCvmV2, tencentImageV2 } from "./tencent/index.ts";
import type { AdapterFactory } from "./types.ts";
import { ZENLAYER_MAX_PAGE_SIZE, zenlayerBmc, zenlayerVm, zenlayerZec } from "./zenlayer/index.ts";

export const ADAPTERS: Record<ApiId, AdapterFactory> = {
  "zenlayer-bmc": zenlayerBmc,
  "zenlayer-zec": zenlayerZec,
  "zenlayer-vm": zenlayerVm,
  "tencent-cvm": tencentCvm,
  "tencent-image-v2": tencentImageV2,
  "tencent-cvm-v2": tencentCvmV2,
};

/** Zenlayer publishes no rate limit: the pace per scope used when an account sets none. */
export const DEFAULT_REQUESTS_PER_SECOND = 20;

/** Each dialect's paging and pace, for planning and benchmarking without building an adapter. */
export const API_LIMITS: Record<ApiId, { maxPageSize: number | null; requestsPerSecond: number; parts: number }> = {
  "zenlayer-bmc": { maxPageSize: null, requestsPerSecond: DEFAULT_REQUESTS_PER_SECOND, parts: 1 },
  "zenlayer-zec": { maxPageSize: ZENLAYER_MAX_PAGE_SIZE, requestsPerSecond: DEFAULT_REQUESTS_PER_SECOND, parts: 1 },
  "zenlayer-vm": { maxPageSize: ZENLAYER_MAX_PAGE_SIZE, requestsPerSecond: DEFAULT_REQUESTS_PER_SECOND, parts: 1 },
  "tencent-cvm": { maxPageSize: TENCENT_MAX_PAGE_SIZE, requestsPerSecond: TENCENT_REQUESTS_PER_SECOND, parts: 1 },
  "tencent-image-v2": { maxPageSize: TENCENT_MAX_PAGE_SIZE, requestsPerSecond: TENCENT_REQUESTS_PER_SECOND, parts: 1 },
  // imageType 1 to 4, each its own listing.
  "tencent-cvm-v2": { maxPageSize: TENCENT_MAX_PAGE_SIZE, requestsPerSecond: TENCENT_REQUESTS_PER_SECOND, parts: 4 },
};
