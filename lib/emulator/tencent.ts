// The emulator's Tencent Cloud dialects: API 3.0 cvm (tencent-cvm, TC3-signed POST) and the two legacy
// GET /v2/index.php services (tencent-image-v2, tencent-cvm-v2, query-signed). Signatures are verified the
// way the real services verify them, errors come in each service's own envelope (always HTTP 200), and the
// catalogue records have the exact wire shapes of the docs, including their quirks (RequestID vs RequestId,
// the legacy "createor" spelling, Beijing-time legacy timestamps).
import { createHash, timingSafeEqual } from "node:crypto";
import type { ApiId } from "../model.ts";
import {
  type LegacySignatureMethod,
  legacyStringToSign,
  parseTc3Authorization,
  signLegacy,
  signTc3,
} from "../providers/tencent/sign.ts";
import type { Rng } from "./rng.ts";
import type {
  Catalogue,
  DialectContext,
  DialectModule,
  EmulatorReply,
  EmulatorRequest,
  FailureKind,
  RequestInfo,
} from "./types.ts";

type Rec = Record<string, unknown>;

export const TENCENT_APIS = ["tencent-cvm", "tencent-image-v2", "tencent-cvm-v2"] as const;
type TencentApi = (typeof TENCENT_APIS)[number];

const CVM_VERSION = "2017-03-12";
const LEGACY_PATH = "/v2/index.php";
const MAX_LIMIT = 100;
const DEFAULT_LIMIT = 20;
/** Allowed clock skew between a request's timestamp and the service, both dialects. */
const MAX_SKEW_SECONDS = 300;

/** Default catalogue: per API, regions and their image counts at scale 1. */
export const TENCENT_CATALOGUE_SIZES: Readonly<Record<TencentApi, ReadonlyArray<readonly [string, number]>>> = {
  "tencent-cvm": [
    ["ap-guangzhou", 450],
    ["ap-shanghai", 380],
    ["ap-beijing", 300],
    ["ap-singapore", 160],
  ],
  "tencent-image-v2": [
    ["ap-guangzhou", 260],
    ["ap-hongkong", 190],
    ["na-siliconvalley", 120],
  ],
  "tencent-cvm-v2": [
    ["gz", 220],
    ["sh", 150],
    ["bj", 90],
  ],
};

/** The pre-2017 short region names the legacy cvm service still accepts, and their API 3.0 names. */
export const LEGACY_REGION_ALIASES: Readonly<Record<string, string>> = {
  gz: "ap-guangzhou",
  sh: "ap-shanghai",
  bj: "ap-beijing",
  hk: "ap-hongkong",
  sg: "ap-singapore",
};

const REGION_NAMES: Readonly<Record<string, string>> = {
  "ap-guangzhou": "华南地区(广州)",
  "ap-shanghai": "华东地区(上海)",
  "ap-beijing": "华北地区(北京)",
  "ap-singapore": "亚太东南(新加坡)",
  "ap-hongkong": "港澳台地区(中国香港)",
  "na-siliconvalley": "美国西部(硅谷)",
};

// ---------------------------------------------------------------------------------------------------------
// Catalogue records

const API3_OS = [
  { Platform: "TencentOS", OsName: "TencentOS Server 3.1 (TK4)", arm: true, weight: 5 },
  { Platform: "TencentOS", OsName: "TencentOS Server 2.4 (Final)", arm: false, weight: 2 },
  { Platform: "Ubuntu", OsName: "Ubuntu Server 22.04 LTS 64bit", arm: true, weight: 5 },
  { Platform: "Ubuntu", OsName: "Ubuntu Server 20.04 LTS 64bit", arm: false, weight: 3 },
  { Platform: "CentOS", OsName: "CentOS 7.9 64bit", arm: false, weight: 4 },
  { Platform: "Debian", OsName: "Debian 12.4 64bit", arm: true, weight: 2 },
  { Platform: "Debian", OsName: "Debian 11.7 64bit", arm: false, weight: 1 },
  { Platform: "OpenCloudOS", OsName: "OpenCloudOS 9.0 64bit", arm: true, weight: 2 },
  { Platform: "Rocky Linux", OsName: "Rocky Linux 9.2 64bit", arm: false, weight: 1 },
  { Platform: "Windows", OsName: "Windows Server 2022 Datacenter 64bit Chinese", arm: false, weight: 2 },
  { Platform: "Windows", OsName: "Windows Server 2019 Datacenter 64bit English", arm: false, weight: 1 },
] as const;

