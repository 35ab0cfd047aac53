// The two legacy Tencent DescribeImages dialects, both GET /v2/index.php with the legacy query signature:
// tencent-image-v2 (image.api.qcloud.com, Version 2017-03-12, API 3.0-style `Response` envelope) and
// tencent-cvm-v2 (cvm.api.qcloud.com, lower-case paging, `{code, message, ...}` envelope, one listing per
// imageType). Region discovery goes through API 3.0 DescribeRegions: the legacy services have none of their own.
import { randomInt } from "node:crypto";
import { asImageSyncError, type ErrorContext, MalformedResponseError } from "../../errors.ts";
import type { ApiId } from "../../model.ts";
import type { HttpRequest, HttpResponse } from "../http.ts";
import type { AdapterContext, AdapterFactory, Page, PageQuery, ProviderAdapter } from "../types.ts";
import {
  CVM_VERSION,
  type EnvelopeResult,
  listTencentScopes,
  readResponseEnvelope,
  TENCENT_MAX_PAGE_SIZE,
  TENCENT_REQUESTS_PER_SECOND,
  whereOf,
} from "./api3.ts";
import { httpError, type ReplyOptions, tencentProviderError } from "./errors.ts";
import { normalizeCvmV2Image, normalizeImageV2Image } from "./normalize.ts";
import {
  arrayField,
  checkRecords,
  countField,
  isObject,
  nonEmptyString,
  parseJsonBody,
  type TencentCredentials,
  tencentCredentials,
} from "./reply.ts";
import { type LegacySignatureMethod, signedLegacyQuery } from "./sign.ts";

export const TENCENT_IMAGE_V2_BASE_URL = "https://image.api.qcloud.com";
export const TENCENT_CVM_V2_BASE_URL = "https://cvm.api.qcloud.com";
export const LEGACY_PATH = "/v2/index.php";
/** tencent-cvm-v2 imageType values: 1 private, 2 public, 3 service marketplace, 4 shared. A full listing walks all four. */
export const CVM_V2_IMAGE_TYPES = ["1", "2", "3", "4"] as const;

export interface LegacyCall {
  /** The dialect's parameters (Action, Region, paging, ...) without the common signing parameters. */
  params: Record<string, string>;
  signatureMethod: LegacySignatureMethod;
  /** Unix milliseconds. */
  nowMs: number;
  /** A random positive integer, fresh for every request (the service refuses a reused one as a replay). */
  nonce: number;
}

/** The exact signed GET for one legacy call (pure). */
export function buildLegacyRequest(base: string, creds: TencentCredentials, call: LegacyCall): HttpRequest {
  const root = base.replace(/\/+$/, "");
  const params: Record<string, string> = {
    ...call.params,
    Timestamp: String(Math.floor(call.nowMs / 1000)),
    Nonce: String(call.nonce),
    SecretId: creds.secretId,
    // Sent even for HmacSHA1: the service reads an absent method as SHA1 too, so the signature is the same.
    SignatureMethod: call.signatureMethod,
  };
  const query = signedLegacyQuery(new URL(root).host, LEGACY_PATH, params, creds.secretKey);
  return { method: "GET", url: `${root}${LEGACY_PATH}?${query}`, headers: {}, body: undefined };
}

/** A fresh nonce: a random positive integer below 2^31 - 1. */
export function freshNonce(): number {
  return randomInt(1, 2 ** 31 - 1);
}

/** Values no error message may contain: the keys and the signature, raw and as sent. */
function legacySecrets(creds: TencentCredentials, req: HttpRequest): string[] {
  const out = [creds.secretKey, creds.secretId];
  const sent = /[?&]Signature=([^&]+)/.exec(req.url)?.[1];
  if (sent) out.push(sent, decodeURIComponent(sent));
  return out;
}

async function sendLegacy(
  ctx: AdapterContext,
  base: string,
  params: Record<string, string>,
  where: ErrorContext,
): Promise<{ res: HttpResponse; opts: ReplyOptions }> {
  const creds = tencentCredentials(ctx.account);
  const req = buildLegacyRequest(base, creds, {
    params,
    signatureMethod: ctx.account.signatureMethod ?? "HmacSHA256",
    nowMs: ctx.now(),
    nonce: freshNonce(),
  });
  let res: HttpResponse;
  try {
    res = await ctx.http.send(req);
  } catch (e) {
    throw asImageSyncError(e, where);
  }
  return { res, opts: { nowMs: ctx.now(), secrets: legacySecrets(creds, req) } };
}

/** A list as legacy query parameters: `name.0`, `name.1`, ... (the APIs' "id.n" form); none for no list. */
export function indexedParams(name: string, values: readonly string[] | undefined): Record<string, string> {
  return Object.fromEntries((values ?? []).map((v, i) => [`${name}.${i}`, v]));
}

export interface CvmV2Result {
  /** The whole reply object (the legacy envelope has no inner `Response`). */
  doc: Record<string, unknown>;
  requestId: string | null;
  httpStatus: number;
}

