// The Zenlayer adapters (bmc, zec, vm) over a fake HttpClient: the exact wire, signing, paging, discovery,
// normalisation of the seed examples, and every error path.
import { describe, expect, it } from "vitest";
import type { AccountConfig } from "../../../../lib/config.ts";
import {
  ConfigError,
  ImageSyncError,
  MalformedResponseError,
  ProviderError,
  TransportError,
} from "../../../../lib/errors.ts";
import type { ApiId } from "../../../../lib/model.ts";
import type { HttpClient, HttpRequest, HttpResponse } from "../../../../lib/providers/http.ts";
import type { AdapterFactory, ProviderAdapter } from "../../../../lib/providers/types.ts";
import { isRetryableZenlayer, normalizeZenlayerCode } from "../../../../lib/providers/zenlayer/client.ts";
import { zenlayerBmc, zenlayerVm, zenlayerZec } from "../../../../lib/providers/zenlayer/index.ts";
import { architectureFromName, zenlayerImageType } from "../../../../lib/providers/zenlayer/normalize.ts";
import { parseZc2Authorization, signZc2 } from "../../../../lib/providers/zenlayer/sign.ts";

// ---------------------------------------------------------------------------------------------- fixtures

class FakeHttp implements HttpClient {
  readonly requests: HttpRequest[] = [];
  constructor(private readonly replies: Array<HttpResponse | Error>) {}
  async send(req: HttpRequest): Promise<HttpResponse> {
    this.requests.push(req);
    const next = this.replies.shift();
    if (next === undefined) throw new Error("FakeHttp: no reply left for this request");
    if (next instanceof Error) throw next;
    return next;
  }
  async close(): Promise<void> {}
}

const KEY_ID = "AKIDtest-key-id-0001";
const SECRET = "ZL-SECRET-PWD-deadbeef-1234";
const TOKEN = "zl-bearer-token-0123456789";
const NOW_MS = 1_700_000_000_789;
const NOW_S = 1_700_000_000;

const FACTORIES: Record<"zenlayer-bmc" | "zenlayer-zec" | "zenlayer-vm", AdapterFactory> = {
  "zenlayer-bmc": zenlayerBmc,
  "zenlayer-zec": zenlayerZec,
  "zenlayer-vm": zenlayerVm,
};

function setup(
  api: keyof typeof FACTORIES,
  replies: Array<HttpResponse | Error>,
  opts: { account?: Partial<AccountConfig>; now?: () => number } = {},
): { adapter: ProviderAdapter; http: FakeHttp } {
  const http = new FakeHttp(replies);
  const account: AccountConfig = {
    name: "zl-main",
    api: api as ApiId,
    credentials: { accessKeyId: KEY_ID, accessKeySecret: SECRET },
    ...opts.account,
  };
  return { adapter: FACTORIES[api]({ account, http, now: opts.now ?? (() => NOW_MS) }), http };
}

function reply(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponse {
  return {
    status,
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  };
}

function ok(response: Record<string, unknown>, requestId = "T-REQ-1"): HttpResponse {
  return reply(200, { requestId, response: { requestId, ...response } });
}

async function failure(p: Promise<unknown>): Promise<ImageSyncError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ImageSyncError);
    return e as ImageSyncError;
  }
  throw new Error("expected the call to fail");
}

function only(http: FakeHttp): HttpRequest {
  expect(http.requests).toHaveLength(1);
  return http.requests[0] as HttpRequest;
}

/** Recomputes the signature of a sent request, as the provider would. */
function expectValidSignature(req: HttpRequest, host: string): void {
  const auth = parseZc2Authorization(req.headers.Authorization ?? "");
  expect(auth).toBeDefined();
  expect(auth?.accessKeyId).toBe(KEY_ID);
  expect(auth?.signedHeaders).toBe("content-type;host");
  const expected = signZc2({
    host,
    contentType: req.headers["Content-Type"] as string,
    body: req.body ?? "",
    timestamp: Number(req.headers["X-ZC-Timestamp"]),
    accessKeyId: KEY_ID,
    accessKeyPassword: SECRET,
  });
  expect(auth?.signature).toBe(expected.signature);
}

// The seed examples, verbatim.
const ZEC_SEED = [
  {
    imageId: "ubuntu2404_20240712",
    imageName: "Ubuntu Server 24.04 LTS",
    imageType: "PUBLIC_IMAGE",
    imageSource: "OFFICIAL",
    imageSize: "20",
    imageDescription: null,
    imageVersion: "Server 24.04 LTS",
    imageStatus: "AVAILABLE",
    nicNetworkType: ["FailOver", "VirtioOnly"],
    category: "Ubuntu",
    osType: "linux",
    tags: null,
  },
  {
    imageId: "ubuntu2204_20240712",
    imageName: "Ubuntu Server 22.04 LTS",
    imageType: "PUBLIC_IMAGE",
    imageSource: "OFFICIAL",
    imageSize: "20",
    imageDescription: null,
    imageVersion: "Server 22.04 LTS",
    imageStatus: "AVAILABLE",
    nicNetworkType: ["FailOver", "VirtioOnly"],
    category: "Ubuntu",
    osType: "linux",
    tags: null,
  },
  {
    imageId: "ubuntu2004_20240712",
    imageName: "Ubuntu Server 20.04 LTS",
    imageType: "PUBLIC_IMAGE",
    imageSource: "MARKETING",
    imageSize: "20",
    imageDescription: null,
    imageVersion: "Server 20.04 LTS",
    imageStatus: "AVAILABLE",
    nicNetworkType: ["FailOver", "VirtioOnly"],
    category: "Ubuntu",
    osType: "linux",
    tags: null,
  },
];

