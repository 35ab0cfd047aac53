import { describe, expect, expectTypeOf, it } from "vitest";
import { type AccountConfig, type Credentials, parseConfig, type SyncConfig } from "../../lib/config.ts";
import { ConfigError } from "../../lib/errors.ts";
import type { ApiId } from "../../lib/model.ts";

const problemsOf = (doc: unknown, env = {}): string[] => {
  try {
    parseConfig(doc, env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
};

/** Every value below holds this, so no message may contain any 4 characters of it. */
const SECRET = "Qx7Vb2Lm9Rt4";
const fragments = (text: string): string[] => {
  const found: string[] = [];
  for (let i = 0; i + 4 <= SECRET.length; i++)
    if (text.includes(SECRET.slice(i, i + 4))) found.push(SECRET.slice(i, i + 4));
  return found;
};

describe("parseConfig", () => {
  it("reports every problem at once, each naming its key, none quoting a value", () => {
    const problems = problemsOf({
      accounts: [
        {
          name: `bad ${SECRET}`,
          api: "tencent-cvm",
          endpoint: `https://host.example/${SECRET}`,
          credentials: { secretId: 7, secretKey: "", [`x${SECRET}`]: SECRET },
          scopes: [`ap ${SECRET}`, "ok-scope"],
          signatureMethod: `Hmac${SECRET}`,
          requestsPerSecond: `${SECRET}`,
          extra: SECRET,
        },
        { name: "b", api: `aws ${SECRET}`, credentials: { token: SECRET } },
        { name: "c", api: "zenlayer-vm", credentials: { accessKeyId: SECRET }, signatureMethod: "HmacSHA1" },
        SECRET,
        [SECRET],
      ],
      [`top${SECRET}`]: SECRET,
    });
    expect(problems).toEqual([
      "accounts[0].name must match ^[A-Za-z0-9._-]{1,64}$",
      "accounts[0].endpoint must be a base URL (scheme, host, port) without path or query",
      "accounts[0].credentials.secretId must be a non-empty string",
      "accounts[0].credentials.secretKey must be a non-empty string",
      `accounts[0].credentials: unknown key "x${SECRET}" (expected secretId, secretKey)`,
      "accounts[0].scopes[0] must match ^[A-Za-z0-9._:-]{1,128}$",
      "accounts[0].signatureMethod must be HmacSHA1 or HmacSHA256",
      "accounts[0].requestsPerSecond must be a positive number",
      'accounts[0]: unknown key "extra"',
      "accounts[1].api must be one of zenlayer-bmc, zenlayer-zec, zenlayer-vm, tencent-cvm, tencent-image-v2, tencent-cvm-v2",
      "accounts[2].credentials.accessKeySecret is missing",
      "accounts[2].signatureMethod applies only to tencent-image-v2 and tencent-cvm-v2",
      "accounts[3] must be an object",
      "accounts[4] must be an object",
      `unknown key "top${SECRET}" at top level`,
    ]);
    // Keys are named as given (a key is not a value); every other message is free of the values.
    const withoutKeys = problems.filter((p) => !p.includes("unknown key"));
    expect(withoutKeys.flatMap(fragments)).toEqual([]);
  });

  it("names keys valibot's object schemas would skip", () => {
    const doc = JSON.parse(
      '{"accounts":[{"name":"a","api":"zenlayer-bmc","credentials":{"token":"t"},"__proto__":1}]}',
    );
    expect(problemsOf(doc)).toEqual(['accounts[0]: unknown key "__proto__"']);
    expect(problemsOf(JSON.parse('{"accounts":[],"constructor":1}'))).toEqual([
      '"accounts" must be a non-empty array',
      'unknown key "constructor" at top level',
    ]);
  });

  it("names missing keys and a missing accounts list", () => {
    expect(problemsOf({})).toEqual(['"accounts" must be a non-empty array']);
    expect(problemsOf({ accounts: [{}] })).toEqual([
      "accounts[0].name is missing",
      "accounts[0].api is missing",
      "accounts[0].credentials is missing",
    ]);
    expect(problemsOf(null)).toEqual(["config must be a JSON object"]);
    expect(problemsOf([])).toEqual(["config must be a JSON object"]);
  });

  it("outputs only what was given, normalised, and leaves the input alone", () => {
    const doc = {
      accounts: [
        { name: "z", api: "zenlayer-bmc", credentials: { token: "env:TOKEN" }, endpoint: "https://h.example:8443/" },
        { name: "t", api: "tencent-image-v2", credentials: { secretId: "i", secretKey: "k" }, scopes: ["a", "a", "b"] },
      ],
    };
    const cfg = parseConfig(doc, { TOKEN: "from-env" });
    expect(cfg.accounts).toEqual([
      { name: "z", api: "zenlayer-bmc", credentials: { token: "from-env" }, endpoint: "https://h.example:8443" },
      { name: "t", api: "tencent-image-v2", credentials: { secretId: "i", secretKey: "k" }, scopes: ["a", "b"] },
    ]);
    expect(Object.isFrozen(cfg.accounts[0]?.credentials)).toBe(true);
    expect(Object.isFrozen(doc.accounts[0])).toBe(false);
    expect(doc.accounts[0]?.credentials.token).toBe("env:TOKEN");
  });

  it("types the result from the schema as the sync expects it", () => {
    expectTypeOf<SyncConfig>().toEqualTypeOf<{ accounts: AccountConfig[] }>();
    expectTypeOf<AccountConfig>().toEqualTypeOf<{
      name: string;
      api: ApiId;
      endpoint?: string;
      credentials: Credentials;
      scopes?: string[];
      signatureMethod?: "HmacSHA1" | "HmacSHA256";
      requestsPerSecond?: number;
    }>();
    expectTypeOf<Credentials>().toEqualTypeOf<
      { token: string } | { accessKeyId: string; accessKeySecret: string } | { secretId: string; secretKey: string }
    >();
  });
});
