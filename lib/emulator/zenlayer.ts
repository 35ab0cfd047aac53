// The Zenlayer Cloud API 2.0 dialect of the emulator (bmc, zec, vm): verifies ZC2-HMAC-SHA256 or Bearer
// auth like the real gateway, answers DescribeImages / DescribeZones in the documented envelopes, and
// generates a large, realistic, seeded catalogue so paging, filters and drift behave as in production.
import { timingSafeEqual } from "node:crypto";
import type { ApiId } from "../model.ts";
import { parseZc2Authorization, signZc2, ZC2_ALGORITHM } from "../providers/zenlayer/sign.ts";
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

type ZenlayerApi = "zenlayer-bmc" | "zenlayer-zec" | "zenlayer-vm";
type ZlRecord = Record<string, unknown>;

const SERVICES: Readonly<Record<string, { api: ZenlayerApi; version: string }>> = {
  bmc: { api: "zenlayer-bmc", version: "2022-11-20" },
  zec: { api: "zenlayer-zec", version: "2025-09-01" },
  vm: { api: "zenlayer-vm", version: "2023-03-13" },
};
const PATH = /^\/api\/v2\/(bmc|zec|vm)\/?$/;
/** The gateway refuses signatures whose timestamp is further than this from its clock. */
const MAX_SKEW_SECONDS = 300;
const DEFAULT_PAGE_SIZE = 20;
const MAX_PAGE_SIZE = 1000;
const BMC_SCOPE = "global";

const ZEC_ZONES: ReadonlyArray<{ zoneId: string; zoneName: string; size: number }> = [
  { zoneId: "asia-east-1a", zoneName: "Hong Kong 1", size: 2600 },
  { zoneId: "asia-southeast-1a", zoneName: "Singapore 1", size: 1700 },
  { zoneId: "na-west-1a", zoneName: "Los Angeles 1", size: 1300 },
  { zoneId: "eu-central-1a", zoneName: "Frankfurt 1", size: 900 },
  { zoneId: "sa-east-1a", zoneName: "Sao Paulo 1", size: 450 },
];
const VM_ZONES: ReadonlyArray<{ zoneId: string; zoneName: string; size: number }> = [
  { zoneId: "FRA-A", zoneName: "Frankfurt A", size: 1500 },
  { zoneId: "HKG-A", zoneName: "Hong Kong A", size: 1100 },
  { zoneId: "LAX-A", zoneName: "Los Angeles A", size: 700 },
  { zoneId: "SIN-A", zoneName: "Singapore A", size: 300 },
];
const ZONE_NAMES = new Map([...ZEC_ZONES, ...VM_ZONES].map((z) => [z.zoneId, z.zoneName]));

// ---------------------------------------------------------------------------------------------------
// Wire: envelopes and auth
// ---------------------------------------------------------------------------------------------------

const JSON_HEADERS = { "content-type": "application/json; charset=utf-8" };

/** "T" + an upper-case UUID, as the real gateway spells request ids (see the seed pages). */
const zlRequestId = (ctx: DialectContext): string => "T" + ctx.requestId().toUpperCase();

function errorReply(ctx: DialectContext, status: number, code: string, message: string): EmulatorReply {
  return { status, headers: { ...JSON_HEADERS }, body: JSON.stringify({ requestId: zlRequestId(ctx), code, message }) };
}

function okReply(ctx: DialectContext, response: Record<string, unknown>): EmulatorReply {
  const requestId = zlRequestId(ctx);
  return {
    status: 200,
    headers: { ...JSON_HEADERS },
    body: JSON.stringify({ requestId, response: { requestId, ...response } }),
  };
}

/** Constant-time comparison, so the emulator does not leak how much of a secret a caller guessed. */
function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a, "utf8");
  const y = Buffer.from(b, "utf8");
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Checks the common headers and the credentials; undefined when the caller may proceed. */
function authenticate(req: EmulatorRequest, service: string, ctx: DialectContext): EmulatorReply | undefined {
  const authorization = req.headers["authorization"] ?? "";
  return /^Bearer\s/i.test(authorization)
    ? tokenAuthFailure(req, service, ctx)
    : signatureAuthFailure(req, service, ctx);
}

/** Checks a token-authorized request; undefined when the caller may proceed. */
function tokenAuthFailure(req: EmulatorRequest, service: string, ctx: DialectContext): EmulatorReply | undefined {
  const expected = SERVICES[service];
  const authorization = req.headers["authorization"] ?? "";
  const serviceHeader = req.headers["x-zc-service"];
  const versionHeader = req.headers["x-zc-version"];
  // Token auth sends no signature headers; the service and version, when sent, must still agree.
  if (serviceHeader !== undefined && serviceHeader !== service) {
    return errorReply(ctx, 400, "INVALID_PARAMETER_VALUE", `X-ZC-Service "${serviceHeader}" does not match the path`);
  }
  if (versionHeader !== undefined && versionHeader !== expected?.version) {
    return errorReply(ctx, 400, "INVALID_PARAMETER_VALUE", `X-ZC-Version "${versionHeader}" is not supported`);
  }
  const token = authorization.replace(/^Bearer\s+/i, "");
  if (!sameSecret(token, ctx.credentials.zenlayer.token)) {
    return errorReply(ctx, 401, "AUTH_FAILURE_TOKEN_INVALID", "The access token is invalid or has expired.");
  }
  return undefined;
}