const IMAGE_V2_OS = [
  { os: "centos", ver: "6.6", Platform: "CentOS", name: "CentOS 6.6", bits: [32, 64] },
  { os: "centos", ver: "7.2", Platform: "CentOS", name: "CentOS 7.2", bits: [64] },
  { os: "ubuntu", ver: "14.04", Platform: "Ubuntu", name: "Ubuntu Server 14.04.1 LTS", bits: [32, 64] },
  { os: "ubuntu", ver: "16.04", Platform: "Ubuntu", name: "Ubuntu Server 16.04.1 LTS", bits: [64] },
  { os: "debian", ver: "8.2", Platform: "Debian", name: "Debian 8.2", bits: [32, 64] },
  { os: "opensuse", ver: "13.2", Platform: "openSUSE", name: "openSUSE 13.2", bits: [64] },
  { os: "windows", ver: "2012", Platform: "Windows", name: "Windows Server 2012 R2 数据中心版", bits: [64] },
  { os: "windows", ver: "2008", Platform: "Windows", name: "Windows Server 2008 R2 企业版 SP1", bits: [64] },
] as const;

const CVM_V2_OS = [
  "Ubuntu 12.04 64bit",
  "Ubuntu 14.04 64bit",
  "CentOS 5.8 32bit",
  "CentOS 6.5 64bit",
  "CentOS 7.2 64bit",
  "Debian 7.4 64bit",
  "openSUSE 12.3 64bit",
  "FreeBSD 10.1 64bit",
  "Windows Server 2008 R2 Enterprise 64bit",
  "Windows Server 2012 R2 Standard 64bit",
] as const;

const PROJECTS = ["web", "api", "db", "batch", "ci", "gpu", "cache", "gateway"] as const;
const STAGES = ["prod", "staging", "dev", "test"] as const;
const GOLDEN_PROJECTS: ReadonlySet<string> = new Set(["web", "api"]);

function weighted<T extends { weight: number }>(rng: Rng, items: readonly T[]): T {
  const total = items.reduce((s, i) => s + i.weight, 0);
  let r = rng.next() * total;
  for (const i of items) {
    r -= i.weight;
    if (r < 0) return i;
  }
  return items[items.length - 1] as T;
}

const pad = (n: number): string => String(n).padStart(2, "0");

/** A random instant between two years, as Unix ms (whole seconds). */
function randomMs(rng: Rng, fromYear: number, toYear: number): number {
  const from = Date.UTC(fromYear, 0, 1);
  const to = Date.UTC(toYear, 0, 1);
  return from + Math.floor(rng.next() * ((to - from) / 1000)) * 1000;
}

