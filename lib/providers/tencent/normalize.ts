// Tencent image records -> FetchedImage: the API 3.0 Image (tencent-cvm), the image.api.qcloud.com
// 2017-03-12 record (tencent-image-v2) and the oldest cvm.api.qcloud.com record (tencent-cvm-v2).
// Records reaching here passed checkRecords, so the id is a non-empty string; every other field is read
// defensively because the provider's docs and its examples disagree on spelling and types.
import type { FetchedImage, ImageType } from "../../model.ts";
import { lowerOrNull, numOrNull, osFamilyFrom, strOrNull, versionFrom } from "../normalize.ts";

type Rec = Record<string, unknown>;

// Families that are Linux distributions; anything else (FreeBSD, an unknown platform) gets no osType.
const LINUX_FAMILIES = new Set([
  "ubuntu",
  "centos",
  "debian",
  "rocky",
  "almalinux",
  "opensuse",
  "suse",
  "fedora",
  "coreos",
  "tencentos",
  "opencloudos",
  "redhat",
  "oracle",
]);

const compact = (s: string): string => s.toLowerCase().replace(/[\s_-]+/g, "");

/** osFamilyFrom, except that a text merely containing "TencentOS" is not read as CentOS: the shared matcher
 *  prefers a family the text starts with, but falls back to the first family the text contains. */
export function tencentOsFamily(...texts: unknown[]): string | null {
  const family = osFamilyFrom(...texts);
  if (family !== "centos") return family;
  // The text that produced "centos": when its only CentOS is the one inside "TencentOS", it means TencentOS.
  const source = texts.find((t) => typeof t === "string" && osFamilyFrom(t) === "centos") as string | undefined;
  if (source === undefined) return family;
  const c = compact(source);
  return c.includes("tencentos") && !c.replace(/tencentos/g, "").includes("centos") ? "tencentos" : family;
}

/** "windows" when any text says Windows, "linux" for a known Linux family or a text saying Linux, else null. */
export function osTypeFrom(family: string | null, ...texts: unknown[]): string | null {
  const said = texts.filter((t): t is string => typeof t === "string").map((t) => t.toLowerCase());
  if (family === "windows" || said.some((t) => t.includes("windows"))) return "windows";
  if ((family !== null && LINUX_FAMILIES.has(family)) || said.some((t) => /linux/.test(t))) return "linux";
  return null;
}

// Architecture and bitness tokens carry digits that are not the OS version. The shared versionFrom strips the
// 64-bit ones; image-v2's OS names also say "x86_32" ("x86_32 CentOS 6.6" is 6.6, not 86).
const ARCH_TOKENS = /x86[\s_-]?(?:64|32)|amd64|aarch64|arm64|i[36]86|\d+[\s-]?(?:bit|位)/gi;

/** The dotted OS version from the OS name first, then the image name, ignoring architecture tokens. */
export function tencentOsVersion(...texts: unknown[]): string | null {
  return versionFrom(...texts.map((t) => (typeof t === "string" ? t.replace(ARCH_TOKENS, " ") : t)));
}

/** The Architecture field: x86_64, arm (Tencent's spelling) -> arm64, i386; another value lower-cased. */
export function architectureFrom(v: unknown): string | null {
  const s = lowerOrNull(v);
  if (s === null) return null;
  if (s === "x86_64" || s === "amd64" || s === "x64") return "x86_64";
  if (s === "arm" || s === "arm64" || s === "aarch64") return "arm64";
  if (s === "i386" || s === "i686" || s === "x86" || s === "x86_32") return "i386";
  return s;
}

/** The legacy cvm record has no architecture: read the bitness its OS name states, when it states one. */
export function architectureFromOsName(...texts: unknown[]): string | null {
  for (const t of texts) {
    if (typeof t !== "string") continue;
    if (/arm|aarch64/i.test(t)) return "arm64";
    const is64 = /64[\s-]?(?:bit|位)|x86_64|amd64/i.test(t);
    const is32 = /32[\s-]?(?:bit|位)|x86_32|i[36]86/i.test(t);
    if (is64 && !is32) return "x86_64";
    if (is32 && !is64) return "i386";
  }
  return null;
}

/** API 3.0 ImageFamily as the provider spelled it (trimmed); "" or absent (no family) is null. */
export function imageFamilyFrom(v: unknown): string | null {
  return typeof v === "string" && v.trim() !== "" ? v.trim() : null;
}

/** API 3.0 / image-v2 ImageType: PUBLIC_IMAGE, PRIVATE_IMAGE, SHARED_IMAGE, marketplace types. */
export function imageTypeFrom(v: unknown): ImageType | string | null {
  if (typeof v !== "string" || v === "") return null;
  if (v === "PUBLIC_IMAGE") return "public";
  if (v === "PRIVATE_IMAGE") return "custom";
  if (v === "SHARED_IMAGE") return "shared";
  if (/MARKET/i.test(v)) return "marketplace";
  return v;
}

const LEGACY_TYPES: Record<string, ImageType> = { "1": "custom", "2": "public", "3": "marketplace", "4": "shared" };

/** Legacy numeric imageType: 1 private, 2 public, 3 service marketplace, 4 shared; unknown as its string. */
export function legacyImageTypeFrom(v: unknown): ImageType | string | null {
  if (v === undefined || v === null || v === "") return null;
  const key = String(v);
  return LEGACY_TYPES[key] ?? key;
}

