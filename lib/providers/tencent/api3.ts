// Tencent Cloud API 3.0 (TC3-HMAC-SHA256): the tencent-cvm adapter, and the DescribeRegions discovery call
// that the legacy dialects reuse. The request builder and the reply reader are pure, so the wire can be
// tested without I/O; retries belong to the sync engine, which calls again and so re-signs afresh.
import { asImageSyncError, type ErrorContext, MalformedResponseError } from "../../errors.ts";
import type { ApiId } from "../../model.ts";
import type { HttpRequest, HttpResponse } from "../http.ts";
import type { AdapterContext, AdapterFactory, Page, PageQuery, ProviderAdapter } from "../types.ts";
import { httpError, type ReplyOptions, tencentProviderError } from "./errors.ts";
import { normalizeApi3Image } from "./normalize.ts";
import {
  arrayField,
  checkRecords,
  countField,
  isObject,
  kindOf,
  nonEmptyString,
  parseJsonBody,
  type TencentCredentials,
  tencentCredentials,
} from "./reply.ts";
import { signTc3 } from "./sign.ts";

export const TENCENT_CVM_BASE_URL = "https://cvm.tencentcloudapi.com";
export const CVM_VERSION = "2017-03-12";
/** The largest Limit every Tencent DescribeImages dialect accepts. */
export const TENCENT_MAX_PAGE_SIZE = 100;
/** DescribeImages: 40 requests/s per API, region and sub-account. */
export const TENCENT_REQUESTS_PER_SECOND = 40;

const CONTENT_TYPE = "application/json";

export interface Api3Call {
  action: string;
  /** X-TC-Region; omitted for calls that are not regional (DescribeRegions). */
  region?: string;
  body: Record<string, unknown>;
}

/** The exact HTTP request for one API 3.0 call to cvm, signed for `nowMs` (pure). */
export function buildApi3Request(
  endpoint: string | undefined,
  creds: TencentCredentials,
  call: Api3Call,
  nowMs: number,
): HttpRequest {
  const base = (endpoint ?? TENCENT_CVM_BASE_URL).replace(/\/+$/, "");
  const body = JSON.stringify(call.body);
  const timestamp = Math.floor(nowMs / 1000);
  // URL.host keeps a non-default port and drops a default one, exactly as undici writes the Host header,
  // and the service signs the Host header it receives.
  const { authorization } = signTc3({
    host: new URL(base).host,
    contentType: CONTENT_TYPE,
    body,
    timestamp,
    service: "cvm",
    secretId: creds.secretId,
    secretKey: creds.secretKey,
  });
  const headers: Record<string, string> = {
    "Content-Type": CONTENT_TYPE,
    "X-TC-Action": call.action,
    "X-TC-Version": CVM_VERSION,
  };
  if (call.region !== undefined) headers["X-TC-Region"] = call.region;
  headers["X-TC-Timestamp"] = String(timestamp);
  headers.Authorization = authorization;
  return { method: "POST", url: `${base}/`, headers, body };
}

export interface EnvelopeResult {
  /** The `Response` object of a success envelope. */
  response: Record<string, unknown>;
  requestId: string | null;
  httpStatus: number;
}

/** Reads a `{"Response": {...}}` envelope (API 3.0 and image-v2 alike; pure). Throws the ImageSyncError a
 *  failure amounts to: `Response.Error` at any HTTP status is the provider's code; without a readable
 *  envelope a non-2xx is HTTP_<status>. */
export function readResponseEnvelope(res: HttpResponse, where: ErrorContext, opts: ReplyOptions): EnvelopeResult {
  const ok = res.status >= 200 && res.status < 300;
  const context = (requestId: string | null): ErrorContext => ({
    ...where,
    ...(requestId ? { requestId } : {}),
    httpStatus: res.status,
  });
  const doc = parseJsonBody(res, context(null), opts);
  const top = isObject(doc) ? doc : undefined;
  const inner = top && isObject(top.Response) ? top.Response : undefined;
  // The docs spell the key both ways (image-v2 examples use RequestID).
  const requestId = nonEmptyString(inner?.RequestId) ?? nonEmptyString(inner?.RequestID) ?? null;

  if (inner && inner.Error !== undefined) {
    const err = inner.Error;
    const code = isObject(err) ? nonEmptyString(err.Code) : undefined;
    if (code === undefined) {
      if (!ok) throw httpError(res, `HTTP ${res.status} with an unreadable Response.Error`, context(requestId), opts);
      throw new MalformedResponseError(
        isObject(err)
          ? "Response.Error.Code is missing or not a string"
          : `Response.Error is not an object (got ${kindOf(err)})`,
        { context: context(requestId) },
      );
    }
    const message = nonEmptyString((err as Record<string, unknown>).Message) ?? "(no message)";
    throw tencentProviderError(res, code, message, context(requestId), opts);
  }
  if (!ok) throw httpError(res, `HTTP ${res.status} without an error code`, context(requestId), opts);
  if (!top) throw new MalformedResponseError("response body is not a JSON object", { context: context(null) });
  if (!inner)
    throw new MalformedResponseError(
      top.Response === undefined ? "Response is missing" : `Response is not an object (got ${kindOf(top.Response)})`,
      { context: context(null) },
    );
  return { response: inner, requestId, httpStatus: res.status };
}