/** API 3.0's CreatedTime style: "2021-06-01T08:12:45+00:00". */
function isoOffset(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}+00:00`;
}

/** The legacy createTime: Beijing wall-clock time, "2014-09-27 10:11:00". */
function beijingTime(ms: number): string {
  const d = new Date(ms + 8 * 3_600_000);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

const uin = (rng: Rng): string => `1000${String(rng.int(10_000_000, 99_999_999))}`;

function api3Record(rng: Rng, id: string, usable: boolean): Rec {
  const os = weighted(rng, API3_OS);
  const t = rng.next();
  const type = t < 0.55 ? "PUBLIC_IMAGE" : t < 0.9 ? "PRIVATE_IMAGE" : "SHARED_IMAGE";
  const windows = os.Platform === "Windows";
  const arm = os.arm && rng.next() < 0.2;
  const s = rng.next();
  const state =
    usable || s < 0.9 ? "NORMAL" : s < 0.93 ? "USING" : s < 0.955 ? "CREATING" : s < 0.98 ? "SYNCING" : "CREATEFAILED";
  const own = type !== "PUBLIC_IMAGE";
  const [project, stage] = own ? [rng.pick(PROJECTS), rng.pick(STAGES)] : ["", ""];
  const name = own ? `${project}-${stage}-${rng.id(4)}` : arm ? `${os.OsName} ARM` : os.OsName;
  return {
    ImageId: id,
    OsName: os.OsName,
    ImageType: type,
    CreatedTime: isoOffset(randomMs(rng, own ? 2021 : 2019, 2026)),
    ImageName: name,
    ImageDescription: own ? `created from ins-${rng.id(8)}` : `${os.OsName}，腾讯云官方镜像`,
    ImageSize: windows || (own && rng.next() < 0.3) ? 50 : 20,
    Architecture: arm ? "arm" : "x86_64",
    ImageState: state,
    Platform: os.Platform,
    ImageCreator: own ? uin(rng) : "",
    ImageSource: !own ? "OFFICIAL" : rng.next() < 0.1 ? "EXTERNAL_IMPORT" : "CREATE_IMAGE",
    SyncPercent: state === "SYNCING" ? rng.int(1, 99) : state === "CREATING" ? 0 : 100,
    IsSupportCloudinit: true,
    SnapshotSet: [],
    Tags: [],
    LicenseType: "TencentCloud",
    // Golden lines: some teams put their custom images in an image family (DescribeImageFromFamily's answer is
    // the family's newest usable image); everyone else leaves it empty, as the API does.
    ImageFamily: type === "PRIVATE_IMAGE" && GOLDEN_PROJECTS.has(project) ? `${project}-${stage}-golden` : "",
    ImageDeprecated: !usable && rng.next() < 0.02,
  };
}

function imageV2Record(rng: Rng, id: string, usable: boolean): Rec {
  const os = rng.pick(IMAGE_V2_OS);
  const bits = rng.pick(os.bits);
  const t = rng.next();
  const type = t < 0.6 ? "PUBLIC_IMAGE" : t < 0.9 ? "PRIVATE_IMAGE" : "SHARED_IMAGE";
  const own = type !== "PUBLIC_IMAGE";
  const s = rng.next();
  const status =
    usable || s < 0.9 ? "NORMAL" : s < 0.94 ? "USING" : s < 0.96 ? "CREATING" : s < 0.98 ? "SYNCING" : "CREATEFAILED";
  const official = os.os === "windows" ? `${os.name} ${bits}位中文版` : `${os.name} ${bits}位`;
  const name = own ? `${rng.pick(PROJECTS)}-${rng.pick(STAGES)}-${rng.id(4)}` : official;
  return {
    ImageId: id,
    ImageOsName: `${os.os}${os.ver}x86_${bits}`,
    ImageType: type,
    // The docs' own example gives public images the epoch; keep some of those as the service does.
    ImageCreateTime: !own && rng.next() < 0.3 ? "1970-01-01T00:00:00+00:00" : isoOffset(randomMs(rng, 2015, 2020)),
    ImageStatus: status,
    ImageName: name,
    ImageDescription: own ? `基于 ${official} 制作` : official,
    Platform: os.Platform,
    Architecture: bits === 64 ? "x86_64" : "i386",
    Creator: own ? uin(rng) : "PUBLIC",
  };
}

function cvmV2Record(rng: Rng, id: string, usable: boolean, imageType?: number): Rec {
  const osName = rng.pick(CVM_V2_OS);
  const t = rng.next();
  const type = imageType ?? (t < 0.35 ? 1 : t < 0.75 ? 2 : t < 0.9 ? 3 : 4);
  const s = rng.next();
  const status = usable || s < 0.88 ? 2 : s < 0.94 ? 3 : s < 0.96 ? 1 : s < 0.98 ? 4 : 5;
  const name =
    type === 2
      ? osName
      : type === 3
        ? `${osName.split(" ")[0]} 应用镜像 ${rng.id(3)}`
        : `${rng.pick(PROJECTS)}-${rng.id(4)}`;
  const creator = type === 2 ? "0" : uin(rng);
  // The docs' example spells the key "createor"; some records keep that, as the old service did.
  const creatorKey = rng.next() < 0.2 ? "createor" : "creator";
  return {
    unImgId: id,
    imageName: name,
    imageDescription: type === 2 ? osName : `${name} image`,
    osName,
    imageType: type,
    createTime: beijingTime(randomMs(rng, 2013, 2018)),
    [creatorKey]: creator,
    status,
  };
}

function recordOf(api: TencentApi, rng: Rng, id: string, usable: boolean): Rec {
  if (api === "tencent-cvm") return api3Record(rng, id, usable);
  if (api === "tencent-image-v2") return imageV2Record(rng, id, usable);
  return cvmV2Record(rng, id, usable);
}

function freshId(rng: Rng, taken: Set<string>): string {
  let id = `img-${rng.id(8)}`;
  while (taken.has(id)) id = `img-${rng.id(8)}`;
  taken.add(id);
  return id;
}

function isTencentApi(api: ApiId): api is TencentApi {
  return (TENCENT_APIS as readonly string[]).includes(api);
}

function generate(rng: Rng, scale: number): Catalogue {
  const catalogue: Catalogue = new Map();
  for (const api of TENCENT_APIS) {
    const regions = new Map<string, Rec[]>();
    for (const [region, size] of TENCENT_CATALOGUE_SIZES[api]) {
      const count = Math.max(1, Math.round(scale * size));
      const taken = new Set<string>();
      const records: Rec[] = [];
      for (let i = 0; i < count; i++) {
        // A region is never without a public (imageType 2) listing, however small the scale.
        const forced = api === "tencent-cvm-v2" && i === 0 ? 2 : undefined;
        const id = freshId(rng, taken);
        records.push(forced === undefined ? recordOf(api, rng, id, false) : cvmV2Record(rng, id, false, forced));
      }
      regions.set(region, records);
    }
    catalogue.set(api, regions);
  }
  return catalogue;
}

function imageIdOf(api: ApiId, record: Rec): string {
  const v = api === "tencent-cvm-v2" ? record.unImgId : record.ImageId;
  if (typeof v !== "string") throw new Error(`${api} record without an image id`);
  return v;
}

/** A stable bit of a string, so alternating choices are deterministic without module state. */
const parity = (s: string): number => (createHash("sha256").update(s).digest()[0] ?? 0) & 1;

// ---------------------------------------------------------------------------------------------------------
// Requests

const json = (body: unknown): EmulatorReply => ({
  status: 200,
  headers: { "Content-Type": "application/json; charset=utf-8" },
  body: JSON.stringify(body),
});

/** The context's request id as a UUID (API 3.0 request ids are UUIDs), derived deterministically if it is not one. */
function uuidOf(ctx: DialectContext): string {
  const id = ctx.requestId();
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) return id.toLowerCase();
  const h = createHash("sha256").update(id).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function api3Error(requestId: string, code: string, message: string): EmulatorReply {
  return json({ Response: { Error: { Code: code, Message: message }, RequestId: requestId } });
}

/** image-v2 docs spell the id key both ways, so the emulator does too: deterministically per request id. */
function imageV2RequestIdKey(requestId: string): "RequestID" | "RequestId" {
  return parity(requestId) === 0 ? "RequestID" : "RequestId";
}

function imageV2Error(requestId: string, code: string, message: string): EmulatorReply {
  return json({ Response: { Error: { Code: code, Message: message }, [imageV2RequestIdKey(requestId)]: requestId } });
}

const CVM_V2_DESC: Readonly<Record<number, string>> = {
  4000: "InvalidParameter",
  4100: "AuthFailure",
  4400: "RequestLimitExceeded",
  4500: "ReplayAttack",
  6000: "InternalError",
};

function cvmV2Error(code: number, message: string): EmulatorReply {
  return json({ code, message, codeDesc: CVM_V2_DESC[code] ?? "Failure" });
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const utcDate = (ts: number): string => new Date(ts * 1000).toISOString().slice(0, 10);

function intOr(v: unknown, fallback: number): number {
  if (v === undefined || v === null || v === "") return fallback;
  const n = typeof v === "number" ? v : typeof v === "string" && /^-?\d+$/.test(v) ? Number(v) : Number.NaN;
  return Number.isInteger(n) ? n : Number.NaN;
}

const pageOf = (offset: number, limit: number): number =>
  Number.isInteger(offset) && Number.isInteger(limit) && offset >= 0 && limit > 0 ? Math.floor(offset / limit) + 1 : 1;

function describe(req: EmulatorRequest): RequestInfo | undefined {
  const method = req.method.toUpperCase();
  if (method === "POST" && req.path === "/" && req.headers["x-tc-action"]) {
    const action = req.headers["x-tc-action"];
    if (action !== "DescribeImages") return { api: "tencent-cvm", action, scope: "", part: "", pageNumber: 1 };
    let body: unknown;
    try {
      body = req.body === "" ? {} : JSON.parse(req.body);
    } catch {
      body = {};
    }
    const b = (typeof body === "object" && body !== null ? body : {}) as Rec;
    return {
      api: "tencent-cvm",
      action,
      scope: req.headers["x-tc-region"] ?? "",
      part: "",
      pageNumber: pageOf(intOr(b.Offset, 0), intOr(b.Limit, DEFAULT_LIMIT)),
    };
  }
  if (method === "GET" && req.path === LEGACY_PATH) {
    const q = req.query;
    const action = q.get("Action") ?? "";
    if (q.get("Version") === CVM_VERSION)
      return {
        api: "tencent-image-v2",
        action,
        scope: q.get("Region") ?? "",
        part: "",
        pageNumber: pageOf(intOr(q.get("Offset"), 0), intOr(q.get("Limit"), DEFAULT_LIMIT)),
      };
    return {
      api: "tencent-cvm-v2",
      action,
      scope: q.get("Region") ?? "",
      part: q.get("imageType") ?? "",
      pageNumber: pageOf(intOr(q.get("offset"), 0), intOr(q.get("limit"), DEFAULT_LIMIT)),
    };
  }
  return undefined;
}

/** Every region any Tencent API of the catalogue serves, in API 3.0 spelling. Real regions exist for every
 *  API, so a region known here but absent from one API's catalogue is an empty listing there, not an error;
 *  this is also what keeps DescribeRegions-based discovery working for the legacy dialects. */
function knownRegions(ctx: DialectContext): string[] {
  const out: string[] = [];
  for (const api of TENCENT_APIS)
    for (const region of ctx.catalogue.get(api)?.keys() ?? []) {
      const name = LEGACY_REGION_ALIASES[region] ?? region;
      if (!out.includes(name)) out.push(name);
    }
  return out;
}

/** The records of a region of an API (legacy aliases resolved both ways), [] for a known region the API does
 *  not hold, undefined for a region that does not exist. */
function regionRecords(api: TencentApi, region: string, ctx: DialectContext): Rec[] | undefined {
  const regions = ctx.catalogue.get(api);
  const direct = regions?.get(region);
  if (direct) return direct;
  if (api === "tencent-cvm-v2") {
    const canonical = LEGACY_REGION_ALIASES[region] ?? region;
    for (const [key, records] of regions ?? []) if ((LEGACY_REGION_ALIASES[key] ?? key) === canonical) return records;
    return knownRegions(ctx).includes(canonical) ? [] : undefined;
  }
  return knownRegions(ctx).includes(region) ? [] : undefined;
}

const API3_FILTERS: Readonly<Record<string, string>> = {
  "image-id": "ImageId",
  "image-type": "ImageType",
  "image-name": "ImageName",
  platform: "Platform",
};

const IMAGE_V2_FILTERS: Readonly<Record<string, string>> = {
  "image-id": "ImageId",
  "image-type": "ImageType",
  "image-name": "ImageName",
};

/** A TC3 error reply with the request's id. */
type Api3Fail = (code: string, message: string) => EmulatorReply;

function handleApi3(req: EmulatorRequest, info: RequestInfo, ctx: DialectContext): EmulatorReply {
  const requestId = uuidOf(ctx);
  const fail: Api3Fail = (code, message) => api3Error(requestId, code, message);
  const refused = api3AuthFailure(req, ctx, fail);
  if (refused) return refused;

  const version = req.headers["x-tc-version"];
  if (version === undefined)
    return fail("MissingParameter", "The request is missing a required parameter `X-TC-Version`.");
  if (version !== CVM_VERSION) return fail("NoSuchVersion", `The requested version \`${version}\` is not supported.`);

  if (info.action === "DescribeRegions") {
    const regions = knownRegions(ctx);
    return json({
      Response: {
        TotalCount: regions.length,
        RegionSet: regions.map((r) => ({ Region: r, RegionName: REGION_NAMES[r] ?? r, RegionState: "AVAILABLE" })),
        RequestId: requestId,
      },
    });
  }
  if (info.action !== "DescribeImages")
    return fail("InvalidAction", `The action \`${info.action}\` is not supported by this emulator.`);

  return describeImagesApi3(req, ctx, requestId, fail);
}