const AVAILABLE_STATES = new Set(["NORMAL", "USING"]);
const FAILED_STATES = new Set(["CREATEFAILED", "IMPORTFAILED"]);

/** API 3.0 / image-v2 state. CREATING, SYNCING, IMPORTING and unknown states are neither usable nor a reason
 *  to deprecate: the image may yet become available. A deprecated image cannot launch machines, whatever
 *  its state says, so the flag also withdraws `available`. */
export function stateOf(state: string | null, deprecated: unknown): Pick<FetchedImage, "available" | "unusable"> {
  const flagged = deprecated === true;
  return {
    available: state !== null && AVAILABLE_STATES.has(state) && !flagged,
    unusable: flagged ? "flag" : state !== null && FAILED_STATES.has(state) ? "status" : null,
  };
}

/** An ISO 8601 instant as ISO UTC; a value without an offset is UTC, as API 3.0 documents. Else null. */
export function isoTimeFrom(v: unknown): string | null {
  if (typeof v !== "string") return null;
  const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|[+-]\d{2}:?\d{2})?$/i.exec(v.trim());
  if (!m) return null;
  const zone =
    m[3] === undefined ? "Z" : m[3].toUpperCase() === "Z" ? "Z" : m[3].replace(/^([+-]\d{2})(\d{2})$/, "$1:$2");
  const ms = Date.parse(`${m[1]}T${m[2]}${zone}`);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

/** The legacy "2014-09-27 10:11:00", which is Beijing time (UTC+8, no daylight saving), as ISO UTC. */
export function beijingTimeFrom(v: unknown): string | null {
  if (typeof v !== "string") return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?$/.exec(v.trim());
  if (!m) return null;
  const [y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0] = m.slice(1).map((x) => Number(x ?? 0));
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return null;
  const local = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  // Date.UTC rolls 31 February over into March; a date that does not exist is not a date.
  if (local.getUTCDate() !== d || local.getUTCMonth() !== mo - 1) return null;
  return new Date(local.getTime() - 8 * 3_600_000).toISOString();
}

/** An API 3.0 Image (tencent-cvm). */
export function normalizeApi3Image(r: Rec): FetchedImage {
  const family = tencentOsFamily(r.Platform, r.OsName, r.ImageName);
  const status = strOrNull(r.ImageState);
  return {
    imageId: r.ImageId as string,
    name: strOrNull(r.ImageName),
    description: strOrNull(r.ImageDescription),
    osType: osTypeFrom(family, r.Platform, r.OsName),
    osFamily: family,
    osVersion: tencentOsVersion(r.OsName, r.ImageName),
    architecture: architectureFrom(r.Architecture),
    imageType: imageTypeFrom(r.ImageType),
    family: imageFamilyFrom(r.ImageFamily),
    status,
    ...stateOf(status, r.ImageDeprecated),
    sizeGiB: numOrNull(r.ImageSize),
    createdAt: isoTimeFrom(r.CreatedTime),
    raw: r,
  };
}

/** An image.api.qcloud.com 2017-03-12 record (tencent-image-v2). It has no size and no deprecation flag. */
export function normalizeImageV2Image(r: Rec): FetchedImage {
  const family = tencentOsFamily(r.Platform, r.ImageOsName, r.ImageName);
  const status = strOrNull(r.ImageStatus);
  return {
    imageId: r.ImageId as string,
    name: strOrNull(r.ImageName),
    description: strOrNull(r.ImageDescription),
    osType: osTypeFrom(family, r.Platform, r.ImageOsName),
    osFamily: family,
    osVersion: tencentOsVersion(r.ImageOsName, r.ImageName),
    architecture: architectureFrom(r.Architecture),
    imageType: imageTypeFrom(r.ImageType),
    // The 2017-03-12 dialect has no image families.
    family: null,
    status,
    ...stateOf(status, r.ImageDeprecated),
    sizeGiB: numOrNull(r.ImageSize),
    createdAt: isoTimeFrom(r.ImageCreateTime),
    raw: r,
  };
}

// Legacy numeric status: 1 creating, 2 normal, 3 in use, 4 synchronizing, 5 copying. None says "failed",
// so a legacy image is never unusable by status: it can only disappear from the listing.
const LEGACY_AVAILABLE = new Set(["2", "3"]);

/** A cvm.api.qcloud.com record (tencent-cvm-v2). `creator` is also spelled `createor`; raw keeps whichever came. */
export function normalizeCvmV2Image(r: Rec): FetchedImage {
  const family = tencentOsFamily(r.osName, r.imageName);
  const status = r.status === undefined || r.status === null || r.status === "" ? null : String(r.status);
  return {
    imageId: r.unImgId as string,
    name: strOrNull(r.imageName),
    description: strOrNull(r.imageDescription),
    osType: osTypeFrom(family, r.osName),
    osFamily: family,
    osVersion: tencentOsVersion(r.osName, r.imageName),
    architecture: architectureFromOsName(r.osName, r.imageName),
    imageType: legacyImageTypeFrom(r.imageType),
    family: null,
    status,
    available: status !== null && LEGACY_AVAILABLE.has(status),
    unusable: null,
    sizeGiB: null,
    createdAt: beijingTimeFrom(r.createTime),
    raw: r,
  };
}
