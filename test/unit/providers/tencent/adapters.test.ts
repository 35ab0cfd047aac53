// The three Tencent adapters with a fake HttpClient: the exact wire (headers, body, query), signatures that
// verify, fresh signing per call, paging parameters, normalisation of the docs' own examples, every error
// mapping, malformed envelopes, and that no message ever carries a secret.
import { describe, expect, it } from "vitest";
import type { AccountConfig } from "../../../../lib/config.ts";
import { ImageSyncError, MalformedResponseError, ProviderError } from "../../../../lib/errors.ts";
import type { ApiId } from "../../../../lib/model.ts";
import type { HttpClient, HttpRequest, HttpResponse } from "../../../../lib/providers/http.ts";
import { tencentCvm, tencentCvmV2, tencentImageV2 } from "../../../../lib/providers/tencent/index.ts";
import {
  architectureFrom,
  architectureFromOsName,
  beijingTimeFrom,
  imageTypeFrom,
  isoTimeFrom,
  legacyImageTypeFrom,
  normalizeApi3Image,
  normalizeCvmV2Image,
  normalizeImageV2Image,
  stateOf,
  tencentOsFamily,
  tencentOsVersion,
} from "../../../../lib/providers/tencent/normalize.ts";
import {
  legacyStringToSign,
  parseTc3Authorization,
  signLegacy,
  signTc3,
} from "../../../../lib/providers/tencent/sign.ts";
import type { AdapterFactory, ProviderAdapter } from "../../../../lib/providers/types.ts";

const SECRET_ID = "AKIDtestSecretId0123456789abcdef";
const SECRET_KEY = "TopSecretKeyValue0123456789abcd";
const NOW = 1_700_000_000_123;

type Reply = HttpResponse | Error;

function fakeHttp(...replies: Reply[]): HttpClient & { requests: HttpRequest[] } {
  const requests: HttpRequest[] = [];
  return {
    requests,
    async send(req) {
      requests.push(req);
      const r = replies.shift();
      if (r === undefined) throw new Error("fake http: no reply left");
      if (r instanceof Error) throw r;
      return r;
    },
    async close() {},
  };
}

const ok = (body: unknown, headers: Record<string, string> = {}): HttpResponse => ({
  status: 200,
  headers: { "content-type": "application/json", ...headers },
  body: typeof body === "string" ? body : JSON.stringify(body),
});

function account(api: ApiId, extra: Partial<AccountConfig> = {}): AccountConfig {
  return {
    name: "acct-1",
    api,
    credentials: { secretId: SECRET_ID, secretKey: SECRET_KEY },
    scopes: ["ap-guangzhou"],
    ...extra,
  };
}

function adapter(
  factory: AdapterFactory,
  api: ApiId,
  http: HttpClient,
  extra: Partial<AccountConfig> = {},
  now: () => number = () => NOW,
): ProviderAdapter {
  return factory({ account: account(api, extra), http, now });
}

/** Runs a promise that must reject and returns the ImageSyncError it rejected with. */
async function failure(p: Promise<unknown>): Promise<ImageSyncError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ImageSyncError);
    const err = e as ImageSyncError;
    // Whatever failed, the secrets stay out of what gets printed.
    for (const text of [err.message, err.describe(), JSON.stringify(err.toJSON())]) {
      expect(text).not.toContain(SECRET_KEY);
      expect(text).not.toContain(SECRET_ID);
    }
    return err;
  }
  throw new Error("expected a rejection");
}

const api3Image = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  ImageId: "img-9qabwvbn",
  OsName: "TencentOS Server 3.1 (TK4)",
  ImageType: "PUBLIC_IMAGE",
  CreatedTime: "2021-08-10T08:32:13+00:00",
  ImageName: "TencentOS Server 3.1 (TK4)",
  ImageDescription: "TencentOS Server 3.1 (TK4)",
  ImageSize: 20,
  Architecture: "x86_64",
  ImageState: "NORMAL",
  Platform: "TencentOS",
  ImageCreator: "",
  ImageSource: "OFFICIAL",
  SyncPercent: 100,
  IsSupportCloudinit: true,
  SnapshotSet: [],
  Tags: [],
  LicenseType: "TencentCloud",
  ImageFamily: "",
  ImageDeprecated: false,
  ...over,
});

const api3Page = (images: unknown[], total = images.length, requestId = "6b8e2a3c-0000-4000-8000-000000000001") =>
  ok({ Response: { TotalCount: total, ImageSet: images, RequestId: requestId } });

const api3Error = (code: string, message = "boom", requestId = "6b8e2a3c-0000-4000-8000-00000000000e") =>
  ok({ Response: { Error: { Code: code, Message: message }, RequestId: requestId } });

// The image.api.qcloud.com example of tencent-image-2017-03-12-describeimages.zh.md, verbatim.
const IMAGE_V2_SEED = {
  Response: {
    ImageSet: [
      {
        ImageId: "img-pmqg1cw7",
        ImageOsName: "centos6.6x86_32",
        ImageType: "PUBLIC_IMAGE",
        ImageCreateTime: "1970-01-01T00:00:00+00:00",
        ImageStatus: "NORMAL",
        ImageName: "CentOS 6.6 32位",
        ImageDescription: "CentOS 6.6 32位",
        Platform: "CentOS",
        Architecture: "x86_64",
        Creator: "PUBLIC",
      },
    ],
    TotalCount: 1,
    RequestID: "5920380e-277a-420a-a221-0caac3eb7159",
  },
};

