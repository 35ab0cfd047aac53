// Pieces every Tencent dialect shares: the account's credentials, reading a reply body as JSON, and the
// shape checks that turn a provider answer we cannot trust into a MalformedResponseError naming the field.
import type { AccountConfig } from "../../config.ts";
import { ConfigError, type ErrorContext, MalformedResponseError } from "../../errors.ts";
import { parseJsonLossless } from "../../json.ts";
import type { HttpResponse } from "../http.ts";
import { header, httpError, type ReplyOptions } from "./errors.ts";

export interface TencentCredentials {
  secretId: string;
  secretKey: string;
}

/** The account's Tencent credentials; ConfigError when they are not a Tencent shape (a wiring mistake). */
export function tencentCredentials(account: AccountConfig): TencentCredentials {
  const c = account.credentials as Record<string, unknown>;
  if (typeof c.secretId === "string" && c.secretId !== "" && typeof c.secretKey === "string" && c.secretKey !== "")
    return { secretId: c.secretId, secretKey: c.secretKey };
  throw new ConfigError([`account ${account.name}: Tencent credentials need secretId and secretKey`]);
}

/** The reply body as JSON; a body that is not JSON is malformed on a 2xx and an HTTP failure otherwise. */
export function parseJsonBody(res: HttpResponse, context: ErrorContext, opts: ReplyOptions): unknown {
  try {
    return parseJsonLossless(res.body);
  } catch (e) {
    const what = `HTTP ${res.status}, ${header(res, "content-type") ?? "no content-type"}, ${res.body.length} chars`;
    if (res.status >= 200 && res.status < 300)
      throw new MalformedResponseError(`response body is not valid JSON (${what})`, { cause: e, context });
    throw httpError(res, `HTTP ${res.status} with a body that is not JSON (${what})`, context, opts);
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function nonEmptyString(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** A short description of a value's type for error messages (never the value: it may be large). */
export function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "string") return v === "" ? "empty string" : "string";
  return typeof v;
}

/** obj[key] as an array; MalformedResponseError naming `path` when missing or of another type. */
export function arrayField(obj: Record<string, unknown>, key: string, path: string, context: ErrorContext): unknown[] {
  const v = obj[key];
  if (Array.isArray(v)) return v;
  throw new MalformedResponseError(
    v === undefined ? `${path} is missing` : `${path} is not an array (got ${kindOf(v)})`,
    { context },
  );
}

/** obj[key] as a non-negative integer; a count we cannot trust would make every completeness check a lie. */
export function countField(obj: Record<string, unknown>, key: string, path: string, context: ErrorContext): number {
  const v = obj[key];
  if (typeof v === "number" && Number.isInteger(v) && v >= 0) return v;
  throw new MalformedResponseError(
    v === undefined ? `${path} is missing` : `${path} must be a non-negative integer (got ${JSON.stringify(v)})`,
    { context },
  );
}

/** The records of a listing, each an object with a non-empty string id under `idKey`; the first bad one is named.
 *  A page with a record we cannot identify is refused whole: a sweep built on it would silently miss the image. */
export function checkRecords(
  list: unknown[],
  path: string,
  idKey: string,
  context: ErrorContext,
): Array<Record<string, unknown>> {
  return list.map((r, i) => {
    const at = `${path}[${i}]`;
    if (!isObject(r)) throw new MalformedResponseError(`${at} is not an object (got ${kindOf(r)})`, { context });
    const id = r[idKey];
    if (id === undefined || id === null) throw new MalformedResponseError(`${at}.${idKey} is missing`, { context });
    if (typeof id !== "string" || id === "")
      throw new MalformedResponseError(`${at}.${idKey} must be a non-empty string (got ${kindOf(id)})`, { context });
    return r;
  });
}
