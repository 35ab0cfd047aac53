// ZC2-HMAC-SHA256: Zenlayer Cloud API 2.0 request signing (no key derivation, canonical URI always "/").
import { createHash, createHmac } from "node:crypto";

export const ZC2_ALGORITHM = "ZC2-HMAC-SHA256";

export interface Zc2Input {
  host: string;
  contentType: string;
  /** The exact body bytes sent. */
  body: string | Uint8Array;
  timestamp: number;
  accessKeyId: string;
  accessKeyPassword: string;
}

export interface Zc2Signature {
  bodyHash: string;
  canonicalHash: string;
  signature: string;
  authorization: string;
}

const sha256Hex = (data: string | Uint8Array): string => createHash("sha256").update(data).digest("hex");

export function signZc2(input: Zc2Input): Zc2Signature {
  const bodyHash = sha256Hex(input.body);
  const canonical = `POST\n/\n\ncontent-type:${input.contentType}\nhost:${input.host}\n\ncontent-type;host\n${bodyHash}`;
  const canonicalHash = sha256Hex(canonical);
  const stringToSign = `${ZC2_ALGORITHM}\n${input.timestamp}\n${canonicalHash}`;
  const signature = createHmac("sha256", input.accessKeyPassword).update(stringToSign).digest("hex");
  const authorization = `${ZC2_ALGORITHM} Credential=${input.accessKeyId}, SignedHeaders=content-type;host, Signature=${signature}`;
  return { bodyHash, canonicalHash, signature, authorization };
}

/** Parses an Authorization header of the ZC2 form; undefined when it is not one. */
export function parseZc2Authorization(
  header: string,
): { accessKeyId: string; signedHeaders: string; signature: string } | undefined {
  const m = /^ZC2-HMAC-SHA256 Credential=([^,\s]+), SignedHeaders=([^,\s]+), Signature=([0-9a-f]{64})$/.exec(header);
  if (!m) return undefined;
  return { accessKeyId: m[1] as string, signedHeaders: m[2] as string, signature: m[3] as string };
}