// The cvm.api.qcloud.com example of tencent-cvm-legacy-describeimages.md, verbatim (with "createor").
const CVM_V2_SEED = {
  code: 0,
  message: "",
  totalCount: 1,
  imageSet: [
    {
      unImgId: "img-1234test",
      imageName: "test",
      imageDescription: "test",
      osName: "Ubuntu 12.04 64bit",
      imageType: 1,
      createTime: "2014-09-27 10:11:00",
      createor: "1000",
      status: 2,
    },
  ],
};

function headersOf(req: HttpRequest): Record<string, string> {
  return req.headers;
}

function legacyParams(req: HttpRequest): { url: URL; params: Record<string, string> } {
  const url = new URL(req.url);
  return { url, params: Object.fromEntries(url.searchParams) };
}

/** Recomputes the legacy signature the way the service does and says whether the request carries it. */
function legacySignatureVerifies(req: HttpRequest): boolean {
  const { url, params } = legacyParams(req);
  const { Signature, ...rest } = params;
  const method = rest.SignatureMethod === "HmacSHA256" ? "HmacSHA256" : "HmacSHA1";
  return signLegacy(SECRET_KEY, legacyStringToSign("GET", url.host, url.pathname, rest), method) === Signature;
}

describe("tencent-cvm (API 3.0)", () => {
  it("declares its limits and a single listing per region", () => {
    const a = adapter(tencentCvm, "tencent-cvm", fakeHttp());
    expect([a.api, a.provider, a.maxPageSize, a.defaultRequestsPerSecond]).toEqual(["tencent-cvm", "tencent", 100, 40]);
    expect(a.parts("ap-guangzhou")).toEqual([""]);
  });

  it("sends one TC3-signed POST with the exact headers and body, and the signature verifies", async () => {
    const http = fakeHttp(api3Page([api3Image()], 301));
    const page = await adapter(tencentCvm, "tencent-cvm", http).fetchPage({
      scope: "ap-shanghai",
      part: "",
      pageNumber: 3,
      pageSize: 100,
    });
    expect(http.requests).toHaveLength(1);
    const req = http.requests[0]!;
    expect(req.method).toBe("POST");
    expect(req.url).toBe("https://cvm.tencentcloudapi.com/");
    expect(req.body).toBe('{"Offset":200,"Limit":100}');
    const ts = Math.floor(NOW / 1000);
    const expected = signTc3({
      host: "cvm.tencentcloudapi.com",
      contentType: "application/json",
      body: '{"Offset":200,"Limit":100}',
      timestamp: ts,
      service: "cvm",
      secretId: SECRET_ID,
      secretKey: SECRET_KEY,
    });
    expect(headersOf(req)).toEqual({
      "Content-Type": "application/json",
      "X-TC-Action": "DescribeImages",
      "X-TC-Version": "2017-03-12",
      "X-TC-Region": "ap-shanghai",
      "X-TC-Timestamp": String(ts),
      Authorization: expected.authorization,
    });
    expect(page.totalCount).toBe(301);
    expect(page.requestId).toBe("6b8e2a3c-0000-4000-8000-000000000001");
    expect(page.images.map((i) => i.imageId)).toEqual(["img-9qabwvbn"]);
  });

  it("signs the endpoint's host with its port, and pages from Offset 0", async () => {
    const http = fakeHttp(api3Page([]));
    await adapter(tencentCvm, "tencent-cvm", http, { endpoint: "http://127.0.0.1:8123" }).fetchPage({
      scope: "ap-guangzhou",
      part: "",
      pageNumber: 1,
      pageSize: 50,
    });
    const req = http.requests[0]!;
    expect(req.url).toBe("http://127.0.0.1:8123/");
    expect(req.body).toBe('{"Offset":0,"Limit":50}');
    const auth = parseTc3Authorization(req.headers.Authorization!)!;
    const withPort = signTc3({
      host: "127.0.0.1:8123",
      contentType: "application/json",
      body: req.body!,
      timestamp: Math.floor(NOW / 1000),
      service: "cvm",
      secretId: SECRET_ID,
      secretKey: SECRET_KEY,
    });
    expect(auth.signature).toBe(withPort.signature);
  });

  it("signs every call afresh with the clock's current time", async () => {
    let now = NOW;
    const http = fakeHttp(api3Error("InternalError"), api3Page([]));
    const a = adapter(tencentCvm, "tencent-cvm", http, {}, () => now);
    const q = { scope: "ap-guangzhou", part: "", pageNumber: 1, pageSize: 100 };
    await failure(a.fetchPage(q));
    now += 7_000;
    await a.fetchPage(q);
    const [first, second] = http.requests;
    expect(Number(second!.headers["X-TC-Timestamp"]) - Number(first!.headers["X-TC-Timestamp"])).toBe(7);
    expect(second!.headers.Authorization).not.toBe(first!.headers.Authorization);
  });

  it("uses the configured scopes without calling the provider", async () => {
    const http = fakeHttp();
    const scopes = await adapter(tencentCvm, "tencent-cvm", http, {
      scopes: ["ap-beijing", "ap-hongkong"],
    }).listScopes();
    expect(scopes).toEqual(["ap-beijing", "ap-hongkong"]);
    expect(http.requests).toHaveLength(0);
  });

  it("discovers regions with ONE DescribeRegions call without a region header, keeping AVAILABLE ones", async () => {
    const http = fakeHttp(
      ok({
        Response: {
          TotalCount: 4,
          RegionSet: [
            { Region: "ap-guangzhou", RegionName: "华南地区(广州)", RegionState: "AVAILABLE" },
            { Region: "ap-shanghai", RegionName: "华东地区(上海)", RegionState: "AVAILABLE" },
            { Region: "ap-mumbai", RegionName: "亚太南部(孟买)", RegionState: "UNAVAILABLE" },
            { Region: "ap-guangzhou", RegionState: "AVAILABLE" },
          ],
          RequestId: "r-1",
        },
      }),
    );
    const scopes = await adapter(tencentCvm, "tencent-cvm", http, { scopes: undefined }).listScopes();
    expect(scopes).toEqual(["ap-guangzhou", "ap-shanghai"]);
    expect(http.requests).toHaveLength(1);
    const req = http.requests[0]!;
    expect(req.headers["X-TC-Action"]).toBe("DescribeRegions");
    expect(req.headers["X-TC-Region"]).toBeUndefined();
    expect(req.body).toBe("{}");
  });

  it("refuses a DescribeRegions reply without RegionSet, naming the field", async () => {
    const http = fakeHttp(ok({ Response: { TotalCount: 0, RequestId: "r-2" } }));
    const err = await failure(adapter(tencentCvm, "tencent-cvm", http, { scopes: undefined }).listScopes());
    expect(err).toBeInstanceOf(MalformedResponseError);
    expect(err.message).toBe("Response.RegionSet is missing");
    expect(err.context.requestId).toBe("r-2");
  });

  it("normalises an API 3.0 Image", async () => {
    const raw = api3Image();
    const page = await adapter(tencentCvm, "tencent-cvm", fakeHttp(api3Page([raw]))).fetchPage({
      scope: "ap-guangzhou",
      part: "",
      pageNumber: 1,
      pageSize: 100,
    });
    expect(page.images[0]).toEqual({
      imageId: "img-9qabwvbn",
      name: "TencentOS Server 3.1 (TK4)",
      description: "TencentOS Server 3.1 (TK4)",
      osType: "linux",
      osFamily: "tencentos",
      osVersion: "3.1",
      architecture: "x86_64",
      imageType: "public",
      family: null,
      status: "NORMAL",
      available: true,
      unusable: null,
      sizeGiB: 20,
      createdAt: "2021-08-10T08:32:13.000Z",
      raw,
    });
  });

  it.each([
    [
      { OsName: "Ubuntu Server 22.04 LTS 64bit", Platform: "Ubuntu", Architecture: "arm" },
      { osFamily: "ubuntu", osType: "linux", osVersion: "22.04", architecture: "arm64" },
    ],
    [
      { OsName: "Windows Server 2022 Datacenter 64bit Chinese", Platform: "Windows", ImageSize: 50 },
      { osFamily: "windows", osType: "windows", osVersion: "2022", sizeGiB: 50 },
    ],
    [
      { OsName: "CentOS 7.9 64bit", Platform: "CentOS", ImageType: "PRIVATE_IMAGE" },
      { osFamily: "centos", osType: "linux", osVersion: "7.9", imageType: "custom" },
    ],
    [
      { OsName: "Debian 12.4 64bit", Platform: "Debian", ImageType: "SHARED_IMAGE", Architecture: "i386" },
      { osFamily: "debian", osVersion: "12.4", imageType: "shared", architecture: "i386" },
    ],
    [
      { OsName: "FreeBSD 13.1 64bit", Platform: "FreeBSD", ImageType: "MARKET_IMAGE" },
      { osFamily: "freebsd", osType: null, osVersion: "13.1", imageType: "marketplace" },
    ],
    [{ ImageState: "USING" }, { status: "USING", available: true, unusable: null }],
    [{ ImageState: "CREATING" }, { status: "CREATING", available: false, unusable: null }],
    [{ ImageState: "SYNCING" }, { status: "SYNCING", available: false, unusable: null }],
    [{ ImageState: "IMPORTING" }, { status: "IMPORTING", available: false, unusable: null }],
    [{ ImageState: "CREATEFAILED" }, { status: "CREATEFAILED", available: false, unusable: "status" }],
    [{ ImageState: "IMPORTFAILED" }, { status: "IMPORTFAILED", available: false, unusable: "status" }],
    [{ ImageState: "WEIRD" }, { status: "WEIRD", available: false, unusable: null }],
    [{ ImageDeprecated: true }, { status: "NORMAL", available: false, unusable: "flag" }],
    [{ ImageType: "NEW_KIND" }, { imageType: "NEW_KIND" }],
    [{ CreatedTime: "not a time" }, { createdAt: null }],
    [{ CreatedTime: "2021-08-10T16:32:13+08:00" }, { createdAt: "2021-08-10T08:32:13.000Z" }],
  ])("normalises %j", (over, expected) => {
    expect(normalizeApi3Image(api3Image(over))).toMatchObject(expected);
  });

  it.each([
    ["RequestLimitExceeded", true],
    ["RequestLimitExceeded.UinLimitExceeded", true],
    ["RequestLimitExceeded.GlobalRegionUinLimitExceeded", true],
    ["RequestLimitExceeded.IPLimitExceeded", true],
    ["InternalError", true],
    ["InternalError.TradeUnknownError", true],
    ["ServiceUnavailable", true],
    ["AuthFailure.SignatureFailure", false],
    ["AuthFailure.SignatureExpire", false],
    ["AuthFailure.SecretIdNotFound", false],
    ["InvalidParameter", false],
    ["InvalidParameterValue.InvalidParameterValueLimit", false],
    ["InvalidFilter", false],
    ["UnauthorizedOperation", false],
    ["UnsupportedRegion", false],
    ["SomethingNew", false],
    ["RequestLimitExceededSoon", false],
  ])("maps Response.Error %s (retryable %s) with account, api, region and request id", async (code, retryable) => {
    const http = fakeHttp(api3Error(code, `the ${code} message`));
    const err = await failure(
      adapter(tencentCvm, "tencent-cvm", http).fetchPage({
        scope: "ap-beijing",
        part: "",
        pageNumber: 1,
        pageSize: 100,
      }),
    );
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.code).toBe(code);
    expect(err.retryable).toBe(retryable);
    expect(err.message).toBe(`the ${code} message`);
    expect(err.context).toEqual({
      account: "acct-1",
      api: "tencent-cvm",
      scope: "ap-beijing",
      requestId: "6b8e2a3c-0000-4000-8000-00000000000e",
      httpStatus: 200,
    });
    expect(err.describe()).toContain("account acct-1");
    expect(err.describe()).toContain("scope ap-beijing");
  });

  it("redacts the secrets and the signature when the provider echoes them", async () => {
    const http = fakeHttp();
    const a = adapter(tencentCvm, "tencent-cvm", http);
    // Reply with a message echoing the request's own Authorization header.
    http.send = async (req) => {
      http.requests.push(req);
      return api3Error("AuthFailure.SignatureFailure", `bad ${req.headers.Authorization} for ${SECRET_KEY}`);
    };
    const err = await failure(a.fetchPage({ scope: "ap-guangzhou", part: "", pageNumber: 1, pageSize: 100 }));
    const sig = parseTc3Authorization(http.requests[0]!.headers.Authorization!)!.signature;
    expect(err.message).not.toContain(sig);
    expect(err.message).toContain("[redacted]");
  });

  it.each([
    [{ status: 502, headers: { "content-type": "text/html" }, body: "<html>Bad Gateway</html>" }, "HTTP_502", true],
    [{ status: 503, headers: {}, body: "" }, "HTTP_503", true],
    [{ status: 404, headers: { "content-type": "text/html" }, body: "<html>no</html>" }, "HTTP_404", false],
    [{ status: 500, headers: {}, body: '{"unexpected":true}' }, "HTTP_500", true],
  ])("maps an HTTP %j without an envelope", async (res, code, retryable) => {
    const err = await failure(
      adapter(tencentCvm, "tencent-cvm", fakeHttp(res)).fetchPage({
        scope: "ap-guangzhou",
        part: "",
        pageNumber: 1,
        pageSize: 100,
      }),
    );
    expect(err).toBeInstanceOf(ProviderError);
    expect([err.code, err.retryable, err.context.httpStatus]).toEqual([code, retryable, res.status]);
  });

  it("retries a 429 after the Retry-After it was given", async () => {
    const http = fakeHttp({ status: 429, headers: { "retry-after": "3" }, body: "Too Many Requests" });
    const err = await failure(
      adapter(tencentCvm, "tencent-cvm", http).fetchPage({
        scope: "ap-guangzhou",
        part: "",
        pageNumber: 1,
        pageSize: 100,
      }),
    );
    expect([err.code, err.retryable, err.context.retryAfterMs]).toEqual(["HTTP_429", true, 3000]);
  });

  it("passes a transport failure through with where it happened", async () => {
    const boom = new ImageSyncError("ECONNRESET", "POST https://cvm.tencentcloudapi.com/ failed: reset", {
      retryable: true,
    });
    const err = await failure(
      adapter(tencentCvm, "tencent-cvm", fakeHttp(boom)).fetchPage({
        scope: "ap-guangzhou",
        part: "",
        pageNumber: 1,
        pageSize: 100,
      }),
    );
    expect(err).toBe(boom);
    expect(err.context).toMatchObject({ account: "acct-1", api: "tencent-cvm", scope: "ap-guangzhou" });
  });

  it.each([
    [ok("<html>maintenance</html>"), /^response body is not valid JSON \(HTTP 200/, undefined],
    [ok([1, 2]), /^response body is not a JSON object$/, undefined],
    [ok({ response: {} }), /^Response is missing$/, undefined],
    [ok({ Response: { TotalCount: 1, RequestId: "rid-1" } }), /^Response\.ImageSet is missing$/, "rid-1"],
    [
      ok({ Response: { TotalCount: 1, ImageSet: {}, RequestId: "rid-2" } }),
      /^Response\.ImageSet is not an array \(got object\)$/,
      "rid-2",
    ],
    [ok({ Response: { ImageSet: [], RequestId: "rid-3" } }), /^Response\.TotalCount is missing$/, "rid-3"],
    [
      ok({ Response: { TotalCount: "3", ImageSet: [], RequestId: "rid-4" } }),
      /^Response\.TotalCount must be a non-negative integer \(got "3"\)$/,
      "rid-4",
    ],
    [ok({ Response: { TotalCount: -1, ImageSet: [], RequestId: "rid-5" } }), /^Response\.TotalCount must be/, "rid-5"],
    [
      api3Page([api3Image(), api3Image({ ImageId: "img-2" }), api3Image({ ImageId: undefined })], 3, "rid-6"),
      /^Response\.ImageSet\[2\]\.ImageId is missing$/,
      "rid-6",
    ],
    [
      api3Page([api3Image({ ImageId: "" })], 1, "rid-7"),
      /^Response\.ImageSet\[0\]\.ImageId must be a non-empty string \(got empty string\)$/,
      "rid-7",
    ],
    [
      api3Page([api3Image(), "img-x"], 2, "rid-8"),
      /^Response\.ImageSet\[1\] is not an object \(got string\)$/,
      "rid-8",
    ],
    [ok({ Response: { Error: "denied", RequestId: "rid-9" } }), /^Response\.Error is not an object/, "rid-9"],
  ])("refuses a malformed reply %#, naming the field and the request id", async (res, message, requestId) => {
    const err = await failure(
      adapter(tencentCvm, "tencent-cvm", fakeHttp(res)).fetchPage({
        scope: "ap-guangzhou",
        part: "",
        pageNumber: 1,
        pageSize: 100,
      }),
    );
    expect(err).toBeInstanceOf(MalformedResponseError);
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(message);
    expect(err.context.requestId).toBe(requestId);
    if (requestId) expect(err.describe()).toContain(`request ${requestId}`);
    expect(err.describe()).toContain("account acct-1");
  });

  it("refuses an account whose credentials are not Tencent's", () => {
    expect(() =>
      tencentCvm({
        account: { name: "z", api: "tencent-cvm", credentials: { token: "t" } },
        http: fakeHttp(),
        now: () => NOW,
      }),
    ).toThrow(/secretId and secretKey/);
  });
});

