// The sync configuration: parsed and validated once, every problem named at once, frozen.
// Credential values may be literal or "env:NAME"; they are resolved here and nowhere else.
import { readFile } from "node:fs/promises";
import { ConfigError } from "./errors.ts";
import { parseJsonQuietly } from "./json.ts";
import { API_IDS, type ApiId, providerOf } from "./model.ts";
import { resolveSsmReferences } from "./secrets.ts";

export type ZenlayerCredentials = { accessKeyId: string; accessKeySecret: string } | { token: string };
export type TencentCredentials = { secretId: string; secretKey: string };
export type Credentials = ZenlayerCredentials | TencentCredentials;

export interface AccountConfig {
  /** Unique, safe for keys: letters, digits, dot, dash, underscore. */
  name: string;
  api: ApiId;
  /** Base URL replacing the provider's scheme, host and port (no trailing slash). */
  endpoint?: string;
  credentials: Credentials;
  /** Scopes to sweep; discovery (DescribeZones / DescribeRegions) when absent. */
  scopes?: string[];
  /** Legacy Tencent signing: HmacSHA256 (default) or HmacSHA1. */
  signatureMethod?: "HmacSHA1" | "HmacSHA256";
  /** Override of the provider's request rate per scope. */
  requestsPerSecond?: number;
}

export interface SyncConfig {
  accounts: AccountConfig[];
}

const ACCOUNT_KEYS = new Set([
  "name",
  "api",
  "endpoint",
  "credentials",
  "scopes",
  "signatureMethod",
  "requestsPerSecond",
]);
const NAME_RE = /^[A-Za-z0-9._-]{1,64}$/;
const SCOPE_RE = /^[A-Za-z0-9._:-]{1,128}$/;

type Env = Record<string, string | undefined>;

function resolveValue(v: unknown, where: string, env: Env, problems: string[]): string | undefined {
  if (typeof v !== "string" || v === "") {
    problems.push(`${where} must be a non-empty string`);
    return undefined;
  }
  if (!v.startsWith("env:")) return v;
  const name = v.slice(4);
  const value = env[name];
  if (!value) {
    problems.push(`${where} refers to environment variable ${name}, which is not set`);
    return undefined;
  }
  return value;
}

function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

function parseCredentials(
  raw: unknown,
  api: ApiId,
  where: string,
  env: Env,
  problems: string[],
): Credentials | undefined {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    problems.push(`${where} must be an object`);
    return undefined;
  }
  const obj = raw as Record<string, unknown>;
  const allowed =
    providerOf(api) === "zenlayer"
      ? "token" in obj
        ? ["token"]
        : ["accessKeyId", "accessKeySecret"]
      : ["secretId", "secretKey"];
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) problems.push(`${where}: unknown key "${k}" (expected ${allowed.join(", ")})`);
  }
  const out: Record<string, string> = {};
  for (const k of allowed) {
    if (!(k in obj)) {
      problems.push(`${where}.${k} is missing`);
      continue;
    }
    const v = resolveValue(obj[k], `${where}.${k}`, env, problems);
    if (v !== undefined) out[k] = v;
  }
  return Object.keys(out).length === allowed.length ? (out as unknown as Credentials) : undefined;
}

