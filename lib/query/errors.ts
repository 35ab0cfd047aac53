// Errors of the query API: bad input a caller can fix, each with a stable code.
import { ImageSyncError } from "../errors.ts";

export type QueryErrorCode = "INVALID_QUERY" | "INVALID_PAGE_TOKEN";

/** A query that cannot be answered as asked (missing or malformed parameter, foreign page token). */
export class QueryError extends ImageSyncError {
  override name = "QueryError";
  declare readonly code: QueryErrorCode;
  constructor(code: QueryErrorCode, message: string) {
    super(code, message, { retryable: false });
  }
}
