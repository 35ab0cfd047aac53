// The query API for downstream Lambdas and tools: `import { latestImage } from "image-sync/query"`.
// Every call is a GetItem or a Query (never a Scan); paged results carry an opaque page token.
// The error classes are exported so a caller can tell input it must fix (QueryError) from a DynamoDB failure
// (StoreError, `retryable` set for throttling and 5xx) and a bad environment (ConfigError, loadQuerySettings).
export { ConfigError, type ErrorContext, ImageSyncError, StoreError } from "../errors.ts";
export { changesSince, MAX_WINDOW_DAYS, parseSince } from "./changes.ts";
export { QueryError, type QueryErrorCode } from "./errors.ts";
export {
  DEFAULT_MAX_EXAMINED,
  findImages,
  getImage,
  LATEST_PAGE_ITEMS,
  latestImage,
  listScope,
  normalizeArchitecture,
} from "./images.ts";
export { handleQuery, type QueryDeps, type QueryEvent, type QueryResult } from "./invoke.ts";
export { createQueryReader, type QueryReader, type QueryReaderOptions } from "./reader.ts";
export { loadQuerySettings, type QuerySettings } from "./settings.ts";
export { DEFAULT_STALE_AFTER_HOURS, scopeStatus } from "./status.ts";
export type * from "./types.ts";
export { type LatestPointer, type WhereQuery, whereLatest } from "./where.ts";