/** Validates a parsed config document. Throws ConfigError naming every problem. */
export function parseConfig(doc: unknown, env: Env = process.env): SyncConfig {
  const problems: string[] = [];
  if (typeof doc !== "object" || doc === null || Array.isArray(doc))
    throw new ConfigError(["config must be a JSON object"]);
  for (const k of Object.keys(doc)) if (k !== "accounts") problems.push(`unknown key "${k}" at top level`);
  const accountsRaw = (doc as Record<string, unknown>).accounts;
  if (!Array.isArray(accountsRaw) || accountsRaw.length === 0) {
    problems.push(`"accounts" must be a non-empty array`);
    throw new ConfigError(problems);
  }
  const accounts: AccountConfig[] = [];
  const names = new Set<string>();
  accountsRaw.forEach((a, i) => {
    const where = `accounts[${i}]`;
    if (typeof a !== "object" || a === null || Array.isArray(a)) {
      problems.push(`${where} must be an object`);
      return;
    }
    const obj = a as Record<string, unknown>;
    for (const k of Object.keys(obj)) if (!ACCOUNT_KEYS.has(k)) problems.push(`${where}: unknown key "${k}"`);
    const name = obj.name;
    if (typeof name !== "string" || !NAME_RE.test(name)) {
      problems.push(`${where}.name must match ${NAME_RE.source}`);
    } else if (names.has(name)) {
      problems.push(`${where}.name "${name}" is used twice`);
    } else names.add(name);
    const api = obj.api;
    if (typeof api !== "string" || !(API_IDS as readonly string[]).includes(api)) {
      problems.push(`${where}.api must be one of ${API_IDS.join(", ")}`);
      return;
    }
    const account: AccountConfig = { name: String(name), api: api as ApiId, credentials: {} as Credentials };
    if (obj.endpoint !== undefined) {
      try {
        if (typeof obj.endpoint !== "string") throw new Error("not a string");
        const u = new URL(obj.endpoint);
        if (u.protocol !== "https:" && u.protocol !== "http:") problems.push(`${where}.endpoint must be http(s)`);
        else if (u.protocol === "http:" && !isLoopback(u.hostname))
          problems.push(`${where}.endpoint: plain http is only allowed to a loopback host, not ${u.hostname}`);
        else if (u.search || u.hash || (u.pathname !== "/" && u.pathname !== ""))
          problems.push(`${where}.endpoint must be a base URL (scheme, host, port) without path or query`);
        account.endpoint = `${u.protocol}//${u.host}`;
      } catch {
        problems.push(`${where}.endpoint is not a valid URL`);
      }
    }
    const creds = parseCredentials(obj.credentials, account.api, `${where}.credentials`, env, problems);
    if (creds) account.credentials = creds;
    if (obj.scopes !== undefined) {
      if (!Array.isArray(obj.scopes) || obj.scopes.length === 0)
        problems.push(`${where}.scopes must be a non-empty array`);
      else {
        for (const s of obj.scopes)
          if (typeof s !== "string" || !SCOPE_RE.test(s))
            problems.push(`${where}.scopes: invalid scope ${JSON.stringify(s)}`);
        account.scopes = [...new Set(obj.scopes as string[])];
      }
    }
    if (obj.signatureMethod !== undefined) {
      if (obj.signatureMethod !== "HmacSHA1" && obj.signatureMethod !== "HmacSHA256")
        problems.push(`${where}.signatureMethod must be HmacSHA1 or HmacSHA256`);
      else if (account.api !== "tencent-image-v2" && account.api !== "tencent-cvm-v2")
        problems.push(`${where}.signatureMethod applies only to tencent-image-v2 and tencent-cvm-v2`);
      else account.signatureMethod = obj.signatureMethod;
    }
    if (obj.requestsPerSecond !== undefined) {
      if (typeof obj.requestsPerSecond !== "number" || !(obj.requestsPerSecond > 0))
        problems.push(`${where}.requestsPerSecond must be a positive number`);
      else account.requestsPerSecond = obj.requestsPerSecond;
    }
    accounts.push(account);
  });
  if (problems.length) throw new ConfigError(problems);
  return deepFreeze({ accounts });
}

