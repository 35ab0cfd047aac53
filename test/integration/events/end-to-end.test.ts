// Change events end to end through the local path: two syncs of the emulator with drift in between.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ajv } from "ajv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../../lib/cli.ts";
import schema from "../../../lib/events/schema.json" with { type: "json" };
import { type Stack, startStack } from "../../helpers/stack.ts";

let stack: Stack;
let dir: string;
beforeAll(async () => {
  stack = await startStack({ scale: 0.15 });
  dir = mkdtempSync(join(tmpdir(), "image-sync-events-"));
});
afterAll(async () => {
  await stack?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function sync(config: string, events: string, table: string) {
  let stdout = "";
  const code = await main(["sync", "--config", config, "--events", events], {
    stdout: (t) => {
      stdout += t;
    },
    stderr: () => {},
    env: { DYNAMODB_ENDPOINT: stack.dynamo.endpoint, TABLE_NAME: table },
  });
  const lines = readFileSync(events, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  return { code, stdout, lines };
}

describe("change events from two syncs with drift in between", () => {
  it("the first sync emits nothing per image; the second exactly one event per added, removed or unusable image", async () => {
    const table = `events-${Date.now()}`;
    const config = join(dir, "config.json");
    writeFileSync(
      config,
      JSON.stringify(
        stack.config(["zenlayer-zec", "zenlayer-vm", "tencent-cvm", "tencent-image-v2"], (a) => ({
          scopes: [...(stack.emulator.catalogue.get(a.api)?.keys() ?? [])],
        })),
      ),
    );
    const first = await sync(config, join(dir, "first.jsonl"), table);
    expect(first.code).toBe(0);
    expect(first.lines).toEqual([]);

    const drift = stack.emulator.drift({
      add: 6,
      remove: 4,
      unusable: 3,
      seed: 5,
      apis: ["zenlayer-zec", "zenlayer-vm", "tencent-cvm", "tencent-image-v2"],
    });
    const second = await sync(config, join(dir, "second.jsonl"), table);
    expect(second.code).toBe(0);
    const key = (e: { detail: { api: string; scope: string; imageId: string } }) =>
      `${e.detail.api}|${e.detail.scope}|${e.detail.imageId}`;
    const added = second.lines
      .filter((e) => e["detail-type"] === "Image Added")
      .map(key)
      .sort();
    const deprecated = second.lines
      .filter((e) => e["detail-type"] === "Image Deprecated")
      .map(key)
      .sort();
    const k = (c: { api: string; scope: string; imageId: string }) => `${c.api}|${c.scope}|${c.imageId}`;
    expect(added).toEqual(drift.added.map(k).sort());
    expect(deprecated).toEqual([...drift.removed, ...drift.unusable].map(k).sort());
    // Besides the image events, only "Latest Image Changed" (a latest-image pointer moved), in drifted scopes only.
    const moved = second.lines.filter((e) => e["detail-type"] === "Latest Image Changed");
    expect(second.lines).toHaveLength(added.length + deprecated.length + moved.length);
    const drifted = new Set([...drift.added, ...drift.removed, ...drift.unusable].map((c) => `${c.api}|${c.scope}`));
    for (const e of moved) expect(drifted.has(`${e.detail.api}|${e.detail.scope}`)).toBe(true);
    expect(new Set(second.lines.map((e) => e.id)).size).toBe(second.lines.length);
    for (const e of second.lines.filter((x) => x["detail-type"] === "Image Deprecated")) {
      const removed = drift.removed.some((c) => k(c) === key(e));
      expect(e.detail.reason).toBe(removed ? "missing" : "status");
    }

    // A third sync with no drift: nothing.
    const third = await sync(config, join(dir, "third.jsonl"), table);
    expect(third.lines).toEqual([]);
  });

  it("every delivered event validates against the published JSON Schema", () => {
    const ajv = new Ajv({ validateFormats: false, allErrors: true });
    const validate = ajv.compile(schema);
    const lines = readFileSync(join(dir, "second.jsonl"), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    expect(lines.length).toBeGreaterThan(0);
    for (const e of lines) expect(validate(e), JSON.stringify(validate.errors)).toBe(true);
    const broken = { ...lines[0], detail: { ...lines[0].detail, reason: "gone" } };
    expect(validate(broken)).toBe(false);
  });
});
