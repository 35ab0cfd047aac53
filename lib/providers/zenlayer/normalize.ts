// Zenlayer records (bmc ImageInfo, zec Image, vm ImageInfo) -> FetchedImage, plus the record checks that
// guard it: a page with a record we cannot identify is refused whole, because a sweep built on it would
// silently miss (and so deprecate) that image.
import { type ErrorContext, MalformedResponseError } from "../../errors.ts";
import type { FetchedImage, ImageType } from "../../model.ts";
import { lowerOrNull, numOrNull, osFamilyFrom, strOrNull, versionFrom } from "../normalize.ts";
import { isObject } from "./client.ts";

/** A record that passed checkImageRecords: an object with a non-empty string imageId. */
export type ZenlayerRecord = Record<string, unknown> & { imageId: string };

/** The records of a listing, each checked; MalformedResponseError naming the first bad field path. */
export function checkImageRecords(list: unknown[], path: string, context: ErrorContext): ZenlayerRecord[] {
  return list.map((r, i) => {
    const at = `${path}[${i}]`;
    if (!isObject(r)) throw new MalformedResponseError(`${at} is not an object (got ${kindOf(r)})`, { context });
    const id = r.imageId;
    if (id === undefined || id === null) throw new MalformedResponseError(`${at}.imageId is missing`, { context });
    if (typeof id !== "string" || id === "")
      throw new MalformedResponseError(`${at}.imageId must be a non-empty string (got ${kindOf(id)})`, { context });
    return r as ZenlayerRecord;
  });
}

export function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "string") return v === "" ? "empty string" : "string";
  return typeof v;
}

const IMAGE_TYPES: Record<string, ImageType> = { PUBLIC_IMAGE: "public", CUSTOM_IMAGE: "custom" };

/** PUBLIC_IMAGE -> public, CUSTOM_IMAGE -> custom; an unknown value as the provider spelled it. */
export function zenlayerImageType(v: unknown): ImageType | string | null {
  if (typeof v !== "string" || v === "") return null;
  return IMAGE_TYPES[v] ?? v;
}

// Zenlayer has no architecture field; its image names say it ("x86 64-bit", "CentOS7.4-x86_64").
// Separators include "_" so "Ubuntu_x86_64" counts, and "arm" must be a whole token so "Farm" does not.
const X86_64 = /(?:^|[^a-z0-9])(?:x86[\s_-]?64|amd64|x64)(?=$|[^a-z0-9])/i;
const ARM64 = /(?:^|[^a-z0-9])(?:aarch64|arm64|armv8|arm)(?=$|[^a-z0-9])/i;

/** "x86_64" or "arm64" when the image name says so, else null. */
export function architectureFromName(name: unknown): string | null {
  if (typeof name !== "string") return null;
  if (X86_64.test(name)) return "x86_64";
  if (ARM64.test(name)) return "arm64";
  return null;
}

/** The name without architecture tokens, so "x86_64 Ubuntu 22.04" yields 22.04 and not 86. */
function withoutArchitecture(name: unknown): unknown {
  if (typeof name !== "string") return name;
  return name.replace(/x86[\s_-]?64(?:[\s-]?bit)?|amd64|aarch64|arm64|\b\d+[\s-]?bit\b/gi, " ");
}

const UNUSABLE_STATUSES = new Set(["UNAVAILABLE", "FAILED", "DELETING"]);

/** What an imageStatus means. Transitional (CREATING, SYNCING, PROCESSING) and unknown statuses are neither
 *  usable nor a reason to deprecate: the image may yet become available. */
export function zenlayerStatus(status: string | null): Pick<FetchedImage, "available" | "unusable"> {
  return {
    available: status === "AVAILABLE",
    unusable: status !== null && UNUSABLE_STATUSES.has(status) ? "status" : null,
  };
}

/** A zec Image or vm ImageInfo record. */
export function normalizeZonalImage(r: ZenlayerRecord): FetchedImage {
  const status = strOrNull(r.imageStatus);
  return {
    imageId: r.imageId,
    name: strOrNull(r.imageName),
    description: strOrNull(r.imageDescription),
    osType: lowerOrNull(r.osType),
    osFamily: osFamilyFrom(r.category, r.imageName),
    osVersion: versionFrom(r.imageVersion, withoutArchitecture(r.imageName)),
    architecture: architectureFromName(r.imageName),
    imageType: zenlayerImageType(r.imageType),
    // Zenlayer has no image families.
    family: null,
    status,
    ...zenlayerStatus(status),
    sizeGiB: numOrNull(r.imageSize),
    createdAt: null,
    raw: r,
  };
}

/** A bmc ImageInfo record. bmc has no status: an image it lists is usable. */
export function normalizeBmcImage(r: ZenlayerRecord): FetchedImage {
  return {
    imageId: r.imageId,
    name: strOrNull(r.imageName),
    description: strOrNull(r.imageDescription),
    osType: lowerOrNull(r.osType),
    osFamily: osFamilyFrom(r.catalog, r.imageName),
    osVersion: versionFrom(withoutArchitecture(r.imageName)),
    architecture: architectureFromName(r.imageName),
    imageType: zenlayerImageType(r.imageType),
    family: null,
    status: null,
    available: true,
    unusable: null,
    sizeGiB: null,
    createdAt: null,
    raw: r,
  };
}
