// The query Lambda's core (handlers/query.ts only builds its dependencies): a JSON event naming an action
// and its parameters -> a JSON result, or {error: {code, message}} for input the caller must fix
// (INVALID_QUERY, INVALID_PAGE_TOKEN, or AMBIGUOUS_QUERY: "latest" matched more than one architecture or image
// type; ask again naming it). Failures
// of DynamoDB itself are thrown, so the invocation fails and the caller sees a function error to retry.
import type { ChangeEntry } from "../events/history.ts";
import type { StoredImage } from "../model.ts";
import type { ItemReader } from "../store/store.ts";
import { changesSince, parseSince } from "./changes.ts";
import { QueryError } from "./errors.ts";
import { parseQueryEvent, type QueryEvent } from "./event.ts";
import { latestImage } from "./images.ts";
import { scopeStatus } from "./status.ts";
import type { ScopeFreshness } from "./types.ts";
import { type LatestPointer, whereLatest } from "./where.ts";

export type { QueryEvent };

export type QueryResult =
  | { image: StoredImage | null }
  | { changes: ChangeEntry[]; nextPageToken?: string }
  | { scopes: ScopeFreshness[]; stale: number; staleAfterHours: number }
  | { pointers: LatestPointer[]; nextPageToken?: string }
  | { error: { code: string; message: string } };

export interface QueryDeps {
  reader: ItemReader;
  /** The default threshold of "status". */
  staleAfterHours: number;
  now?: () => Date;
}

function time(text: string, name: string, now: Date): Date {
  const t = parseSince(text, now);
  if (!t) throw new QueryError("INVALID_QUERY", `${name} must be an ISO 8601 time or a duration like 24h, 7d, 30m`);
  return t;
}

export async function handleQuery(event: unknown, deps: QueryDeps): Promise<QueryResult> {
  try {
    const q = parseQueryEvent(event);
    const now = deps.now?.() ?? new Date();
    switch (q.action) {
      case "latest": {
        const { action: _a, ...query } = q;
        return { image: (await latestImage(deps.reader, query)) ?? null };
      }
      case "changes": {
        const { action: _a, since, until, ...filters } = q;
        const page = await changesSince(deps.reader, time(since, "since", now), {
          ...filters,
          until: until === undefined ? now : time(until, "until", now),
        });
        return { changes: page.items, ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}) };
      }
      case "status": {
        const staleAfterHours = q.staleAfterHours ?? deps.staleAfterHours;
        const scopes = await scopeStatus(deps.reader, {
          staleAfterHours,
          now,
          ...(q.account ? { account: q.account } : {}),
        });
        return { scopes, stale: scopes.filter((s) => s.stale).length, staleAfterHours };
      }
      case "where": {
        const { action: _a, limit, pageToken, ...query } = q;
        const page = await whereLatest(deps.reader, query, {
          ...(limit ? { limit } : {}),
          ...(pageToken ? { pageToken } : {}),
        });
        return { pointers: page.items, ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}) };
      }
    }
  } catch (e) {
    if (e instanceof QueryError) return { error: { code: e.code, message: e.message } };
    throw e;
  }
}