/** The reply refusing a request whose TC3 authorization does not hold; undefined when it does. */
function api3AuthFailure(req: EmulatorRequest, ctx: DialectContext, fail: Api3Fail): EmulatorReply | undefined {
  const authorization = req.headers.authorization;
  const auth = authorization === undefined ? undefined : parseTc3Authorization(authorization);
  if (!auth)
    return fail(
      "AuthFailure.InvalidAuthorization",
      "Authorization header is missing or not a TC3-HMAC-SHA256 authorization.",
    );
  const creds = ctx.credentials.tencent;
  if (auth.secretId !== creds.secretId)
    return fail(
      "AuthFailure.SecretIdNotFound",
      "The SecretId is not found, please ensure that your SecretId is correct.",
    );
  const tsHeader = req.headers["x-tc-timestamp"];
  if (tsHeader === undefined)
    return fail("MissingParameter", "The request is missing a required parameter `X-TC-Timestamp`.");
  if (!/^\d+$/.test(tsHeader)) return fail("InvalidParameter", "X-TC-Timestamp must be Unix seconds.");
  const ts = Number(tsHeader);
  if (Math.abs(ts - ctx.now() / 1000) > MAX_SKEW_SECONDS)
    return fail(
      "AuthFailure.SignatureExpire",
      "Signature expired. Timestamp and server time cannot differ by more than five minutes.",
    );
  if (auth.date !== utcDate(ts))
    return fail(
      "AuthFailure.SignatureFailure",
      "The date in Credential does not match the UTC date of X-TC-Timestamp.",
    );
  if (auth.service !== "cvm")
    return fail("AuthFailure.SignatureFailure", `The service in Credential must be cvm (got ${auth.service}).`);
  // The emulator recomputes the canonical request the project signs; other header sets cannot be checked.
  if (auth.signedHeaders !== "content-type;host")
    return fail("AuthFailure.SignatureFailure", "SignedHeaders must be content-type;host.");
  const expected = signTc3({
    host: req.host,
    contentType: req.headers["content-type"] ?? "",
    body: req.body,
    timestamp: ts,
    service: "cvm",
    secretId: creds.secretId,
    secretKey: creds.secretKey,
  }).signature;
  if (!safeEqual(expected, auth.signature))
    return fail(
      "AuthFailure.SignatureFailure",
      "The provided credentials could not be validated. Please check your signature is correct.",
    );

  return undefined;
}

