// What changed since a time: the change history the stream consumer records (lib/events/history.ts), one
// Query per UTC day partition from `since` to `until`, oldest first.
import type { ChangeEntry } from "../events/history.ts";
import { dayOf, HISTORY_ITEM, historyDayQuery, historyFromItem, historyPk } from "../store/items.ts";
import type { ItemReader } from "../store/store.ts";
import { QueryError } from "./errors.ts";
import { collect, decodeToken, encodeToken, equalityFilter, type ItemKey, pageLimit } from "./paging.ts";
import type { ChangesFilter, Page } from "./types.ts";

const HISTORY_KEY = ["PK", "SK"] as const;
const DAY_MS = 86_400_000;
/** One Query per day: a longer window than this is a mistake (history is kept 30 days by default). */
export const MAX_WINDOW_DAYS = 400;

/** "24h", "7d", "30m" before `now`, or an ISO 8601 time; undefined when the text is neither. */
export function parseSince(text: string, now: Date = new Date()): Date | undefined {
  const rel = /^(\d+)\s*(m|h|d)$/i.exec(text.trim());
  if (rel) {
    const unit = { m: 60_000, h: 3_600_000, d: DAY_MS }[(rel[2] as string).toLowerCase() as "m" | "h" | "d"];
    return new Date(now.getTime() - Number(rel[1]) * unit);
  }
  // An ISO time with at least a full date; Date.parse alone would also accept "1" or "May 5".
  if (!/^\d{4}-\d{2}-\d{2}/.test(text.trim())) return undefined;
  const ms = Date.parse(text.trim());
  return Number.isFinite(ms) ? new Date(ms) : undefined;
}

function validDate(d: unknown, name: string): Date {
  if (!(d instanceof Date) || !Number.isFinite(d.getTime()))
    throw new QueryError("INVALID_QUERY", `${name} must be a valid time`);
  return d;
}

/** The UTC days from `from` to `to`, inclusive, as "YYYY-MM-DD". */
function daysBetween(from: Date, to: Date): string[] {
  const days: string[] = [];
  for (let t = Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate()); t <= to.getTime(); t += DAY_MS) {
    days.push(new Date(t).toISOString().slice(0, 10));
  }
  return days;
}

/**
 * Changes detected at or after `since` and before `filters.until` (default now), oldest first, from the
 * change history (kept 30 days by default): images' changes and held mass deprecations (`changeType`
 * "anomaly"; `changeType: "anomaly"` asks for those alone, an `osFamily` filter leaves them out). Other
 * filters are applied by DynamoDB within each day.
 */
export async function changesSince(
  reader: ItemReader,
  since: Date,
  filters: ChangesFilter = {},
): Promise<Page<ChangeEntry>> {
  const from = validDate(since, "since");
  const until = validDate(filters.until ?? filters.now ?? new Date(), "until");
  if (until.getTime() < from.getTime()) throw new QueryError("INVALID_QUERY", "until is before since");
  if (until.getTime() - from.getTime() > MAX_WINDOW_DAYS * DAY_MS)
    throw new QueryError("INVALID_QUERY", `the window from since to until is longer than ${MAX_WINDOW_DAYS} days`);
  const limit = pageLimit(filters.limit);
  let days = daysBetween(from, until);
  let start: ItemKey | undefined;
  if (filters.pageToken) {
    start = decodeToken(filters.pageToken, HISTORY_KEY, (k) => days.some((d) => k.PK === historyPk(d)));
    days = days.slice(days.findIndex((d) => (start as ItemKey).PK === historyPk(d)));
  }
  const filter = equalityFilter({
    itemType: HISTORY_ITEM,
    account: filters.account,
    scope: filters.scope,
    changeType: filters.changeType,
    provider: filters.provider,
    api: filters.api,
    osFamily: filters.osFamily?.toLowerCase(),
  });
  const fromIso = from.toISOString();
  const untilIso = until.toISOString();
  const items: ChangeEntry[] = [];
  for (const day of days) {
    const {
      TableName: _t,
      ExpressionAttributeValues: keyValues,
      ...key
    } = historyDayQuery(
      "",
      day,
      day === dayOf(fromIso) ? fromIso : undefined,
      day === dayOf(untilIso) ? untilIso : undefined,
    );
    const out = await collect(
      reader,
      { ...key, ...filter, ExpressionAttributeValues: { ...keyValues, ...filter.ExpressionAttributeValues } },
      limit - items.length,
      start,
      HISTORY_KEY,
    );
    start = undefined;
    items.push(...out.items.map(historyFromItem));
    // Full page: resume after its last item, in this day (or, when the day is done, it finds nothing more there).
    if (items.length === limit) {
      const last =
        out.next ??
        (day === days[days.length - 1] ? undefined : ({ PK: historyPk(day), SK: lastSk(out.items) } as ItemKey));
      return last ? { items, nextPageToken: encodeToken(last) } : { items };
    }
  }
  return { items };
}

function lastSk(items: Record<string, unknown>[]): string {
  return String(items[items.length - 1]?.SK ?? "");
}