const VM_SEED = [
  {
    imageVersion: "18.04",
    imageId: "img-EVhEsCuXhCN0urZ7Vt77oOr6K",
    imageName: "Ubuntu Server 18.04 LTS x86 64-bit",
    imageDescription: null,
    osType: "linux",
    imageSize: "30",
    imageStatus: "AVAILABLE",
    category: "Ubuntu",
    imageType: "PUBLIC_IMAGE",
  },
  {
    imageVersion: "11.5",
    imageId: "img-MJHkbWzEl9anNobblDtpRTDPB",
    imageName: "Debian 11.5 Amd x86 64-bit",
    imageDescription: null,
    osType: "linux",
    imageSize: "30",
    imageStatus: "AVAILABLE",
    category: "Debian",
    imageType: "PUBLIC_IMAGE",
  },
  {
    imageVersion: "7.4",
    imageId: "img-3ELi56cECstEUqmcQzqIGdiuB",
    imageName: "CentOS 7.4.1708 x86 64-bit",
    imageDescription: null,
    osType: "linux",
    imageSize: "30",
    imageStatus: "AVAILABLE",
    category: "CentOS",
    imageType: "PUBLIC_IMAGE",
  },
];

const BMC_SEED = [
  {
    imageId: "bd5faa16-39d2-4bbf-a5c8-b95a193b1626",
    imageName: "CentOS7.4-x86_64",
    catalog: "centos",
    imageType: "PUBLIC_IMAGE",
    osType: "linux",
  },
];

const zonalImage = (over: Record<string, unknown> = {}) => ({ ...(ZEC_SEED[0] as object), ...over });

// ---------------------------------------------------------------------------------------------- the wire

describe("request", () => {
  it("zec DescribeImages: exact URL, headers and body, signed for the default host", async () => {
    const { adapter, http } = setup("zenlayer-zec", [ok({ totalCount: 0, dataSet: [] })]);
    await adapter.fetchPage({ scope: "asia-east-1a", part: "", pageNumber: 2, pageSize: 3 });
    const req = only(http);
    const body = '{"zoneId":"asia-east-1a","pageNum":2,"pageSize":3}';
    const expected = signZc2({
      host: "console.zenlayer.com",
      contentType: "application/json",
      body,
      timestamp: NOW_S,
      accessKeyId: KEY_ID,
      accessKeyPassword: SECRET,
    });
    expect(req).toEqual({
      method: "POST",
      url: "https://console.zenlayer.com/api/v2/zec",
      headers: {
        "Content-Type": "application/json",
        "X-ZC-Action": "DescribeImages",
        "X-ZC-Version": "2025-09-01",
        "X-ZC-Service": "zec",
        "X-ZC-Timestamp": String(NOW_S),
        "X-ZC-Signature-Method": "ZC2-HMAC-SHA256",
        Authorization: expected.authorization,
      },
      body,
    });
    expectValidSignature(req, "console.zenlayer.com");
  });

  it.each([
    ["zenlayer-vm", "vm", "2023-03-13", '{"zoneId":"FRA-A","pageNum":1,"pageSize":1000}'],
    ["zenlayer-bmc", "bmc", "2022-11-20", "{}"],
  ] as const)("%s: service %s, version %s, body %s", async (api, service, version, body) => {
    const response = api === "zenlayer-bmc" ? { images: [] } : { totalCount: 0, dataSet: [] };
    const { adapter, http } = setup(api, [ok(response)]);
    await adapter.fetchPage({
      scope: api === "zenlayer-bmc" ? "global" : "FRA-A",
      part: "",
      pageNumber: 1,
      pageSize: 1000,
    });
    const req = only(http);
    expect(req.url).toBe(`https://console.zenlayer.com/api/v2/${service}`);
    expect(req.method).toBe("POST");
    expect(req.body).toBe(body);
    expect(req.headers["X-ZC-Service"]).toBe(service);
    expect(req.headers["X-ZC-Version"]).toBe(version);
    expect(req.headers["X-ZC-Action"]).toBe("DescribeImages");
    expectValidSignature(req, "console.zenlayer.com");
  });

  it("signs for the configured endpoint's host, port included", async () => {
    const { adapter, http } = setup("zenlayer-vm", [ok({ totalCount: 0, dataSet: [] })], {
      account: { endpoint: "http://127.0.0.1:8443" },
    });
    await adapter.fetchPage({ scope: "FRA-A", part: "", pageNumber: 1, pageSize: 10 });
    const req = only(http);
    expect(req.url).toBe("http://127.0.0.1:8443/api/v2/vm");
    expectValidSignature(req, "127.0.0.1:8443");
    // Without the port the provider would compute a different signature.
    const withoutPort = signZc2({
      host: "127.0.0.1",
      contentType: "application/json",
      body: req.body ?? "",
      timestamp: NOW_S,
      accessKeyId: KEY_ID,
      accessKeyPassword: SECRET,
    });
    expect(parseZc2Authorization(req.headers.Authorization ?? "")?.signature).not.toBe(withoutPort.signature);
  });

  it("re-signs every call with a fresh timestamp", async () => {
    let now = NOW_MS;
    const { adapter, http } = setup(
      "zenlayer-zec",
      [ok({ totalCount: 0, dataSet: [] }), ok({ totalCount: 0, dataSet: [] })],
      { now: () => now },
    );
    const q = { scope: "asia-east-1a", part: "", pageNumber: 1, pageSize: 100 };
    await adapter.fetchPage(q);
    now += 61_000;
    await adapter.fetchPage(q);
    const [a, b] = http.requests as [HttpRequest, HttpRequest];
    expect(a.headers["X-ZC-Timestamp"]).toBe(String(NOW_S));
    expect(b.headers["X-ZC-Timestamp"]).toBe(String(NOW_S + 61));
    expect(a.headers.Authorization).not.toBe(b.headers.Authorization);
    expectValidSignature(b, "console.zenlayer.com");
  });

  it.each(["zenlayer-bmc", "zenlayer-zec", "zenlayer-vm"] as const)(
    "%s with a token: Bearer auth and no signature headers",
    async (api) => {
      const response = api === "zenlayer-bmc" ? { images: [] } : { totalCount: 0, dataSet: [] };
      const { adapter, http } = setup(api, [ok(response)], { account: { credentials: { token: TOKEN } } });
      await adapter.fetchPage({ scope: "s", part: "", pageNumber: 1, pageSize: 10 });
      const { headers } = only(http);
      expect(headers.Authorization).toBe(`Bearer ${TOKEN}`);
      expect(Object.keys(headers).sort()).toEqual(
        ["Authorization", "Content-Type", "X-ZC-Action", "X-ZC-Service", "X-ZC-Version"].sort(),
      );
      expect(headers).not.toHaveProperty("X-ZC-Timestamp");
      expect(headers).not.toHaveProperty("X-ZC-Signature-Method");
    },
  );

  it("refuses credentials that are not Zenlayer's when the adapter is built", () => {
    for (const factory of Object.values(FACTORIES)) {
      expect(() =>
        factory({
          account: { name: "x", api: "zenlayer-zec", credentials: { secretId: "a", secretKey: "b" } },
          http: new FakeHttp([]),
          now: () => NOW_MS,
        }),
      ).toThrow(ConfigError);
    }
  });
});

