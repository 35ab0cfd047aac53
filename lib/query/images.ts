// Image queries: one image by key, a scope's images, images by OS (newest version first), and the newest
// usable image for an OS in a scope, the answer an SSM "latest AMI" parameter gives on AWS.
import type { StoredImage } from "../model.ts";
import { GSI_OS, imageFromItem, imagePk, imageSk, scopeImagesQuery, versionKey } from "../store/items.ts";
import type { ItemReader } from "../store/store.ts";
import { QueryError } from "./errors.ts";
import { collect, decodeToken, encodeToken, equalityFilter, pageLimit } from "./paging.ts";
import type { FindImagesQuery, ImageRef, LatestImageQuery, ListScopeQuery, Page, PageOptions } from "./types.ts";

const TABLE_KEY = ["PK", "SK"] as const;
const ACTIVE_KEY = ["PK", "SK", "GSI1PK", "GSI1SK"] as const;
const OS_KEY = ["PK", "SK", "GSI2PK", "GSI2SK"] as const;

function required(value: unknown, name: string): string {
  if (typeof value !== "string" || value.trim() === "") throw new QueryError("INVALID_QUERY", `${name} is required`);
  return value.trim();
}

const ARCH_ALIASES: Readonly<Record<string, string>> = {
  amd64: "x86_64",
  x64: "x86_64",
  "x86-64": "x86_64",
  aarch64: "arm64",
  arm: "arm64",
  i686: "i386",
  x86: "i386",
};

/** The architecture as images store it (the adapters' spelling). */
export function normalizeArchitecture(arch: string | undefined): string | undefined {
  if (arch === undefined) return undefined;
  const a = arch.trim().toLowerCase();
  return ARCH_ALIASES[a] ?? a;
}

/** One image by its key; undefined when the table has never seen it. */
export async function getImage(reader: ItemReader, ref: ImageRef): Promise<StoredImage | undefined> {
  const item = await reader.getItem({
    PK: imagePk(required(ref.account, "account"), required(ref.scope, "scope")),
    SK: imageSk(required(ref.imageId, "imageId")),
  });
  return item ? imageFromItem(item) : undefined;
}

/** A scope's images by image id: active ones from the sparse index (the default), or all of them. */
export async function listScope(
  reader: ItemReader,
  query: ListScopeQuery,
  opts: PageOptions = {},
): Promise<Page<StoredImage>> {
  const key = { account: required(query.account, "account"), scope: required(query.scope, "scope") };
  const activeOnly = query.activeOnly ?? true;
  const { TableName: _t, ...input } = scopeImagesQuery("", key, activeOnly);
  const names = activeOnly ? ACTIVE_KEY : TABLE_KEY;
  const partition = activeOnly
    ? (k: Record<string, string>) => k.GSI1PK === `ACTIVE#${key.account}#${key.scope}`
    : (k: Record<string, string>) => k.PK === imagePk(key.account, key.scope);
  const start = opts.pageToken ? decodeToken(opts.pageToken, names, partition) : undefined;
  const out = await collect(reader, input, pageLimit(opts.limit), start, names);
  return page(out.items.map(imageFromItem), out.next);
}

function osQuery(
  q: Pick<FindImagesQuery, "osFamily" | "osVersion">,
  filters: Record<string, string | boolean | undefined>,
) {
  const family = required(q.osFamily, "osFamily").toLowerCase();
  const prefix = q.osVersion === undefined ? undefined : versionKey(required(q.osVersion, "osVersion"));
  if (prefix === "") throw new QueryError("INVALID_QUERY", `osVersion "${q.osVersion}" holds no version`);
  const filter = equalityFilter(filters);
  return {
    partition: `OS#${family}`,
    input: {
      IndexName: GSI_OS,
      // Highest version first, then the newest build (the index's sort key is version key, then createdAt).
      ScanIndexForward: false,
      KeyConditionExpression: prefix === undefined ? "GSI2PK = :pk" : "GSI2PK = :pk AND begins_with(GSI2SK, :v)",
      ...filter,
      ExpressionAttributeValues: {
        ":pk": `OS#${family}`,
        // Numeric parts are padded to one width, so the prefix matches whole parts: "22" matches 22.04, not 220.
        ...(prefix === undefined ? {} : { ":v": prefix }),
        ...filter.ExpressionAttributeValues,
      },
    },
  };
}

/**
 * Images of an OS family (and version prefix), highest version first and, within a version, newest first;
 * deprecated ones included unless `state` says otherwise. Filters other than the OS are applied by DynamoDB
 * while reading the family's index partition, so a narrow filter over a big family reads several pages.
 */
export async function findImages(
  reader: ItemReader,
  query: FindImagesQuery,
  opts: PageOptions = {},
): Promise<Page<StoredImage>> {
  const { partition, input } = osQuery(query, {
    architecture: normalizeArchitecture(query.architecture),
    provider: query.provider,
    api: query.api,
    account: query.account,
    scope: query.scope,
    available: query.available,
    state: query.state,
    imageType: query.imageType,
  });
  const start = opts.pageToken ? decodeToken(opts.pageToken, OS_KEY, (k) => k.GSI2PK === partition) : undefined;
  const out = await collect(reader, input, pageLimit(opts.limit), start, OS_KEY);
  return page(out.items.map(imageFromItem), out.next);
}

/**
 * The newest usable image (active and available) of an OS family in a scope: the highest version, numerically
 * (22.04 above 20.04, 10 above 9), then the newest build. Reads the family's index pages, newest first, until
 * one matches; undefined when none does.
 */
export async function latestImage(reader: ItemReader, query: LatestImageQuery): Promise<StoredImage | undefined> {
  const { input } = osQuery(query, {
    scope: required(query.scope, "scope"),
    state: "active",
    available: true,
    architecture: normalizeArchitecture(query.architecture),
    account: query.account,
    imageType: query.imageType,
  });
  const out = await collect(reader, input, 1, undefined, OS_KEY);
  const first = out.items[0];
  return first ? imageFromItem(first) : undefined;
}

function page<T>(items: T[], next: Record<string, string> | undefined): Page<T> {
  return next ? { items, nextPageToken: encodeToken(next) } : { items };
}
