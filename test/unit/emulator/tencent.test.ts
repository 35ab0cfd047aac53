// The emulator's Tencent dialect module exercised directly through its DialectModule methods: requests are
// built and signed here (with the adapters' own pure request builders, so the two sides are checked against
// each other) and handed to describe/handle/failure with a DialectContext built in the test.
import { describe, expect, it } from "vitest";
import type { AccountConfig } from "../../../lib/config.ts";
import { createRng } from "../../../lib/emulator/rng.ts";
import { LEGACY_REGION_ALIASES, TENCENT_CATALOGUE_SIZES, tencentDialect } from "../../../lib/emulator/tencent.ts";
import type {
  Catalogue,
  DialectContext,
  EmulatorReply,
  EmulatorRequest,
  FailureKind,
  RequestInfo,
} from "../../../lib/emulator/types.ts";
import type { ApiId, FetchedImage } from "../../../lib/model.ts";
import type { HttpClient, HttpRequest } from "../../../lib/providers/http.ts";
import { buildApi3Request } from "../../../lib/providers/tencent/api3.ts";
import { tencentCvm, tencentCvmV2, tencentImageV2 } from "../../../lib/providers/tencent/index.ts";
import { buildLegacyRequest } from "../../../lib/providers/tencent/legacy.ts";
import {
  normalizeApi3Image,
  normalizeCvmV2Image,
  normalizeImageV2Image,
} from "../../../lib/providers/tencent/normalize.ts";
import { signTc3 } from "../../../lib/providers/tencent/sign.ts";
import type { AdapterFactory } from "../../../lib/providers/types.ts";

const CREDS = { secretId: "AKIDemulatorTestId000000000000001", secretKey: "emulatorTestSecretKey0000000001" };
const NOW = 1_717_000_000_000;
const BASE = "http://127.0.0.1:4566";

const CATALOGUE: Catalogue = tencentDialect.generate(createRng(42), 0.2);

function context(now = NOW, catalogue: Catalogue = CATALOGUE): DialectContext {
  let n = 0;
  return {
    catalogue,
    credentials: { zenlayer: { accessKeyId: "zk", accessKeySecret: "zs", token: "zt" }, tencent: CREDS },
    now: () => now,
    usedNonces: new Set(),
    requestId: () => `req-${++n}`,
  };
}

function toEmulator(req: HttpRequest): EmulatorRequest {
  const url = new URL(req.url);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = v;
  return {
    method: req.method,
    path: url.pathname,
    query: url.searchParams,
    headers,
    host: url.host,
    body: req.body ?? "",
  };
}

function records(api: ApiId, scope: string): Record<string, unknown>[] {
  const list = CATALOGUE.get(api)?.get(scope);
  if (!list) throw new Error(`no ${api} ${scope} in the test catalogue`);
  return list;
}

function api3Request(body: Record<string, unknown>, opts: { region?: string; action?: string; nowMs?: number } = {}) {
  return toEmulator(
    buildApi3Request(
      BASE,
      CREDS,
      {
        action: opts.action ?? "DescribeImages",
        ...(opts.action === "DescribeRegions" ? {} : { region: opts.region ?? "ap-guangzhou" }),
        body,
      },
      opts.nowMs ?? NOW,
    ),
  );
}

let nonce = 1000;
function legacyRequest(
  params: Record<string, string>,
  opts: { nowMs?: number; method?: "HmacSHA1" | "HmacSHA256"; nonce?: number; creds?: typeof CREDS } = {},
): EmulatorRequest {
  return toEmulator(
    buildLegacyRequest(BASE, opts.creds ?? CREDS, {
      params,
      signatureMethod: opts.method ?? "HmacSHA256",
      nowMs: opts.nowMs ?? NOW,
      nonce: opts.nonce ?? ++nonce,
    }),
  );
}

const imageV2Params = (over: Record<string, string> = {}) => ({
  Action: "DescribeImages",
  Version: "2017-03-12",
  Region: "ap-guangzhou",
  Offset: "0",
  Limit: "100",
  ...over,
});

const cvmV2Params = (over: Record<string, string> = {}) => ({
  Action: "DescribeImages",
  Region: "gz",
  imageType: "2",
  offset: "0",
  limit: "100",
  ...over,
});

