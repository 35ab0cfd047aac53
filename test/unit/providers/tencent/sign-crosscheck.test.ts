// The project's Tencent signers against the official signer shipped in tencentcloud-sdk-nodejs-common, over
// hundreds of seeded inputs: unicode and empty bodies, long filter lists, timestamps across many dates,
// both content types, both legacy hash methods.
//
// How the SDK's sign3 derives its inputs (read from node_modules/.../common/sign.js, 4.1.x): host is
// `new URL(url).hostname` (so a port is NOT signed), path is the URL's pathname, the query string its search,
// content-type is `headers["Content-Type"]` verbatim, and a Buffer payload is hashed as is. The real service
// signs the Host header it receives (port included), which is why the project's signer takes the host
// explicitly; the cross-check therefore uses port-less URLs, and one test pins the difference.
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { createRng, type Rng } from "../../../../lib/emulator/rng.ts";
import {
  type LegacySignatureMethod,
  legacyStringToSign,
  signLegacy,
  signTc3,
} from "../../../../lib/providers/tencent/sign.ts";

interface Sign3Input {
  method?: string;
  url?: string;
  payload: unknown;
  timestamp: number;
  service: string;
  secretId: string;
  secretKey: string;
  multipart: boolean;
  boundary: string | undefined;
  headers: Record<string, string>;
}
interface SdkSign {
  sign(secretKey: string, signStr: string, signMethod: string): string;
  sign3(input: Sign3Input): string;
}

const require = createRequire(import.meta.url);
const Sign = (require("tencentcloud-sdk-nodejs-common/tencentcloud/common/sign") as { default: SdkSign }).default;

const CASES = 240;
const WORDS = [
  "未命名",
  "镜像",
  "😀",
  "é",
  "a b",
  "x&y=z",
  "\\u672a",
  '"quoted"',
  "tab\t",
  "line\nbreak",
  "img-abc123",
];
const HOSTS = ["cvm.tencentcloudapi.com", "cvm.ap-guangzhou.tencentcloudapi.com", "localhost", "127.0.0.1"];
const CONTENT_TYPES = ["application/json", "application/json; charset=utf-8"];

function randomText(rng: Rng, maxWords: number): string {
  const n = rng.int(0, maxWords);
  let s = "";
  for (let i = 0; i < n; i++) s += rng.next() < 0.5 ? rng.pick(WORDS) : rng.id(rng.int(1, 12));
  return s;
}