// ---------------------------------------------------------------------------------------------- paging

describe("paging and shape", () => {
  it.each(["zenlayer-zec", "zenlayer-vm"] as const)("%s pages by pageNum/pageSize, up to 1000", async (api) => {
    const { adapter, http } = setup(api, [
      ok({ totalCount: 5, dataSet: [zonalImage({ imageId: "a" }), zonalImage({ imageId: "b" })] }, "R1"),
      ok({ totalCount: 5, dataSet: [zonalImage({ imageId: "c" }), zonalImage({ imageId: "d" })] }, "R2"),
      ok({ totalCount: 5, dataSet: [zonalImage({ imageId: "e" })] }, "R3"),
    ]);
    expect(adapter.api).toBe(api);
    expect(adapter.provider).toBe("zenlayer");
    expect(adapter.maxPageSize).toBe(1000);
    expect(adapter.defaultRequestsPerSecond).toBeNull();
    expect(adapter.parts("Z-1")).toEqual([""]);
    const pages = [];
    for (const pageNumber of [1, 2, 3])
      pages.push(await adapter.fetchPage({ scope: "Z-1", part: "", pageNumber, pageSize: 2 }));
    expect(http.requests.map((r) => JSON.parse(r.body ?? ""))).toEqual([
      { zoneId: "Z-1", pageNum: 1, pageSize: 2 },
      { zoneId: "Z-1", pageNum: 2, pageSize: 2 },
      { zoneId: "Z-1", pageNum: 3, pageSize: 2 },
    ]);
    expect(pages.map((p) => p.images.map((i) => i.imageId))).toEqual([["a", "b"], ["c", "d"], ["e"]]);
    expect(pages.map((p) => p.totalCount)).toEqual([5, 5, 5]);
    expect(pages.map((p) => p.requestId)).toEqual(["R1", "R2", "R3"]);
  });

  it("bmc is one unpaged global listing", async () => {
    const { adapter, http } = setup("zenlayer-bmc", [ok({ images: BMC_SEED })], {
      account: { scopes: ["ignored-zone"] },
    });
    expect(adapter.api).toBe("zenlayer-bmc");
    expect(adapter.provider).toBe("zenlayer");
    expect(adapter.maxPageSize).toBeNull();
    expect(adapter.defaultRequestsPerSecond).toBeNull();
    expect(await adapter.listScopes()).toEqual(["global"]);
    expect(http.requests).toHaveLength(0);
    expect(adapter.parts("global")).toEqual([""]);
    const page = await adapter.fetchPage({ scope: "global", part: "", pageNumber: 1, pageSize: 1000 });
    expect(only(http).body).toBe("{}");
    expect(page.totalCount).toBeNull();
    expect(page.requestId).toBe("T-REQ-1");
    expect(page.images.map((i) => i.imageId)).toEqual(["bd5faa16-39d2-4bbf-a5c8-b95a193b1626"]);
  });
});

// ---------------------------------------------------------------------------------------------- discovery

