// Credentials from SSM Parameter Store: config values written "ssm:/path" are fetched (decrypted) once,
// at cold start, and substituted before the config is validated. Values never reach logs.
import { ConfigError } from "./errors.ts";

export type ParameterFetcher = (names: string[]) => Promise<Map<string, string>>;

/** Every "ssm:/..." string anywhere in the document. */
export function ssmReferences(doc: unknown): string[] {
  const out = new Set<string>();
  const walk = (v: unknown) => {
    if (typeof v === "string" && v.startsWith("ssm:")) out.add(v.slice(4));
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") Object.values(v).forEach(walk);
  };
  walk(doc);
  return [...out];
}

export async function resolveSsmReferences<T>(doc: T, fetch: ParameterFetcher): Promise<T> {
  const names = ssmReferences(doc);
  if (names.length === 0) return doc;
  const values = await fetch(names);
  const missing = names.filter((n) => !values.has(n));
  if (missing.length) throw new ConfigError(missing.map((n) => `SSM parameter ${n} was not found or is not readable`));
  const replace = (v: unknown): unknown => {
    if (typeof v === "string" && v.startsWith("ssm:")) return values.get(v.slice(4));
    if (Array.isArray(v)) return v.map(replace);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, replace(x)]));
    return v;
  };
  return replace(doc) as T;
}
