// The sync configuration: parsed and validated once, every problem named at once, frozen.
// Credential values may be literal or "env:NAME"; they are resolved here and nowhere else.
import { readFile } from "node:fs/promises";
import * as v from "valibot";
import { ConfigError } from "./errors.ts";
import { parseJsonQuietly } from "./json.ts";
import { API_IDS, type ApiId, providerOf } from "./model.ts";
import { type AllTrue, check, closedObject, indexOf, isRecord, keyOf, type Same } from "./schema.ts";
import { resolveSsmReferences } from "./secrets.ts";

type Env = Record<string, string | undefined>;

const NAME_RE = /^[A-Za-z0-9._-]{1,64}$/;
const SCOPE_RE = /^[A-Za-z0-9._:-]{1,128}$/;
const ZENLAYER_TOKEN = ["token"] as const;
const ZENLAYER_KEY_PAIR = ["accessKeyId", "accessKeySecret"] as const;
const TENCENT_KEY_PAIR = ["secretId", "secretKey"] as const;
const SIGNATURE_METHODS = ["HmacSHA1", "HmacSHA256"] as const;
const LEGACY_SIGNING_APIS: readonly ApiId[] = ["tencent-image-v2", "tencent-cvm-v2"];

const NON_EMPTY_STRING = "{path} must be a non-empty string";
const NON_EMPTY_ACCOUNTS = '"{path}" must be a non-empty array';

/** A credential value: literal, or "env:NAME", resolved here (the only place that reads it). */
function credentialValue(env: Env) {
  return v.pipe(
    v.string(NON_EMPTY_STRING),
    v.minLength(1, NON_EMPTY_STRING),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      if (!dataset.value.startsWith("env:")) return dataset.value;
      const name = dataset.value.slice(4);
      const value = env[name];
      if (value) return value;
      addIssue({ message: `{path} refers to environment variable ${name}, which is not set` });
      return NEVER;
    }),
  );
}
type CredentialValue = ReturnType<typeof credentialValue>;

/** Credentials made of exactly `keys`, each a credential value. */
function credentialsOf<const K extends string>(keys: readonly K[], value: CredentialValue) {
  const entries = Object.fromEntries(keys.map((k) => [k, value])) as Record<K, CredentialValue>;
  return closedObject(entries, {
    notObject: "{path} must be an object",
    unknownKey: `{parent}: unknown key "{key}" (expected ${keys.join(", ")})`,
    missing: "{path} is missing",
  });
}

// The config's types, written out so that their declarations name no valibot internals; _SchemaTypes below holds
// them equal to what the schemas infer.
export type ZenlayerCredentials = { token: string } | { accessKeyId: string; accessKeySecret: string };
export type TencentCredentials = { secretId: string; secretKey: string };
export type Credentials = ZenlayerCredentials | TencentCredentials;

/** The credentials `api` takes; for an unknown api (reported as such) only that they form an object. */
function credentialsFor(api: ApiId | undefined, value: CredentialValue): v.GenericSchema<unknown, Credentials> {
  if (api === undefined) return v.custom<Credentials>(isRecord, "{path} must be an object");
  if (providerOf(api) === "tencent") return credentialsOf(TENCENT_KEY_PAIR, value);
  const token = credentialsOf(ZENLAYER_TOKEN, value);
  const keyPair = credentialsOf(ZENLAYER_KEY_PAIR, value);
  // A token, when one is given; the key pair otherwise (so a missing key is named against the pair).
  return v.lazy((input) => (isRecord(input) && "token" in input ? token : keyPair));
}

function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** The endpoint's base URL, or what is wrong with it, never quoting it. */
function baseUrl(text: string): { url: string } | { problem: string } {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return { problem: "{path} is not a valid URL" };
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") return { problem: "{path} must be http(s)" };
  if (u.protocol === "http:" && !isLoopback(u.hostname))
    return { problem: "{path}: plain http is only allowed to a loopback host" };
  if (u.search || u.hash || (u.pathname !== "/" && u.pathname !== ""))
    return { problem: "{path} must be a base URL (scheme, host, port) without path or query" };
  return { url: `${u.protocol}//${u.host}` };
}

// Schemas are built by functions, not held in module constants: esbuild cannot tell that building one has no
// side effects, and would keep them in the bundles that import only the environment settings from here.
function endpoint() {
  return v.pipe(
    v.string("{path} is not a valid URL"),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      const base = baseUrl(dataset.value);
      if ("url" in base) return base.url;
      addIssue({ message: base.problem });
      return NEVER;
    }),
  );
}

function scopes() {
  const scope = `{path} must match ${SCOPE_RE.source}`;
  return v.pipe(
    v.array(v.pipe(v.string(scope), v.regex(SCOPE_RE, scope)), "{path} must be a non-empty array"),
    v.minLength(1, "{path} must be a non-empty array"),
    v.transform((list) => [...new Set(list)]),
  );
}