function serve(
  req: EmulatorRequest,
  ctx: DialectContext,
): { reply: EmulatorReply; doc: Record<string, unknown>; info: RequestInfo } {
  const info = tencentDialect.describe(req);
  if (!info) throw new Error("describe() did not recognise the request");
  const reply = tencentDialect.handle(req, info, ctx);
  return { reply, doc: JSON.parse(reply.body) as Record<string, unknown>, info };
}

const responseOf = (doc: Record<string, unknown>) => doc.Response as Record<string, unknown>;
const errorCodeOf = (doc: Record<string, unknown>) => (responseOf(doc).Error as { Code?: string } | undefined)?.Code;
const ids = (list: unknown, key = "ImageId") => (list as Record<string, unknown>[]).map((r) => r[key]);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe("describe()", () => {
  it("reads API 3.0 DescribeImages: region header and page from Offset/Limit", () => {
    expect(tencentDialect.describe(api3Request({ Offset: 200, Limit: 100 }, { region: "ap-shanghai" }))).toEqual({
      api: "tencent-cvm",
      action: "DescribeImages",
      scope: "ap-shanghai",
      part: "",
      pageNumber: 3,
    });
    // Limit defaults to 20, as the service's does.
    expect(tencentDialect.describe(api3Request({ Offset: 40 }))?.pageNumber).toBe(3);
    expect(tencentDialect.describe(api3Request({}))?.pageNumber).toBe(1);
  });

  it("reads API 3.0 DescribeRegions as a discovery call", () => {
    expect(tencentDialect.describe(api3Request({}, { action: "DescribeRegions" }))).toEqual({
      api: "tencent-cvm",
      action: "DescribeRegions",
      scope: "",
      part: "",
      pageNumber: 1,
    });
  });

  it("routes GET /v2/index.php by Version: image-v2 with it, cvm-v2 (with imageType parts) without", () => {
    expect(tencentDialect.describe(legacyRequest(imageV2Params({ Offset: "300", Limit: "100" })))).toEqual({
      api: "tencent-image-v2",
      action: "DescribeImages",
      scope: "ap-guangzhou",
      part: "",
      pageNumber: 4,
    });
    expect(tencentDialect.describe(legacyRequest(cvmV2Params({ imageType: "3", offset: "20", limit: "10" })))).toEqual({
      api: "tencent-cvm-v2",
      action: "DescribeImages",
      scope: "gz",
      part: "3",
      pageNumber: 3,
    });
  });

  it.each([
    { method: "POST", path: "/api/v2/zec", headers: { "x-zc-action": "DescribeImages" } },
    { method: "POST", path: "/", headers: {} },
    { method: "GET", path: "/", headers: { "x-tc-action": "DescribeImages" } },
    { method: "POST", path: "/v2/index.php", headers: {} },
    { method: "GET", path: "/v2/other.php", headers: {} },
  ])("leaves %j to other modules", (r) => {
    const req: EmulatorRequest = { ...r, query: new URLSearchParams(), host: "127.0.0.1", body: "" };
    expect(tencentDialect.describe(req)).toBeUndefined();
  });
});