/** Checks a ZC2-signed request's headers, key, clock and signature; undefined when the caller may proceed. */
function signatureAuthFailure(req: EmulatorRequest, service: string, ctx: DialectContext): EmulatorReply | undefined {
  const expected = SERVICES[service];
  const authorization = req.headers["authorization"] ?? "";
  const serviceHeader = req.headers["x-zc-service"];
  const versionHeader = req.headers["x-zc-version"];
  const timestamp = req.headers["x-zc-timestamp"];
  const method = req.headers["x-zc-signature-method"];
  for (const [name, value] of [
    ["X-ZC-Timestamp", timestamp],
    ["X-ZC-Signature-Method", method],
    ["X-ZC-Service", serviceHeader],
    ["X-ZC-Version", versionHeader],
  ] as const) {
    if (value === undefined || value === "") {
      return errorReply(ctx, 400, "INVALID_PARAMETER_MISSING", `The required header ${name} is missing.`);
    }
  }
  if (method !== ZC2_ALGORITHM) {
    return errorReply(ctx, 400, "INVALID_PARAMETER_VALUE", `Signature method "${method}" is not supported.`);
  }
  if (serviceHeader !== service) {
    return errorReply(ctx, 400, "INVALID_PARAMETER_VALUE", `X-ZC-Service "${serviceHeader}" does not match the path`);
  }
  if (versionHeader !== expected?.version) {
    return errorReply(ctx, 400, "INVALID_PARAMETER_VALUE", `X-ZC-Version "${versionHeader}" is not supported`);
  }
  const parsed = parseZc2Authorization(authorization);
  if (parsed?.signedHeaders !== "content-type;host") {
    return errorReply(ctx, 401, "AUTH_FAILURE_SIGNATURE_INVALID", "The Authorization header is malformed.");
  }
  if (parsed.accessKeyId !== ctx.credentials.zenlayer.accessKeyId) {
    return errorReply(ctx, 401, "AUTH_FAILURE_ACCESS_KEY_NOT_FOUND", "The access key does not exist.");
  }
  const ts = Number(timestamp);
  if (!/^\d+$/.test(timestamp ?? "") || !Number.isSafeInteger(ts)) {
    return errorReply(ctx, 401, "AUTH_FAILURE_SIGNATURE_INVALID", "X-ZC-Timestamp must be unix seconds.");
  }
  // The clock check comes before the HMAC, as on the real gateway: a stale request is "expired", not "invalid".
  if (Math.abs(Math.floor(ctx.now() / 1000) - ts) > MAX_SKEW_SECONDS) {
    return errorReply(ctx, 401, "AUTH_FAILURE_SIGNATURE_EXPIRED", "The signature has expired.");
  }
  const { signature } = signZc2({
    host: req.host,
    contentType: req.headers["content-type"] ?? "",
    body: req.body,
    timestamp: ts,
    accessKeyId: parsed.accessKeyId,
    accessKeyPassword: ctx.credentials.zenlayer.accessKeySecret,
  });
  if (!sameSecret(signature, parsed.signature)) {
    return errorReply(ctx, 401, "AUTH_FAILURE_SIGNATURE_INVALID", "The signature does not match.");
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// Wire: actions
// ---------------------------------------------------------------------------------------------------

class BadParameter extends Error {}

function optString(body: ZlRecord, key: string): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw new BadParameter(`${key} must be a string`);
  return v;
}

function optStringArray(body: ZlRecord, key: string): string[] | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) {
    throw new BadParameter(`${key} must be an array of strings`);
  }
  return v as string[];
}

function optTags(body: ZlRecord): Array<{ key: string; value: string }> | undefined {
  const v = body["tags"];
  if (v === undefined || v === null) return undefined;
  const ok =
    Array.isArray(v) &&
    v.every((t) => typeof t === "object" && t !== null && typeof (t as ZlRecord)["key"] === "string");
  if (!ok) throw new BadParameter("tags must be an array of {key, value}");
  return (v as ZlRecord[]).map((t) => ({ key: t["key"] as string, value: String(t["value"] ?? "") }));
}

function optInteger(body: ZlRecord, key: string, fallback: number, min: number, max: number): number {
  const v = body[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new BadParameter(`${key} must be an integer between ${min} and ${max}`);
  }
  return v;
}

const eqCi = (a: unknown, b: string): boolean => typeof a === "string" && a.toLowerCase() === b.toLowerCase();