function signatureMethod(api: ApiId | undefined) {
  const method = v.picklist(SIGNATURE_METHODS, "{path} must be HmacSHA1 or HmacSHA256");
  if (api === undefined || LEGACY_SIGNING_APIS.includes(api)) return method;
  return v.pipe(
    method,
    v.check(() => false, `{path} applies only to ${LEGACY_SIGNING_APIS.join(" and ")}`),
  );
}

function positive() {
  return v.pipe(
    v.number("{path} must be a positive number"),
    v.check((n) => n > 0, "{path} must be a positive number"),
  );
}

/** One account, checked as its `api` (which decides the credentials and the options that apply) requires. */
function accountSchema(api: ApiId | undefined, value: CredentialValue) {
  return closedObject(
    {
      /** Unique, safe for keys: letters, digits, dot, dash, underscore. */
      name: v.pipe(
        v.string(`{path} must match ${NAME_RE.source}`),
        v.regex(NAME_RE, `{path} must match ${NAME_RE.source}`),
      ),
      api: v.picklist(API_IDS, `{path} must be one of ${API_IDS.join(", ")}`),
      /** Base URL replacing the provider's scheme, host and port (no trailing slash). */
      endpoint: v.optional(endpoint()),
      credentials: credentialsFor(api, value),
      /** Scopes to sweep; discovery (DescribeZones / DescribeRegions) when absent. */
      scopes: v.optional(scopes()),
      /** Legacy Tencent signing: HmacSHA256 (default) or HmacSHA1. */
      signatureMethod: v.optional(signatureMethod(api)),
      /** Override of the provider's request rate per scope. */
      requestsPerSecond: v.optional(positive()),
    },
    {
      notObject: "{path} must be an object",
      unknownKey: '{parent}: unknown key "{key}"',
      missing: "{path} is missing",
    },
  );
}

export type AccountConfig = {
  name: string;
  api: ApiId;
  endpoint?: string;
  credentials: Credentials;
  scopes?: string[];
  signatureMethod?: "HmacSHA1" | "HmacSHA256";
  requestsPerSecond?: number;
};

const knownApi = (input: unknown): ApiId | undefined =>
  isRecord(input) && (API_IDS as readonly unknown[]).includes(input.api) ? (input.api as ApiId) : undefined;

/** Names are keys of the store and of leases: a second account of the same name is refused, naming its index. */
function uniqueNames() {
  return v.rawCheck<AccountConfig[]>(({ dataset, addIssue }) => {
    const list: unknown = dataset.value;
    if (!Array.isArray(list)) return;
    const seen = new Set<string>();
    list.forEach((account: unknown, i) => {
      if (!isRecord(account) || typeof account.name !== "string" || !NAME_RE.test(account.name)) return;
      if (!seen.has(account.name)) seen.add(account.name);
      else
        addIssue({
          message: `{path} "${account.name}" is used twice`,
          path: [indexOf(list, i), keyOf(account, "name")],
        });
    });
  });
}

function configSchema(env: Env) {
  const value = credentialValue(env);
  // One schema per api the config names, reused by its accounts.
  const byApi = new Map<ApiId | undefined, ReturnType<typeof accountSchema>>();
  const account = v.lazy((input) => {
    const api = knownApi(input);
    const known = byApi.get(api);
    if (known) return known;
    const schema = accountSchema(api, value);
    byApi.set(api, schema);
    return schema;
  });
  return closedObject(
    {
      accounts: v.pipe(v.array(account, NON_EMPTY_ACCOUNTS), v.minLength(1, NON_EMPTY_ACCOUNTS), uniqueNames()),
    },
    {
      notObject: "config must be a JSON object",
      unknownKey: 'unknown key "{key}" at top level',
      missing: NON_EMPTY_ACCOUNTS,
    },
  );
}

export type SyncConfig = { accounts: AccountConfig[] };

// A schema and its written-out type that part fail the typecheck here.
type _SchemaTypes = AllTrue<
  [
    Same<
      ZenlayerCredentials,
      | v.InferOutput<ReturnType<typeof credentialsOf<(typeof ZENLAYER_TOKEN)[number]>>>
      | v.InferOutput<ReturnType<typeof credentialsOf<(typeof ZENLAYER_KEY_PAIR)[number]>>>
    >,
    Same<TencentCredentials, v.InferOutput<ReturnType<typeof credentialsOf<(typeof TENCENT_KEY_PAIR)[number]>>>>,
    Same<AccountConfig, v.InferOutput<ReturnType<typeof accountSchema>>>,
    Same<SyncConfig, v.InferOutput<ReturnType<typeof configSchema>>>,
  ]
>;

/** Validates a parsed config document. Throws ConfigError naming every problem. */
export function parseConfig(doc: unknown, env: Env = process.env): SyncConfig {
  const result = check(configSchema(env), doc);
  if (!result.ok) throw new ConfigError(result.problems);
  return deepFreeze(result.value);
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