describe("API 3.0 (tencent-cvm)", () => {
  it("answers a page as the catalogue's slice with TotalCount and a UUID RequestId", () => {
    const all = records("tencent-cvm", "ap-guangzhou");
    const { reply, doc } = serve(api3Request({ Offset: 20, Limit: 25 }), context());
    expect(reply.status).toBe(200);
    const r = responseOf(doc);
    expect(r.TotalCount).toBe(all.length);
    expect(ids(r.ImageSet)).toEqual(ids(all.slice(20, 45)));
    expect(r.RequestId).toMatch(UUID);
    expect(r.Error).toBeUndefined();
  });

  it("answers past the end with an empty ImageSet and the same TotalCount", () => {
    const all = records("tencent-cvm", "ap-singapore");
    const { doc } = serve(api3Request({ Offset: all.length, Limit: 100 }, { region: "ap-singapore" }), context());
    expect(responseOf(doc).ImageSet).toEqual([]);
    expect(responseOf(doc).TotalCount).toBe(all.length);
  });

  it("refuses a body changed after signing: AuthFailure.SignatureFailure at HTTP 200", () => {
    const req = { ...api3Request({ Offset: 0, Limit: 100 }), body: '{"Offset":100,"Limit":100}' };
    const { reply, doc } = serve(req, context());
    expect(reply.status).toBe(200);
    expect(errorCodeOf(doc)).toBe("AuthFailure.SignatureFailure");
    expect(responseOf(doc).RequestId).toMatch(UUID);
  });

  it("refuses a request signed for another Host or Content-Type", () => {
    const req = api3Request({});
    expect(errorCodeOf(serve({ ...req, host: "127.0.0.1:9999" }, context()).doc)).toBe("AuthFailure.SignatureFailure");
    const ct = { ...req, headers: { ...req.headers, "content-type": "application/json; charset=utf-8" } };
    expect(errorCodeOf(serve(ct, context()).doc)).toBe("AuthFailure.SignatureFailure");
  });

  it("refuses an unknown SecretId with AuthFailure.SecretIdNotFound", () => {
    const req = toEmulator(
      buildApi3Request(
        BASE,
        { secretId: "AKIDunknown", secretKey: CREDS.secretKey },
        { action: "DescribeImages", region: "ap-guangzhou", body: {} },
        NOW,
      ),
    );
    expect(errorCodeOf(serve(req, context()).doc)).toBe("AuthFailure.SecretIdNotFound");
  });

  it("refuses a wrong key with AuthFailure.SignatureFailure", () => {
    const req = toEmulator(
      buildApi3Request(
        BASE,
        { ...CREDS, secretKey: "wrong" },
        { action: "DescribeImages", region: "ap-guangzhou", body: {} },
        NOW,
      ),
    );
    expect(errorCodeOf(serve(req, context()).doc)).toBe("AuthFailure.SignatureFailure");
  });

  it("refuses a timestamp more than 300 s away with AuthFailure.SignatureExpire, and accepts 299 s", () => {
    expect(errorCodeOf(serve(api3Request({}, { nowMs: NOW - 301_000 }), context()).doc)).toBe(
      "AuthFailure.SignatureExpire",
    );
    expect(errorCodeOf(serve(api3Request({}, { nowMs: NOW + 301_000 }), context()).doc)).toBe(
      "AuthFailure.SignatureExpire",
    );
    expect(errorCodeOf(serve(api3Request({}, { nowMs: NOW - 299_000 }), context()).doc)).toBeUndefined();
  });

  it("refuses a credential date that is not the timestamp's UTC date, even with a matching signature", () => {
    // Sign honestly for the next day's date but send today's timestamp: the scope no longer matches.
    const ts = Math.floor(NOW / 1000);
    const body = "{}";
    const host = new URL(BASE).host;
    const forged = signTc3({
      host,
      contentType: "application/json",
      body,
      timestamp: ts + 86_400,
      service: "cvm",
      ...CREDS,
    });
    const req = api3Request({});
    const { doc } = serve(
      { ...req, body, headers: { ...req.headers, authorization: forged.authorization } },
      context(),
    );
    expect(errorCodeOf(doc)).toBe("AuthFailure.SignatureFailure");
    expect((responseOf(doc).Error as { Message: string }).Message).toMatch(/date in Credential/);
  });

  it("refuses a missing or malformed Authorization", () => {
    const req = api3Request({});
    const { authorization: _, ...without } = req.headers;
    expect(errorCodeOf(serve({ ...req, headers: without }, context()).doc)).toBe("AuthFailure.InvalidAuthorization");
    expect(errorCodeOf(serve({ ...req, headers: { ...req.headers, authorization: "Basic x" } }, context()).doc)).toBe(
      "AuthFailure.InvalidAuthorization",
    );
  });

  it("answers an unknown region with UnsupportedRegion and a region of another API with an empty listing", () => {
    expect(errorCodeOf(serve(api3Request({}, { region: "ap-atlantis" }), context()).doc)).toBe("UnsupportedRegion");
    const { doc } = serve(api3Request({}, { region: "na-siliconvalley" }), context());
    expect(responseOf(doc)).toMatchObject({ TotalCount: 0, ImageSet: [] });
  });

  it.each([
    [{ Limit: 101 }, "InvalidParameterValue.InvalidParameterValueLimit"],
    [{ Limit: -1 }, "InvalidParameterValue.InvalidParameterValueLimit"],
    [{ Limit: "10" }, "InvalidParameterValue.InvalidParameterValueLimit"],
    [{ Offset: -5 }, "InvalidParameterValue.InvalidParameterValueOffset"],
    [{ Bogus: 1 }, "UnknownParameter"],
    [{ ImageIds: ["img-1"], Filters: [] }, "InvalidParameter.InvalidParameterCoexistImageIdsFilters"],
    [{ Filters: [{ Name: "zone", Values: ["x"] }] }, "InvalidFilter"],
  ])("refuses %j with %s", (body, code) => {
    expect(errorCodeOf(serve(api3Request(body), context()).doc)).toBe(code);
  });

  it("filters by image-type and by ImageIds", () => {
    const all = records("tencent-cvm", "ap-guangzhou");
    const priv = serve(
      api3Request({ Filters: [{ Name: "image-type", Values: ["PRIVATE_IMAGE"] }], Limit: 100 }),
      context(),
    );
    const expected = all.filter((r) => r.ImageType === "PRIVATE_IMAGE");
    expect(responseOf(priv.doc).TotalCount).toBe(expected.length);
    expect(expected.length).toBeGreaterThan(0);
    const some = [all[3]!.ImageId, all[7]!.ImageId] as string[];
    expect(ids(responseOf(serve(api3Request({ ImageIds: some }), context()).doc).ImageSet)).toEqual(some);
  });

  it("lists every region of the catalogue as AVAILABLE in DescribeRegions, the cvm regions first", () => {
    const { doc } = serve(api3Request({}, { action: "DescribeRegions" }), context());
    const r = responseOf(doc);
    const set = r.RegionSet as Array<Record<string, unknown>>;
    expect(set.map((x) => x.Region)).toEqual([
      "ap-guangzhou",
      "ap-shanghai",
      "ap-beijing",
      "ap-singapore",
      "ap-hongkong",
      "na-siliconvalley",
    ]);
    expect(set.every((x) => x.RegionState === "AVAILABLE" && typeof x.RegionName === "string")).toBe(true);
    expect(r.TotalCount).toBe(set.length);
    expect(r.RequestId).toMatch(UUID);
  });

  it("refuses an unknown action", () => {
    expect(errorCodeOf(serve(api3Request({}, { action: "RunInstances" }), context()).doc)).toBe("InvalidAction");
  });
});