describe("tencent-image-v2 (legacy image.api.qcloud.com)", () => {
  it("sends one signed GET with the exact parameters (HmacSHA256 by default)", async () => {
    const http = fakeHttp(ok(IMAGE_V2_SEED));
    const a = adapter(tencentImageV2, "tencent-image-v2", http);
    expect([a.maxPageSize, a.defaultRequestsPerSecond, a.parts("ap-guangzhou")]).toEqual([100, 40, [""]]);
    await a.fetchPage({ scope: "ap-guangzhou", part: "", pageNumber: 4, pageSize: 100 });
    const req = http.requests[0]!;
    expect(req.method).toBe("GET");
    expect(req.body).toBeUndefined();
    const { url, params } = legacyParams(req);
    expect(`${url.origin}${url.pathname}`).toBe("https://image.api.qcloud.com/v2/index.php");
    const { Nonce, Signature, ...fixed } = params;
    expect(fixed).toEqual({
      Action: "DescribeImages",
      Version: "2017-03-12",
      Region: "ap-guangzhou",
      Offset: "300",
      Limit: "100",
      Timestamp: String(Math.floor(NOW / 1000)),
      SecretId: SECRET_ID,
      SignatureMethod: "HmacSHA256",
    });
    expect(Number(Nonce)).toBeGreaterThanOrEqual(1);
    expect(Number.isInteger(Number(Nonce))).toBe(true);
    expect(Buffer.from(Signature!, "base64")).toHaveLength(32);
    expect(legacySignatureVerifies(req)).toBe(true);
    // Every value is sent RFC 3986-encoded: the base64 signature's / + = never appear raw.
    expect(req.url.split("Signature=")[1]).not.toMatch(/[/+=]/);
  });

  it("signs with HmacSHA1 when the account says so", async () => {
    const http = fakeHttp(ok(IMAGE_V2_SEED));
    await adapter(tencentImageV2, "tencent-image-v2", http, { signatureMethod: "HmacSHA1" }).fetchPage({
      scope: "ap-guangzhou",
      part: "",
      pageNumber: 1,
      pageSize: 20,
    });
    const { params } = legacyParams(http.requests[0]!);
    expect(params.SignatureMethod).toBe("HmacSHA1");
    expect(Buffer.from(params.Signature!, "base64")).toHaveLength(20);
    expect(legacySignatureVerifies(http.requests[0]!)).toBe(true);
  });

  it("signs the endpoint's host with its port", async () => {
    const http = fakeHttp(ok(IMAGE_V2_SEED));
    await adapter(tencentImageV2, "tencent-image-v2", http, { endpoint: "http://localhost:9911" }).fetchPage({
      scope: "ap-guangzhou",
      part: "",
      pageNumber: 1,
      pageSize: 20,
    });
    expect(http.requests[0]!.url.startsWith("http://localhost:9911/v2/index.php?")).toBe(true);
    expect(legacySignatureVerifies(http.requests[0]!)).toBe(true);
  });

  it("uses a fresh Nonce and the current Timestamp on every call", async () => {
    let now = NOW;
    const http = fakeHttp(ok(IMAGE_V2_SEED), ok(IMAGE_V2_SEED), ok(IMAGE_V2_SEED));
    const a = adapter(tencentImageV2, "tencent-image-v2", http, {}, () => now);
    const q = { scope: "ap-guangzhou", part: "", pageNumber: 1, pageSize: 100 };
    await a.fetchPage(q);
    await a.fetchPage(q);
    now += 61_000;
    await a.fetchPage(q);
    const sent = http.requests.map((r) => legacyParams(r).params);
    expect(new Set(sent.map((p) => p.Nonce)).size).toBe(3);
    expect(sent.map((p) => Number(p.Timestamp) - Math.floor(NOW / 1000))).toEqual([0, 0, 61]);
    expect(http.requests.every(legacySignatureVerifies)).toBe(true);
  });

  it("normalises the docs' example (Chinese name, 32-bit OS name, epoch creation time)", async () => {
    const page = await adapter(tencentImageV2, "tencent-image-v2", fakeHttp(ok(IMAGE_V2_SEED))).fetchPage({
      scope: "ap-guangzhou",
      part: "",
      pageNumber: 1,
      pageSize: 100,
    });
    expect(page.totalCount).toBe(1);
    expect(page.requestId).toBe("5920380e-277a-420a-a221-0caac3eb7159");
    expect(page.images).toEqual([
      {
        imageId: "img-pmqg1cw7",
        name: "CentOS 6.6 32位",
        description: "CentOS 6.6 32位",
        osType: "linux",
        osFamily: "centos",
        osVersion: "6.6",
        architecture: "x86_64",
        imageType: "public",
        family: null,
        status: "NORMAL",
        available: true,
        unusable: null,
        sizeGiB: null,
        createdAt: "1970-01-01T00:00:00.000Z",
        raw: IMAGE_V2_SEED.Response.ImageSet[0],
      },
    ]);
  });

  it("accepts the RequestId spelling too", async () => {
    const doc = { Response: { ImageSet: [], TotalCount: 0, RequestId: "rid-lower" } };
    const page = await adapter(tencentImageV2, "tencent-image-v2", fakeHttp(ok(doc))).fetchPage({
      scope: "ap-guangzhou",
      part: "",
      pageNumber: 1,
      pageSize: 100,
    });
    expect(page.requestId).toBe("rid-lower");
  });

  it.each([
    ["CREATEFAILED", false, "status"],
    ["SYNCING", false, null],
    ["USING", true, null],
  ])("reads ImageStatus %s", (status, available, unusable) => {
    const image = normalizeImageV2Image({ ...IMAGE_V2_SEED.Response.ImageSet[0], ImageStatus: status });
    expect([image.available, image.unusable]).toEqual([available, unusable]);
  });

  it.each([
    ["InvalidFilter", false],
    ["InvalidParameter.InvalidParameterCoexistImageIdsFilters", false],
    ["AuthFailure.SignatureFailure", false],
    ["RequestLimitExceeded", true],
    ["InternalError", true],
  ])("maps Response.Error %s (retryable %s)", async (code, retryable) => {
    const doc = { Response: { Error: { Code: code, Message: "m" }, RequestID: "rid-e" } };
    const err = await failure(
      adapter(tencentImageV2, "tencent-image-v2", fakeHttp(ok(doc))).fetchPage({
        scope: "na-siliconvalley",
        part: "",
        pageNumber: 1,
        pageSize: 100,
      }),
    );
    expect([err.code, err.retryable]).toEqual([code, retryable]);
    expect(err.context).toEqual({
      account: "acct-1",
      api: "tencent-image-v2",
      scope: "na-siliconvalley",
      requestId: "rid-e",
      httpStatus: 200,
    });
  });

  it("redacts the signature even when the provider echoes the whole query", async () => {
    const http = fakeHttp();
    http.send = async (req) => {
      http.requests.push(req);
      return ok({
        Response: { Error: { Code: "AuthFailure.SignatureFailure", Message: `bad ${req.url}` }, RequestID: "x" },
      });
    };
    const err = await failure(
      adapter(tencentImageV2, "tencent-image-v2", http).fetchPage({
        scope: "ap-guangzhou",
        part: "",
        pageNumber: 1,
        pageSize: 100,
      }),
    );
    const { params } = legacyParams(http.requests[0]!);
    expect(err.message).not.toContain(params.Signature);
    expect(err.message).not.toContain(encodeURIComponent(params.Signature!));
  });

  it("refuses records without ImageId, naming the path", async () => {
    const doc = {
      Response: { ImageSet: [{ ImageId: "img-1" }, { ImageName: "x" }], TotalCount: 2, RequestID: "rid-m" },
    };
    const err = await failure(
      adapter(tencentImageV2, "tencent-image-v2", fakeHttp(ok(doc))).fetchPage({
        scope: "ap-guangzhou",
        part: "",
        pageNumber: 1,
        pageSize: 100,
      }),
    );
    expect(err).toBeInstanceOf(MalformedResponseError);
    expect(err.message).toBe("Response.ImageSet[1].ImageId is missing");
    expect(err.context.requestId).toBe("rid-m");
  });

  it("discovers regions through API 3.0 DescribeRegions (TC3) at the account's endpoint", async () => {
    const http = fakeHttp(
      ok({
        Response: { RegionSet: [{ Region: "ap-hongkong", RegionState: "AVAILABLE" }], TotalCount: 1, RequestId: "r" },
      }),
    );
    const scopes = await adapter(tencentImageV2, "tencent-image-v2", http, {
      scopes: undefined,
      endpoint: "http://127.0.0.1:7000",
    }).listScopes();
    expect(scopes).toEqual(["ap-hongkong"]);
    const req = http.requests[0]!;
    expect([req.method, req.url, req.headers["X-TC-Action"]]).toEqual([
      "POST",
      "http://127.0.0.1:7000/",
      "DescribeRegions",
    ]);
    expect(parseTc3Authorization(req.headers.Authorization!)?.service).toBe("cvm");
  });

  it("discovers regions at cvm.tencentcloudapi.com by default", async () => {
    const http = fakeHttp(ok({ Response: { RegionSet: [], TotalCount: 0, RequestId: "r" } }));
    await adapter(tencentImageV2, "tencent-image-v2", http, { scopes: undefined }).listScopes();
    expect(http.requests[0]!.url).toBe("https://cvm.tencentcloudapi.com/");
  });
});