/** Values no error message may contain, even when the provider echoes them. */
export function secretsOf(creds: TencentCredentials, req: HttpRequest): string[] {
  const out = [creds.secretKey, creds.secretId];
  const signature = /Signature=([0-9a-f]{64})/.exec(req.headers.Authorization ?? "")?.[1];
  if (signature) out.push(signature);
  return out;
}

/** Sends one API 3.0 call and returns its success `Response`; throws ImageSyncError on anything else. */
export async function callApi3(ctx: AdapterContext, call: Api3Call, where: ErrorContext): Promise<EnvelopeResult> {
  const creds = tencentCredentials(ctx.account);
  const req = buildApi3Request(ctx.account.endpoint, creds, call, ctx.now());
  let res: HttpResponse;
  try {
    res = await ctx.http.send(req);
  } catch (e) {
    throw asImageSyncError(e, where);
  }
  return readResponseEnvelope(res, where, { nowMs: ctx.now(), secrets: secretsOf(creds, req) });
}

export function whereOf(ctx: AdapterContext, api: ApiId, scope?: string): ErrorContext {
  return { account: ctx.account.name, api, ...(scope === undefined ? {} : { scope }) };
}

function withRequestId(context: ErrorContext, r: EnvelopeResult): ErrorContext {
  return { ...context, ...(r.requestId ? { requestId: r.requestId } : {}), httpStatus: r.httpStatus };
}

/** Response.RegionSet[].Region of a DescribeRegions reply: available regions, in order, without repeats. */
export function regionIds(response: Record<string, unknown>, context: ErrorContext): string[] {
  const set = arrayField(response, "RegionSet", "Response.RegionSet", context);
  const out: string[] = [];
  set.forEach((r, i) => {
    const at = `Response.RegionSet[${i}]`;
    if (!isObject(r)) throw new MalformedResponseError(`${at} is not an object (got ${kindOf(r)})`, { context });
    const region = r.Region;
    if (typeof region !== "string" || region === "")
      throw new MalformedResponseError(
        region === undefined
          ? `${at}.Region is missing`
          : `${at}.Region must be a non-empty string (got ${kindOf(region)})`,
        { context },
      );
    // A region the account cannot use answers UnsupportedRegion or AuthFailure; sweeping it would fail the run.
    if (r.RegionState !== undefined && r.RegionState !== "AVAILABLE") return;
    if (!out.includes(region)) out.push(region);
  });
  return out;
}

/** The account's scopes, or ONE DescribeRegions call to cvm API 3.0 (every Tencent dialect discovers this way). */
export async function listTencentScopes(ctx: AdapterContext, api: ApiId): Promise<string[]> {
  const configured = ctx.account.scopes;
  if (configured && configured.length > 0) return [...configured];
  const where = whereOf(ctx, api);
  const r = await callApi3(ctx, { action: "DescribeRegions", body: {} }, where);
  return regionIds(r.response, withRequestId(where, r));
}

export const tencentCvm: AdapterFactory = (ctx): ProviderAdapter => {
  tencentCredentials(ctx.account); // fail at construction, not mid-sweep, when the credentials are not Tencent's
  const api: ApiId = "tencent-cvm";
  return {
    api,
    provider: "tencent",
    maxPageSize: TENCENT_MAX_PAGE_SIZE,
    defaultRequestsPerSecond: TENCENT_REQUESTS_PER_SECOND,
    listScopes: () => listTencentScopes(ctx, api),
    parts: () => [""],
    async fetchPage(query: PageQuery): Promise<Page> {
      const where = whereOf(ctx, api, query.scope);
      const body = {
        ...(query.imageIds ? { ImageIds: [...query.imageIds] } : {}),
        Offset: (query.pageNumber - 1) * query.pageSize,
        Limit: query.pageSize,
      };
      const r = await callApi3(ctx, { action: "DescribeImages", region: query.scope, body }, where);
      const context = withRequestId(where, r);
      const totalCount = countField(r.response, "TotalCount", "Response.TotalCount", context);
      const list = arrayField(r.response, "ImageSet", "Response.ImageSet", context);
      return {
        images: checkRecords(list, "Response.ImageSet", "ImageId", context).map(normalizeApi3Image),
        totalCount,
        requestId: r.requestId,
      };
    },
  };
};