describe("legacy image.api.qcloud.com (tencent-image-v2)", () => {
  it("answers a page in the Response envelope, with both request id spellings across requests", () => {
    const all = records("tencent-image-v2", "ap-guangzhou");
    const ctx = context();
    const keys = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const { doc } = serve(legacyRequest(imageV2Params({ Offset: "10", Limit: "15" })), ctx);
      const r = responseOf(doc);
      expect(r.TotalCount).toBe(all.length);
      expect(ids(r.ImageSet)).toEqual(ids(all.slice(10, 25)));
      for (const k of ["RequestID", "RequestId"]) if (k in r) keys.add(k);
      expect("RequestID" in r !== "RequestId" in r).toBe(true);
    }
    expect([...keys].sort()).toEqual(["RequestID", "RequestId"]);
  });

  it("spells the request id key deterministically per request id", () => {
    const a = serve(legacyRequest(imageV2Params()), context());
    const b = serve(legacyRequest(imageV2Params()), context());
    expect(Object.keys(responseOf(a.doc))).toEqual(Object.keys(responseOf(b.doc)));
  });

  it("accepts HmacSHA1 as well as HmacSHA256", () => {
    const { doc } = serve(legacyRequest(imageV2Params(), { method: "HmacSHA1" }), context());
    expect(errorCodeOf(doc)).toBeUndefined();
  });

  it("refuses a tampered parameter, a wrong key and an unknown SecretId", () => {
    const req = legacyRequest(imageV2Params());
    const query = new URLSearchParams(req.query);
    query.set("Offset", "100");
    expect(errorCodeOf(serve({ ...req, query }, context()).doc)).toBe("AuthFailure.SignatureFailure");
    const wrongKey = legacyRequest(imageV2Params(), { creds: { ...CREDS, secretKey: "nope" } });
    expect(errorCodeOf(serve(wrongKey, context()).doc)).toBe("AuthFailure.SignatureFailure");
    const unknown = legacyRequest(imageV2Params(), { creds: { secretId: "AKIDother", secretKey: CREDS.secretKey } });
    expect(errorCodeOf(serve(unknown, context()).doc)).toBe("AuthFailure.SecretIdNotFound");
  });

  it("refuses a request signed for another host", () => {
    const req = legacyRequest(imageV2Params());
    expect(errorCodeOf(serve({ ...req, host: "image.api.qcloud.com" }, context()).doc)).toBe(
      "AuthFailure.SignatureFailure",
    );
  });

  it("refuses an expired timestamp and a replayed nonce", () => {
    expect(errorCodeOf(serve(legacyRequest(imageV2Params(), { nowMs: NOW - 400_000 }), context()).doc)).toBe(
      "AuthFailure.SignatureExpire",
    );
    const ctx = context();
    const req = legacyRequest(imageV2Params(), { nonce: 4242 });
    expect(errorCodeOf(serve(req, ctx).doc)).toBeUndefined();
    expect(errorCodeOf(serve(req, ctx).doc)).toBe("AuthFailure.SignatureFailure");
    // The same nonce with another timestamp is a different request.
    expect(
      errorCodeOf(serve(legacyRequest(imageV2Params(), { nonce: 4242, nowMs: NOW + 1000 }), ctx).doc),
    ).toBeUndefined();
  });

  it.each([
    [{ Limit: "101" }, "InvalidParameterValue.InvalidParameterValueLimit"],
    [{ Region: "ap-atlantis" }, "UnsupportedRegion"],
    [
      { "ImageIds.0": "img-1", "Filters.1.Name": "image-type", "Filters.1.Values.1": "PRIVATE_IMAGE" },
      "InvalidParameter.InvalidParameterCoexistImageIdsFilters",
    ],
    [{ "Filters.1.Name": "platform", "Filters.1.Values.1": "CentOS" }, "InvalidFilter"],
    [{ Action: "DescribeInstances" }, "InvalidAction"],
  ])("refuses %j with %s", (over, code) => {
    expect(errorCodeOf(serve(legacyRequest(imageV2Params(over)), context()).doc)).toBe(code);
  });

  it("filters by image-type", () => {
    const all = records("tencent-image-v2", "ap-guangzhou");
    const { doc } = serve(
      legacyRequest(imageV2Params({ "Filters.1.Name": "image-type", "Filters.1.Values.1": "SHARED_IMAGE" })),
      context(),
    );
    expect(responseOf(doc).TotalCount).toBe(all.filter((r) => r.ImageType === "SHARED_IMAGE").length);
  });
});