function describeImagesApi3(
  req: EmulatorRequest,
  ctx: DialectContext,
  requestId: string,
  fail: Api3Fail,
): EmulatorReply {
  const region = req.headers["x-tc-region"];
  if (!region) return fail("MissingParameter", "The request is missing a required parameter `X-TC-Region`.");
  const records = regionRecords("tencent-cvm", region, ctx);
  if (!records) return fail("UnsupportedRegion", `The region \`${region}\` is not supported.`);

  let body: unknown;
  try {
    body = req.body === "" ? {} : JSON.parse(req.body);
  } catch {
    return fail("InvalidParameter", "The request body is not valid JSON.");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body))
    return fail("InvalidParameter", "The request body must be a JSON object.");
  const b = body as Rec;
  for (const k of Object.keys(b))
    if (!["ImageIds", "Filters", "Offset", "Limit", "InstanceType"].includes(k))
      return fail("UnknownParameter", `The parameter \`${k}\` is not recognized.`);
  const offset = typeof b.Offset === "number" ? b.Offset : b.Offset === undefined ? 0 : Number.NaN;
  const limit = typeof b.Limit === "number" ? b.Limit : b.Limit === undefined ? DEFAULT_LIMIT : Number.NaN;
  if (!Number.isInteger(offset) || offset < 0)
    return fail("InvalidParameterValue.InvalidParameterValueOffset", "Offset must be a non-negative integer.");
  if (!Number.isInteger(limit) || limit < 0 || limit > MAX_LIMIT)
    return fail("InvalidParameterValue.InvalidParameterValueLimit", `Limit must be an integer from 0 to ${MAX_LIMIT}.`);

  const filters = api3Filters(b, fail);
  if (!Array.isArray(filters)) return filters;
  const matching = records.filter((r) => filters.every(([f, vs]) => vs.includes(String(r[f]))));
  return json({
    Response: { TotalCount: matching.length, ImageSet: matching.slice(offset, offset + limit), RequestId: requestId },
  });
}