describe("listScopes", () => {
  it.each(["zenlayer-zec", "zenlayer-vm"] as const)("%s uses configured scopes without a request", async (api) => {
    const { adapter, http } = setup(api, [], { account: { scopes: ["FRA-A", "HKG-A"] } });
    expect(await adapter.listScopes()).toEqual(["FRA-A", "HKG-A"]);
    expect(http.requests).toHaveLength(0);
  });

  it.each([
    ["zenlayer-zec", "zec", "2025-09-01"],
    ["zenlayer-vm", "vm", "2023-03-13"],
  ] as const)("%s discovers zones with one signed DescribeZones call", async (api, service, version) => {
    const { adapter, http } = setup(api, [
      ok({ zoneSet: [{ zoneId: "asia-east-1a", zoneName: "Taipei" }, { zoneId: "FRA-A" }, { zoneId: "FRA-A" }] }),
    ]);
    expect(await adapter.listScopes()).toEqual(["asia-east-1a", "FRA-A"]);
    const req = only(http);
    expect(req.url).toBe(`https://console.zenlayer.com/api/v2/${service}`);
    expect(req.body).toBe("{}");
    expect(req.headers["X-ZC-Action"]).toBe("DescribeZones");
    expect(req.headers["X-ZC-Version"]).toBe(version);
    expect(req.headers["X-ZC-Service"]).toBe(service);
    expectValidSignature(req, "console.zenlayer.com");
  });

  it.each([
    [{}, "response.zoneSet is missing"],
    [{ zoneSet: null }, "response.zoneSet is not an array (got null)"],
    [{ zoneSet: "FRA-A" }, "response.zoneSet is not an array (got string)"],
    [{ zoneSet: [{ zoneId: "A" }, "B"] }, "response.zoneSet[1] is not an object (got string)"],
    [{ zoneSet: [{ zoneName: "x" }] }, "response.zoneSet[0].zoneId is missing"],
    [{ zoneSet: [{ zoneId: "" }] }, "response.zoneSet[0].zoneId must be a non-empty string (got empty string)"],
    [{ zoneSet: [{ zoneId: 7 }] }, "response.zoneSet[0].zoneId must be a non-empty string (got number)"],
  ])("refuses a malformed DescribeZones response %j", async (response, message) => {
    const { adapter } = setup("zenlayer-vm", [ok(response, "RZ")]);
    const e = await failure(adapter.listScopes());
    expect(e).toBeInstanceOf(MalformedResponseError);
    expect(e.message).toBe(message);
    expect(e.context).toEqual({ account: "zl-main", api: "zenlayer-vm", requestId: "RZ", httpStatus: 200 });
  });

  it("passes a DescribeZones failure on as a ProviderError", async () => {
    const { adapter } = setup("zenlayer-zec", [
      reply(401, { requestId: "RA", code: "AUTH_FAILURE_SIGNATURE_FAILURE", message: "bad signature" }),
    ]);
    const e = await failure(adapter.listScopes());
    expect(e).toBeInstanceOf(ProviderError);
    expect(e.code).toBe("AUTH_FAILURE_SIGNATURE_FAILURE");
    expect(e.retryable).toBe(false);
    expect(e.context).toEqual({ account: "zl-main", api: "zenlayer-zec", requestId: "RA", httpStatus: 401 });
  });
});

// ---------------------------------------------------------------------------------------------- normalisation

