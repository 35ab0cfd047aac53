// One Zenlayer Cloud API 2.0 call: build and sign the request, send it once, read the envelope, map failures
// onto the error taxonomy. The builder and the reply reader are pure so the wire can be tested without I/O;
// retries belong to the sync engine, which calls again (and so re-signs with a fresh timestamp).
import type { AccountConfig } from "../../config.ts";
import {
  asImageSyncError,
  ConfigError,
  type ErrorContext,
  MalformedResponseError,
  ProviderError,
} from "../../errors.ts";
import { parseJsonLossless } from "../../json.ts";
import type { HttpRequest, HttpResponse } from "../http.ts";
import { retryAfterMs } from "../http.ts";
import type { AdapterContext } from "../types.ts";
import { signZc2, ZC2_ALGORITHM } from "./sign.ts";

export type ZenlayerService = "bmc" | "zec" | "vm";

export const ZENLAYER_BASE_URL = "https://console.zenlayer.com";

export const ZENLAYER_VERSIONS: Readonly<Record<ZenlayerService, string>> = {
  bmc: "2022-11-20",
  zec: "2025-09-01",
  vm: "2023-03-13",
};

const CONTENT_TYPE = "application/json";

export type ZenlayerAuth =
  | { kind: "zc2"; accessKeyId: string; accessKeySecret: string }
  | { kind: "bearer"; token: string };

/** The account's Zenlayer credentials; ConfigError when they are not a Zenlayer shape (a wiring mistake). */
export function zenlayerAuth(account: AccountConfig): ZenlayerAuth {
  const c = account.credentials as Record<string, unknown>;
  if (typeof c.token === "string" && c.token !== "") return { kind: "bearer", token: c.token };
  if (
    typeof c.accessKeyId === "string" &&
    c.accessKeyId !== "" &&
    typeof c.accessKeySecret === "string" &&
    c.accessKeySecret !== ""
  )
    return { kind: "zc2", accessKeyId: c.accessKeyId, accessKeySecret: c.accessKeySecret };
  throw new ConfigError([
    `account ${account.name}: Zenlayer credentials need accessKeyId and accessKeySecret, or token`,
  ]);
}

export interface ZenlayerCall {
  service: ZenlayerService;
  /** DescribeImages or DescribeZones. */
  action: string;
  body: Record<string, unknown>;
  /** Where the call happens (account, api, scope); requestId and httpStatus are added from the reply. */
  context: ErrorContext;
}

export interface ZenlayerResult {
  /** The `response` object of the success envelope. */
  response: Record<string, unknown>;
  requestId: string | null;
  httpStatus: number;
}

/** The exact HTTP request for one call, signed for `nowMs` (pure). */
export function buildZenlayerRequest(
  account: AccountConfig,
  auth: ZenlayerAuth,
  call: Pick<ZenlayerCall, "service" | "action" | "body">,
  nowMs: number,
): HttpRequest {
  const base = (account.endpoint ?? ZENLAYER_BASE_URL).replace(/\/+$/, "");
  const body = JSON.stringify(call.body);
  const headers: Record<string, string> = {
    "Content-Type": CONTENT_TYPE,
    "X-ZC-Action": call.action,
    "X-ZC-Version": ZENLAYER_VERSIONS[call.service],
    "X-ZC-Service": call.service,
  };
  if (auth.kind === "bearer") {
    headers.Authorization = `Bearer ${auth.token}`;
  } else {
    const timestamp = Math.floor(nowMs / 1000);
    // URL.host keeps a non-default port and drops a default one, exactly as undici writes the Host header.
    const { authorization } = signZc2({
      host: new URL(base).host,
      contentType: CONTENT_TYPE,
      body,
      timestamp,
      accessKeyId: auth.accessKeyId,
      accessKeyPassword: auth.accessKeySecret,
    });
    headers["X-ZC-Timestamp"] = String(timestamp);
    headers["X-ZC-Signature-Method"] = ZC2_ALGORITHM;
    headers.Authorization = authorization;
  }
  return { method: "POST", url: `${base}/api/v2/${call.service}`, headers, body };
}

/** Sends one call and returns the success envelope's `response`; throws ImageSyncError on anything else. */
export async function callZenlayer(ctx: AdapterContext, call: ZenlayerCall): Promise<ZenlayerResult> {
  const auth = zenlayerAuth(ctx.account);
  const req = buildZenlayerRequest(ctx.account, auth, call, ctx.now());
  let res: HttpResponse;
  try {
    res = await ctx.http.send(req);
  } catch (e) {
    throw asImageSyncError(e, call.context);
  }
  return readZenlayerReply(res, call.context, { nowMs: ctx.now(), secrets: secretsOf(auth, req) });
}

/** Values that must never appear in an error message, even when the provider echoes them. */
function secretsOf(auth: ZenlayerAuth, req: HttpRequest): string[] {
  const out = auth.kind === "bearer" ? [auth.token] : [auth.accessKeyId, auth.accessKeySecret];
  const signature = /Signature=([0-9a-f]+)/.exec(req.headers.Authorization ?? "")?.[1];
  if (signature) out.push(signature);
  return out;
}

export interface ReplyOptions {
  nowMs: number;
  secrets?: string[];
}