/** The [field, values] pairs an image must match (ImageIds or Filters), or the reply refusing them. */
function api3Filters(b: Rec, fail: Api3Fail): Array<[string, string[]]> | EmulatorReply {
  const filters: Array<[string, string[]]> = [];
  if (b.ImageIds !== undefined) {
    if (!Array.isArray(b.ImageIds) || !b.ImageIds.every((v) => typeof v === "string"))
      return fail("InvalidParameter", "ImageIds must be an array of strings.");
    if (b.Filters !== undefined)
      return fail(
        "InvalidParameter.InvalidParameterCoexistImageIdsFilters",
        "ImageIds and Filters cannot both be given.",
      );
    filters.push(["ImageId", b.ImageIds as string[]]);
  }
  if (b.Filters !== undefined) {
    if (!Array.isArray(b.Filters)) return fail("InvalidParameter", "Filters must be an array.");
    for (const f of b.Filters) {
      const name = (f as Rec | null)?.Name;
      const values = (f as Rec | null)?.Values;
      if (typeof name !== "string" || !Array.isArray(values) || !values.every((v) => typeof v === "string"))
        return fail("InvalidParameter", "Each filter needs a Name and string Values.");
      const field = API3_FILTERS[name];
      if (!field) return fail("InvalidFilter", `The filter \`${name}\` is not supported.`);
      filters.push([field, values as string[]]);
    }
  }
  return filters;
}

type LegacyFailure = "unknown-id" | "bad-signature" | "expired" | "replay" | "missing";

/** Verifies a legacy query signature and its freshness; undefined when it passes, else what failed. */
function verifyLegacy(
  req: EmulatorRequest,
  info: RequestInfo,
  ctx: DialectContext,
): { kind: LegacyFailure; message: string } | undefined {
  const params: Record<string, string> = {};
  for (const [k, v] of req.query) params[k] = v;
  const { Signature: signature, ...signed } = params;
  if (!signature) return { kind: "bad-signature", message: "the Signature parameter is missing" };
  const creds = ctx.credentials.tencent;
  if (!signed.SecretId) return { kind: "bad-signature", message: "the SecretId parameter is missing" };
  if (signed.SecretId !== creds.secretId) return { kind: "unknown-id", message: "the SecretId is not found" };
  if (!signed.Timestamp || !/^\d+$/.test(signed.Timestamp))
    return { kind: "missing", message: "Timestamp must be Unix seconds" };
  if (!signed.Nonce || !/^[1-9]\d*$/.test(signed.Nonce))
    return { kind: "missing", message: "Nonce must be a positive integer" };
  const method: LegacySignatureMethod = signed.SignatureMethod === "HmacSHA256" ? "HmacSHA256" : "HmacSHA1";
  const expected = signLegacy(creds.secretKey, legacyStringToSign("GET", req.host, LEGACY_PATH, signed), method);
  if (!safeEqual(expected, signature)) return { kind: "bad-signature", message: "signature verification failed" };
  const ts = Number(signed.Timestamp);
  const nowSec = ctx.now() / 1000;
  if (Math.abs(ts - nowSec) > MAX_SKEW_SECONDS)
    return { kind: "expired", message: "the Timestamp differs from server time by more than five minutes" };
  const key = `${info.api}|${signed.SecretId}|${signed.Timestamp}|${signed.Nonce}`;
  if (ctx.usedNonces.has(key)) return { kind: "replay", message: "the Nonce was already used with this Timestamp" };
  pruneNonces(ctx.usedNonces, nowSec);
  ctx.usedNonces.add(key);
  return undefined;
}

/** Forgets nonces whose timestamps are too old to pass the skew check anyway, so the set stays bounded. */
function pruneNonces(used: Set<string>, nowSec: number): void {
  if (used.size < 50_000) return;
  for (const key of used) {
    const ts = Number(key.split("|")[2]);
    if (!(ts >= nowSec - 2 * MAX_SKEW_SECONDS)) used.delete(key);
  }
}

