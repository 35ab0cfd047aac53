// Errors of the query API: bad input a caller can fix, each with a stable code.
import { ImageSyncError } from "../errors.ts";

export type QueryErrorCode = "INVALID_QUERY" | "INVALID_PAGE_TOKEN" | "AMBIGUOUS_QUERY" | "READ_LIMIT";

/**
 * A query that cannot be answered as asked: a missing or malformed parameter, a foreign page token, or a
 * question whose answer depends on what it leaves open (AMBIGUOUS_QUERY: matches more than one architecture or
 * image type; ask again with `architecture` or `imageType`), or one latestImage could not settle within the
 * items it may examine (READ_LIMIT: name more of osVersion, architecture and imageType, or raise maxExamined).
 */
export class QueryError extends ImageSyncError {
  override name = "QueryError";
  declare readonly code: QueryErrorCode;
  constructor(code: QueryErrorCode, message: string) {
    super(code, message, { retryable: false });
  }
}
