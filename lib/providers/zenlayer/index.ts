// The three Zenlayer DescribeImages dialects: bmc (global, unpaged), zec and vm (per zone, paged by pageNum).
// Each fetchPage/listScopes is exactly one signed call; the engine owns paging order, retries and completeness.
import { type ErrorContext, MalformedResponseError } from "../../errors.ts";
import type { ApiId } from "../../model.ts";
import type { AdapterContext, AdapterFactory, Page, PageQuery, ProviderAdapter } from "../types.ts";
import { callZenlayer, isObject, type ZenlayerResult, type ZenlayerService, zenlayerAuth } from "./client.ts";
import { checkImageRecords, kindOf, normalizeBmcImage, normalizeZonalImage } from "./normalize.ts";

/** bmc images are not per zone: one listing, one scope. */
export const BMC_SCOPE = "global";

/** The largest pageSize zec and vm accept. */
export const ZENLAYER_MAX_PAGE_SIZE = 1000;

function where(ctx: AdapterContext, api: ApiId, scope?: string): ErrorContext {
  return { account: ctx.account.name, api, ...(scope === undefined ? {} : { scope }) };
}

function withReply(context: ErrorContext, r: ZenlayerResult): ErrorContext {
  return { ...context, ...(r.requestId ? { requestId: r.requestId } : {}), httpStatus: r.httpStatus };
}

export const zenlayerBmc: AdapterFactory = (ctx) => {
  zenlayerAuth(ctx.account); // fail at construction, not mid-sweep, when the credentials are not Zenlayer's
  const api: ApiId = "zenlayer-bmc";
  return {
    api,
    provider: "zenlayer",
    maxPageSize: null,
    defaultRequestsPerSecond: null,
    async listScopes() {
      return [BMC_SCOPE];
    },
    parts: () => [""],
    async fetchPage(query: PageQuery): Promise<Page> {
      const base = where(ctx, api, query.scope);
      const body = query.imageIds ? { imageIds: [...query.imageIds] } : {};
      const r = await callZenlayer(ctx, { service: "bmc", action: "DescribeImages", body, context: base });
      const context = withReply(base, r);
      // No totalCount to check against: a missing or null list must not pass for an empty catalogue.
      const images = r.response.images;
      if (!Array.isArray(images))
        throw new MalformedResponseError(
          images === undefined
            ? "response.images is missing"
            : `response.images is not an array (got ${kindOf(images)})`,
          { context },
        );
      return {
        images: checkImageRecords(images, "response.images", context).map(normalizeBmcImage),
        totalCount: null,
        requestId: r.requestId,
      };
    },
  };
};

function zonalAdapter(api: "zenlayer-zec" | "zenlayer-vm", service: ZenlayerService): AdapterFactory {
  return (ctx): ProviderAdapter => {
    zenlayerAuth(ctx.account);
    return {
      api,
      provider: "zenlayer",
      maxPageSize: ZENLAYER_MAX_PAGE_SIZE,
      defaultRequestsPerSecond: null,
      async listScopes() {
        const configured = ctx.account.scopes;
        if (configured && configured.length > 0) return [...configured];
        const base = where(ctx, api);
        const r = await callZenlayer(ctx, { service, action: "DescribeZones", body: {}, context: base });
        return zoneIds(r.response, withReply(base, r));
      },
      parts: () => [""],
      async fetchPage(query: PageQuery): Promise<Page> {
        const base = where(ctx, api, query.scope);
        const body = {
          zoneId: query.scope,
          ...(query.imageIds ? { imageIds: [...query.imageIds] } : {}),
          pageNum: query.pageNumber,
          pageSize: query.pageSize,
        };
        const r = await callZenlayer(ctx, { service, action: "DescribeImages", body, context: base });
        const context = withReply(base, r);
        const { totalCount, dataSet } = r.response;
        if (typeof totalCount !== "number" || !Number.isInteger(totalCount) || totalCount < 0)
          throw new MalformedResponseError(
            totalCount === undefined
              ? "response.totalCount is missing"
              : `response.totalCount must be a non-negative integer (got ${JSON.stringify(totalCount)})`,
            { context },
          );
        let list: unknown[];
        if (Array.isArray(dataSet)) list = dataSet;
        // The service writes null for an empty list; a page past the end is empty too, and the engine's
        // count check against totalCount catches a listing that comes up short.
        else if (dataSet === null || (dataSet === undefined && totalCount === 0)) list = [];
        else
          throw new MalformedResponseError(
            dataSet === undefined
              ? "response.dataSet is missing"
              : `response.dataSet is not an array (got ${kindOf(dataSet)})`,
            { context },
          );
        return {
          images: checkImageRecords(list, "response.dataSet", context).map(normalizeZonalImage),
          totalCount,
          requestId: r.requestId,
        };
      },
    };
  };
}

/** zoneSet[].zoneId of a DescribeZones response, in the provider's order without repeats. */
export function zoneIds(response: Record<string, unknown>, context: ErrorContext): string[] {
  const set = response.zoneSet;
  if (!Array.isArray(set))
    throw new MalformedResponseError(
      set === undefined ? "response.zoneSet is missing" : `response.zoneSet is not an array (got ${kindOf(set)})`,
      { context },
    );
  const out: string[] = [];
  set.forEach((z, i) => {
    const at = `response.zoneSet[${i}]`;
    if (!isObject(z)) throw new MalformedResponseError(`${at} is not an object (got ${kindOf(z)})`, { context });
    if (z.zoneId === undefined || z.zoneId === null)
      throw new MalformedResponseError(`${at}.zoneId is missing`, { context });
    if (typeof z.zoneId !== "string" || z.zoneId === "")
      throw new MalformedResponseError(`${at}.zoneId must be a non-empty string (got ${kindOf(z.zoneId)})`, {
        context,
      });
    if (!out.includes(z.zoneId)) out.push(z.zoneId);
  });
  return out;
}

export const zenlayerZec: AdapterFactory = zonalAdapter("zenlayer-zec", "zec");
export const zenlayerVm: AdapterFactory = zonalAdapter("zenlayer-vm", "vm");