describe("legacy cvm.api.qcloud.com (tencent-cvm-v2)", () => {
  it("answers one imageType listing, paged by offset/limit", () => {
    const ofType = records("tencent-cvm-v2", "gz").filter((r) => r.imageType === 1);
    expect(ofType.length).toBeGreaterThan(3);
    const { doc } = serve(legacyRequest(cvmV2Params({ imageType: "1", offset: "2", limit: "3" })), context());
    expect(doc).toMatchObject({ code: 0, message: "", totalCount: ofType.length });
    expect(ids(doc.imageSet, "unImgId")).toEqual(ids(ofType.slice(2, 5), "unImgId"));
  });

  it("answers the API 3.0 name of an old region as that region", () => {
    const old = serve(legacyRequest(cvmV2Params({ Region: "gz" })), context()).doc;
    const modern = serve(legacyRequest(cvmV2Params({ Region: LEGACY_REGION_ALIASES.gz! })), context()).doc;
    expect(modern.totalCount).toBe(old.totalCount);
    expect(modern.imageSet).toEqual(old.imageSet);
  });

  it("filters by status when asked", () => {
    const normal = records("tencent-cvm-v2", "gz").filter((r) => r.imageType === 2 && r.status === 2);
    const { doc } = serve(legacyRequest(cvmV2Params({ status: "2" })), context());
    expect(doc.totalCount).toBe(normal.length);
  });

  it("answers a bad signature with code 4100 in its own envelope", () => {
    const req = legacyRequest(cvmV2Params());
    const query = new URLSearchParams(req.query);
    query.set("imageType", "1");
    const { reply, doc } = serve({ ...req, query }, context());
    expect(reply.status).toBe(200);
    expect(doc).toMatchObject({ code: 4100, codeDesc: "AuthFailure" });
    expect(typeof doc.message).toBe("string");
    expect(doc.imageSet).toBeUndefined();
  });

  it("answers an unknown SecretId with 4100", () => {
    const req = legacyRequest(cvmV2Params(), { creds: { secretId: "AKIDother", secretKey: CREDS.secretKey } });
    expect(serve(req, context()).doc.code).toBe(4100);
  });

  it("answers a replayed nonce and a skewed timestamp with 4500", () => {
    const ctx = context();
    const req = legacyRequest(cvmV2Params(), { nonce: 77 });
    expect(serve(req, ctx).doc.code).toBe(0);
    expect(serve(req, ctx).doc.code).toBe(4500);
    expect(serve(legacyRequest(cvmV2Params(), { nowMs: NOW + 301_000 }), context()).doc.code).toBe(4500);
  });

  it.each([
    [{ imageType: "" }, 4000],
    [{ imageType: "5" }, 4000],
    [{ limit: "101" }, 4000],
    [{ Region: "mars" }, 4000],
  ])("refuses %j with %i", (over, code) => {
    const params = cvmV2Params(over);
    if ((over as Record<string, string>).imageType === "") delete (params as Record<string, string>).imageType;
    expect(serve(legacyRequest(params), context()).doc.code).toBe(code);
  });
});