/** Indexed query parameters: "ImageIds.0", "ImageIds.1" -> values in index order. */
function indexed(query: URLSearchParams, prefix: string): string[] {
  const out: Array<[number, string]> = [];
  for (const [k, v] of query) {
    const m = new RegExp(`^${prefix.replace(/\./g, "\\.")}\\.(\\d+)$`).exec(k);
    if (m) out.push([Number(m[1]), v]);
  }
  return out.sort((a, b) => a[0] - b[0]).map(([, v]) => v);
}

function handleImageV2(req: EmulatorRequest, info: RequestInfo, ctx: DialectContext): EmulatorReply {
  const requestId = uuidOf(ctx);
  const fail = (code: string, message: string): EmulatorReply => imageV2Error(requestId, code, message);
  const bad = verifyLegacy(req, info, ctx);
  if (bad) {
    if (bad.kind === "expired") return fail("AuthFailure.SignatureExpire", `Signature expired: ${bad.message}.`);
    if (bad.kind === "missing") return fail("MissingParameter", `${bad.message}.`);
    if (bad.kind === "unknown-id")
      return fail(
        "AuthFailure.SecretIdNotFound",
        "The SecretId is not found, please ensure that your SecretId is correct.",
      );
    return fail("AuthFailure.SignatureFailure", `The provided credentials could not be validated: ${bad.message}.`);
  }
  const q = req.query;
  if (info.action !== "DescribeImages") return fail("InvalidAction", `The action \`${info.action}\` is not supported.`);
  const region = q.get("Region");
  if (!region) return fail("MissingParameter", "The request is missing a required parameter `Region`.");
  const records = regionRecords("tencent-image-v2", region, ctx);
  if (!records) return fail("UnsupportedRegion", `The region \`${region}\` is not supported.`);
  const offset = intOr(q.get("Offset"), 0);
  const limit = intOr(q.get("Limit"), DEFAULT_LIMIT);
  if (!Number.isInteger(offset) || offset < 0)
    return fail("InvalidParameterValue.InvalidParameterValueOffset", "Offset must be a non-negative integer.");
  if (!Number.isInteger(limit) || limit < 0 || limit > MAX_LIMIT)
    return fail("InvalidParameterValue.InvalidParameterValueLimit", `Limit must be an integer from 0 to ${MAX_LIMIT}.`);

  const ids = indexed(q, "ImageIds");
  const filterNames = [...q.keys()].filter((k) => /^Filters\.\d+\.Name$/.test(k));
  if (ids.length > 0 && filterNames.length > 0)
    return fail(
      "InvalidParameter.InvalidParameterCoexistImageIdsFilters",
      "ImageIds and Filters cannot both be given.",
    );
  const filters: Array<[string, string[]]> = ids.length > 0 ? [["ImageId", ids]] : [];
  for (const k of filterNames) {
    const name = q.get(k) ?? "";
    const field = IMAGE_V2_FILTERS[name];
    if (!field) return fail("InvalidFilter", `The filter \`${name}\` is not supported.`);
    filters.push([field, indexed(q, `${k.slice(0, -".Name".length)}.Values`)]);
  }
  const matching = records.filter((r) => filters.every(([f, vs]) => vs.includes(String(r[f]))));
  return json({
    Response: {
      ImageSet: matching.slice(offset, offset + limit),
      TotalCount: matching.length,
      [imageV2RequestIdKey(requestId)]: requestId,
    },
  });
}

function handleCvmV2(req: EmulatorRequest, info: RequestInfo, ctx: DialectContext): EmulatorReply {
  const bad = verifyLegacy(req, info, ctx);
  if (bad) {
    if (bad.kind === "expired" || bad.kind === "replay")
      return cvmV2Error(4500, `(100006) request replayed: ${bad.message}`);
    if (bad.kind === "missing") return cvmV2Error(4000, `(100001) invalid common parameter: ${bad.message}`);
    return cvmV2Error(4100, `(100005) authentication failed: ${bad.message}`);
  }
  const q = req.query;
  if (info.action !== "DescribeImages") return cvmV2Error(4000, `(100002) action ${info.action} does not exist`);
  const region = q.get("Region");
  if (!region) return cvmV2Error(4000, "(100001) the Region parameter is missing");
  const records = regionRecords("tencent-cvm-v2", region, ctx);
  if (!records) return cvmV2Error(4000, `(100004) region ${region} does not exist`);
  const typeText = q.get("imageType");
  if (!typeText) return cvmV2Error(4000, "(100003) imageType is required");
  if (!/^[1-4]$/.test(typeText)) return cvmV2Error(4000, `(100003) imageType must be 1, 2, 3 or 4 (got ${typeText})`);
  const offset = intOr(q.get("offset"), 0);
  const limit = intOr(q.get("limit"), DEFAULT_LIMIT);
  if (!Number.isInteger(offset) || offset < 0)
    return cvmV2Error(4000, "(100003) offset must be a non-negative integer");
  if (!Number.isInteger(limit) || limit < 0 || limit > MAX_LIMIT)
    return cvmV2Error(4000, `(100003) limit must be an integer from 0 to ${MAX_LIMIT}`);
  const status = intOr(q.get("status"), 0);
  if (!Number.isInteger(status) || status < 0 || status > 5)
    return cvmV2Error(4000, "(100003) status must be an integer from 0 to 5");
  const ids = indexed(q, "imageIds");
  const imageType = Number(typeText);
  const matching = records.filter(
    (r) =>
      r.imageType === imageType &&
      (status === 0 || r.status === status) &&
      (ids.length === 0 || ids.includes(String(r.unImgId))),
  );
  return json({ code: 0, message: "", totalCount: matching.length, imageSet: matching.slice(offset, offset + limit) });
}

