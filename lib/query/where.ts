// One view across providers: the latest usable image of an OS family in every scope of every account, read
// from the latest-image pointers the sync keeps (one GSI2 Query on LATEST#<family>, never a scan of images).
import type { LatestPointer } from "../model.ts";
import { GSI_OS, latestPk, pointerFromItem, versionKey } from "../store/items.ts";
import type { ItemReader } from "../store/store.ts";
import { QueryError } from "./errors.ts";
import { collect, decodeToken, encodeToken, pageLimit } from "./paging.ts";
import type { Page, PageOptions } from "./types.ts";

export type { LatestPointer } from "../model.ts";

export interface WhereQuery {
  /** Lower case, as normalised: ubuntu, centos, debian, windows, ... */
  osFamily: string;
  /**
   * A version or a prefix of one by whole parts ("22.04" matches 22.04 and 22.04.3, "7" matches 7.4, not 70);
   * "any" names the pointers of images that state no version.
   */
  osVersion?: string;
  /** Also list pointers whose version has no usable image left (they name their last image, marked stale). */
  includeStale?: boolean;
}

const POINTER_INDEX_KEY = ["PK", "SK", "GSI2PK", "GSI2SK"] as const;

/**
 * The latest usable image of an OS family (and version) per account, scope and version, ordered by version
 * (lowest first, numerically), then account, then scope. Paged like every list of the query API.
 */
export async function whereLatest(
  reader: ItemReader,
  query: WhereQuery,
  opts: PageOptions = {},
): Promise<Page<LatestPointer>> {
  const family = typeof query.osFamily === "string" ? query.osFamily.trim().toLowerCase() : "";
  if (!family) throw new QueryError("INVALID_QUERY", "osFamily is required");
  const version = query.osVersion === undefined ? undefined : versionKey(query.osVersion.trim());
  if (version === "") throw new QueryError("INVALID_QUERY", `osVersion "${query.osVersion}" holds no version`);
  const partition = latestPk(family);
  const input = {
    IndexName: GSI_OS,
    KeyConditionExpression: version === undefined ? "GSI2PK = :pk" : "GSI2PK = :pk AND begins_with(GSI2SK, :v)",
    // Numeric parts are padded to one width, so the prefix matches whole parts: "22" lists 22.04, never 220.
    ...(query.includeStale
      ? {}
      : { FilterExpression: "#stale = :fresh", ExpressionAttributeNames: { "#stale": "stale" } }),
    ExpressionAttributeValues: {
      ":pk": partition,
      ...(version === undefined ? {} : { ":v": version }),
      ...(query.includeStale ? {} : { ":fresh": false }),
    },
  };
  const start = opts.pageToken
    ? decodeToken(opts.pageToken, POINTER_INDEX_KEY, (k) => k.GSI2PK === partition)
    : undefined;
  const out = await collect(reader, input, pageLimit(opts.limit), start, POINTER_INDEX_KEY);
  const items = out.items.map(pointerFromItem);
  return out.next ? { items, nextPageToken: encodeToken(out.next) } : { items };
}