describe("failure()", () => {
  const infoOf = (api: ApiId): RequestInfo => ({ api, action: "DescribeImages", scope: "x", part: "", pageNumber: 1 });
  const API3_CODES: Record<FailureKind, string> = {
    throttle: "RequestLimitExceeded",
    internal: "InternalError",
    unavailable: "ServiceUnavailable",
    auth: "AuthFailure.SignatureFailure",
    expired: "AuthFailure.SignatureExpire",
  };
  const LEGACY_CODES: Record<FailureKind, number> = {
    throttle: 4400,
    internal: 6000,
    unavailable: 6000,
    auth: 4100,
    expired: 4500,
  };

  it.each(Object.keys(API3_CODES) as FailureKind[])("renders %s in each dialect's envelope", (kind) => {
    for (const api of ["tencent-cvm", "tencent-image-v2"] as const) {
      const reply = tencentDialect.failure(kind, infoOf(api), context());
      expect(reply.status).toBe(200);
      const r = responseOf(JSON.parse(reply.body));
      expect((r.Error as { Code: string }).Code).toBe(API3_CODES[kind]);
      expect(r.RequestId ?? r.RequestID).toMatch(UUID);
    }
    const legacy = tencentDialect.failure(kind, infoOf("tencent-cvm-v2"), context());
    expect(legacy.status).toBe(200);
    expect(JSON.parse(legacy.body)).toMatchObject({ code: LEGACY_CODES[kind] });
  });
});

describe("the adapters against the dialect (in process)", () => {
  function emulatorHttp(ctx: DialectContext): HttpClient {
    return {
      async send(req) {
        const er = toEmulator(req);
        const info = tencentDialect.describe(er);
        if (!info) return { status: 404, headers: {}, body: "not found" };
        const reply = tencentDialect.handle(er, info, ctx);
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(reply.headers ?? {})) headers[k.toLowerCase()] = v;
        return { status: reply.status, headers, body: reply.body };
      },
      async close() {},
    };
  }

  async function sweep(factory: AdapterFactory, api: ApiId, scope: string, signatureMethod?: "HmacSHA1") {
    const account: AccountConfig = {
      name: "emu",
      api,
      endpoint: BASE,
      credentials: CREDS,
      ...(signatureMethod ? { signatureMethod } : {}),
    };
    const adapter = factory({ account, http: emulatorHttp(context()), now: () => NOW });
    const out: FetchedImage[] = [];
    for (const part of adapter.parts(scope)) {
      for (let page = 1; ; page++) {
        const p = await adapter.fetchPage({ scope, part, pageNumber: page, pageSize: 100 });
        out.push(...p.images);
        if (p.images.length < 100 || page * 100 >= (p.totalCount ?? 0)) break;
      }
    }
    return { adapter, images: out };
  }

  it("tencent-cvm: every image of a region, in order, and DescribeRegions discovery", async () => {
    const { adapter, images } = await sweep(tencentCvm, "tencent-cvm", "ap-guangzhou");
    expect(images.map((i) => i.imageId)).toEqual(ids(records("tencent-cvm", "ap-guangzhou")));
    expect(await adapter.listScopes()).toContain("ap-singapore");
  });

  it("tencent-image-v2: every image of a region (HmacSHA1 account)", async () => {
    const { images } = await sweep(tencentImageV2, "tencent-image-v2", "ap-hongkong", "HmacSHA1");
    expect(images.map((i) => i.imageId)).toEqual(ids(records("tencent-image-v2", "ap-hongkong")));
  });

  it("tencent-cvm-v2: every image of a region across the four imageType listings", async () => {
    const { images } = await sweep(tencentCvmV2, "tencent-cvm-v2", "sh");
    expect(images.map((i) => i.imageId).sort()).toEqual(
      (ids(records("tencent-cvm-v2", "sh"), "unImgId") as string[]).sort(),
    );
  });
});

