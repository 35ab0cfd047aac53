import { describe, expect, it } from "vitest";
import { loadLambdaSettings, loadRuntimeSettings, parseConfig } from "../../lib/config.ts";
import { ConfigError } from "../../lib/errors.ts";
import { createLogger, redactor } from "../../lib/log.ts";
import { versionKey } from "../../lib/store/items.ts";

const problemsOf = (doc: unknown, env = {}): string[] => {
  try {
    parseConfig(doc, env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
};

describe("parseConfig", () => {
  it("accepts a valid config, resolves env: values and freezes it", () => {
    const cfg = parseConfig(
      {
        accounts: [
          {
            name: "zl",
            api: "zenlayer-zec",
            endpoint: "http://127.0.0.1:8080",
            credentials: { accessKeyId: "id", accessKeySecret: "env:ZL_SECRET" },
            scopes: ["asia-east-1a"],
          },
          {
            name: "tc",
            api: "tencent-cvm-v2",
            credentials: { secretId: "AKID", secretKey: "k" },
            signatureMethod: "HmacSHA1",
          },
          { name: "tok", api: "zenlayer-vm", credentials: { token: "t0k3n" } },
        ],
      },
      { ZL_SECRET: "s3cret" },
    );
    expect(cfg.accounts[0]?.credentials).toEqual({ accessKeyId: "id", accessKeySecret: "s3cret" });
    expect(cfg.accounts[0]?.endpoint).toBe("http://127.0.0.1:8080");
    expect(Object.isFrozen(cfg.accounts[0])).toBe(true);
  });

  it("names every problem at once, unknown keys by name", () => {
    const problems = problemsOf(
      {
        accounts: [
          {
            name: "a b",
            api: "zenlayer-zec",
            credentials: { accessKeyId: "x", accessKeySecret: "env:MISSING" },
            zone: "x",
          },
          { name: "b", api: "aws-ec2", credentials: {} },
          {
            name: "c",
            api: "tencent-cvm",
            endpoint: "http://api.example.com",
            credentials: { secretId: "i", secretKey: "k", extra: 1 },
          },
        ],
        verbose: true,
      },
      {},
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        'unknown key "verbose" at top level',
        expect.stringMatching(/accounts\[0\]\.name must match/),
        'accounts[0]: unknown key "zone"',
        expect.stringMatching(/accessKeySecret refers to environment variable MISSING/),
        expect.stringMatching(/accounts\[1\]\.api must be one of/),
        expect.stringMatching(/plain http is only allowed to a loopback host/),
        expect.stringMatching(/unknown key "extra"/),
      ]),
    );
  });

  it("refuses a config with no accounts and duplicate names", () => {
    expect(problemsOf({ accounts: [] })).toEqual(['"accounts" must be a non-empty array']);
    const dup = { name: "x", api: "zenlayer-bmc", credentials: { token: "t" } };
    expect(problemsOf({ accounts: [dup, dup] })).toEqual(['accounts[1].name "x" is used twice']);
  });

  it("runtime and Lambda settings fail naming the variable", async () => {
    expect(loadRuntimeSettings({})).toEqual({ tableName: "image-sync", region: "us-east-1", dataDir: ".image-sync" });
    expect(() => loadRuntimeSettings({ DYNAMODB_ENDPOINT: "nope" })).toThrow(/DYNAMODB_ENDPOINT/);
    const none = async () => new Map<string, string>();
    await expect(loadLambdaSettings({}, none)).rejects.toThrow(/TABLE_NAME is not set; IMAGE_SYNC_CONFIG is not set/);
  });

  it("Lambda config comes from an SSM parameter, with ssm:/ credential values fetched and substituted", async () => {
    const params = new Map([
      [
        "/image-sync/prod/config",
        JSON.stringify({
          accounts: [
            {
              name: "tc",
              api: "tencent-cvm",
              credentials: { secretId: "ssm:/image-sync/prod/tc/id", secretKey: "ssm:/image-sync/prod/tc/key" },
            },
          ],
        }),
      ],
      ["/image-sync/prod/tc/id", "AKIDfromSSM"],
      ["/image-sync/prod/tc/key", "keyFromSSM"],
    ]);
    const asked: string[][] = [];
    const read = async (names: string[]) => {
      asked.push(names);
      return new Map(names.filter((n) => params.has(n)).map((n) => [n, params.get(n) as string]));
    };
    const s = await loadLambdaSettings(
      { TABLE_NAME: "t", IMAGE_SYNC_CONFIG_PARAMETER: "/image-sync/prod/config" },
      read,
    );
    expect(s.config.accounts[0]?.credentials).toEqual({ secretId: "AKIDfromSSM", secretKey: "keyFromSSM" });
    expect(asked[1]?.sort()).toEqual(["/image-sync/prod/tc/id", "/image-sync/prod/tc/key"]);
    params.delete("/image-sync/prod/tc/key");
    await expect(
      loadLambdaSettings({ TABLE_NAME: "t", IMAGE_SYNC_CONFIG_PARAMETER: "/image-sync/prod/config" }, read),
    ).rejects.toThrow("SSM parameter /image-sync/prod/tc/key was not found");
  });
});

describe("versionKey", () => {
  it("orders versions numerically", () => {
    const sorted = ["10", "9", "22.04", "20.04", "7.4.1708", "7.10", null].sort((a, b) =>
      versionKey(a) < versionKey(b) ? -1 : 1,
    );
    expect(sorted).toEqual([null, "7.4.1708", "7.10", "9", "10", "20.04", "22.04"]);
  });
});

describe("logger redaction", () => {
  it("never writes a secret value", () => {
    const lines: string[] = [];
    const log = createLogger({ secrets: ["s3cretvalue"], write: (l) => lines.push(l), format: "json" });
    log.error("failed with s3cretvalue", { detail: { key: "s3cretvalue" } });
    expect(lines.join("\n")).not.toContain("s3cretvalue");
    expect(lines[0]).toContain("***");
    expect(redactor(["abc"])("abc")).toBe("abc");
  });
});