/** Reads a tencent-cvm-v2 reply (pure): code 0 is success; any other code is the provider's error. */
export function readCvmV2Reply(res: HttpResponse, where: ErrorContext, opts: ReplyOptions): CvmV2Result {
  const ok = res.status >= 200 && res.status < 300;
  const doc = parseJsonBody(res, { ...where, httpStatus: res.status }, opts);
  const top = isObject(doc) ? doc : undefined;
  // Not documented, but some legacy gateways add one; worth keeping when present.
  const requestId = nonEmptyString(top?.requestId) ?? nonEmptyString(top?.RequestId) ?? null;
  const context: ErrorContext = { ...where, ...(requestId ? { requestId } : {}), httpStatus: res.status };
  const code = top?.code;
  const codeText =
    typeof code === "number" || (typeof code === "string" && /^-?\d+$/.test(code)) ? String(code) : undefined;
  if (codeText === undefined) {
    if (!ok) throw httpError(res, `HTTP ${res.status} without an error code`, context, opts);
    if (!top) throw new MalformedResponseError("response body is not a JSON object", { context });
    throw new MalformedResponseError(
      code === undefined ? "code is missing" : `code must be an integer (got ${JSON.stringify(code)})`,
      { context },
    );
  }
  if (codeText !== "0") {
    const message = nonEmptyString(top?.message);
    const desc = nonEmptyString(top?.codeDesc);
    const text = [message ?? "(no message)", desc && desc !== message ? `(${desc})` : undefined]
      .filter(Boolean)
      .join(" ");
    throw tencentProviderError(res, codeText, text, context, opts);
  }
  if (!ok) throw httpError(res, `HTTP ${res.status} with code 0`, context, opts);
  return { doc: top as Record<string, unknown>, requestId, httpStatus: res.status };
}

function contextOf(where: ErrorContext, r: EnvelopeResult | CvmV2Result): ErrorContext {
  return { ...where, ...(r.requestId ? { requestId: r.requestId } : {}), httpStatus: r.httpStatus };
}

export const tencentImageV2: AdapterFactory = (ctx): ProviderAdapter => {
  tencentCredentials(ctx.account);
  const api: ApiId = "tencent-image-v2";
  const base = ctx.account.endpoint ?? TENCENT_IMAGE_V2_BASE_URL;
  return {
    api,
    provider: "tencent",
    maxPageSize: TENCENT_MAX_PAGE_SIZE,
    defaultRequestsPerSecond: TENCENT_REQUESTS_PER_SECOND,
    listScopes: () => listTencentScopes(ctx, api),
    parts: () => [""],
    async fetchPage(query: PageQuery): Promise<Page> {
      const where = whereOf(ctx, api, query.scope);
      const params = {
        Action: "DescribeImages",
        Version: CVM_VERSION,
        Region: query.scope,
        Offset: String((query.pageNumber - 1) * query.pageSize),
        Limit: String(query.pageSize),
        ...indexedParams("ImageIds", query.imageIds),
      };
      const { res, opts } = await sendLegacy(ctx, base, params, where);
      const r = readResponseEnvelope(res, where, opts);
      const context = contextOf(where, r);
      const totalCount = countField(r.response, "TotalCount", "Response.TotalCount", context);
      const list = arrayField(r.response, "ImageSet", "Response.ImageSet", context);
      return {
        images: checkRecords(list, "Response.ImageSet", "ImageId", context).map(normalizeImageV2Image),
        totalCount,
        requestId: r.requestId,
      };
    },
  };
};

export const tencentCvmV2: AdapterFactory = (ctx): ProviderAdapter => {
  tencentCredentials(ctx.account);
  const api: ApiId = "tencent-cvm-v2";
  const base = ctx.account.endpoint ?? TENCENT_CVM_V2_BASE_URL;
  return {
    api,
    provider: "tencent",
    maxPageSize: TENCENT_MAX_PAGE_SIZE,
    defaultRequestsPerSecond: TENCENT_REQUESTS_PER_SECOND,
    listScopes: () => listTencentScopes(ctx, api),
    // imageType is required and filters: each type is its own listing with its own totalCount.
    parts: () => [...CVM_V2_IMAGE_TYPES],
    async fetchPage(query: PageQuery): Promise<Page> {
      const where = whereOf(ctx, api, query.scope);
      const params = {
        Action: "DescribeImages",
        Region: query.scope,
        imageType: query.part,
        offset: String((query.pageNumber - 1) * query.pageSize),
        limit: String(query.pageSize),
        ...indexedParams("imageIds", query.imageIds),
      };
      const { res, opts } = await sendLegacy(ctx, base, params, where);
      const r = readCvmV2Reply(res, where, opts);
      const context = contextOf(where, r);
      const totalCount = countField(r.doc, "totalCount", "totalCount", context);
      const list = arrayField(r.doc, "imageSet", "imageSet", context);
      return {
        images: checkRecords(list, "imageSet", "unImgId", context).map(normalizeCvmV2Image),
        totalCount,
        requestId: r.requestId,
      };
    },
  };
};
