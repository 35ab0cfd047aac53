// Contracts between the emulator's HTTP core (server.ts) and its per-provider dialect modules
// (zenlayer.ts, tencent.ts). The core parses HTTP, counts requests, injects faults and dispatches;
// a dialect module speaks the wire: it describes, authenticates and answers requests.
import type { ApiId } from "../model.ts";
import type { Rng } from "./rng.ts";

export interface EmulatorRequest {
  method: string;
  /** Path without query, e.g. "/api/v2/zec", "/", "/v2/index.php". */
  path: string;
  query: URLSearchParams;
  /** Lower-case header names. */
  headers: Record<string, string | undefined>;
  /** The Host header exactly as received (signatures cover it). */
  host: string;
  body: string;
}

export interface EmulatorReply {
  status: number;
  headers?: Record<string, string>;
  body: string;
}

/** What a request is about, read before authentication so faults can target it. */
export interface RequestInfo {
  api: ApiId;
  /** DescribeImages, DescribeZones, DescribeRegions, ... */
  action: string;
  /** Zone or region; "global" for zenlayer-bmc; "" for discovery calls. */
  scope: string;
  /** Sub-listing ("" unless the dialect has parts, e.g. tencent-cvm-v2 imageType "1".."4"). */
  part: string;
  /** 1-based page number derived from the paging parameters (1 for unpaged calls). */
  pageNumber: number;
}

/** Kinds of canned failure every dialect can render in its own envelope. */
export type FailureKind = "throttle" | "internal" | "unavailable" | "auth" | "expired";

export interface EmulatorCredentialSet {
  zenlayer: { accessKeyId: string; accessKeySecret: string; token: string };
  tencent: { secretId: string; secretKey: string };
}

/** The catalogue: per API, per scope, the provider's records in listing order, in wire shape. */
export type Catalogue = Map<ApiId, Map<string, Record<string, unknown>[]>>;

export interface DialectContext {
  catalogue: Catalogue;
  credentials: EmulatorCredentialSet;
  /** Unix milliseconds (the emulator's clock; tests may skew it). */
  now(): number;
  /** Nonces already used (legacy Tencent replay protection). */
  usedNonces: Set<string>;
  /** A fresh provider-style request id. */
  requestId(): string;
}

export interface DialectModule {
  /** The APIs this module speaks, serves and generates catalogue records for. */
  readonly apis: readonly ApiId[];
  /** A realistic catalogue for this module's APIs: per API, per scope, records in listing order.
   *  `scale` multiplies the default sizes (1 = the demo catalogue: thousands of images). */
  generate(rng: Rng, scale: number): Catalogue;
  /** A new, usable record for `scope` of `api` (drift: an image added by the provider). */
  newRecord(api: ApiId, scope: string, rng: Rng): Record<string, unknown>;
  /** Changes a record in place so the provider reports it unusable (UNAVAILABLE, CREATEFAILED, ...). */
  markUnusable(api: ApiId, record: Record<string, unknown>): void;
  /** Changes a record in place in a way that is not a status change (drift: description, size). */
  touch(api: ApiId, record: Record<string, unknown>, rng: Rng): void;
  /** The record's image id. */
  imageId(api: ApiId, record: Record<string, unknown>): string;
  /** True when the provider would report the record usable (drift only makes usable images unusable). */
  isUsable?(api: ApiId, record: Record<string, unknown>): boolean;
  /** The request's API, action, scope and page, or undefined when this module does not speak it. */
  describe(req: EmulatorRequest): RequestInfo | undefined;
  /** Verifies auth and answers the request from the catalogue. Never throws for bad input: answers an error. */
  handle(req: EmulatorRequest, info: RequestInfo, ctx: DialectContext): EmulatorReply;
  /** A canned failure in this dialect's envelope (HTTP status and code as the real service sends them). */
  failure(kind: FailureKind, info: RequestInfo, ctx: DialectContext): EmulatorReply;
}
