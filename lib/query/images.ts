// Image queries: one image by key, a scope's images, images by OS (newest version first), and the newest
// usable image for an OS in a scope, the answer an SSM "latest AMI" parameter gives on AWS.
import type { LatestPointer, StoredImage } from "../model.ts";
import {
  familyPk,
  GSI_OS,
  imageFromItem,
  imagePk,
  imageSk,
  pointerFromItem,
  scopeImagesQuery,
  versionKey,
} from "../store/items.ts";
import type { ItemReader } from "../store/store.ts";
import { QueryError } from "./errors.ts";
import { collect, collectAll, decodeToken, encodeToken, equalityFilter, pageLimit } from "./paging.ts";
import type {
  FindImagesQuery,
  ImageRef,
  LatestImageOptions,
  LatestImageQuery,
  ListScopeQuery,
  Page,
  PageOptions,
} from "./types.ts";

const TABLE_KEY = ["PK", "SK"] as const;
const ACTIVE_KEY = ["PK", "SK", "GSI1PK", "GSI1SK"] as const;
const OS_KEY = ["PK", "SK", "GSI2PK", "GSI2SK"] as const;

/** Items latestImage lets DynamoDB examine by default (10 Query pages of LATEST_PAGE_ITEMS). */
export const DEFAULT_MAX_EXAMINED = 1000;
/** The Limit of each of latestImage's Query pages: with a filter, DynamoDB counts the items it examines. */
export const LATEST_PAGE_ITEMS = 100;

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
 * (22.04 above 20.04, 10 above 9), then the newest build; or, with `family`, the newest usable custom image of
 * that image family (what Tencent's DescribeImageFromFamily answers). Never a guess: a question that leaves the
 * architecture (or the image type) open and matches usable images of more than one throws AMBIGUOUS_QUERY, and
 * an image of unknown architecture never answers a question that names one. Undefined when nothing matches.
 * Bounded: DynamoDB examines at most `maxExamined` items of the OS family's index (every scope's), in pages of
 * LATEST_PAGE_ITEMS; a question it cannot settle within them throws READ_LIMIT rather than read on.
 */
export async function latestImage(
  reader: ItemReader,
  query: LatestImageQuery,
  opts: LatestImageOptions = {},
): Promise<StoredImage | undefined> {
  if (query.family !== undefined) return latestOfFamily(reader, query);
  const maxExamined = opts.maxExamined ?? DEFAULT_MAX_EXAMINED;
  if (!Number.isInteger(maxExamined) || maxExamined < 1)
    throw new QueryError("INVALID_QUERY", "maxExamined must be a positive integer");
  const architecture = normalizeArchitecture(query.architecture);
  // osQuery names a missing osFamily.
  const { input } = osQuery(
    { ...query, osFamily: query.osFamily ?? "" },
    {
      scope: required(query.scope, "scope"),
      state: "active",
      available: true,
      architecture,
      account: query.account,
      imageType: query.imageType,
    },
  );
  const open = openDimensions(query, architecture);
  // The filter (scope, state, architecture...) is applied after DynamoDB reads the OS family's index partition,
  // which holds every scope of every account: without a bound, a question nothing answers reads all of it.
  // Each page's Limit caps what DynamoDB examines, so the budget counts items examined, not matches.
  let first: Record<string, unknown> | undefined;
  let from: Record<string, unknown> | undefined;
  for (let examined = 0; ; ) {
    if (examined >= maxExamined) throw readLimit(query, maxExamined, first !== undefined);
    const limit = Math.min(LATEST_PAGE_ITEMS, maxExamined - examined);
    const page = await reader.queryPage({ ...input, Limit: limit, ...(from ? { ExclusiveStartKey: from } : {}) });
    examined += limit;
    for (const item of page.items) {
      if (!first) {
        first = item;
        // Nothing left open: the first match (highest version, newest build) is the answer.
        if (open.length === 0) return imageFromItem(first);
      } else if (open.some((d) => (item[d] ?? null) !== (first?.[d] ?? null))) {
        throw ambiguous(query, open, first, item);
      }
    }
    from = page.lastKey;
    if (!from) return first ? imageFromItem(first) : undefined;
  }
}