describe("generate()", () => {
  it("is deterministic for a seed and differs between seeds", () => {
    const json = (c: Catalogue) => JSON.stringify([...c].map(([api, m]) => [api, [...m]]));
    expect(json(tencentDialect.generate(createRng(7), 0.1))).toBe(json(tencentDialect.generate(createRng(7), 0.1)));
    expect(json(tencentDialect.generate(createRng(8), 0.1))).not.toBe(json(tencentDialect.generate(createRng(7), 0.1)));
  });

  it("has the default regions and sizes at scale 1, at least one image per region at tiny scales", () => {
    const full = tencentDialect.generate(createRng(1), 1);
    for (const api of tencentDialect.apis) {
      const sizes = [...full.get(api)!].map(([region, list]) => [region, list.length]);
      expect(sizes).toEqual(
        TENCENT_CATALOGUE_SIZES[api as keyof typeof TENCENT_CATALOGUE_SIZES].map(([r, n]) => [r, n]),
      );
    }
    expect([...full.get("tencent-cvm")!.keys()]).toEqual(["ap-guangzhou", "ap-shanghai", "ap-beijing", "ap-singapore"]);
    expect([...full.get("tencent-image-v2")!.keys()]).toEqual(["ap-guangzhou", "ap-hongkong", "na-siliconvalley"]);
    expect([...full.get("tencent-cvm-v2")!.keys()]).toEqual(["gz", "sh", "bj"]);
    const tiny = tencentDialect.generate(createRng(1), 0.0001);
    for (const api of tencentDialect.apis) for (const list of tiny.get(api)!.values()) expect(list.length).toBe(1);
  });

  it("writes unique img- ids per region, in the documented wire shapes, with realistic variety", () => {
    const full = tencentDialect.generate(createRng(3), 1);
    for (const api of tencentDialect.apis)
      for (const list of full.get(api)!.values()) {
        const idList = list.map((r) => tencentDialect.imageId(api, r));
        expect(new Set(idList).size).toBe(idList.length);
        for (const id of idList) expect(id).toMatch(/^img-[a-z0-9]{8}$/);
      }
    const cvm = [...full.get("tencent-cvm")!.values()].flat();
    expect(Object.keys(cvm[0]!)).toEqual([
      "ImageId",
      "OsName",
      "ImageType",
      "CreatedTime",
      "ImageName",
      "ImageDescription",
      "ImageSize",
      "Architecture",
      "ImageState",
      "Platform",
      "ImageCreator",
      "ImageSource",
      "SyncPercent",
      "IsSupportCloudinit",
      "SnapshotSet",
      "Tags",
      "LicenseType",
      "ImageFamily",
      "ImageDeprecated",
    ]);
    const states = new Set(cvm.map((r) => r.ImageState));
    for (const s of ["NORMAL", "CREATING", "CREATEFAILED", "SYNCING"]) expect(states).toContain(s);
    expect(cvm.filter((r) => r.ImageState === "NORMAL").length / cvm.length).toBeGreaterThan(0.8);
    expect(cvm.some((r) => r.ImageDeprecated === true)).toBe(true);
    expect(new Set(cvm.map((r) => r.Architecture))).toEqual(new Set(["x86_64", "arm"]));
    expect(new Set(cvm.map((r) => r.ImageType))).toEqual(new Set(["PUBLIC_IMAGE", "PRIVATE_IMAGE", "SHARED_IMAGE"]));
    const families = new Set(cvm.map((r) => normalizeApi3Image(r).osFamily));
    for (const f of ["tencentos", "ubuntu", "centos", "windows", "debian"]) expect(families).toContain(f);

    const v2 = [...full.get("tencent-image-v2")!.values()].flat();
    expect(Object.keys(v2[0]!).sort()).toEqual(
      [
        "ImageId",
        "ImageOsName",
        "ImageType",
        "ImageCreateTime",
        "ImageStatus",
        "ImageName",
        "ImageDescription",
        "Platform",
        "Architecture",
        "Creator",
      ].sort(),
    );
    expect(v2.some((r) => /[\u4e00-\u9fff]/.test(String(r.ImageName)))).toBe(true);
    expect(v2.every((r) => normalizeImageV2Image(r).osVersion !== null)).toBe(true);

    const legacy = [...full.get("tencent-cvm-v2")!.values()].flat();
    expect(legacy.some((r) => "createor" in r)).toBe(true);
    expect(legacy.some((r) => "creator" in r)).toBe(true);
    for (const list of full.get("tencent-cvm-v2")!.values())
      expect(new Set(list.map((r) => r.imageType))).toEqual(new Set([1, 2, 3, 4]));
    expect(legacy.every((r) => /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(String(r.createTime)))).toBe(true);
    expect(legacy.every((r) => normalizeCvmV2Image(r).createdAt !== null)).toBe(true);
  });
});

