import { describe, expect, expectTypeOf, it } from "vitest";
import type { ApiId, ChangeKind } from "../../../lib/model.ts";
import { QueryError } from "../../../lib/query/errors.ts";
import { parseQueryEvent, type QueryEvent } from "../../../lib/query/event.ts";

const messageOf = (event: unknown): string => {
  try {
    parseQueryEvent(event);
  } catch (e) {
    if (e instanceof QueryError && e.code === "INVALID_QUERY") return e.message;
    throw e;
  }
  return "";
};

describe("parseQueryEvent", () => {
  it("names every problem of the event in one message, none quoting a value", () => {
    const message = messageOf({
      action: "changes",
      since: "   ",
      changeType: "removed-secret",
      provider: 7,
      limit: "10-secret",
      osFamily: "",
      typo: "secret",
    });
    expect(message).toBe(
      [
        "since must be a non-empty string",
        "changeType must be one of added, updated, deprecated, restored, anomaly",
        "provider must be a non-empty string",
        "osFamily must be a non-empty string",
        "limit must be a number",
        'unknown parameter "typo"',
      ].join("; "),
    );
    expect(message).not.toMatch(/secret/);
    expect(messageOf({ action: "where", family: "x", osFamily: "y", includeStale: "yes" })).toBe(
      "includeStale must be a boolean; exactly one of osFamily and family is required",
    );
    expect(messageOf(JSON.parse('{"action":"status","constructor":1}'))).toBe('unknown parameter "constructor"');
  });

  it("checks the action before anything else, and refuses what is not an object", () => {
    expect(messageOf({ action: "drop", typo: 1 })).toBe("action must be one of latest, changes, status, where");
    expect(messageOf([{ action: "status" }])).toBe("the event must be a JSON object with an action");
    expect(messageOf({ action: "latest", osFamily: "fedora", scope: null })).toBe("scope is required");
  });

  it("reads null as absent and hands on no key for it", () => {
    const event = parseQueryEvent({ action: "latest", family: "f", osFamily: null, scope: "HKG-A", account: null });
    expect(event).toEqual({ action: "latest", family: "f", scope: "HKG-A" });
    expect(Object.keys(event)).not.toContain("osFamily");
  });

  it("types the event from the schema as the query functions take it", () => {
    expectTypeOf<QueryEvent>().toEqualTypeOf<
      | {
          action: "latest";
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
          osFamily?: string;
          osVersion?: string;
          family?: string;
          architecture?: string;
          imageType?: string;
          includeStale?: boolean;
          limit?: number;
          pageToken?: string;
        }
    >();
  });
});