describe("tencent-cvm-v2 (legacy cvm.api.qcloud.com)", () => {
  it("walks four imageType listings per region", () => {
    const a = adapter(tencentCvmV2, "tencent-cvm-v2", fakeHttp());
    expect(a.parts("gz")).toEqual(["1", "2", "3", "4"]);
    expect([a.maxPageSize, a.defaultRequestsPerSecond]).toEqual([100, 40]);
  });

  it("sends lower-case paging and imageType, signed", async () => {
    const http = fakeHttp(ok(CVM_V2_SEED));
    await adapter(tencentCvmV2, "tencent-cvm-v2", http).fetchPage({
      scope: "gz",
      part: "3",
      pageNumber: 2,
      pageSize: 100,
    });
    const req = http.requests[0]!;
    const { url, params } = legacyParams(req);
    expect(`${url.origin}${url.pathname}`).toBe("https://cvm.api.qcloud.com/v2/index.php");
    const { Nonce, Signature, ...fixed } = params;
    expect(fixed).toEqual({
      Action: "DescribeImages",
      Region: "gz",
      imageType: "3",
      offset: "100",
      limit: "100",
      Timestamp: String(Math.floor(NOW / 1000)),
      SecretId: SECRET_ID,
      SignatureMethod: "HmacSHA256",
    });
    expect(Nonce).toMatch(/^[1-9]\d*$/);
    expect(Signature).toBeTruthy();
    expect(legacySignatureVerifies(req)).toBe(true);
  });

  it("normalises the docs' example (createor, Beijing time)", async () => {
    const page = await adapter(tencentCvmV2, "tencent-cvm-v2", fakeHttp(ok(CVM_V2_SEED))).fetchPage({
      scope: "gz",
      part: "1",
      pageNumber: 1,
      pageSize: 100,
    });
    expect(page.totalCount).toBe(1);
    expect(page.requestId).toBeNull();
    expect(page.images).toEqual([
      {
        imageId: "img-1234test",
        name: "test",
        description: "test",
        osType: "linux",
        osFamily: "ubuntu",
        osVersion: "12.04",
        architecture: "x86_64",
        imageType: "custom",
        family: null,
        status: "2",
        available: true,
        unusable: null,
        sizeGiB: null,
        createdAt: "2014-09-27T02:11:00.000Z",
        raw: CVM_V2_SEED.imageSet[0],
      },
    ]);
    expect(page.images[0]!.raw.createor).toBe("1000");
  });

  it.each([
    [{ status: 1 }, { status: "1", available: false, unusable: null }],
    [{ status: 3 }, { status: "3", available: true, unusable: null }],
    [{ status: 4 }, { status: "4", available: false, unusable: null }],
    [{ status: 5 }, { status: "5", available: false, unusable: null }],
    [{ status: 9 }, { status: "9", available: false, unusable: null }],
    [{ imageType: 2 }, { imageType: "public" }],
    [{ imageType: 3 }, { imageType: "marketplace" }],
    [{ imageType: 4 }, { imageType: "shared" }],
    [{ imageType: 7 }, { imageType: "7" }],
    [{ osName: "CentOS 5.8 32bit" }, { architecture: "i386", osVersion: "5.8", osFamily: "centos" }],
    [
      { osName: "Windows Server 2012 R2 Standard 64bit" },
      { osType: "windows", osFamily: "windows", osVersion: "2012" },
    ],
    [{ osName: "Linux" }, { architecture: null, osType: "linux" }],
    [{ createTime: "2014-02-30 10:00:00" }, { createdAt: null }],
    [{ createTime: "2015-01-01 03:00:00" }, { createdAt: "2014-12-31T19:00:00.000Z" }],
    [{ creator: "2000", createor: undefined }, { imageId: "img-1234test" }],
  ])("normalises %j", (over, expected) => {
    expect(normalizeCvmV2Image({ ...CVM_V2_SEED.imageSet[0], ...over })).toMatchObject(expected);
  });

  it.each([
    [4100, false],
    [4400, true],
    [4500, false],
    [6000, true],
    [4000, false],
    [5000, false],
  ])("maps code %i (retryable %s)", async (code, retryable) => {
    const doc = { code, message: `legacy says ${code}`, codeDesc: "Desc" };
    const err = await failure(
      adapter(tencentCvmV2, "tencent-cvm-v2", fakeHttp(ok(doc))).fetchPage({
        scope: "sh",
        part: "2",
        pageNumber: 1,
        pageSize: 100,
      }),
    );
    expect(err).toBeInstanceOf(ProviderError);
    expect([err.code, err.retryable]).toEqual([String(code), retryable]);
    expect(err.message).toBe(`legacy says ${code} (Desc)`);
    expect(err.context).toMatchObject({ account: "acct-1", api: "tencent-cvm-v2", scope: "sh", httpStatus: 200 });
  });

  it.each([
    [{ message: "", totalCount: 0, imageSet: [] }, /^code is missing$/],
    [{ code: "zero", totalCount: 0, imageSet: [] }, /^code must be an integer/],
    [{ code: 0, message: "", imageSet: [] }, /^totalCount is missing$/],
    [{ code: 0, message: "", totalCount: 1 }, /^imageSet is missing$/],
    [
      { code: 0, message: "", totalCount: 2, imageSet: [{ unImgId: "img-1" }, { imageName: "x" }] },
      /^imageSet\[1\]\.unImgId is missing$/,
    ],
    [
      { code: 0, message: "", totalCount: 1, imageSet: [{ unImgId: 12 }] },
      /^imageSet\[0\]\.unImgId must be a non-empty string \(got number\)$/,
    ],
  ])("refuses malformed %j", async (doc, message) => {
    const err = await failure(
      adapter(tencentCvmV2, "tencent-cvm-v2", fakeHttp(ok(doc))).fetchPage({
        scope: "gz",
        part: "1",
        pageNumber: 1,
        pageSize: 100,
      }),
    );
    expect(err).toBeInstanceOf(MalformedResponseError);
    expect(err.message).toMatch(message);
  });

  it("keeps an undocumented request id when one comes", async () => {
    const http = fakeHttp(
      ok({ code: 0, message: "", totalCount: 1, imageSet: [{ unImgId: "img-1" }], requestId: "legacy-rid" }),
    );
    const page = await adapter(tencentCvmV2, "tencent-cvm-v2", http).fetchPage({
      scope: "gz",
      part: "1",
      pageNumber: 1,
      pageSize: 100,
    });
    expect(page.requestId).toBe("legacy-rid");
  });

  it("maps a gateway 502 without an envelope to a retryable HTTP_502", async () => {
    const err = await failure(
      adapter(tencentCvmV2, "tencent-cvm-v2", fakeHttp({ status: 502, headers: {}, body: "<html/>" })).fetchPage({
        scope: "gz",
        part: "1",
        pageNumber: 1,
        pageSize: 100,
      }),
    );
    expect([err.code, err.retryable]).toEqual(["HTTP_502", true]);
  });
});

