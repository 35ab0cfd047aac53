// The query Lambda's core (handlers/query.ts only builds its dependencies): a JSON event naming an action
// and its parameters -> a JSON result, or {error: {code, message}} for input the caller must fix
// (INVALID_QUERY, INVALID_PAGE_TOKEN, or AMBIGUOUS_QUERY: "latest" matched more than one architecture or image
// type; ask again naming it). Failures
// of DynamoDB itself are thrown, so the invocation fails and the caller sees a function error to retry.
import type { ChangeEntry } from "../events/history.ts";
import { API_IDS, type ApiId, type ChangeKind, type StoredImage } from "../model.ts";
import type { ItemReader } from "../store/store.ts";
import { changesSince, parseSince } from "./changes.ts";
import { QueryError } from "./errors.ts";
import { latestImage } from "./images.ts";
import { scopeStatus } from "./status.ts";
import type { ScopeFreshness } from "./types.ts";
import { type LatestPointer, whereLatest } from "./where.ts";

export type QueryEvent =
  | {
      action: "latest";
      /** One of osFamily or family. */
      osFamily?: string;
      osVersion?: string;
      family?: string;
      scope: string;
      architecture?: string;
      account?: string;
      imageType?: string;
    }
  | {
      action: "changes";
      /** An ISO 8601 time, or "24h", "7d", "30m" before now. */
      since: string;
      until?: string;
      account?: string;
      scope?: string;
      changeType?: ChangeKind | "anomaly";
      provider?: "zenlayer" | "tencent";
      api?: ApiId;
      osFamily?: string;
      limit?: number;
      pageToken?: string;
    }
  | { action: "status"; staleAfterHours?: number; account?: string }
  | {
      action: "where";
      /** One of osFamily or family. */
      osFamily?: string;
      osVersion?: string;
      family?: string;
      architecture?: string;
      imageType?: string;
      /** Default true: stale pointers are listed, marked stale. */
      includeStale?: boolean;
      limit?: number;
      pageToken?: string;
    };

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

type Kind = "string" | "number" | "boolean";
const PARAMS: Record<
  QueryEvent["action"],
  Record<string, { kind: Kind; required?: boolean; oneOf?: readonly string[] }>
> = {
  latest: {
    osFamily: { kind: "string" },
    osVersion: { kind: "string" },
    family: { kind: "string" },
    scope: { kind: "string", required: true },
    architecture: { kind: "string" },
    account: { kind: "string" },
    imageType: { kind: "string" },
  },
  changes: {
    since: { kind: "string", required: true },
    until: { kind: "string" },
    account: { kind: "string" },
    scope: { kind: "string" },
    changeType: { kind: "string", oneOf: ["added", "updated", "deprecated", "restored", "anomaly"] },
    provider: { kind: "string", oneOf: ["zenlayer", "tencent"] },
    api: { kind: "string", oneOf: API_IDS },
    osFamily: { kind: "string" },
    limit: { kind: "number" },
    pageToken: { kind: "string" },
  },
  status: { staleAfterHours: { kind: "number" }, account: { kind: "string" } },
  where: {
    osFamily: { kind: "string" },
    osVersion: { kind: "string" },
    family: { kind: "string" },
    architecture: { kind: "string" },
    imageType: { kind: "string" },
    includeStale: { kind: "boolean" },
    limit: { kind: "number" },
    pageToken: { kind: "string" },
  },
};

/** The event's parameters, checked: known action, no unknown key (a typo would silently widen a query), types. */
function parse(event: unknown): QueryEvent {
  if (typeof event !== "object" || event === null || Array.isArray(event))
    throw new QueryError("INVALID_QUERY", "the event must be a JSON object with an action");
  const { action, ...params } = event as Record<string, unknown>;
  if (typeof action !== "string" || !Object.hasOwn(PARAMS, action))
    throw new QueryError("INVALID_QUERY", `action must be one of ${Object.keys(PARAMS).join(", ")}`);
  const spec = PARAMS[action as QueryEvent["action"]];
  const problems: string[] = [];
  for (const key of Object.keys(params)) if (!Object.hasOwn(spec, key)) problems.push(`unknown parameter "${key}"`);
  for (const [key, rule] of Object.entries(spec)) {
    const v = params[key];
    if (v === undefined || v === null) {
      if (rule.required) problems.push(`${key} is required`);
      continue;
    }
    if (typeof v !== rule.kind || (rule.kind === "string" && (v as string).trim() === ""))
      problems.push(`${key} must be a ${rule.kind === "string" ? "non-empty string" : rule.kind}`);
    else if (rule.oneOf && !rule.oneOf.includes(v as string))
      problems.push(`${key} must be one of ${rule.oneOf.join(", ")}`);
  }
  if ((action === "latest" || action === "where") && (params.osFamily === undefined) === (params.family === undefined))
    problems.push("exactly one of osFamily and family is required");
  if (problems.length) throw new QueryError("INVALID_QUERY", problems.join("; "));
  return { action, ...params } as QueryEvent;
}

function time(text: string, name: string, now: Date): Date {
  const t = parseSince(text, now);
  if (!t) throw new QueryError("INVALID_QUERY", `${name} must be an ISO 8601 time or a duration like 24h, 7d, 30m`);
  return t;
}

export async function handleQuery(event: unknown, deps: QueryDeps): Promise<QueryResult> {
  try {
    const q = parse(event);
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