function randomBody(rng: Rng, i: number): string {
  if (i % 12 === 0) return ""; // empty body
  if (i % 12 === 1) return "{}";
  const filters = Array.from({ length: rng.int(0, i % 5 === 0 ? 10 : 3) }, () => ({
    Name: rng.pick(["image-id", "image-type", "image-name", "platform", "tag-key", `tag:${randomText(rng, 2)}`]),
    Values: Array.from({ length: rng.int(1, 5) }, () => randomText(rng, i % 7 === 0 ? 40 : 4)),
  }));
  const body: Record<string, unknown> = { Offset: rng.int(0, 10_000), Limit: rng.int(1, 100) };
  if (filters.length) body.Filters = filters;
  // Both serialisations occur in the wild: compact JSON and the documented spaced one with \u escapes.
  return rng.next() < 0.5
    ? JSON.stringify(body)
    : JSON.stringify(body, null, 1).replace(
        /[\u0080-\uffff]/g,
        (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
      );
}

/** Timestamps from 2001 to 2100, including UTC midnights and their neighbours. */
function randomTimestamp(rng: Rng, i: number): number {
  const t = rng.int(1_000_000_000, 4_102_444_800);
  if (i % 10 === 0) return t - (t % 86_400) + rng.pick([-1, 0, 1]);
  return t;
}

describe("signTc3 against the SDK's Sign.sign3", () => {
  it(`agrees on ${CASES} seeded inputs`, () => {
    const rng = createRng(20_240_601);
    const seenDates = new Set<string>();
    let unicode = 0;
    let empty = 0;
    for (let i = 0; i < CASES; i++) {
      const host = rng.pick(HOSTS);
      const contentType = rng.pick(CONTENT_TYPES);
      const body = randomBody(rng, i);
      const timestamp = randomTimestamp(rng, i);
      const secretId = `AKID${rng.id(32)}`;
      const secretKey = rng.id(32);
      const ours = signTc3({ host, contentType, body, timestamp, service: "cvm", secretId, secretKey });
      const theirs = Sign.sign3({
        method: "POST",
        url: `https://${host}/`,
        payload: Buffer.from(body, "utf8"),
        timestamp,
        service: "cvm",
        secretId,
        secretKey,
        multipart: false,
        boundary: undefined,
        headers: { "Content-Type": contentType },
      });
      expect(ours.authorization, `case ${i}: ${JSON.stringify({ host, contentType, timestamp, body })}`).toBe(theirs);
      seenDates.add(ours.credentialScope.slice(0, 10));
      if (/[\u0080-\uffff]/.test(body)) unicode++;
      if (body === "") empty++;
    }
    // The generator really covered what the test claims.
    expect(seenDates.size).toBeGreaterThan(200);
    expect(unicode).toBeGreaterThan(20);
    expect(empty).toBeGreaterThan(10);
  });

  it("agrees for other services in the credential scope", () => {
    for (const service of ["cvm", "region", "image"]) {
      const input = {
        host: `${service}.tencentcloudapi.com`,
        contentType: "application/json",
        body: '{"Product":"cvm"}',
      };
      const common = { timestamp: 1_700_000_000, service, secretId: "AKIDx", secretKey: "k" };
      expect(signTc3({ ...input, ...common }).authorization).toBe(
        Sign.sign3({
          method: "POST",
          url: `https://${input.host}/`,
          payload: Buffer.from(input.body),
          ...common,
          multipart: false,
          boundary: undefined,
          headers: { "Content-Type": input.contentType },
        }),
      );
    }
  });

  it("differs from the SDK when the host has a port: the SDK signs the hostname, the service the Host header", () => {
    const common = {
      contentType: "application/json",
      body: "{}",
      timestamp: 1_700_000_000,
      service: "cvm",
      secretId: "AKIDx",
      secretKey: "k",
    };
    const sdk = Sign.sign3({
      method: "POST",
      url: "http://127.0.0.1:8443/",
      payload: Buffer.from("{}"),
      timestamp: common.timestamp,
      service: "cvm",
      secretId: "AKIDx",
      secretKey: "k",
      multipart: false,
      boundary: undefined,
      headers: { "Content-Type": "application/json" },
    });
    expect(signTc3({ ...common, host: "127.0.0.1" }).authorization).toBe(sdk);
    expect(signTc3({ ...common, host: "127.0.0.1:8443" }).authorization).not.toBe(sdk);
  });
});

describe("signLegacy against the SDK's Sign.sign", () => {
  it(`agrees on ${CASES} seeded strings to sign, both methods`, () => {
    const rng = createRng(7);
    const methods = new Set<string>();
    for (let i = 0; i < CASES; i++) {
      const method: LegacySignatureMethod = i % 2 === 0 ? "HmacSHA1" : "HmacSHA256";
      const params: Record<string, string> = {
        Action: "DescribeImages",
        Region: rng.pick(["gz", "ap-guangzhou", "na-siliconvalley"]),
        Nonce: String(rng.int(1, 2 ** 31 - 2)),
        Timestamp: String(randomTimestamp(rng, i)),
        SecretId: `AKID${rng.id(32)}`,
        SignatureMethod: method,
      };
      for (let f = 0; f < rng.int(0, 6); f++) {
        params[`Filters.${f}.Name`] = rng.pick(["image-id", "image-type", "image-name"]);
        params[`Filters.${f}.Values.1`] = randomText(rng, 3);
      }
      params[rng.pick(["offset", "Offset"])] = String(rng.int(0, 5000));
      const key = i % 17 === 0 ? rng.pick(WORDS) + rng.id(20) : rng.id(32);
      const sts = legacyStringToSign(
        "GET",
        rng.pick(["cvm.api.qcloud.com", "image.api.qcloud.com", "127.0.0.1:9000"]),
        "/v2/index.php",
        params,
      );
      expect(signLegacy(key, sts, method), `case ${i}: ${sts}`).toBe(Sign.sign(key, sts, method));
      methods.add(method);
    }
    expect([...methods].sort()).toEqual(["HmacSHA1", "HmacSHA256"]);
  });
});
