// ZC2-HMAC-SHA256 against the published vectors in ../shared/reference/PROVIDERS.md.
import { describe, expect, it } from "vitest";
import { parseZc2Authorization, signZc2 } from "../../../../lib/providers/zenlayer/sign.ts";

describe("signZc2", () => {
  it("reproduces vector 1 (the provider's documented example)", () => {
    const s = signZc2({
      host: "console.zenlayer.com",
      contentType: "application/json; charset=utf-8",
      body: '{"pageSize":10,"pageNum":1,"zoneId":"HKG-A"}',
      timestamp: 1673361177,
      accessKeyId: "0D9UtpyKYcHxms5v",
      accessKeyPassword: "Gu5t9xGARNpq86cd98joQYCN3",
    });
    expect(s.bodyHash).toBe("5f714687ba91c606d503467766151206392474accd137ffea6dce2420b67c29a");
    expect(s.canonicalHash).toBe("29396f9dfa0f03820b931e8aa06e20cda197e73285ebd76aceb83f7dede493ee");
    expect(s.signature).toBe("efb356c32e55c781e10dc676da59462c22596d82e91c57803666243379555b2f");
    expect(s.authorization).toBe(
      "ZC2-HMAC-SHA256 Credential=0D9UtpyKYcHxms5v, SignedHeaders=content-type;host, Signature=efb356c32e55c781e10dc676da59462c22596d82e91c57803666243379555b2f",
    );
  });

  it("reproduces vector 2 (empty object body)", () => {
    const s = signZc2({
      host: "console.zenlayer.com",
      contentType: "application/json",
      body: "{}",
      timestamp: 1700000000,
      accessKeyId: "AKIDtest-key-id-0001",
      accessKeyPassword: "ZL-SECRET-PWD-deadbeef-1234",
    });
    expect(s.signature).toBe("2b3f42e101002bafea1f414aa9c7fe8a13d52a3fa27d92a3f338b22685ec7884");
    expect(s.authorization).toBe(
      "ZC2-HMAC-SHA256 Credential=AKIDtest-key-id-0001, SignedHeaders=content-type;host, Signature=2b3f42e101002bafea1f414aa9c7fe8a13d52a3fa27d92a3f338b22685ec7884",
    );
  });

  it("reproduces vector 3 (other host, UTF-8 body and password)", () => {
    const input = {
      host: "api.example.zenlayer.local",
      contentType: "application/json",
      body: '{"instanceName":"测试-实例-001","comment":"Includes / and = chars"}',
      timestamp: 1731234567,
      accessKeyId: "AKID-unicode",
      accessKeyPassword: "pwd-unicode-中文-9999",
    };
    const expected = "b39884f06e3cbeff6119e96ad89d69085bf986c8a4b7069737f8c0722eb097f8";
    expect(signZc2(input).signature).toBe(expected);
    // The body is hashed as UTF-8 bytes, so passing the bytes gives the same signature.
    expect(signZc2({ ...input, body: new TextEncoder().encode(input.body) }).signature).toBe(expected);
    expect(signZc2(input).authorization).toBe(
      `ZC2-HMAC-SHA256 Credential=AKID-unicode, SignedHeaders=content-type;host, Signature=${expected}`,
    );
  });

  it("changes the signature when any signed input changes", () => {
    const base = {
      host: "console.zenlayer.com",
      contentType: "application/json",
      body: "{}",
      timestamp: 1700000000,
      accessKeyId: "AKIDtest-key-id-0001",
      accessKeyPassword: "ZL-SECRET-PWD-deadbeef-1234",
    };
    const sig = signZc2(base).signature;
    expect(signZc2({ ...base, host: "console.zenlayer.com:8443" }).signature).not.toBe(sig);
    expect(signZc2({ ...base, timestamp: 1700000001 }).signature).not.toBe(sig);
    expect(signZc2({ ...base, body: "{ }" }).signature).not.toBe(sig);
    expect(signZc2({ ...base, contentType: "application/json; charset=utf-8" }).signature).not.toBe(sig);
  });
});

describe("parseZc2Authorization", () => {
  const sig = "efb356c32e55c781e10dc676da59462c22596d82e91c57803666243379555b2f";

  it("reads back what signZc2 writes", () => {
    const s = signZc2({
      host: "console.zenlayer.com",
      contentType: "application/json",
      body: "{}",
      timestamp: 1700000000,
      accessKeyId: "AKIDtest-key-id-0001",
      accessKeyPassword: "ZL-SECRET-PWD-deadbeef-1234",
    });
    expect(parseZc2Authorization(s.authorization)).toEqual({
      accessKeyId: "AKIDtest-key-id-0001",
      signedHeaders: "content-type;host",
      signature: s.signature,
    });
  });

  it.each([
    ["a Bearer token", "Bearer abc.def"],
    ["another algorithm", `TC3-HMAC-SHA256 Credential=x, SignedHeaders=content-type;host, Signature=${sig}`],
    ["a short signature", "ZC2-HMAC-SHA256 Credential=x, SignedHeaders=content-type;host, Signature=abc"],
    ["upper-case hex", `ZC2-HMAC-SHA256 Credential=x, SignedHeaders=content-type;host, Signature=${sig.toUpperCase()}`],
    ["no credential", `ZC2-HMAC-SHA256 SignedHeaders=content-type;host, Signature=${sig}`],
    ["trailing text", `ZC2-HMAC-SHA256 Credential=x, SignedHeaders=content-type;host, Signature=${sig} extra`],
    ["an empty header", ""],
  ])("rejects %s", (_what, header) => {
    expect(parseZc2Authorization(header)).toBeUndefined();
  });
});