describe("normalisation", () => {
  it("zec seed example", async () => {
    const { adapter } = setup("zenlayer-zec", [ok({ dataSet: ZEC_SEED, totalCount: 16 }, "TD67947F8")]);
    const page = await adapter.fetchPage({ scope: "asia-east-1a", part: "", pageNumber: 1, pageSize: 3 });
    expect(page.totalCount).toBe(16);
    expect(page.requestId).toBe("TD67947F8");
    expect(page.images[0]).toEqual({
      imageId: "ubuntu2404_20240712",
      name: "Ubuntu Server 24.04 LTS",
      description: null,
      osType: "linux",
      osFamily: "ubuntu",
      osVersion: "24.04",
      architecture: null,
      imageType: "public",
      family: null,
      status: "AVAILABLE",
      available: true,
      unusable: null,
      sizeGiB: 20,
      createdAt: null,
      raw: ZEC_SEED[0],
    });
    expect(page.images.map((i) => i.osVersion)).toEqual(["24.04", "22.04", "20.04"]);
    expect(page.images.map((i) => i.raw)).toEqual(ZEC_SEED);
  });

  it("vm seed example", async () => {
    const { adapter } = setup("zenlayer-vm", [ok({ dataSet: VM_SEED, totalCount: 7 })]);
    const page = await adapter.fetchPage({ scope: "FRA-A", part: "", pageNumber: 1, pageSize: 3 });
    expect(page.totalCount).toBe(7);
    expect(page.images[1]).toEqual({
      imageId: "img-MJHkbWzEl9anNobblDtpRTDPB",
      name: "Debian 11.5 Amd x86 64-bit",
      description: null,
      osType: "linux",
      osFamily: "debian",
      osVersion: "11.5",
      architecture: "x86_64",
      imageType: "public",
      family: null,
      status: "AVAILABLE",
      available: true,
      unusable: null,
      sizeGiB: 30,
      createdAt: null,
      raw: VM_SEED[1],
    });
    expect(page.images.map((i) => [i.osFamily, i.osVersion, i.architecture])).toEqual([
      ["ubuntu", "18.04", "x86_64"],
      ["debian", "11.5", "x86_64"],
      ["centos", "7.4", "x86_64"],
    ]);
  });

  it("bmc seed example", async () => {
    const { adapter } = setup("zenlayer-bmc", [ok({ images: BMC_SEED })]);
    const page = await adapter.fetchPage({ scope: "global", part: "", pageNumber: 1, pageSize: 1000 });
    expect(page.images).toEqual([
      {
        imageId: "bd5faa16-39d2-4bbf-a5c8-b95a193b1626",
        name: "CentOS7.4-x86_64",
        description: null,
        osType: "linux",
        osFamily: "centos",
        osVersion: "7.4",
        architecture: "x86_64",
        imageType: "public",
        family: null,
        status: null,
        available: true,
        unusable: null,
        sizeGiB: null,
        createdAt: null,
        raw: BMC_SEED[0],
      },
    ]);
  });

  it("bmc reads the catalog in any case, and the OS type lower-cased", async () => {
    const { adapter } = setup("zenlayer-bmc", [
      ok({
        images: [
          {
            imageId: "w",
            imageName: "Windows Server 2019 Datacenter",
            catalog: "Windows",
            imageType: "CUSTOM_IMAGE",
            osType: "Windows",
          },
          { imageId: "e", imageName: "ESXi 7.0", catalog: "ESXI", imageType: "PUBLIC_IMAGE", osType: "LINUX" },
          { imageId: "g", imageName: "Golden build 12", catalog: "Debian", imageType: "CUSTOM_IMAGE", osType: "linux" },
        ],
      }),
    ]);
    const page = await adapter.fetchPage({ scope: "global", part: "", pageNumber: 1, pageSize: 1000 });
    expect(page.images.map((i) => [i.osFamily, i.osType, i.osVersion, i.imageType])).toEqual([
      ["windows", "windows", "2019", "custom"],
      ["esxi", "linux", "7.0", "public"],
      ["debian", "linux", "12", "custom"],
    ]);
  });

  it.each([
    ["AVAILABLE", true, null],
    ["UNAVAILABLE", false, "status"],
    ["FAILED", false, "status"],
    ["DELETING", false, "status"],
    ["CREATING", false, null],
    ["SYNCING", false, null],
    ["PROCESSING", false, null],
    ["SOMETHING_NEW", false, null],
    [null, false, null],
  ])("imageStatus %s -> available %s, unusable %s", async (imageStatus, available, unusable) => {
    const { adapter } = setup("zenlayer-zec", [ok({ totalCount: 1, dataSet: [zonalImage({ imageStatus })] })]);
    const [image] = (await adapter.fetchPage({ scope: "z", part: "", pageNumber: 1, pageSize: 10 })).images;
    expect(image?.status).toBe(imageStatus);
    expect(image?.available).toBe(available);
    expect(image?.unusable).toBe(unusable);
  });

  it("keeps absent optional fields null and a description when there is one", async () => {
    const record = { imageId: "bare", imageDescription: "Hardened build" };
    const { adapter } = setup("zenlayer-vm", [ok({ totalCount: 1, dataSet: [record] })]);
    const [image] = (await adapter.fetchPage({ scope: "z", part: "", pageNumber: 1, pageSize: 10 })).images;
    expect(image).toEqual({
      imageId: "bare",
      name: null,
      description: "Hardened build",
      osType: null,
      osFamily: null,
      osVersion: null,
      architecture: null,
      imageType: null,
      family: null,
      status: null,
      available: false,
      unusable: null,
      sizeGiB: null,
      createdAt: null,
      raw: record,
    });
  });

  it("reads the version from imageVersion first, then the name", async () => {
    const { adapter } = setup("zenlayer-zec", [
      ok({
        totalCount: 2,
        dataSet: [
          zonalImage({ imageId: "a", imageVersion: null, category: null, imageName: "x86_64 Rocky Linux 9.3" }),
          zonalImage({ imageId: "b", imageVersion: "Server 24.04 LTS", imageName: "Ubuntu 22.04" }),
        ],
      }),
    ]);
    const page = await adapter.fetchPage({ scope: "z", part: "", pageNumber: 1, pageSize: 10 });
    expect(page.images.map((i) => [i.osFamily, i.osVersion])).toEqual([
      ["rocky", "9.3"],
      ["ubuntu", "24.04"],
    ]);
  });

  it.each([
    ["Ubuntu Server 18.04 LTS x86 64-bit", "x86_64"],
    ["CentOS7.4-x86_64", "x86_64"],
    ["Ubuntu_x86_64", "x86_64"],
    ["Debian 12 amd64", "x86_64"],
    ["Ubuntu 22.04 ARM", "arm64"],
    ["Ubuntu 22.04 aarch64", "arm64"],
    ["Debian-12-arm64", "arm64"],
    ["Ubuntu Server 24.04 LTS", null],
    ["Farmhouse 1.0", null],
    ["Charm Linux 2", null],
    [null, null],
  ])("architecture of %j is %j", (name, arch) => {
    expect(architectureFromName(name)).toBe(arch);
  });

  it.each([
    ["PUBLIC_IMAGE", "public"],
    ["CUSTOM_IMAGE", "custom"],
    ["MARKET_IMAGE", "MARKET_IMAGE"],
    [null, null],
    [undefined, null],
  ])("imageType %j -> %j", (raw, mapped) => {
    expect(zenlayerImageType(raw)).toBe(mapped);
  });
});