/** Filters common to all three services; names match as a case-insensitive substring (the docs do not say). */
function imageFilter(body: ZlRecord, api: ZenlayerApi): (r: ZlRecord) => boolean {
  const ids = optStringArray(body, "imageIds");
  const name = optString(body, "imageName")?.toLowerCase();
  const imageType = optString(body, "imageType");
  const osType = optString(body, "osType");
  const catalog = api === "zenlayer-bmc" ? optString(body, "catalog") : undefined;
  const category = api === "zenlayer-bmc" ? undefined : optString(body, "category");
  const status = api === "zenlayer-bmc" ? undefined : optString(body, "imageStatus");
  const source = api === "zenlayer-zec" ? optString(body, "imageSource") : undefined;
  const tagKeys = api === "zenlayer-zec" ? optStringArray(body, "tagKeys") : undefined;
  const tags = api === "zenlayer-zec" ? optTags(body) : undefined;
  if ((tagKeys?.length ?? 0) > 20 || (tags?.length ?? 0) > 20) throw new BadParameter("at most 20 tags can be used");
  const idSet = ids ? new Set(ids) : undefined;
  return (r) => {
    if (idSet && !idSet.has(String(r["imageId"]))) return false;
    if (
      name !== undefined &&
      !String(r["imageName"] ?? "")
        .toLowerCase()
        .includes(name)
    )
      return false;
    if (imageType !== undefined && r["imageType"] !== imageType) return false;
    if (osType !== undefined && !eqCi(r["osType"], osType)) return false;
    if (catalog !== undefined && !eqCi(r["catalog"], catalog)) return false;
    if (category !== undefined && !eqCi(r["category"], category)) return false;
    if (status !== undefined && r["imageStatus"] !== status) return false;
    if (source !== undefined && r["imageSource"] !== source) return false;
    if (tagKeys || tags) {
      const own = Array.isArray(r["tags"]) ? (r["tags"] as ZlRecord[]) : [];
      if (tagKeys && !tagKeys.every((k) => own.some((t) => t["key"] === k))) return false;
      if (tags && !tags.every((q) => own.some((t) => t["key"] === q.key && t["value"] === q.value))) return false;
    }
    return true;
  };
}

function describeImages(api: ZenlayerApi, body: ZlRecord, ctx: DialectContext): EmulatorReply {
  const scopes = ctx.catalogue.get(api);
  if (api === "zenlayer-bmc") {
    // instanceTypeId is accepted and ignored: the emulator does not model which images fit which machine.
    optString(body, "instanceTypeId");
    const keep = imageFilter(body, api);
    return okReply(ctx, { images: (scopes?.get(BMC_SCOPE) ?? []).filter(keep) });
  }
  const zoneId = optString(body, "zoneId");
  if (zoneId === undefined || zoneId === "") {
    return errorReply(ctx, 400, "INVALID_PARAMETER_MISSING", "The required parameter zoneId is missing.");
  }
  const pageSize = optInteger(body, "pageSize", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE);
  const pageNum = optInteger(body, "pageNum", 1, 1, Number.MAX_SAFE_INTEGER);
  const keep = imageFilter(body, api);
  const records = scopes?.get(zoneId);
  if (!records) {
    return errorReply(ctx, 404, "INVALID_ZONE_NOT_FOUND", `The specified zoneId \`${zoneId}\` is not found`);
  }
  const matching = records.filter(keep);
  const start = (pageNum - 1) * pageSize;
  return okReply(ctx, { totalCount: matching.length, dataSet: matching.slice(start, start + pageSize) });
}

function describeZones(api: ZenlayerApi, body: ZlRecord, ctx: DialectContext): EmulatorReply {
  const wanted = optStringArray(body, "zoneIds");
  const zoneIds = [...(ctx.catalogue.get(api)?.keys() ?? [])].filter((z) => !wanted || wanted.includes(z));
  return okReply(ctx, { zoneSet: zoneIds.map((zoneId) => ({ zoneId, zoneName: ZONE_NAMES.get(zoneId) ?? zoneId })) });
}

