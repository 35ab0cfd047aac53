// What the config and the query Lambda's events share on top of valibot: objects that refuse unknown keys, and
// problems written from each issue's key path alone.
//
// An issue's message is a template: "{path}" is the issue's key path (accounts[0].credentials.secretKey),
// "{parent}" the path of the object holding the key, "{key}" the key itself. Every schema and action used with
// these gives its own message: valibot's defaults quote the value received, and config values include secrets.
import * as v from "valibot";

export type Issue = v.BaseIssue<unknown>;

/** For an issue valibot raises without a message of ours (there should be none): names the path, not the value. */
export const FALLBACK_MESSAGE = "{path} is invalid";

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// valibot's object schemas skip these keys even as own properties (prototype pollution), so they would pass
// unreported: a typo guard must still name them.
const RESERVED_KEYS = ["__proto__", "constructor", "prototype"];

/**
 * An object whose keys are exactly `entries` (each missing one is an issue at its path, with `missing`), and
 * where every other key is an issue of its own (`unknownKey`): valibot's strictObject reports only the first.
 * Anything but a plain object (arrays included) is one issue, `notObject`, and nothing inside it is looked at.
 */
export function closedObject<const E extends v.ObjectEntries>(
  entries: E,
  messages: { notObject: string; unknownKey: string; missing: string },
) {
  const object = v.objectWithRest(entries, v.never(messages.unknownKey), messages.missing);
  return v.pipe(
    v.custom<unknown>(isRecord, messages.notObject),
    // The object schema's output no longer holds the reserved keys: the check reads the input it was given.
    v.lazy((input) =>
      v.pipe(
        object,
        v.rawCheck(({ addIssue }) => {
          if (!isRecord(input)) return;
          for (const key of RESERVED_KEYS)
            if (Object.hasOwn(input, key)) addIssue({ message: messages.unknownKey, path: [keyOf(input, key)] });
        }),
      ),
    ),
    // The rest schema is never, so nothing but the entries is left: the output type says so.
    v.transform((o): v.InferOutput<v.ObjectSchema<E, undefined>> => o),
  );
}

/** A path step to `key` of `input`, for issues raised by hand (rawCheck). */
export function keyOf(input: Record<string, unknown>, key: string): v.ObjectPathItem {
  return { type: "object", origin: "value", input, key, value: input[key] };
}

/** A path step to element `index` of `input`. */
export function indexOf(input: unknown[], index: number): v.ArrayPathItem {
  return { type: "array", origin: "value", input, key: index, value: input[index] };
}

/** The key path as written in messages: accounts[0].credentials.secretKey. */
function keyPath(keys: readonly unknown[]): string {
  return keys.map((k, i) => (typeof k === "number" ? `[${k}]` : i === 0 ? String(k) : `.${String(k)}`)).join("");
}

/** The issue's message with its key path filled in (see the top of this file). */
export function describeIssue(issue: Issue): string {
  const keys = (issue.path ?? []).map((p) => p.key);
  const parts: Record<string, string> = {
    path: keyPath(keys),
    parent: keyPath(keys.slice(0, -1)),
    key: keys.length ? String(keys.at(-1)) : "",
  };
  return issue.message.replace(/\{(path|parent|key)\}/g, (_, name: string) => parts[name] ?? "");
}

/** Validates `input`, every problem at once: the output, or one message per issue. */
export function check<S extends v.GenericSchema>(
  schema: S,
  input: unknown,
): { ok: true; value: v.InferOutput<S> } | { ok: false; problems: string[] } {
  const result = v.safeParse(schema, input, { message: FALLBACK_MESSAGE });
  return result.success
    ? { ok: true, value: result.output }
    : { ok: false, problems: result.issues.map(describeIssue) };
}

/**
 * True when A and B are the same type. The types consumers see are written out (their declarations then name no
 * valibot internals) and held equal to what the schema infers, so the two cannot drift (see _SchemaTypes).
 */
export type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** Fails the typecheck unless every entry is true. */
export type AllTrue<T extends readonly true[]> = T;