describe("drift helpers", () => {
  const normalize = {
    "tencent-cvm": normalizeApi3Image,
    "tencent-image-v2": normalizeImageV2Image,
    "tencent-cvm-v2": normalizeCvmV2Image,
  } as const;

  it.each(["tencent-cvm", "tencent-image-v2", "tencent-cvm-v2"] as const)(
    "newRecord gives a usable %s image",
    (api) => {
      const rng = createRng(11);
      for (let i = 0; i < 50; i++) {
        const image = normalize[api](tencentDialect.newRecord(api, "x", rng));
        expect(image.available).toBe(true);
        expect(image.unusable).toBeNull();
        expect(image.imageId).toMatch(/^img-[a-z0-9]{8}$/);
      }
    },
  );

  it("markUnusable makes API 3.0 and image-v2 images unusable (both API 3.0 signals occur)", () => {
    const rng = createRng(12);
    const reasons = new Set<string | null>();
    for (let i = 0; i < 40; i++) {
      const r = tencentDialect.newRecord("tencent-cvm", "ap-guangzhou", rng);
      tencentDialect.markUnusable("tencent-cvm", r);
      const image = normalizeApi3Image(r);
      expect(image.available).toBe(false);
      reasons.add(image.unusable);
    }
    expect([...reasons].sort()).toEqual(["flag", "status"]);
    const v2 = tencentDialect.newRecord("tencent-image-v2", "ap-guangzhou", rng);
    tencentDialect.markUnusable("tencent-image-v2", v2);
    expect(normalizeImageV2Image(v2)).toMatchObject({ status: "CREATEFAILED", unusable: "status", available: false });
  });

  it("markUnusable leaves a cvm-v2 record unchanged: that API has no unusable status, images only disappear", () => {
    const r = tencentDialect.newRecord("tencent-cvm-v2", "gz", createRng(13));
    const before = structuredClone(r);
    tencentDialect.markUnusable("tencent-cvm-v2", r);
    expect(r).toEqual(before);
  });

  it.each(["tencent-cvm", "tencent-image-v2", "tencent-cvm-v2"] as const)(
    "touch changes %s's description only",
    (api) => {
      const rng = createRng(14);
      const r = tencentDialect.newRecord(api, "x", rng);
      const before = normalize[api](structuredClone(r));
      tencentDialect.touch(api, r, rng);
      const after = normalize[api](r);
      expect(after.description).not.toBe(before.description);
      expect({ ...after, description: null, raw: null }).toEqual({ ...before, description: null, raw: null });
    },
  );
});

const TENCENT_APIS_UNDER_TEST = ["tencent-cvm", "tencent-image-v2", "tencent-cvm-v2"] as const;

describe("isUsable()", () => {
  it("agrees with the adapters' reading of every generated record", () => {
    const full = tencentDialect.generate(createRng(5), 0.5);
    const normalize = {
      "tencent-cvm": normalizeApi3Image,
      "tencent-image-v2": normalizeImageV2Image,
      "tencent-cvm-v2": normalizeCvmV2Image,
    } as const;
    let unusable = 0;
    for (const api of TENCENT_APIS_UNDER_TEST)
      for (const list of full.get(api)!.values())
        for (const r of list) {
          const image = normalize[api](r);
          expect(tencentDialect.isUsable(api, r), `${api} ${JSON.stringify(r)}`).toBe(
            image.available && image.unusable === null,
          );
          if (!tencentDialect.isUsable(api, r)) unusable++;
        }
    expect(unusable).toBeGreaterThan(0);
  });
});
