// Tencent Cloud request signing: TC3-HMAC-SHA256 (API 3.0) and the legacy query signature
// (HmacSHA1 / HmacSHA256) used by the v2 index.php endpoints.
import { createHash, createHmac } from "node:crypto";

export const TC3_ALGORITHM = "TC3-HMAC-SHA256";

export interface Tc3Input {
  host: string;
  contentType: string;
  body: string | Uint8Array;
  /** Unix seconds. */
  timestamp: number;
  /** The service name in the credential scope, e.g. "cvm". */
  service: string;
  secretId: string;
  secretKey: string;
}

export interface Tc3Signature {
  bodyHash: string;
  canonicalHash: string;
  credentialScope: string;
  signature: string;
  authorization: string;
}

const sha256Hex = (data: string | Uint8Array): string => createHash("sha256").update(data).digest("hex");
const hmac = (key: string | Buffer, data: string): Buffer => createHmac("sha256", key).update(data).digest();

export function signTc3(input: Tc3Input): Tc3Signature {
  const bodyHash = sha256Hex(input.body);
  const canonical = `POST\n/\n\ncontent-type:${input.contentType}\nhost:${input.host}\n\ncontent-type;host\n${bodyHash}`;
  const canonicalHash = sha256Hex(canonical);
  const date = new Date(input.timestamp * 1000).toISOString().slice(0, 10);
  const credentialScope = `${date}/${input.service}/tc3_request`;
  const stringToSign = `${TC3_ALGORITHM}\n${input.timestamp}\n${credentialScope}\n${canonicalHash}`;
  const kDate = hmac(`TC3${input.secretKey}`, date);
  const kService = hmac(kDate, input.service);
  const kSigning = hmac(kService, "tc3_request");
  const signature = createHmac("sha256", kSigning).update(stringToSign).digest("hex");
  const authorization = `${TC3_ALGORITHM} Credential=${input.secretId}/${credentialScope}, SignedHeaders=content-type;host, Signature=${signature}`;
  return { bodyHash, canonicalHash, credentialScope, signature, authorization };
}

/** Parses a TC3 Authorization header; undefined when it is not one. */
export function parseTc3Authorization(
  header: string,
): { secretId: string; date: string; service: string; signedHeaders: string; signature: string } | undefined {
  const m =
    /^TC3-HMAC-SHA256 Credential=([^/\s]+)\/(\d{4}-\d{2}-\d{2})\/([a-z0-9]+)\/tc3_request, SignedHeaders=([^,\s]+), Signature=([0-9a-f]{64})$/.exec(
      header,
    );
  if (!m) return undefined;
  return {
    secretId: m[1] as string,
    date: m[2] as string,
    service: m[3] as string,
    signedHeaders: m[4] as string,
    signature: m[5] as string,
  };
}

export type LegacySignatureMethod = "HmacSHA1" | "HmacSHA256";

/** The legacy string to sign: GET + host + path + "?" + params sorted by name (byte order), raw k=v joined by &. */
export function legacyStringToSign(method: string, host: string, path: string, params: Record<string, string>): string {
  const keys = Object.keys(params).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return `${method}${host}${path}?${keys.map((k) => `${k}=${params[k]}`).join("&")}`;
}

/** base64(HMAC(secretKey, stringToSign)); the service uses SHA256 only when SignatureMethod says HmacSHA256. */
export function signLegacy(secretKey: string, stringToSign: string, method: LegacySignatureMethod): string {
  return createHmac(method === "HmacSHA256" ? "sha256" : "sha1", secretKey)
    .update(stringToSign)
    .digest("base64");
}

/** RFC 3986 encoding with upper-case hex, as the legacy endpoints expect every value sent. */
export function rfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The full query string of a signed legacy GET request (params must not yet contain Signature). */
export function signedLegacyQuery(
  host: string,
  path: string,
  params: Record<string, string>,
  secretKey: string,
): string {
  const method: LegacySignatureMethod = params.SignatureMethod === "HmacSHA256" ? "HmacSHA256" : "HmacSHA1";
  const signature = signLegacy(secretKey, legacyStringToSign("GET", host, path, params), method);
  const all = { ...params, Signature: signature };
  return Object.keys(all)
    .map((k) => `${rfc3986(k)}=${rfc3986(all[k as keyof typeof all] as string)}`)
    .join("&");
}
