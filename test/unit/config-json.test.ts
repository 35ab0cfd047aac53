// A config that is not JSON is reported by position alone: JSON.parse's own message quotes the text around the
// error, which is where credential values sit.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../../lib/cli.ts";
import { loadConfigFile, loadLambdaSettings } from "../../lib/config.ts";
import { jsonSyntaxPosition } from "../../lib/json.ts";

const SECRET = "Zk9fQ2sEcReT7731abcd";
const dir = mkdtempSync(join(tmpdir(), "image-sync-config-json-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Broken configs with the secret right beside (or inside) the syntax error. */
const BROKEN = [
  // an unquoted value: V8 quotes the text after the unexpected token
  `{"accounts":[{"name":"tc","api":"tencent-cvm","credentials":{"secretId":"AKIDx","secretKey": ${SECRET}}}]}`,
  // a missing comma right after the secret
  `{"accounts":[{"name":"tc","api":"tencent-cvm","credentials":{"secretKey":"${SECRET}" "secretId":"AKIDx"}}]}`,
  // an unterminated string holding the secret
  `{"accounts":[{"name":"tc","api":"tencent-cvm","credentials":{"secretKey":"${SECRET}`,
  // the secret as a bare top-level token
  `${SECRET}`,
  // a trailing comma after the secret, on line 3
  `{"accounts":[\n{"name":"tc","api":"tencent-cvm",\n"credentials":{"secretId":"AKIDx","secretKey":"${SECRET}",}}]}`,
];

/** Every substring of 4 characters or more of the secret that occurs in `text`. */
function fragments(text: string): string[] {
  const found: string[] = [];
  for (let i = 0; i + 4 <= SECRET.length; i++) {
    const piece = SECRET.slice(i, i + 4);
    if (text.includes(piece)) found.push(piece);
  }
  return found;
}

async function thrown(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    const err = e as Error & { cause?: unknown };
    return [err.message, err.stack ?? "", String(err.cause ?? ""), JSON.stringify(err)].join("\n");
  }
  throw new Error("expected an error");
}

describe("a config that is not valid JSON", () => {
  it.each(BROKEN.map((text, i) => [i, text]))("never echoes a fragment of a value (case %i)", async (i, text) => {
    const path = join(dir, `broken-${i}.json`);
    writeFileSync(path, text as string);
    const file = await thrown(loadConfigFile(path, {}));
    expect(file).toMatch(/not valid JSON/);
    expect(file).toMatch(/line \d+, column \d+/);
    expect(fragments(file)).toEqual([]);

    const lambda = await thrown(
      loadLambdaSettings({ TABLE_NAME: "t", IMAGE_SYNC_CONFIG: text as string }, async () => new Map()),
    );
    expect(lambda).toMatch(/not valid JSON/);
    expect(fragments(lambda)).toEqual([]);

    let stderr = "";
    const code = await main(["sync", "--config", path], {
      stdout: () => {},
      stderr: (t) => {
        stderr += t;
      },
      env: { DYNAMODB_ENDPOINT: "http://127.0.0.1:9", AWS_REGION: "us-east-1" },
    });
    expect(code).toBe(2);
    expect(stderr).toMatch(/not valid JSON/);
    expect(fragments(stderr)).toEqual([]);
  });

  it("names the line and column of the error", async () => {
    const path = join(dir, "lines.json");
    writeFileSync(path, BROKEN[4] as string);
    const message = await thrown(loadConfigFile(path, {}));
    expect(message).toContain("line 3, column 70 (offset 117)");
  });

  it("finds the offset JSON.parse reports, where it reports one", () => {
    for (const text of [...BROKEN, '{"a":1,}', "[1,2", '{"a" 1}', '"\\x"', "[01]", "{} x", ""]) {
      const v8 = /at position (\d+)/.exec(errorOf(text));
      const ours = jsonSyntaxPosition(text);
      expect(ours).not.toBeNull();
      if (v8) expect(ours?.offset).toBe(Number(v8[1]));
    }
    expect(jsonSyntaxPosition('{"a":[1,2.5e3,"x\\u00e9"],"b":{"c":null}}')).toBeNull();
  });
});

function errorOf(text: string): string {
  try {
    JSON.parse(text);
  } catch (e) {
    return (e as Error).message;
  }
  return "";
}