function handle(req: EmulatorRequest, info: RequestInfo, ctx: DialectContext): EmulatorReply {
  if (info.api === "tencent-cvm") return handleApi3(req, info, ctx);
  if (info.api === "tencent-image-v2") return handleImageV2(req, info, ctx);
  return handleCvmV2(req, info, ctx);
}

const API3_FAILURES: Readonly<Record<FailureKind, readonly [string, string]>> = {
  throttle: [
    "RequestLimitExceeded",
    "Your current request times exceeds the frequency limit of 40 requests per second. Please reduce the frequency of calls.",
  ],
  internal: [
    "InternalError",
    "An internal error has occurred. Retry your request, but if the problem persists, contact us.",
  ],
  unavailable: ["ServiceUnavailable", "Service is unavailable now."],
  auth: [
    "AuthFailure.SignatureFailure",
    "The provided credentials could not be validated. Please check your signature is correct.",
  ],
  expired: [
    "AuthFailure.SignatureExpire",
    "Signature expired. Timestamp and server time cannot differ by more than five minutes.",
  ],
};

const CVM_V2_FAILURES: Readonly<Record<FailureKind, readonly [number, string]>> = {
  throttle: [4400, "(100007) request quota exceeded, retry later"],
  internal: [6000, "(100008) internal server error"],
  unavailable: [6000, "(100009) service temporarily unavailable"],
  auth: [4100, "(100005) authentication failed"],
  expired: [4500, "(100006) request replayed: timestamp expired"],
};

function failure(kind: FailureKind, info: RequestInfo, ctx: DialectContext): EmulatorReply {
  if (info.api === "tencent-cvm-v2") {
    const [code, message] = CVM_V2_FAILURES[kind];
    return cvmV2Error(code, message);
  }
  const [code, message] = API3_FAILURES[kind];
  const requestId = uuidOf(ctx);
  return info.api === "tencent-image-v2" ? imageV2Error(requestId, code, message) : api3Error(requestId, code, message);
}

/** Whether the provider reports the record usable now (what the adapters read as available and not unusable). */
function isUsable(api: ApiId, record: Rec): boolean {
  if (api === "tencent-cvm")
    return (record.ImageState === "NORMAL" || record.ImageState === "USING") && record.ImageDeprecated !== true;
  if (api === "tencent-image-v2") return record.ImageStatus === "NORMAL" || record.ImageStatus === "USING";
  return record.status === 2 || record.status === 3;
}

export const tencentDialect: DialectModule & {
  /** Proposed for the DialectModule contract (the core's drift uses it when present): whether the provider
   *  reports this record usable now, so drift changes only images whose change a sync can observe. */
  isUsable(api: ApiId, record: Record<string, unknown>): boolean;
} = {
  apis: TENCENT_APIS,
  generate,
  newRecord(api, _scope, rng) {
    if (!isTencentApi(api)) throw new Error(`tencentDialect does not generate ${api}`);
    return recordOf(api, rng, `img-${rng.id(8)}`, true);
  },
  markUnusable(api, record) {
    if (api === "tencent-cvm") {
      // Both of the provider's signals occur: a failed state, and the ImageDeprecated flag (ModifyImageAttribute).
      if (parity(imageIdOf(api, record)) === 0) record.ImageDeprecated = true;
      else record.ImageState = "CREATEFAILED";
    } else if (api === "tencent-image-v2") {
      record.ImageStatus = "CREATEFAILED";
    }
    // tencent-cvm-v2 documents no status that means unusable (1 creating .. 5 copying): its images can only
    // disappear from the listing, so there is nothing to change here.
  },
  touch(api, record, rng) {
    const key = api === "tencent-cvm-v2" ? "imageDescription" : "ImageDescription";
    record[key] = `${String(record[key] ?? "").replace(/ \(rev [a-z0-9]+\)$/, "")} (rev ${rng.id(5)})`;
  },
  imageId: imageIdOf,
  isUsable,
  describe,
  handle,
  failure,
};