export async function loadConfigFile(path: string, env: Env = process.env): Promise<SyncConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw new ConfigError([`cannot read config file ${path}: ${(e as Error).message}`]);
  }
  let doc: unknown;
  try {
    doc = parseJsonQuietly(text, `config file ${path}`);
  } catch (e) {
    throw new ConfigError([(e as Error).message]);
  }
  return parseConfig(doc, env);
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === "object") {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/** Where the CLI keeps its DynamoDB: an explicit endpoint, or the embedded one under `dataDir`. */
export interface RuntimeSettings {
  dynamodbEndpoint?: string;
  tableName: string;
  region: string;
  dataDir: string;
}

export function loadRuntimeSettings(env: Env = process.env): RuntimeSettings {
  const problems: string[] = [];
  const endpoint = env.DYNAMODB_ENDPOINT?.trim();
  if (endpoint) {
    try {
      const u = new URL(endpoint);
      if (u.protocol !== "http:" && u.protocol !== "https:") problems.push("DYNAMODB_ENDPOINT must be an http(s) URL");
    } catch {
      problems.push("DYNAMODB_ENDPOINT is not a valid URL");
    }
  }
  const tableName = env.TABLE_NAME?.trim() || "image-sync";
  if (!/^[A-Za-z0-9_.-]{3,255}$/.test(tableName)) problems.push("TABLE_NAME must be 3-255 of A-Z a-z 0-9 _ . -");
  if (problems.length) throw new ConfigError(problems);
  return {
    ...(endpoint ? { dynamodbEndpoint: endpoint } : {}),
    tableName,
    region: env.AWS_REGION?.trim() || "us-east-1",
    dataDir: env.IMAGE_SYNC_DATA_DIR?.trim() || ".image-sync",
  };
}

/** True for endpoints on this machine, where creating a missing table is safe. */
export function isLocalEndpoint(endpoint: string): boolean {
  try {
    return isLoopback(new URL(endpoint).hostname);
  } catch {
    return false;
  }
}

/** What the sync Lambda needs from its environment, read once at cold start. */
export interface LambdaSettings {
  tableName: string;
  region: string;
  config: SyncConfig;
  /** Stop starting scopes when less than this much invocation time remains. */
  reserveMs: number;
  /** A scope with no complete sweep for this many hours counts as stale (a metric the alarms watch). */
  staleAfterHours: number;
  /** Fan-out through SQS when one invocation cannot sweep every scope in time (FANOUT_QUEUE_URL). */
  fanout?: { queueUrl: string; workers: number };
}

/** Fetches SSM parameters by name (decrypted); lib/secrets.ts has the real one. */
export type ParameterReader = (names: string[]) => Promise<Map<string, string>>;

/**
 * The sync Lambda's settings: the config from IMAGE_SYNC_CONFIG (JSON) or the SSM parameter named by
 * IMAGE_SYNC_CONFIG_PARAMETER, with every "ssm:/path" value inside it fetched and substituted.
 */
export async function loadLambdaSettings(env: Env, readParameters: ParameterReader): Promise<LambdaSettings> {
  const problems: string[] = [];
  const tableName = env.TABLE_NAME?.trim();
  if (!tableName) problems.push("TABLE_NAME is not set");
  const configText = env.IMAGE_SYNC_CONFIG;
  const configParameter = env.IMAGE_SYNC_CONFIG_PARAMETER?.trim();
  if (!configText && !configParameter)
    problems.push("IMAGE_SYNC_CONFIG is not set (the JSON sync configuration), nor IMAGE_SYNC_CONFIG_PARAMETER");
  const reserveMs = Number(env.SYNC_RESERVE_MS ?? "120000");
  if (!Number.isFinite(reserveMs) || reserveMs < 0) problems.push("SYNC_RESERVE_MS must be a non-negative number");
  const staleAfterHours = Number(env.STALE_AFTER_HOURS ?? "6");
  if (!(staleAfterHours > 0)) problems.push("STALE_AFTER_HOURS must be a positive number");
  const queueUrl = env.FANOUT_QUEUE_URL?.trim();
  const workers = Number(env.FANOUT_WORKERS ?? "10");
  if (queueUrl && !(Number.isInteger(workers) && workers > 0))
    problems.push("FANOUT_WORKERS must be a positive integer");
  if (problems.length) throw new ConfigError(problems);
  let text = configText;
  if (!text && configParameter) {
    text = (await readParameters([configParameter])).get(configParameter);
    if (text === undefined)
      throw new ConfigError([`SSM parameter ${configParameter} (IMAGE_SYNC_CONFIG_PARAMETER) was not found`]);
  }
  let doc: unknown;
  try {
    doc = parseJsonQuietly(text as string, "the sync configuration");
  } catch (e) {
    throw new ConfigError([(e as Error).message]);
  }
  const resolved = await resolveSsmReferences(doc, readParameters);
  return {
    tableName: tableName as string,
    region: env.AWS_REGION ?? "us-east-1",
    config: parseConfig(resolved, env),
    reserveMs,
    staleAfterHours,
    ...(queueUrl ? { fanout: { queueUrl, workers } } : {}),
  };
}

/** What the change-event Lambda needs from its environment. */
export interface ChangesSettings {
  eventBusName: string;
  digestThreshold: number;
}

export function loadChangesSettings(env: Env = process.env): ChangesSettings {
  const problems: string[] = [];
  const eventBusName = env.EVENT_BUS_NAME?.trim();
  if (!eventBusName) problems.push("EVENT_BUS_NAME is not set");
  const digestThreshold = Number(env.DIGEST_THRESHOLD ?? "25");
  if (!Number.isInteger(digestThreshold) || digestThreshold < 1)
    problems.push("DIGEST_THRESHOLD must be a positive integer");
  if (problems.length) throw new ConfigError(problems);
  return { eventBusName: eventBusName as string, digestThreshold };
}