describe("normalisation helpers", () => {
  it.each([
    [["TencentOS", "TencentOS Server 3.1 (TK4)"], "tencentos"],
    [["CentOS", "CentOS 7.9 64bit"], "centos"],
    [[undefined, "centos6.6x86_32"], "centos"],
    [["Tencent OS"], "tencentos"],
    // The shared matcher prefers a prefix, but a name that merely contains TencentOS would still read as CentOS.
    [[undefined, "my TencentOS image"], "tencentos"],
    [[undefined, "CentOS on TencentOS"], "centos"],
    [["OpenCloudOS", "OpenCloudOS 9.0"], "opencloudos"],
    [["Rocky Linux"], "rocky"],
    [["Other"], "other"],
    [[undefined, ""], null],
  ])("family of %j is %s", (texts, family) => {
    expect(tencentOsFamily(...texts)).toBe(family);
  });

  it.each([
    [["TencentOS Server 3.1 (TK4)"], "3.1"],
    [["Ubuntu Server 22.04 LTS 64bit"], "22.04"],
    [["centos6.6x86_32"], "6.6"],
    [["x86_64 Ubuntu 20.04"], "20.04"],
    [["x86_32 CentOS 6.6"], "6.6"],
    [["ubuntu16.04x86_64"], "16.04"],
    [["Windows Server 2022 Datacenter 64bit Chinese"], "2022"],
    [["64bit Debian 12.4"], "12.4"],
    [[null, "CentOS 6.6 32位"], "6.6"],
    [["Linux", "no version"], null],
  ])("version of %j is %s", (texts, version) => {
    expect(tencentOsVersion(...texts)).toBe(version);
  });

  it.each([
    ["x86_64", "x86_64"],
    ["arm", "arm64"],
    ["ARM64", "arm64"],
    ["i386", "i386"],
    ["loongarch64", "loongarch64"],
    ["", null],
    [undefined, null],
  ])("Architecture %j -> %j", (v, arch) => {
    expect(architectureFrom(v)).toBe(arch);
  });

  it.each([
    ["Ubuntu 12.04 64bit", "x86_64"],
    ["CentOS 5.8 32bit", "i386"],
    ["Ubuntu 12.04 32bit/64bit", null],
    ["CentOS 6.6 64位", "x86_64"],
    ["Ubuntu 22.04 ARM 64bit", "arm64"],
    ["Ubuntu 12.04", null],
  ])("legacy OS name %j -> %j", (v, arch) => {
    expect(architectureFromOsName(v)).toBe(arch);
  });

  it("maps image types", () => {
    expect(["PUBLIC_IMAGE", "PRIVATE_IMAGE", "SHARED_IMAGE", "MARKET_IMAGE", "X", ""].map(imageTypeFrom)).toEqual([
      "public",
      "custom",
      "shared",
      "marketplace",
      "X",
      null,
    ]);
    expect([1, 2, 3, 4, "2", 9, null].map(legacyImageTypeFrom)).toEqual([
      "custom",
      "public",
      "marketplace",
      "shared",
      "public",
      "9",
      null,
    ]);
  });

  it("reads states", () => {
    expect(stateOf("NORMAL", false)).toEqual({ available: true, unusable: null });
    expect(stateOf("NORMAL", "true")).toEqual({ available: true, unusable: null });
    expect(stateOf(null, undefined)).toEqual({ available: false, unusable: null });
  });

  it.each([
    ["2021-08-10T08:32:13Z", "2021-08-10T08:32:13.000Z"],
    ["2021-08-10T08:32:13+0800", "2021-08-10T00:32:13.000Z"],
    ["2021-08-10T08:32:13", "2021-08-10T08:32:13.000Z"],
    ["2021-08-10 08:32:13.5+00:00", "2021-08-10T08:32:13.500Z"],
    ["2021-13-10T08:32:13Z", null],
    ["10 Aug 2021", null],
    [1628584333, null],
  ])("ISO time %j -> %j", (v, iso) => {
    expect(isoTimeFrom(v)).toBe(iso);
  });

  it.each([
    ["2014-09-27 10:11:00", "2014-09-27T02:11:00.000Z"],
    ["2014-09-27 05:00", "2014-09-26T21:00:00.000Z"],
    ["2014-09-27T10:11:00", "2014-09-27T02:11:00.000Z"],
    ["2014-09-27 24:00:00", null],
    ["2014-9-27 10:11:00", null],
    ["", null],
  ])("Beijing time %j -> %j", (v, iso) => {
    expect(beijingTimeFrom(v)).toBe(iso);
  });
});
