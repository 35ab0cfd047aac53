// One view across providers: the latest usable image of an OS family (or a custom image family) in every scope
// of every account, per architecture and image type, read from the latest-image pointers the sync keeps (one
// GSI2 Query on LATEST#<family> or FAMILY#<image family>, never a scan of images).
import type { LatestPointer } from "../model.ts";
import { familyPk, GSI_OS, latestPk, pointerFromItem, versionKey } from "../store/items.ts";
import type { ItemReader } from "../store/store.ts";
import { QueryError } from "./errors.ts";
import { normalizeArchitecture } from "./images.ts";
import { collect, decodeToken, encodeToken, pageLimit } from "./paging.ts";
import type { Page, PageOptions } from "./types.ts";

export type { LatestPointer } from "../model.ts";

export interface WhereQuery {
  /** Lower case, as normalised: ubuntu, centos, debian, windows, ... (or `family`, not both). */
  osFamily?: string;
  /**
   * A version or a prefix of one by whole parts ("22.04" matches 22.04 and 22.04.3, "7" matches 7.4, not 70);
   * "any" names the pointers of images that state no version.
   */
  osVersion?: string;
  /** A provider image family (Tencent ImageFamily), as spelled: its custom-image pointers. */
  family?: string;
  /** Only this architecture (x86_64, arm64, ...; amd64, aarch64 and arm read as usual). Never matches "unknown". */
  architecture?: string;
  /** Only pointers of this image type: public, custom, shared, marketplace. */
  imageType?: string;
  /** Stale pointers (their line has no usable image left; they name their last image) are listed, marked
   *  `stale: true`, unless this is false. */
  includeStale?: boolean;
}

const POINTER_INDEX_KEY = ["PK", "SK", "GSI2PK", "GSI2SK"] as const;

/** The index partition and key condition of a where query. */
function whereKey(query: WhereQuery): { partition: string; prefix?: string } {
  const text = (v: unknown) => (typeof v === "string" ? v.trim() : "");
  const family = text(query.family);
  const os = text(query.osFamily).toLowerCase();
  if (family && os) throw new QueryError("INVALID_QUERY", "osFamily and family are exclusive: ask by one");
  if (family) {
    if (query.osVersion !== undefined) throw new QueryError("INVALID_QUERY", "osVersion does not apply to a family");
    return { partition: familyPk(family) };
  }
  if (!os) throw new QueryError("INVALID_QUERY", "osFamily (or family) is required");
  const version = query.osVersion === undefined ? undefined : versionKey(query.osVersion.trim());
  if (version === "") throw new QueryError("INVALID_QUERY", `osVersion "${query.osVersion}" holds no version`);
  return { partition: latestPk(os), ...(version === undefined ? {} : { prefix: version }) };
}

/** Pointers of lines only (legacy ones are superseded), narrowed by architecture, type and staleness. */
function whereFilter(query: WhereQuery) {
  const names: Record<string, string> = { "#line": "line" };
  const values: Record<string, unknown> = {};
  const parts = ["attribute_exists(#line)"];
  const equal = (attr: string, value: unknown) => {
    names[`#${attr}`] = attr;
    values[`:${attr}`] = value;
    parts.push(`#${attr} = :${attr}`);
  };
  const arch = normalizeArchitecture(query.architecture);
  if (arch !== undefined) equal("architecture", arch);
  if (query.imageType !== undefined) equal("imageType", query.imageType.trim());
  if (query.includeStale === false) equal("stale", false);
  return { FilterExpression: parts.join(" AND "), ExpressionAttributeNames: names, values };
}

/**
 * The latest image of an OS family (and version), or of an image family, per account, scope, version,
 * architecture and image type: one row each, ordered by version (lowest first, numerically), then account, then
 * scope. Stale pointers are listed and marked (`stale`, `staleSince`) unless `includeStale` is false. Paged
 * like every list of the query API.
 */
export async function whereLatest(
  reader: ItemReader,
  query: WhereQuery,
  opts: PageOptions = {},
): Promise<Page<LatestPointer>> {
  const { partition, prefix } = whereKey(query);
  const { values, ...filter } = whereFilter(query);
  const input = {
    IndexName: GSI_OS,
    KeyConditionExpression: prefix === undefined ? "GSI2PK = :pk" : "GSI2PK = :pk AND begins_with(GSI2SK, :v)",
    // Numeric parts are padded to one width, so the prefix matches whole parts: "22" lists 22.04, never 220.
    ...filter,
    ExpressionAttributeValues: { ":pk": partition, ...(prefix === undefined ? {} : { ":v": prefix }), ...values },
  };
  const start = opts.pageToken
    ? decodeToken(opts.pageToken, POINTER_INDEX_KEY, (k) => k.GSI2PK === partition)
    : undefined;
  const out = await collect(reader, input, pageLimit(opts.limit), start, POINTER_INDEX_KEY);
  const items = out.items.map(pointerFromItem);
  return out.next ? { items, nextPageToken: encodeToken(out.next) } : { items };
}
