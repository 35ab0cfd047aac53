// The query Lambda's event: a known action and its parameters, checked by one schema the QueryEvent type is held
// equal to. Unknown parameters are refused (a typo would silently widen a query); null stands for absent.
import * as v from "valibot";
import { API_IDS, type ApiId, type ChangeKind } from "../model.ts";
import { type AllTrue, check, closedObject, isRecord, type Same } from "../schema.ts";
import { QueryError } from "./errors.ts";

const CHANGE_KINDS = ["added", "updated", "deprecated", "restored"] as const satisfies readonly ChangeKind[];
/** A change's kind, or "anomaly" for held mass deprecations, which the change history records too. */
const CHANGE_TYPES = [...CHANGE_KINDS, "anomaly"] as const;
const PROVIDERS = ["zenlayer", "tencent"] as const;

const NON_EMPTY_STRING = "{path} must be a non-empty string";

function text() {
  return v.pipe(
    v.string(NON_EMPTY_STRING),
    v.check((s) => s.trim() !== "", NON_EMPTY_STRING),
  );
}
const required = <S extends v.GenericSchema>(schema: S) => v.nonNullish(schema, "{path} is required");
const optionalText = () => v.nullish(text());
const oneOf = <const T extends readonly string[]>(values: T) =>
  v.nullish(v.pipe(text(), v.picklist(values, `{path} must be one of ${values.join(", ")}`)));
const optionalNumber = () => v.nullish(v.number("{path} must be a number"));

type WithoutNulls<T> = { [K in keyof T]: Exclude<T[K], null> };

/** The parameters as the query functions take them: an absent one is no key at all, never null. */
function withoutNulls<T extends Record<string, unknown>>(params: T): WithoutNulls<T> {
  return Object.fromEntries(Object.entries(params).filter(([, x]) => x !== null && x !== undefined)) as WithoutNulls<T>;
}

/** The parameters of `action`: exactly `entries`, absent ones dropped. */
function parameters<const A extends string, const E extends v.ObjectEntries>(action: A, entries: E) {
  return v.pipe(
    closedObject(
      { action: v.literal(action, "{path} is invalid"), ...entries },
      {
        notObject: "the event must be a JSON object",
        unknownKey: 'unknown parameter "{key}"',
        missing: "{path} is required",
      },
    ),
    v.transform(withoutNulls),
  );
}

/** Asks by exactly one of osFamily and family. */
function oneOsFamily<T extends { osFamily?: string; family?: string }>(schema: v.GenericSchema<unknown, T>) {
  return v.pipe(
    schema,
    // Runs even when other parameters are invalid (reading them as given), so that it is reported with them.
    v.rawCheck<T>(({ dataset, addIssue }) => {
      const params: unknown = dataset.value;
      if (isRecord(params) && (params.osFamily == null) === (params.family == null))
        addIssue({ message: "exactly one of osFamily and family is required" });
    }),
  );
}

function latest() {
  return oneOsFamily(
    parameters("latest", {
      /** One of osFamily or family. */
      osFamily: optionalText(),
      osVersion: optionalText(),
      family: optionalText(),
      scope: required(text()),
      architecture: optionalText(),
      account: optionalText(),
      imageType: optionalText(),
    }),
  );
}

function changes() {
  return parameters("changes", {
    /** An ISO 8601 time, or "24h", "7d", "30m" before now. */
    since: required(text()),
    until: optionalText(),
    account: optionalText(),
    scope: optionalText(),
    changeType: oneOf(CHANGE_TYPES),
    provider: oneOf(PROVIDERS),
    api: oneOf(API_IDS),
    osFamily: optionalText(),
    limit: optionalNumber(),
    pageToken: optionalText(),
  });
}

function status() {
  return parameters("status", { staleAfterHours: optionalNumber(), account: optionalText() });
}

function where() {
  return oneOsFamily(
    parameters("where", {
      /** One of osFamily or family. */
      osFamily: optionalText(),
      osVersion: optionalText(),
      family: optionalText(),
      architecture: optionalText(),
      imageType: optionalText(),
      /** Default true: stale pointers are listed, marked stale. */
      includeStale: v.nullish(v.boolean("{path} must be a boolean")),
      limit: optionalNumber(),
      pageToken: optionalText(),
    }),
  );
}

const ACTIONS = { latest, changes, status, where };
type ActionSchema = ReturnType<(typeof ACTIONS)[keyof typeof ACTIONS]>;

// Built when an action is first asked for, not at import: importers of image-sync/query that never call
// handleQuery do not pay for them, and a query Lambda's cold start builds only the action it serves.
const built = new Map<string, ActionSchema>();

function actionSchema(action: keyof typeof ACTIONS): ActionSchema {
  const known = built.get(action);
  if (known) return known;
  const schema = ACTIONS[action]();
  built.set(action, schema);
  return schema;
}

const unknownAction = () => v.custom<never>(() => false, `action must be one of ${Object.keys(ACTIONS).join(", ")}`);

function eventSchema() {
  return v.pipe(
    v.custom<unknown>(isRecord, "the event must be a JSON object with an action"),
    // The action decides which parameters exist, so nothing else is checked until it is known.
    v.lazy((input) => {
      const action = isRecord(input) ? input.action : undefined;
      return typeof action === "string" && Object.hasOwn(ACTIONS, action)
        ? actionSchema(action as keyof typeof ACTIONS)
        : unknownAction();
    }),
  );
}

/** The query Lambda's event, written out (its declaration names no valibot internals) and held to the schema. */
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

// The written-out type and the schema's output part: this fails the typecheck.
type _SchemaTypes = AllTrue<[Same<QueryEvent, v.InferOutput<ReturnType<typeof eventSchema>>>]>;

let schema: ReturnType<typeof eventSchema> | undefined;

/** The event's parameters, checked: every problem in one INVALID_QUERY message. */
export function parseQueryEvent(event: unknown): QueryEvent {
  schema ??= eventSchema();
  const result = check(schema, event);
  if (!result.ok) throw new QueryError("INVALID_QUERY", result.problems.join("; "));
  return result.value;
}