/** Reads one reply (pure): the success envelope's `response`, or the ImageSyncError it amounts to, thrown. */
export function readZenlayerReply(res: HttpResponse, where: ErrorContext, opts: ReplyOptions): ZenlayerResult {
  const ok = res.status >= 200 && res.status < 300;
  const headerRequestId = header(res, "x-request-id") ?? header(res, "x-zc-request-id");
  const context = (requestId: string | null | undefined): ErrorContext => ({
    ...where,
    ...(requestId ? { requestId } : {}),
    httpStatus: res.status,
  });

  // Cloudflare in front of the console answers some clients with a browser challenge; saying "auth failed"
  // would send an operator hunting for a credential problem that does not exist.
  if (res.status === 403 && header(res, "cf-mitigated")?.toLowerCase() === "challenge") {
    throw new ProviderError(
      "EDGE_CHALLENGE",
      "HTTP 403: the provider's edge (cf-mitigated: challenge) asked for a browser challenge; this is not an authentication failure",
      { retryable: false, context: context(headerRequestId) },
    );
  }

  let doc: unknown;
  try {
    doc = parseJsonLossless(res.body);
  } catch (e) {
    const what = `HTTP ${res.status}, ${header(res, "content-type") ?? "no content-type"}, ${res.body.length} chars`;
    if (ok)
      throw new MalformedResponseError(`response is not valid JSON (${what})`, {
        cause: e,
        context: context(headerRequestId),
      });
    throw httpError(res, `HTTP ${res.status} with a body that is not JSON (${what})`, context(headerRequestId), opts);
  }

  const top = isObject(doc) ? doc : undefined;
  const inner = top && isObject(top.response) ? top.response : undefined;
  const requestId = nonEmptyString(top?.requestId) ?? nonEmptyString(inner?.requestId) ?? headerRequestId ?? null;
  const code = nonEmptyString(top?.code);

  if (!ok || (code !== undefined && top?.response === undefined)) {
    // The failure envelope; also accepted on a 2xx, where it can only mean the call failed.
    if (code === undefined) throw httpError(res, `HTTP ${res.status} without an error code`, context(requestId), opts);
    throw providerError(res, code, top?.message, context(requestId), opts);
  }

  if (!top) throw new MalformedResponseError("response body is not a JSON object", { context: context(requestId) });
  if (top.response === undefined || top.response === null)
    throw new MalformedResponseError("response is missing", { context: context(requestId) });
  if (!inner) throw new MalformedResponseError("response is not an object", { context: context(requestId) });
  return { response: inner, requestId, httpStatus: res.status };
}

const RETRYABLE_CODES = new Set([
  "REQUEST_LIMIT_EXCEEDED",
  "SERVICE_TEMPORARY_UNAVAILABLE",
  "INTERNAL_SERVER_ERROR",
  "REQUEST_TIMED_OUT",
]);

// Codes that say the request itself is wrong: the same request fails the same way, whatever the HTTP status.
const FATAL_CODE = /^(INVALID_|AUTH_|AUTHENTICATION_|AUTHORIZATION_|SIGNATURE_|TOKEN_|UNAUTHORIZED_|PERMISSION_)/;

/** UPPER_SNAKE form of a provider code: "Invalid.Zone.Not.Found" and "InvalidZoneNotFound" -> "INVALID_ZONE_NOT_FOUND". */
export function normalizeZenlayerCode(code: string): string {
  return code
    .trim()
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/[^A-Za-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .toUpperCase();
}

/** Whether a (normalised) code at an HTTP status is worth another attempt. */
export function isRetryableZenlayer(code: string, status: number): boolean {
  if (RETRYABLE_CODES.has(code) || status === 429) return true;
  if (FATAL_CODE.test(code)) return false;
  return status >= 500;
}

function providerError(
  res: HttpResponse,
  rawCode: string,
  rawMessage: unknown,
  context: ErrorContext,
  opts: ReplyOptions,
): ProviderError {
  const code = normalizeZenlayerCode(rawCode);
  let message = nonEmptyString(rawMessage) ?? `HTTP ${res.status} without a message`;
  if (code !== rawCode) message += ` (provider code ${rawCode})`;
  return withRetry(res, code, redact(message, opts.secrets), context, opts);
}

function httpError(res: HttpResponse, message: string, context: ErrorContext, opts: ReplyOptions): ProviderError {
  return withRetry(res, `HTTP_${res.status}`, redact(message, opts.secrets), context, opts);
}

function withRetry(
  res: HttpResponse,
  code: string,
  message: string,
  context: ErrorContext,
  opts: ReplyOptions,
): ProviderError {
  const retryable = isRetryableZenlayer(code, res.status);
  const wait = retryable ? retryAfterMs(header(res, "retry-after"), opts.nowMs) : undefined;
  return new ProviderError(code, message, {
    retryable,
    context: wait === undefined ? context : { ...context, retryAfterMs: wait },
  });
}

function redact(message: string, secrets: string[] = []): string {
  let out = message;
  // Very short values would blank out ordinary words; config never produces them, so skipping is safe.
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join("[redacted]");
  return out;
}

function header(res: HttpResponse, name: string): string | undefined {
  for (const [k, v] of Object.entries(res.headers)) if (k.toLowerCase() === name && v !== undefined) return v;
  return undefined;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function nonEmptyString(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}