type Dimension = "architecture" | "imageType";

const openDimensions = (query: LatestImageQuery, architecture: string | undefined): Dimension[] => [
  ...(architecture === undefined ? (["architecture"] as const) : []),
  ...(query.imageType === undefined ? (["imageType"] as const) : []),
];

function readLimit(query: LatestImageQuery, maxExamined: number, found: boolean): QueryError {
  const what = [query.osFamily, query.osVersion].filter(Boolean).join(" ");
  const missing = [
    ...(query.osVersion === undefined ? ["osVersion"] : []),
    ...(query.architecture === undefined ? ["architecture"] : []),
    ...(query.imageType === undefined ? ["imageType"] : []),
  ];
  const why = found
    ? "found a usable image but could not prove that no other architecture or image type matches"
    : "found no usable image";
  const ask = missing.length ? `name ${missing.join(", ")}, or ` : "";
  return new QueryError(
    "READ_LIMIT",
    `${what} in scope ${query.scope}: ${why} within ${maxExamined} items of the ${query.osFamily} index ` +
      `(every scope's images): ${ask}raise maxExamined`,
  );
}

function ambiguous(
  query: Pick<LatestImageQuery, "osFamily" | "osVersion" | "family" | "scope">,
  open: readonly Dimension[],
  a: Record<string, unknown>,
  b: Record<string, unknown>,
): QueryError {
  const what =
    query.family !== undefined
      ? `image family ${query.family}`
      : [query.osFamily, query.osVersion].filter(Boolean).join(" ");
  const differs = open.filter((d) => (a[d] ?? null) !== (b[d] ?? null));
  const seen = differs.map(
    (d) => `${d === "architecture" ? "architectures" : "image types"} ${a[d] ?? "unknown"} and ${b[d] ?? "unknown"}`,
  );
  const ask = differs.map((d) => (d === "architecture" ? "architecture (--arch)" : "imageType (--type)"));
  return new QueryError(
    "AMBIGUOUS_QUERY",
    `${what} in scope ${query.scope} matches usable images of ${seen.join(" and of ")}: ask again with ${ask.join(" and ")}`,
  );
}

/** The newest usable image of an image family in a scope, read from the family's pointers (GSI2 FAMILY#<family>). */
async function latestOfFamily(reader: ItemReader, query: LatestImageQuery): Promise<StoredImage | undefined> {
  const family = required(query.family, "family");
  const scope = required(query.scope, "scope");
  const architecture = normalizeArchitecture(query.architecture);
  const items = await collectAll(reader, {
    IndexName: GSI_OS,
    KeyConditionExpression: "GSI2PK = :pk",
    ExpressionAttributeValues: { ":pk": familyPk(family) },
  });
  const pointers = items
    .map(pointerFromItem)
    .filter(
      (p) =>
        p.scope === scope &&
        !p.stale &&
        (query.account === undefined || p.account === query.account) &&
        (architecture === undefined || p.architecture === architecture),
    )
    .sort((x, y) => newerPointer(y, x));
  const [first, other] = [pointers[0], pointers.find((p) => p.architecture !== pointers[0]?.architecture)];
  if (!first) return undefined;
  if (architecture === undefined && other)
    throw ambiguous(
      query,
      ["architecture"],
      { architecture: first.architecture },
      { architecture: other.architecture },
    );
  return getImage(reader, { account: first.account, scope: first.scope, imageId: first.imageId });
}

const newerPointer = (a: LatestPointer, b: LatestPointer): number =>
  (a.createdAt ?? "").localeCompare(b.createdAt ?? "") || a.imageId.localeCompare(b.imageId);

function page<T>(items: T[], next: Record<string, string> | undefined): Page<T> {
  return next ? { items, nextPageToken: encodeToken(next) } : { items };
}