// ---------------------------------------------------------------------------------------------- malformed replies

describe("malformed responses", () => {
  const zecQuery = { scope: "asia-east-1a", part: "", pageNumber: 1, pageSize: 100 };
  const zecContext = (requestId?: string) => ({
    account: "zl-main",
    api: "zenlayer-zec",
    scope: "asia-east-1a",
    ...(requestId ? { requestId } : {}),
    httpStatus: 200,
  });

  it("a 2xx body that is not JSON, with the request id from the header", async () => {
    const { adapter } = setup("zenlayer-zec", [
      {
        status: 200,
        headers: { "content-type": "text/html", "x-request-id": "HDR-1" },
        body: "<html>maintenance</html>",
      },
    ]);
    const e = await failure(adapter.fetchPage(zecQuery));
    expect(e).toBeInstanceOf(MalformedResponseError);
    expect(e.code).toBe("MALFORMED_RESPONSE");
    expect(e.retryable).toBe(false);
    expect(e.message).toMatch(/^response is not valid JSON \(HTTP 200, text\/html/);
    expect(e.context).toEqual(zecContext("HDR-1"));
  });

  it("takes the request id from x-zc-request-id too", async () => {
    const { adapter } = setup("zenlayer-zec", [{ status: 200, headers: { "X-ZC-Request-Id": "HDR-2" }, body: "" }]);
    const e = await failure(adapter.fetchPage(zecQuery));
    expect(e.context.requestId).toBe("HDR-2");
  });

  it.each([
    [[1, 2], "response body is not a JSON object"],
    [{ requestId: "R" }, "response is missing"],
    [{ requestId: "R", response: null }, "response is missing"],
    [{ requestId: "R", response: [] }, "response is not an object"],
    [{ requestId: "R", response: { dataSet: [] } }, "response.totalCount is missing"],
    [
      { requestId: "R", response: { totalCount: -1, dataSet: [] } },
      "response.totalCount must be a non-negative integer (got -1)",
    ],
    [
      { requestId: "R", response: { totalCount: 1.5, dataSet: [] } },
      "response.totalCount must be a non-negative integer (got 1.5)",
    ],
    [
      { requestId: "R", response: { totalCount: "3", dataSet: [] } },
      'response.totalCount must be a non-negative integer (got "3")',
    ],
    [{ requestId: "R", response: { totalCount: 3 } }, "response.dataSet is missing"],
    [{ requestId: "R", response: { totalCount: 3, dataSet: {} } }, "response.dataSet is not an array (got object)"],
    [
      { requestId: "R", response: { totalCount: 3, dataSet: [zonalImage(), null] } },
      "response.dataSet[1] is not an object (got null)",
    ],
    [
      { requestId: "R", response: { totalCount: 3, dataSet: [zonalImage(), [1]] } },
      "response.dataSet[1] is not an object (got array)",
    ],
    [
      {
        requestId: "R",
        response: { totalCount: 9, dataSet: [zonalImage(), zonalImage(), zonalImage(), { imageName: "x" }] },
      },
      "response.dataSet[3].imageId is missing",
    ],
    [
      { requestId: "R", response: { totalCount: 9, dataSet: [zonalImage({ imageId: null })] } },
      "response.dataSet[0].imageId is missing",
    ],
    [
      { requestId: "R", response: { totalCount: 9, dataSet: [zonalImage({ imageId: "" })] } },
      "response.dataSet[0].imageId must be a non-empty string (got empty string)",
    ],
    [
      { requestId: "R", response: { totalCount: 9, dataSet: [zonalImage({ imageId: 42 })] } },
      "response.dataSet[0].imageId must be a non-empty string (got number)",
    ],
  ])("refuses %j", async (doc, message) => {
    const { adapter } = setup("zenlayer-zec", [reply(200, doc)]);
    const e = await failure(adapter.fetchPage(zecQuery));
    expect(e).toBeInstanceOf(MalformedResponseError);
    expect(e.message).toBe(message);
    expect(e.context).toEqual(zecContext(Array.isArray(doc) ? undefined : "R"));
  });

  it("accepts a null dataSet as an empty page, and a missing one when totalCount is 0", async () => {
    const { adapter } = setup("zenlayer-zec", [ok({ totalCount: 4, dataSet: null }), ok({ totalCount: 0 })]);
    expect(await adapter.fetchPage(zecQuery)).toEqual({ images: [], totalCount: 4, requestId: "T-REQ-1" });
    expect(await adapter.fetchPage(zecQuery)).toEqual({ images: [], totalCount: 0, requestId: "T-REQ-1" });
  });

  it.each([
    [{}, "response.images is missing"],
    [{ images: null }, "response.images is not an array (got null)"],
    [{ images: [{ imageName: "CentOS" }] }, "response.images[0].imageId is missing"],
  ])("bmc refuses %j", async (response, message) => {
    const { adapter } = setup("zenlayer-bmc", [ok(response, "RB")]);
    const e = await failure(adapter.fetchPage({ scope: "global", part: "", pageNumber: 1, pageSize: 1000 }));
    expect(e).toBeInstanceOf(MalformedResponseError);
    expect(e.message).toBe(message);
    expect(e.context).toEqual({
      account: "zl-main",
      api: "zenlayer-bmc",
      scope: "global",
      requestId: "RB",
      httpStatus: 200,
    });
  });
});

// ---------------------------------------------------------------------------------------------- provider errors

describe("provider errors", () => {
  const query = { scope: "FRA-A", part: "", pageNumber: 1, pageSize: 100 };
  const where = { account: "zl-main", api: "zenlayer-vm", scope: "FRA-A" };

  async function errorFor(res: HttpResponse | Error, now?: () => number): Promise<ImageSyncError> {
    const { adapter } = setup("zenlayer-vm", [res], now ? { now } : {});
    return failure(adapter.fetchPage(query));
  }

  it("INVALID_ZONE_NOT_FOUND: the provider's code and message, not retryable", async () => {
    const e = await errorFor(
      reply(404, { requestId: "R404", code: "INVALID_ZONE_NOT_FOUND", message: "Zone not found." }),
    );
    expect(e).toBeInstanceOf(ProviderError);
    expect(e.code).toBe("INVALID_ZONE_NOT_FOUND");
    expect(e.message).toBe("Zone not found.");
    expect(e.retryable).toBe(false);
    expect(e.context).toEqual({ ...where, requestId: "R404", httpStatus: 404 });
  });

  it("a dotted code is matched in UPPER_SNAKE and named in the message", async () => {
    const e = await errorFor(
      reply(404, { requestId: "R", code: "Invalid.Zone.Not.Found", message: "Zone not found." }),
    );
    expect(e.code).toBe("INVALID_ZONE_NOT_FOUND");
    expect(e.message).toBe("Zone not found. (provider code Invalid.Zone.Not.Found)");
    expect(e.retryable).toBe(false);
  });

  it("a dotted throttling code is retryable even on a 400", async () => {
    const e = await errorFor(reply(400, { requestId: "R", code: "Request.Limit.Exceeded", message: "slow down" }));
    expect(e.code).toBe("REQUEST_LIMIT_EXCEEDED");
    expect(e.retryable).toBe(true);
  });

  it("REQUEST_LIMIT_EXCEEDED carries Retry-After in seconds", async () => {
    const e = await errorFor(
      reply(
        429,
        { requestId: "R429", code: "REQUEST_LIMIT_EXCEEDED", message: "Too many requests" },
        { "retry-after": "2" },
      ),
    );
    expect(e.code).toBe("REQUEST_LIMIT_EXCEEDED");
    expect(e.retryable).toBe(true);
    expect(e.context).toEqual({ ...where, requestId: "R429", httpStatus: 429, retryAfterMs: 2000 });
  });

  it("Retry-After as an HTTP date is measured from the injected clock", async () => {
    const at = new Date(NOW_MS + 5_000).toUTCString();
    const e = await errorFor(
      reply(429, { requestId: "R", code: "REQUEST_LIMIT_EXCEEDED", message: "x" }, { "Retry-After": at }),
      () => NOW_MS,
    );
    // toUTCString drops the milliseconds, so the wait is between 4.2 s and 5 s.
    expect(e.context.retryAfterMs).toBeGreaterThan(4_000);
    expect(e.context.retryAfterMs).toBeLessThanOrEqual(5_000);
  });

  it("no retryAfterMs when the provider sends no Retry-After", async () => {
    const e = await errorFor(reply(429, { requestId: "R", code: "REQUEST_LIMIT_EXCEEDED", message: "x" }));
    expect(e.retryable).toBe(true);
    expect(e.context).not.toHaveProperty("retryAfterMs");
  });

  it.each([
    [429, "SOME_NEW_THROTTLE", true],
    [503, "SERVICE_TEMPORARY_UNAVAILABLE", true],
    [500, "INTERNAL_SERVER_ERROR", true],
    [504, "REQUEST_TIMED_OUT", true],
    [502, "SOMETHING_ELSE", true],
    [400, "SERVICE_TEMPORARY_UNAVAILABLE", true],
    [400, "INVALID_PARAMETER", false],
    [404, "INVALID_REGION_NOT_FOUND", false],
    [404, "INVALID_INSTANCE_TYPE_NOT_FOUND", false],
    [401, "AUTH_FAILURE_SIGNATURE_FAILURE", false],
    [401, "SIGNATURE_EXPIRED", false],
    [401, "INVALID_ACCESS_KEY_ID", false],
    [401, "TOKEN_EXPIRED", false],
    [403, "PERMISSION_DENIED", false],
    [409, "OPERATION_CONFLICT", false],
    [503, "INVALID_ZONE_NOT_FOUND", false],
  ])("HTTP %i %s -> retryable %s", async (status, code, retryable) => {
    const e = await errorFor(reply(status, { requestId: "R", code, message: "m" }));
    expect(e).toBeInstanceOf(ProviderError);
    expect(e.code).toBe(code);
    expect(e.retryable).toBe(retryable);
    expect(e.context.httpStatus).toBe(status);
  });

  it.each([
    [502, "<html>Bad gateway</html>", true],
    [503, "", true],
    [429, "Too Many Requests", true],
    [404, "<html>Not found</html>", false],
    [400, "bad request", false],
  ])("HTTP %i with the non-JSON body %j -> HTTP_<status>, retryable %s", async (status, body, retryable) => {
    const e = await errorFor({
      status,
      headers: { "content-type": "text/html", "x-request-id": "HDR-E", "retry-after": "1" },
      body,
    });
    expect(e).toBeInstanceOf(ProviderError);
    expect(e.code).toBe(`HTTP_${status}`);
    expect(e.retryable).toBe(retryable);
    expect(e.message).toContain(`HTTP ${status}`);
    expect(e.context).toEqual({
      ...where,
      requestId: "HDR-E",
      httpStatus: status,
      ...(retryable ? { retryAfterMs: 1000 } : {}),
    });
  });

  it("an error envelope without a code -> HTTP_<status>", async () => {
    const e = await errorFor(reply(500, { requestId: "R500", message: "oops" }));
    expect(e.code).toBe("HTTP_500");
    expect(e.retryable).toBe(true);
    expect(e.context.requestId).toBe("R500");
  });

  it("a 2xx carrying the failure envelope is a ProviderError, not a success", async () => {
    const e = await errorFor(
      reply(200, { requestId: "R200", code: "INVALID_ZONE_NOT_FOUND", message: "Zone not found." }),
    );
    expect(e).toBeInstanceOf(ProviderError);
    expect(e.code).toBe("INVALID_ZONE_NOT_FOUND");
    expect(e.context).toEqual({ ...where, requestId: "R200", httpStatus: 200 });
  });

  it("HTTP 403 with cf-mitigated: challenge is an edge challenge, not an auth failure", async () => {
    const e = await errorFor({
      status: 403,
      headers: { "content-type": "text/html", "cf-mitigated": "challenge" },
      body: "<html>Just a moment...</html>",
    });
    expect(e).toBeInstanceOf(ProviderError);
    expect(e.code).toBe("EDGE_CHALLENGE");
    expect(e.retryable).toBe(false);
    expect(e.message).toMatch(/browser challenge/);
    expect(e.message).toMatch(/not an authentication failure/);
    expect(e.context).toEqual({ ...where, httpStatus: 403 });
  });

  it("HTTP 403 without the challenge header is the provider's own error", async () => {
    const e = await errorFor(reply(403, { requestId: "R403", code: "AUTH_FAILURE_UNAUTHORIZED", message: "denied" }));
    expect(e.code).toBe("AUTH_FAILURE_UNAUTHORIZED");
    expect(e.retryable).toBe(false);
  });

  it("a transport error passes through, with where it happened", async () => {
    const cause = new TransportError("ECONNRESET", "POST https://console.zenlayer.com/api/v2/vm failed: reset", {
      retryable: true,
    });
    const e = await errorFor(cause);
    expect(e).toBe(cause);
    expect(e.retryable).toBe(true);
    expect(e.context).toEqual(where);
  });

  it("never puts credentials or signatures in an error, even when the provider echoes them", async () => {
    const { adapter, http } = setup("zenlayer-vm", [
      reply(401, {
        requestId: "R",
        code: "AUTH_FAILURE_SIGNATURE_FAILURE",
        message: `signature mismatch for ${KEY_ID}/${SECRET}`,
      }),
    ]);
    const e = await failure(adapter.fetchPage(query));
    const signature = parseZc2Authorization(only(http).headers.Authorization ?? "")?.signature as string;
    const echoed = reply(401, {
      requestId: "R",
      code: "AUTH_FAILURE_SIGNATURE_FAILURE",
      message: `expected ${signature}`,
    });
    const { adapter: a2 } = setup("zenlayer-vm", [echoed]);
    const e2 = await failure(a2.fetchPage(query));
    const { adapter: a3 } = setup(
      "zenlayer-vm",
      [reply(401, { code: "TOKEN_EXPIRED", message: `token ${TOKEN} expired` })],
      {
        account: { credentials: { token: TOKEN } },
      },
    );
    const e3 = await failure(a3.fetchPage(query));
    for (const err of [e, e2, e3]) {
      const text = `${err.message} ${err.describe()} ${JSON.stringify(err)}`;
      for (const secret of [KEY_ID, SECRET, signature, TOKEN, "Authorization", "ZC2-HMAC-SHA256 Credential"])
        expect(text).not.toContain(secret);
      expect(err.message).toContain("[redacted]");
    }
  });
});

describe("code helpers", () => {
  it.each([
    ["INVALID_ZONE_NOT_FOUND", "INVALID_ZONE_NOT_FOUND"],
    ["Invalid.Zone.Not.Found", "INVALID_ZONE_NOT_FOUND"],
    ["InvalidZoneNotFound", "INVALID_ZONE_NOT_FOUND"],
    ["AuthFailure.SignatureExpire", "AUTH_FAILURE_SIGNATURE_EXPIRE"],
    ["request-limit-exceeded", "REQUEST_LIMIT_EXCEEDED"],
  ])("normalizeZenlayerCode(%s) = %s", (raw, code) => {
    expect(normalizeZenlayerCode(raw)).toBe(code);
  });

  it("retryability follows the code first, then the status", () => {
    expect(isRetryableZenlayer("REQUEST_LIMIT_EXCEEDED", 400)).toBe(true);
    expect(isRetryableZenlayer("HTTP_429", 429)).toBe(true);
    expect(isRetryableZenlayer("HTTP_500", 500)).toBe(true);
    expect(isRetryableZenlayer("HTTP_404", 404)).toBe(false);
    expect(isRetryableZenlayer("INVALID_ZONE_NOT_FOUND", 500)).toBe(false);
  });
});