function parseBody(raw: string): ZlRecord | undefined {
  // An empty body is what SDKs send for parameterless calls; the gateway reads it as {}.
  if (raw.trim() === "") return {};
  try {
    const v: unknown = JSON.parse(raw);
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as ZlRecord) : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------
// Catalogue generation
// ---------------------------------------------------------------------------------------------------

const ALNUM_MIXED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const HEX = "0123456789abcdef";

const fromAlphabet = (rng: Rng, alphabet: string, n: number): string => {
  let s = "";
  for (let i = 0; i < n; i++) s += alphabet[rng.int(0, alphabet.length - 1)];
  return s;
};
const uuidLike = (rng: Rng): string =>
  `${fromAlphabet(rng, HEX, 8)}-${fromAlphabet(rng, HEX, 4)}-4${fromAlphabet(rng, HEX, 3)}-` +
  `${rng.pick(["8", "9", "a", "b"])}${fromAlphabet(rng, HEX, 3)}-${fromAlphabet(rng, HEX, 12)}`;

const DAY_MS = 86_400_000;
/** Build dates count back from here (the default seed's date), so ids look like the documented ones. */
const ANCHOR = Date.UTC(2024, 6, 12);
const ymd = (ms: number): string => new Date(ms).toISOString().slice(0, 10).replaceAll("-", "");

/** Weighted pick: `weights` are relative. */
function weighted<T>(rng: Rng, entries: ReadonlyArray<readonly [T, number]>): T {
  const total = entries.reduce((s, [, w]) => s + w, 0);
  let x = rng.next() * total;
  for (const [v, w] of entries) {
    x -= w;
    if (x < 0) return v;
  }
  return (entries[entries.length - 1] as readonly [T, number])[0];
}

/** Splits `total` over `n` buckets as evenly as possible, the remainder going to random buckets. */
function spread(rng: Rng, total: number, n: number): number[] {
  const counts = new Array<number>(n).fill(Math.floor(total / n));
  for (let r = total % n; r > 0; ) {
    const i = rng.int(0, n - 1);
    if (counts[i] === Math.floor(total / n)) {
      counts[i] = (counts[i] ?? 0) + 1;
      r--;
    }
  }
  return counts;
}

const sized = (scale: number, base: number): number => Math.max(1, Math.round(scale * base));

interface OsLine {
  /** The imageId prefix of a zec public build, e.g. "ubuntu2204". */
  key: string;
  zecName: string;
  zecVersion: string;
  vmName: string;
  vmVersion: string;
  category: string;
  osType: "linux" | "windows" | "bsd";
  size: string;
  nic: string[];
  /** Days before ANCHOR of the newest build (retired lines stopped being rebuilt). */
  endAgeDays: number;
}

const NIC_MODERN = ["FailOver", "VirtioOnly"];
const NIC_LEGACY = ["FailOver"];

function line(
  key: string,
  category: string,
  zecName: string,
  zecVersion: string,
  vmName: string,
  vmVersion: string,
  extra: Partial<Pick<OsLine, "osType" | "size" | "nic" | "endAgeDays">> = {},
): OsLine {
  return {
    key,
    category,
    zecName,
    zecVersion,
    vmName,
    vmVersion,
    osType: extra.osType ?? "linux",
    size: extra.size ?? "20",
    nic: extra.nic ?? NIC_MODERN,
    endAgeDays: extra.endAgeDays ?? 0,
  };
}

const WIN = { osType: "windows", size: "40", nic: NIC_LEGACY } as const;
const OS_LINES: readonly OsLine[] = [
  line(
    "ubuntu2404",
    "Ubuntu",
    "Ubuntu Server 24.04 LTS",
    "Server 24.04 LTS",
    "Ubuntu Server 24.04 LTS x86 64-bit",
    "24.04",
  ),
  line(
    "ubuntu2204",
    "Ubuntu",
    "Ubuntu Server 22.04 LTS",
    "Server 22.04 LTS",
    "Ubuntu Server 22.04 LTS x86 64-bit",
    "22.04",
  ),
  line(
    "ubuntu2004",
    "Ubuntu",
    "Ubuntu Server 20.04 LTS",
    "Server 20.04 LTS",
    "Ubuntu Server 20.04 LTS x86 64-bit",
    "20.04",
  ),
  line(
    "ubuntu1804",
    "Ubuntu",
    "Ubuntu Server 18.04 LTS",
    "Server 18.04 LTS",
    "Ubuntu Server 18.04 LTS x86 64-bit",
    "18.04",
    {
      endAgeDays: 40,
    },
  ),
  line(
    "ubuntu1604",
    "Ubuntu",
    "Ubuntu Server 16.04 LTS",
    "Server 16.04 LTS",
    "Ubuntu Server 16.04 LTS x86 64-bit",
    "16.04",
    {
      nic: NIC_LEGACY,
      endAgeDays: 400,
    },
  ),
  // Arm builds: names state the architecture as the vm seed's x86 ones do ("aarch64", "arm64"); the zec names of
  // x86 builds state none (the zec seed's), so those images are of unknown architecture.
  line(
    "ubuntu2204arm",
    "Ubuntu",
    "Ubuntu Server 22.04 LTS arm64",
    "Server 22.04 LTS",
    "Ubuntu Server 22.04 LTS aarch64",
    "22.04",
  ),
  line("debian12arm", "Debian", "Debian 12 aarch64", "12", "Debian 12.5 arm64", "12.5"),
  line("centos79", "CentOS", "CentOS 7.9", "7.9", "CentOS 7.9.2009 x86 64-bit", "7.9", { endAgeDays: 10 }),
  line("centos76", "CentOS", "CentOS 7.6", "7.6", "CentOS 7.6.1810 x86 64-bit", "7.6", {
    nic: NIC_LEGACY,
    endAgeDays: 700,
  }),
  line("centos74", "CentOS", "CentOS 7.4", "7.4", "CentOS 7.4.1708 x86 64-bit", "7.4", {
    nic: NIC_LEGACY,
    endAgeDays: 900,
  }),
  line("centos85", "CentOS", "CentOS 8.5", "8.5", "CentOS 8.5.2111 x86 64-bit", "8.5", { endAgeDays: 300 }),
  line("centosstream9", "CentOS", "CentOS Stream 9", "Stream 9", "CentOS Stream 9 x86 64-bit", "9"),
  line("debian12", "Debian", "Debian 12", "12", "Debian 12.5 Amd x86 64-bit", "12.5"),
  line("debian11", "Debian", "Debian 11", "11", "Debian 11.5 Amd x86 64-bit", "11.5"),
  line("debian10", "Debian", "Debian 10", "10", "Debian 10.13 Amd x86 64-bit", "10.13", { endAgeDays: 30 }),
  line(
    "win2022dc",
    "Windows",
    "Windows Server 2022 Datacenter",
    "2022 Datacenter",
    "Windows Server 2022 Datacenter 64-bit",
    "2022",
    WIN,
  ),
  line(
    "win2022std",
    "Windows",
    "Windows Server 2022 Standard",
    "2022 Standard",
    "Windows Server 2022 Standard 64-bit",
    "2022",
    WIN,
  ),
  line(
    "win2019dc",
    "Windows",
    "Windows Server 2019 Datacenter",
    "2019 Datacenter",
    "Windows Server 2019 Datacenter 64-bit",
    "2019",
    WIN,
  ),
  line(
    "win2019std",
    "Windows",
    "Windows Server 2019 Standard",
    "2019 Standard",
    "Windows Server 2019 Standard 64-bit",
    "2019",
    WIN,
  ),
  line(
    "win2016dc",
    "Windows",
    "Windows Server 2016 Datacenter",
    "2016 Datacenter",
    "Windows Server 2016 Datacenter 64-bit",
    "2016",
    {
      ...WIN,
      endAgeDays: 20,
    },
  ),
  line("rocky94", "Rocky", "Rocky Linux 9.4", "9.4", "Rocky Linux 9.4 x86 64-bit", "9.4"),
  line("rocky810", "Rocky", "Rocky Linux 8.10", "8.10", "Rocky Linux 8.10 x86 64-bit", "8.10"),
  line("almalinux94", "AlmaLinux", "AlmaLinux 9.4", "9.4", "AlmaLinux 9.4 x86 64-bit", "9.4"),
  line("almalinux810", "AlmaLinux", "AlmaLinux 8.10", "8.10", "AlmaLinux 8.10 x86 64-bit", "8.10"),
  line("freebsd141", "FreeBSD", "FreeBSD 14.1", "14.1", "FreeBSD 14.1 x86 64-bit", "14.1", {
    osType: "bsd",
    size: "10",
  }),
  line("freebsd133", "FreeBSD", "FreeBSD 13.3", "13.3", "FreeBSD 13.3 x86 64-bit", "13.3", {
    osType: "bsd",
    size: "10",
  }),
];
/** vm publishes a smaller set of families than zec. */
const VM_LINES = OS_LINES.filter((l) => l.category !== "FreeBSD" && !l.key.startsWith("centosstream"));

/** One-click application images on zec: an app on a base line, rebuilt like the OS lines. */
const ZEC_APPS: ReadonlyArray<{ key: string; name: string; base: string }> = [
  { key: "wordpress", name: "WordPress 6.5", base: "ubuntu2204" },
  { key: "docker", name: "Docker CE 26", base: "ubuntu2204" },
  { key: "lamp", name: "LAMP Stack", base: "centos79" },
  { key: "gitlab", name: "GitLab CE 17", base: "ubuntu2204" },
  { key: "nodejs", name: "Node.js 20", base: "debian12" },
  { key: "mysql", name: "MySQL 8.0", base: "rocky94" },
];

const CUSTOM_ROLES = ["web", "api", "db", "cache", "worker", "edge", "ci-runner", "game", "vpn", "k8s-node", "proxy"];
const CUSTOM_STAGES = ["prod", "staging", "dev", "base", "golden", "test"];
const TAG_VALUES: Readonly<Record<string, readonly string[]>> = {
  env: ["prod", "staging", "dev"],
  team: ["platform", "gaming", "data", "sre"],
  owner: ["ops", "build-bot", "alice", "bob"],
};

function customName(rng: Rng, ageDays: number): string {
  return `${rng.pick(CUSTOM_ROLES)}-${rng.pick(CUSTOM_STAGES)}-${ymd(ANCHOR - ageDays * DAY_MS)}`;
}

function customTags(rng: Rng): Array<{ key: string; value: string }> | null {
  if (rng.next() < 0.55) return null;
  const keys = Object.keys(TAG_VALUES).filter(() => rng.next() < 0.6);
  if (keys.length === 0) keys.push("env");
  return keys.map((key) => ({ key, value: rng.pick(TAG_VALUES[key] ?? ["x"]) }));
}

const ZEC_PUBLIC_STATUS = [
  ["AVAILABLE", 970],
  ["CREATING", 8],
  ["UNAVAILABLE", 12],
  ["SYNCING", 10],
] as const;
const ZEC_CUSTOM_STATUS = [
  ["AVAILABLE", 920],
  ["CREATING", 25],
  ["UNAVAILABLE", 25],
  ["SYNCING", 20],
  ["FAILED", 10],
] as const;
const VM_STATUS = [
  ["AVAILABLE", 960],
  ["CREATING", 15],
  ["UNAVAILABLE", 25],
] as const;

function zecPublic(l: OsLine, id: string, rng: Rng, opts: { status?: string; app?: { name: string } } = {}): ZlRecord {
  const source = opts.app ? "APP" : rng.next() < 0.12 ? "MARKETING" : "OFFICIAL";
  return {
    imageId: id,
    imageName: opts.app ? `${opts.app.name} on ${l.zecName}` : l.zecName,
    imageType: "PUBLIC_IMAGE",
    imageSource: source,
    imageSize: opts.app ? String(Number(l.size) + 20) : l.size,
    minDiskSize: opts.app ? Number(l.size) + 20 : Number(l.size),
    imageDescription: opts.app ? `${opts.app.name} preinstalled on ${l.zecName}` : null,
    imageVersion: l.zecVersion,
    imageStatus: opts.status ?? weighted(rng, ZEC_PUBLIC_STATUS),
    nicNetworkType: [...l.nic],
    category: l.category,
    osType: l.osType,
    tags: null,
  };
}

function zecCustom(rng: Rng, ageDays: number, status?: string): ZlRecord {
  const l = rng.pick(OS_LINES);
  const size = rng.pick(["20", "30", "40", "50", "80", "100", "200"]);
  const name = customName(rng, ageDays);
  return {
    imageId: "img-" + rng.id(20),
    imageName: name,
    imageType: "CUSTOM_IMAGE",
    imageSource: "CUSTOM",
    imageSize: size,
    minDiskSize: Number(size),
    imageDescription: rng.next() < 0.5 ? null : `Captured from instance ${name}`,
    imageVersion: l.zecVersion,
    imageStatus: status ?? weighted(rng, ZEC_CUSTOM_STATUS),
    nicNetworkType: [...l.nic],
    category: l.category,
    osType: l.osType,
    tags: customTags(rng),
  };
}

/** Dated builds of one line, newest first: ids like "ubuntu2204_20240712", unique per line. */
function datedBuilds(rng: Rng, prefix: string, endAgeDays: number, count: number): string[] {
  const ids: string[] = [];
  let age = endAgeDays;
  for (let i = 0; i < count; i++) {
    ids.push(`${prefix}_${ymd(ANCHOR - age * DAY_MS)}`);
    age += rng.int(1, 5);
  }
  return ids;
}

function insertAtRandom<T>(rng: Rng, list: T[], items: readonly T[]): void {
  for (const item of items) list.splice(rng.int(0, list.length), 0, item);
}

function generateZecZone(rng: Rng, total: number): ZlRecord[] {
  const customCount = Math.round(total * 0.12);
  const appCount = Math.round(total * 0.05);
  const publicCount = total - customCount - appCount;
  const records: ZlRecord[] = [];
  const perLine = spread(rng, publicCount, OS_LINES.length);
  OS_LINES.forEach((l, i) => {
    for (const id of datedBuilds(rng, l.key, l.endAgeDays, perLine[i] ?? 0)) records.push(zecPublic(l, id, rng));
  });
  const perApp = spread(rng, appCount, ZEC_APPS.length);
  ZEC_APPS.forEach((app, i) => {
    const base = OS_LINES.find((l) => l.key === app.base) ?? (OS_LINES[0] as OsLine);
    for (const id of datedBuilds(rng, `app-${app.key}-${base.key}`, base.endAgeDays, perApp[i] ?? 0)) {
      records.push(zecPublic(base, id, rng, { app }));
    }
  });
  const customs: ZlRecord[] = [];
  const seen = new Set<string>();
  while (customs.length < customCount) {
    const r = zecCustom(rng, rng.int(0, 900));
    if (seen.has(r["imageId"] as string)) continue;
    seen.add(r["imageId"] as string);
    customs.push(r);
  }
  // Customer images interleave with public ones: clients must not assume the listing is grouped.
  insertAtRandom(rng, records, customs);
  return records;
}

function vmRecord(rng: Rng, kind: "public" | "custom", status?: string): ZlRecord {
  const l = rng.pick(VM_LINES);
  const custom = kind === "custom";
  const size = custom ? rng.pick(["30", "40", "50", "80", "100", "200"]) : l.osType === "windows" ? "40" : "30";
  const name = custom ? customName(rng, rng.int(0, 900)) : l.vmName;
  // Key order as in the documented vm example.
  return {
    imageVersion: l.vmVersion,
    imageId: "img-" + fromAlphabet(rng, ALNUM_MIXED, 25),
    imageName: name,
    imageDescription: custom && rng.next() < 0.4 ? `Snapshot of ${name}` : null,
    osType: l.osType,
    imageSize: size,
    imageStatus: status ?? weighted(rng, VM_STATUS),
    category: l.category,
    imageType: custom ? "CUSTOM_IMAGE" : "PUBLIC_IMAGE",
  };
}

function generateVmZone(rng: Rng, total: number): ZlRecord[] {
  const records: ZlRecord[] = [];
  const seen = new Set<string>();
  while (records.length < total) {
    // vm zones hold a few dozen public images republished over time and a long tail of customer images.
    const r = vmRecord(rng, rng.next() < 0.35 ? "public" : "custom");
    if (seen.has(r["imageId"] as string)) continue;
    seen.add(r["imageId"] as string);
    records.push(r);
  }
  return records;
}

interface BmcBase {
  name: string;
  catalog: string;
  /** The spelling the docs' other examples use; the listing mixes both. */
  altCatalog: string;
  osType: "linux" | "windows";
}

const BMC_BASES: readonly BmcBase[] = (() => {
  const bases: BmcBase[] = [];
  const add = (catalog: string, altCatalog: string, osType: "linux" | "windows", names: string[]) => {
    for (const name of names) bases.push({ name, catalog, altCatalog, osType });
  };
  const linux = (names: string[]) => names.flatMap((n) => [n, `${n}-UEFI`]);
  add(
    "centos",
    "CentOS",
    "linux",
    linux(["CentOS6.10-x86_64", "CentOS7.4-x86_64", "CentOS7.6-x86_64", "CentOS7.9-x86_64"]),
  );
  add("centos", "CentOS", "linux", linux(["CentOS8.2-x86_64", "CentOS8.5-x86_64"]));
  add("Ubuntu", "ubuntu", "linux", linux(["Ubuntu16.04-x86_64", "Ubuntu18.04-x86_64", "Ubuntu20.04-x86_64"]));
  add("Ubuntu", "ubuntu", "linux", linux(["Ubuntu22.04-x86_64", "Ubuntu24.04-x86_64"]));
  add("debian", "Debian", "linux", linux(["Debian9.13-x86_64", "Debian10.13-x86_64", "Debian11.6-x86_64"]));
  add("debian", "Debian", "linux", linux(["Debian12.5-x86_64"]));
  add("windows", "Windows", "windows", ["Windows2012R2-Standard", "Windows2012R2-Datacenter"]);
  add("windows", "Windows", "windows", ["Windows2016-Standard", "Windows2016-Datacenter", "Windows2019-Standard"]);
  add("windows", "Windows", "windows", ["Windows2019-Datacenter", "Windows2022-Standard", "Windows2022-Datacenter"]);
  add("windows", "Windows", "windows", ["Windows2019-Datacenter-UEFI", "Windows2022-Datacenter-UEFI"]);
  // ESXi is neither linux nor windows, but the bmc OsType enum has only those two; the console lists it as linux.
  add("esxi", "ESXi", "linux", ["ESXi6.5", "ESXi6.7", "ESXi7.0", "ESXi8.0"]);
  return bases;
})();

function bmcRecord(rng: Rng, base: BmcBase, type: "PUBLIC_IMAGE" | "CUSTOM_IMAGE", name = base.name): ZlRecord {
  return {
    imageId: uuidLike(rng),
    imageName: name,
    catalog: rng.next() < 0.75 ? base.catalog : base.altCatalog,
    imageType: type,
    osType: base.osType,
  };
}

function generateBmc(rng: Rng, total: number): ZlRecord[] {
  let customCount = Math.round(total * 0.23);
  let publicCount = total - customCount;
  if (publicCount > BMC_BASES.length) {
    customCount += publicCount - BMC_BASES.length;
    publicCount = BMC_BASES.length;
  }
  // Keep the documented order of families, dropping random entries when the scale asks for fewer.
  const keep = new Set<number>();
  while (keep.size < publicCount) keep.add(rng.int(0, BMC_BASES.length - 1));
  const records = BMC_BASES.filter((_, i) => keep.has(i)).map((b) => bmcRecord(rng, b, "PUBLIC_IMAGE"));
  for (let i = 0; i < customCount; i++) {
    const base = rng.pick(BMC_BASES);
    const stem = base.name.replace(/-x86_64|-UEFI/g, "").toLowerCase();
    records.push(
      bmcRecord(rng, base, "CUSTOM_IMAGE", `${rng.pick(CUSTOM_ROLES)}-${stem}-raid${rng.pick([1, 10])}-v${i + 1}`),
    );
  }
  return records;
}

// ---------------------------------------------------------------------------------------------------
// The module
// ---------------------------------------------------------------------------------------------------

const asZl = (api: ApiId): ZenlayerApi => {
  if (api !== "zenlayer-bmc" && api !== "zenlayer-zec" && api !== "zenlayer-vm") {
    throw new Error(`the zenlayer dialect does not serve ${api}`);
  }
  return api;
};

/** bmc images carry no status: listed means usable. Elsewhere only AVAILABLE images can be used. */
const isUsable = (api: ApiId, record: ZlRecord): boolean =>
  asZl(api) === "zenlayer-bmc" || record["imageStatus"] === "AVAILABLE";

export const zenlayerDialect: DialectModule & {
  /** Proposed for the DialectModule contract: whether the provider reports this record usable now, so
   *  drift changes only images whose change the sync can observe. */
  isUsable(api: ApiId, record: Record<string, unknown>): boolean;
} = {
  apis: ["zenlayer-bmc", "zenlayer-zec", "zenlayer-vm"],

  generate(rng, scale) {
    const catalogue: Catalogue = new Map();
    catalogue.set("zenlayer-bmc", new Map([[BMC_SCOPE, generateBmc(rng, sized(scale, 60))]]));
    catalogue.set(
      "zenlayer-zec",
      new Map(ZEC_ZONES.map((z) => [z.zoneId, generateZecZone(rng, sized(scale, z.size))])),
    );
    catalogue.set("zenlayer-vm", new Map(VM_ZONES.map((z) => [z.zoneId, generateVmZone(rng, sized(scale, z.size))])));
    return catalogue;
  },

  newRecord(api, _scope, rng) {
    switch (asZl(api)) {
      case "zenlayer-bmc": {
        const base = rng.pick(BMC_BASES);
        return bmcRecord(rng, base, "PUBLIC_IMAGE");
      }
      case "zenlayer-zec": {
        if (rng.next() < 0.5) return zecCustom(rng, 0, "AVAILABLE");
        // A fresh build after the generated ones (a collision with an earlier drift is retried by the core).
        const l = rng.pick(OS_LINES);
        return zecPublic(l, `${l.key}_${ymd(ANCHOR + rng.int(1, 3650) * DAY_MS)}`, rng, { status: "AVAILABLE" });
      }
      case "zenlayer-vm":
        return vmRecord(rng, rng.next() < 0.5 ? "public" : "custom", "AVAILABLE");
    }
  },

  markUnusable(api, record) {
    // bmc images have no status: the provider withdraws them by removing them, so there is nothing to set.
    if (asZl(api) === "zenlayer-bmc") return;
    record["imageStatus"] = "UNAVAILABLE";
  },

  touch(api, record, rng) {
    if (asZl(api) === "zenlayer-bmc") {
      // bmc records carry neither size nor description: a re-published image gets a new revision suffix.
      const name = String(record["imageName"] ?? "");
      const m = /-r(\d+)$/.exec(name);
      record["imageName"] = m ? name.replace(/-r\d+$/, `-r${Number(m[1]) + 1}`) : `${name}-r2`;
      return;
    }
    if (rng.next() < 0.5) {
      record["imageDescription"] =
        `Refreshed ${ymd(ANCHOR + rng.int(1, 3650) * DAY_MS)}: security updates (${rng.id(6)})`;
    } else {
      const size = Number(record["imageSize"] ?? 0);
      const next = (Number.isFinite(size) && size > 0 ? size : 20) + rng.pick([5, 10, 20]);
      record["imageSize"] = String(next);
      if ("minDiskSize" in record) record["minDiskSize"] = next;
    }
  },

  imageId(_api, record) {
    return String(record["imageId"]);
  },

  isUsable,

  describe(req) {
    const m = PATH.exec(req.path);
    if (req.method !== "POST" || !m) return undefined;
    const service = m[1] as string;
    const api = (SERVICES[service] as { api: ZenlayerApi }).api;
    const action = req.headers["x-zc-action"] ?? "";
    const body = parseBody(req.body) ?? {};
    const pageNum = body["pageNum"];
    const paged = action === "DescribeImages" && api !== "zenlayer-bmc";
    let scope = "";
    if (action !== "DescribeZones") {
      if (api === "zenlayer-bmc") scope = BMC_SCOPE;
      else if (typeof body["zoneId"] === "string") scope = body["zoneId"];
    }
    return {
      api,
      action,
      scope,
      part: "",
      pageNumber: paged && typeof pageNum === "number" && Number.isInteger(pageNum) && pageNum >= 1 ? pageNum : 1,
    };
  },

  handle(req, info, ctx) {
    const service = PATH.exec(req.path)?.[1] ?? "";
    const api = asZl(info.api);
    const denied = authenticate(req, service, ctx);
    if (denied) return denied;
    if (info.action === "") {
      return errorReply(ctx, 400, "INVALID_ACTION", "The required header X-ZC-Action is missing.");
    }
    const known = info.action === "DescribeImages" || (info.action === "DescribeZones" && api !== "zenlayer-bmc");
    if (!known) {
      return errorReply(ctx, 400, "INVALID_ACTION", `The action ${info.action} is not supported by ${service}.`);
    }
    const body = parseBody(req.body);
    if (!body) return errorReply(ctx, 400, "INVALID_PARAMETER", "The request body is not a JSON object.");
    try {
      return info.action === "DescribeZones" ? describeZones(api, body, ctx) : describeImages(api, body, ctx);
    } catch (err) {
      if (err instanceof BadParameter) return errorReply(ctx, 400, "INVALID_PARAMETER_VALUE", err.message);
      throw err;
    }
  },

  failure(kind: FailureKind, _info: RequestInfo, ctx: DialectContext): EmulatorReply {
    switch (kind) {
      case "throttle":
        return errorReply(ctx, 429, "REQUEST_LIMIT_EXCEEDED", "Request limit exceeded, please try again later.");
      case "internal":
        return errorReply(ctx, 500, "INTERNAL_SERVER_ERROR", "An internal error occurred.");
      case "unavailable":
        return errorReply(ctx, 503, "SERVICE_TEMPORARY_UNAVAILABLE", "The service is temporarily unavailable.");
      case "auth":
        return errorReply(ctx, 401, "AUTH_FAILURE_SIGNATURE_INVALID", "The signature does not match.");
      case "expired":
        return errorReply(ctx, 401, "AUTH_FAILURE_SIGNATURE_EXPIRED", "The signature has expired.");
    }
  },
};
