// The Tencent signers against every published vector in ../shared/reference/PROVIDERS.md: TC3-HMAC-SHA256
// (body hash, canonical hash, signature, Authorization) and the legacy query signature (string to sign
// rebuilt from the parameters, signature, URL-encoded form).
import { describe, expect, it } from "vitest";
import {
  legacyStringToSign,
  parseTc3Authorization,
  rfc3986,
  signedLegacyQuery,
  signLegacy,
  signTc3,
} from "../../../../lib/providers/tencent/sign.ts";

const TC3 = {
  host: "cvm.tencentcloudapi.com",
  timestamp: 1551113065,
  service: "cvm",
  secretId: "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
  secretKey: "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
};

describe("signTc3", () => {
  it("reproduces the documented example (vector 1) step by step", () => {
    const s = signTc3({
      ...TC3,
      contentType: "application/json; charset=utf-8",
      // The \u escapes are literal bytes of the body, not characters.
      body: '{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}',
    });
    expect(s.bodyHash).toBe("35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064");
    expect(s.canonicalHash).toBe("5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031");
    expect(s.credentialScope).toBe("2019-02-25/cvm/tc3_request");
    expect(s.signature).toBe("72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168");
    expect(s.authorization).toBe(
      "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, " +
        "SignedHeaders=content-type;host, Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168",
    );
  });

  it("reproduces vector 2 (DescribeImages with an image-type filter)", () => {
    const s = signTc3({
      ...TC3,
      contentType: "application/json",
      body: '{"Filters":[{"Name":"image-type","Values":["PRIVATE_IMAGE"]}],"Limit":100,"Offset":0}',
    });
    expect(s.signature).toBe("f591d4d02faf840ced656d8d7f39f36cdd0b084f5865ffb9721e5b8aa7831dfb");
    expect(s.authorization).toBe(
      "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, " +
        "SignedHeaders=content-type;host, Signature=f591d4d02faf840ced656d8d7f39f36cdd0b084f5865ffb9721e5b8aa7831dfb",
    );
  });

  it("signs bytes and the same text as a string identically", () => {
    const body = '{"Name":"未命名"}';
    const a = signTc3({ ...TC3, contentType: "application/json", body });
    const b = signTc3({ ...TC3, contentType: "application/json", body: new TextEncoder().encode(body) });
    expect(b.signature).toBe(a.signature);
  });

  it("changes the signature when host, content type, body, timestamp or key change", () => {
    const base = { ...TC3, contentType: "application/json", body: "{}" };
    const sig = signTc3(base).signature;
    expect(signTc3({ ...base, host: "cvm.tencentcloudapi.com:8443" }).signature).not.toBe(sig);
    expect(signTc3({ ...base, contentType: "application/json; charset=utf-8" }).signature).not.toBe(sig);
    expect(signTc3({ ...base, body: "{ }" }).signature).not.toBe(sig);
    expect(signTc3({ ...base, timestamp: base.timestamp + 1 }).signature).not.toBe(sig);
    expect(signTc3({ ...base, secretKey: `${base.secretKey}x` }).signature).not.toBe(sig);
  });

  it("uses the UTC date of the timestamp in the scope (not the local date)", () => {
    // 2019-02-25T23:59:59Z and one second later straddle a UTC midnight.
    expect(signTc3({ ...TC3, contentType: "a", body: "", timestamp: 1551139199 }).credentialScope).toBe(
      "2019-02-25/cvm/tc3_request",
    );
    expect(signTc3({ ...TC3, contentType: "a", body: "", timestamp: 1551139200 }).credentialScope).toBe(
      "2019-02-26/cvm/tc3_request",
    );
  });
});

describe("parseTc3Authorization", () => {
  it("parses what signTc3 writes", () => {
    const s = signTc3({ ...TC3, contentType: "application/json", body: "{}" });
    expect(parseTc3Authorization(s.authorization)).toEqual({
      secretId: TC3.secretId,
      date: "2019-02-25",
      service: "cvm",
      signedHeaders: "content-type;host",
      signature: s.signature,
    });
  });

  it.each([
    "",
    "Bearer abc",
    "TC3-HMAC-SHA256 Credential=AKID/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, Signature=abc",
    "TC3-HMAC-SHA256 Credential=AKID/20190225/cvm/tc3_request, SignedHeaders=content-type;host, Signature=" +
      "a".repeat(64),
  ])("refuses %j", (header) => {
    expect(parseTc3Authorization(header)).toBeUndefined();
  });
});

const LEGACY_ID = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA";
const LEGACY_KEY = "Gu5t9xGARNpq86cd98joQYCN3Cozk1qA";

interface LegacyVector {
  name: string;
  host: string;
  params: Record<string, string>;
  stringToSign: string;
  signature: string;
  encoded: string;
}

