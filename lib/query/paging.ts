// Page tokens and page walking. A token is the key of the last item returned (base64url JSON), so a page can
// stop anywhere inside a DynamoDB page (1 MB or a filter can make those larger or smaller than the caller's
// limit) and the next call resumes right after it, never repeating or skipping an item.
import type { QueryCommandInput } from "@aws-sdk/lib-dynamodb";
import type { ItemReader } from "../store/store.ts";
import { QueryError } from "./errors.ts";

export type ItemKey = Record<string, string>;

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;

export function encodeToken(key: ItemKey): string {
  return Buffer.from(JSON.stringify(key), "utf8").toString("base64url");
}

/**
 * The key inside a token, checked: exactly the attributes `names`, all strings, and the partition attribute
 * equal to what this query reads (a token from another query would silently start somewhere else).
 */
export function decodeToken(token: string, names: readonly string[], partition: (key: ItemKey) => boolean): ItemKey {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw new QueryError("INVALID_PAGE_TOKEN", "the page token is not one this API issued");
  }
  const ok =
    typeof key === "object" &&
    key !== null &&
    !Array.isArray(key) &&
    Object.keys(key).length === names.length &&
    names.every((n) => typeof (key as Record<string, unknown>)[n] === "string") &&
    partition(key as ItemKey);
  if (!ok) throw new QueryError("INVALID_PAGE_TOKEN", "the page token belongs to a different query");
  return key as ItemKey;
}

export function pageLimit(limit: number | undefined, fallback = DEFAULT_LIMIT): number {
  if (limit === undefined) return fallback;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT)
    throw new QueryError("INVALID_QUERY", `limit must be an integer from 1 to ${MAX_LIMIT}`);
  return limit;
}

export const keyOf =
  (names: readonly string[]) =>
  (item: Record<string, unknown>): ItemKey =>
    Object.fromEntries(names.map((n) => [n, String(item[n])]));

/**
 * Up to `limit` items of one Query, from `start`, reading as many DynamoDB pages as it takes. `next` is the
 * key to resume from, absent when the Query has nothing more.
 */
export async function collect(
  reader: ItemReader,
  input: Omit<QueryCommandInput, "TableName">,
  limit: number,
  start: ItemKey | undefined,
  keyNames: readonly string[],
): Promise<{ items: Record<string, unknown>[]; next?: ItemKey }> {
  const items: Record<string, unknown>[] = [];
  let from: Record<string, unknown> | undefined = start;
  for (;;) {
    // Unfiltered, DynamoDB can stop exactly at the limit; filtered, it must read on (1 MB pages) to find matches.
    const page = await reader.queryPage({
      ...input,
      ...(input.FilterExpression ? {} : { Limit: limit - items.length }),
      ...(from ? { ExclusiveStartKey: from } : {}),
    });
    for (let i = 0; i < page.items.length; i++) {
      const item = page.items[i] as Record<string, unknown>;
      items.push(item);
      if (items.length === limit) {
        const last = i === page.items.length - 1 && !page.lastKey;
        return last ? { items } : { items, next: keyOf(keyNames)(item) };
      }
    }
    if (!page.lastKey) return { items };
    from = page.lastKey;
  }
}

/** Every item of one Query (small partitions only: the scope statuses). */
export async function collectAll(
  reader: ItemReader,
  input: Omit<QueryCommandInput, "TableName">,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let from: Record<string, unknown> | undefined;
  do {
    const page = await reader.queryPage({ ...input, ...(from ? { ExclusiveStartKey: from } : {}) });
    items.push(...page.items);
    from = page.lastKey;
  } while (from);
  return items;
}

/** A FilterExpression requiring each defined attribute to equal its value (names aliased: status, state... are reserved). */
export function equalityFilter(filters: Record<string, string | boolean | undefined>): {
  FilterExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, unknown>;
} {
  const parts: string[] = [];
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  Object.entries(filters).forEach(([attr, value], i) => {
    if (value === undefined) return;
    names[`#f${i}`] = attr;
    values[`:f${i}`] = value;
    parts.push(`#f${i} = :f${i}`);
  });
  return parts.length
    ? { FilterExpression: parts.join(" AND "), ExpressionAttributeNames: names, ExpressionAttributeValues: values }
    : {};
}