const LEGACY_VECTORS: LegacyVector[] = [
  {
    name: "vector 1 (HmacSHA1, lower-case params sort after upper case)",
    host: "cvm.api.qcloud.com",
    params: {
      Action: "DescribeInstances",
      Nonce: "11886",
      Region: "gz",
      SecretId: LEGACY_ID,
      Timestamp: "1465185768",
      "instanceIds.0": "ins-09dx96dg",
      limit: "20",
      offset: "0",
    },
    stringToSign:
      "GETcvm.api.qcloud.com/v2/index.php?Action=DescribeInstances&Nonce=11886&Region=gz&SecretId=AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA&Timestamp=1465185768&instanceIds.0=ins-09dx96dg&limit=20&offset=0",
    signature: "NSI3UqqD99b/UJb4tbG/xZpRW64=",
    encoded: "NSI3UqqD99b%2FUJb4tbG%2FxZpRW64%3D",
  },
  {
    name: "vector 2 (HmacSHA256)",
    host: "cvm.api.qcloud.com",
    params: {
      Action: "DescribeInstances",
      "InstanceIds.0": "ins-09dx96dg",
      Nonce: "11886",
      Region: "ap-guangzhou",
      SecretId: LEGACY_ID,
      SignatureMethod: "HmacSHA256",
      Timestamp: "1465185768",
    },
    stringToSign:
      "GETcvm.api.qcloud.com/v2/index.php?Action=DescribeInstances&InstanceIds.0=ins-09dx96dg&Nonce=11886&Region=ap-guangzhou&SecretId=AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA&SignatureMethod=HmacSHA256&Timestamp=1465185768",
    signature: "0EEm/HtGRr/VJXTAD9tYMth1Bzm3lLHz5RCDv1GdM8s=",
    encoded: "0EEm%2FHtGRr%2FVJXTAD9tYMth1Bzm3lLHz5RCDv1GdM8s%3D",
  },
  {
    name: "vector 3 (cvm DescribeImages, HmacSHA256)",
    host: "cvm.api.qcloud.com",
    params: {
      Action: "DescribeImages",
      Nonce: "11886",
      Region: "ap-guangzhou",
      SecretId: LEGACY_ID,
      SignatureMethod: "HmacSHA256",
      Timestamp: "1465185768",
      imageType: "1",
      limit: "100",
      offset: "0",
    },
    stringToSign:
      "GETcvm.api.qcloud.com/v2/index.php?Action=DescribeImages&Nonce=11886&Region=ap-guangzhou&SecretId=AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA&SignatureMethod=HmacSHA256&Timestamp=1465185768&imageType=1&limit=100&offset=0",
    signature: "29blkPAKRR85acC/j6sb/jVoXh4K8ZsPv2rpvudT7lk=",
    encoded: "29blkPAKRR85acC%2Fj6sb%2FjVoXh4K8ZsPv2rpvudT7lk%3D",
  },
  {
    name: "vector 4 (image DescribeImages with filters, HmacSHA1)",
    host: "image.api.qcloud.com",
    params: {
      Action: "DescribeImages",
      "Filters.1.Name": "image-type",
      "Filters.1.Values.1": "PRIVATE_IMAGE",
      Limit: "100",
      Nonce: "11886",
      Offset: "0",
      Region: "ap-guangzhou",
      SecretId: LEGACY_ID,
      Timestamp: "1465185768",
      Version: "2017-03-12",
    },
    stringToSign:
      "GETimage.api.qcloud.com/v2/index.php?Action=DescribeImages&Filters.1.Name=image-type&Filters.1.Values.1=PRIVATE_IMAGE&Limit=100&Nonce=11886&Offset=0&Region=ap-guangzhou&SecretId=AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA&Timestamp=1465185768&Version=2017-03-12",
    signature: "MunuW/L8cML9RkLYz+DMt0uFPbA=",
    encoded: "MunuW%2FL8cML9RkLYz%2BDMt0uFPbA%3D",
  },
];

/** The insertion order of a vector's params reversed, so sorting is really exercised. */
const shuffled = (p: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(p).reverse());

describe("legacy signature", () => {
  it.each(LEGACY_VECTORS)("$name: string to sign, signature and encoded form", (v) => {
    const sts = legacyStringToSign("GET", v.host, "/v2/index.php", shuffled(v.params));
    expect(sts).toBe(v.stringToSign);
    const method = v.params.SignatureMethod === "HmacSHA256" ? "HmacSHA256" : "HmacSHA1";
    expect(signLegacy(LEGACY_KEY, sts, method)).toBe(v.signature);
    expect(rfc3986(v.signature)).toBe(v.encoded);

    const query = signedLegacyQuery(v.host, "/v2/index.php", shuffled(v.params), LEGACY_KEY);
    expect(query.endsWith(`&Signature=${v.encoded}`)).toBe(true);
    // Every parameter goes out, values decoded back exactly.
    const decoded = Object.fromEntries(new URLSearchParams(query));
    expect(decoded).toEqual({ ...v.params, Signature: v.signature });
  });

  it("reads an absent or unknown SignatureMethod as HmacSHA1 and only the exact HmacSHA256 as SHA256", () => {
    const v = LEGACY_VECTORS[0]!;
    const sha1 = signedLegacyQuery(v.host, "/v2/index.php", v.params, LEGACY_KEY);
    expect(sha1).toContain(`Signature=${v.encoded}`);
    const odd = signedLegacyQuery(v.host, "/v2/index.php", { ...v.params, SignatureMethod: "hmacsha256" }, LEGACY_KEY);
    const oddSig = new URLSearchParams(odd).get("Signature")!;
    expect(Buffer.from(oddSig, "base64")).toHaveLength(20); // SHA1 digest length
    const exact = signedLegacyQuery(
      v.host,
      "/v2/index.php",
      { ...v.params, SignatureMethod: "HmacSHA256" },
      LEGACY_KEY,
    );
    expect(Buffer.from(new URLSearchParams(exact).get("Signature")!, "base64")).toHaveLength(32);
  });
});

describe("rfc3986", () => {
  it.each([
    ["abcXYZ019-_.~", "abcXYZ019-_.~"],
    ["a b", "a%20b"],
    ["+/=", "%2B%2F%3D"],
    ["!'()*", "%21%27%28%29%2A"],
    ["未命名", "%E6%9C%AA%E5%91%BD%E5%90%8D"],
    ["a&b=c", "a%26b%3Dc"],
    ["\u00e9", "%C3%A9"],
  ])("%j -> %j", (input, output) => {
    expect(rfc3986(input)).toBe(output);
  });

  it("writes upper-case hex only", () => {
    expect(rfc3986("\u00ff\u00fe/")).not.toMatch(/%[0-9A-F]?[a-f]/);
  });
});
