// The query commands of the CLI (latest, changes, status), in-process against dynalite after real syncs made
// with the CLI itself: history is recorded by the local stream-consumer path after every sync.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../../lib/cli.ts";
import type { DriftReport } from "../../../lib/emulator/index.ts";
import type { HistoryEntry } from "../../../lib/events/history.ts";
import { latestImage } from "../../../lib/query/index.ts";
import { createStore } from "../../../lib/store/store.ts";
import { type Stack, startStack } from "../../helpers/stack.ts";

let stack: Stack;
let config: string;
const table = `query-cli-${Date.now()}`;
let drift: DriftReport;

async function cli(args: string[]) {
  let stdout = "";
  let stderr = "";
  const code = await main(args, {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    env: { DYNAMODB_ENDPOINT: stack.dynamo.endpoint, AWS_REGION: "us-east-1", TABLE_NAME: table },
  });
  return { code, stdout, stderr };
}

const SYNCED = ["FRA-A", "HKG-A"];

let dir: string | undefined;
beforeAll(async () => {
  stack = await startStack({ scale: 0.2 });
  dir = mkdtempSync(join(tmpdir(), "image-sync-query-cli-"));
  config = join(dir, "config.json");
  writeFileSync(config, JSON.stringify(stack.config(["zenlayer-vm"], () => ({ scopes: [...SYNCED, "LAX-A"] }))));
  // LAX-A never answers, so `status` has a stale scope to flag.
  stack.emulator.inject({
    match: { api: "zenlayer-vm", scope: "LAX-A" },
    times: Number.POSITIVE_INFINITY,
    action: { type: "failure", failure: "unavailable" },
  });
  expect((await cli(["sync", "--config", config])).code).toBe(1);
  expect(JSON.parse((await cli(["changes", "--since", "1h", "--json"])).stdout)).toEqual([]);
  drift = stack.emulator.drift({ add: 4, remove: 3, unusable: 3, touch: 3, apis: ["zenlayer-vm"], seed: 11 });
  // No --events: the stream consumer's path runs after every sync anyway, recording the history.
  const second = await cli(["sync", "--config", config]);
  expect(second.code).toBe(1);
  expect(second.stdout).toMatch(/FRA-A.*complete/);
}, 120_000);

afterAll(async () => {
  await stack?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("image-sync changes", () => {
  it("lists what the last sync changed, as JSON and as a table, filtered by scope and type", async () => {
    const inSynced = (c: { scope: string }) => SYNCED.includes(c.scope);
    const expected = [
      ...drift.added.filter(inSynced).map((c) => `added:${c.imageId}`),
      ...drift.removed.filter(inSynced).map((c) => `deprecated:${c.imageId}`),
      ...drift.unusable.filter(inSynced).map((c) => `deprecated:${c.imageId}`),
      ...drift.touched.filter(inSynced).map((c) => `updated:${c.imageId}`),
    ].sort();
    expect(expected.length).toBeGreaterThan(3);

    const r = await cli(["changes", "--since", "1h", "--json"]);
    expect(r.code).toBe(0);
    const changes = JSON.parse(r.stdout) as HistoryEntry[];
    expect(changes.map((c) => `${c.changeType}:${c.imageId}`).sort()).toEqual(expected);
    expect(changes.every((c) => c.account === "zenlayer-vm" && c.message.length > 0)).toBe(true);
    const missing = drift.removed.find(inSynced);
    if (missing) expect(changes.find((c) => c.imageId === missing.imageId)?.reason).toBe("missing");

    const fra = JSON.parse((await cli(["changes", "--since", "1h", "--scope", "FRA-A", "--json"])).stdout);
    expect(fra.length).toBe(changes.filter((c) => c.scope === "FRA-A").length);
    const dep = JSON.parse((await cli(["changes", "--since", "1h", "--type", "deprecated", "--json"])).stdout);
    expect(dep.length).toBe(changes.filter((c) => c.changeType === "deprecated").length);
    const last = changes
      .map((c) => c.detectedAt)
      .sort()
      .at(-1) as string;
    const justAfter = new Date(Date.parse(last) + 1).toISOString();
    expect(JSON.parse((await cli(["changes", "--since", justAfter, "--json"])).stdout)).toEqual([]);
    expect(JSON.parse((await cli(["changes", "--since", last, "--json"])).stdout).length).toBeGreaterThan(0);
    // The future is bad usage.
    expect((await cli(["changes", "--since", new Date(Date.now() + 60_000).toISOString()])).code).toBe(2);

    const table = await cli(["changes", "--since", "24h"]);
    expect(table.code).toBe(0);
    expect(table.stdout.split("\n")[0]?.split(/\s+/)).toEqual([
      "detected",
      "change",
      "account",
      "scope",
      "imageId",
      "name",
      "detail",
    ]);
    expect(table.stdout).toContain(`${changes.length} changes since `);
  });

  it("a dry run records no history", async () => {
    const before = JSON.parse((await cli(["changes", "--since", "1h", "--json"])).stdout).length;
    stack.emulator.drift({ add: 3, apis: ["zenlayer-vm"], seed: 12 });
    const dry = await cli(["sync", "--config", config, "--dry-run"]);
    expect(dry.stdout).toContain("dry run");
    expect(JSON.parse((await cli(["changes", "--since", "1h", "--json"])).stdout).length).toBe(before);
  });
});

describe("image-sync latest", () => {
  it("prints the newest usable image, the same the library answers; JSON alone with --json", async () => {
    const asked = ["latest", "--os", "ubuntu", "--scope", "FRA-A", "--arch", "x86_64", "--type", "public"];
    const r = await cli([...asked, "--json"]);
    expect(r.code).toBe(0);
    const image = JSON.parse(r.stdout);
    expect(image).toMatchObject({ osFamily: "ubuntu", scope: "FRA-A", state: "active", available: true });
    const store = createStore({ tableName: table, endpoint: stack.dynamo.endpoint, localCredentials: true });
    try {
      expect(image).toEqual(
        await latestImage(store, { osFamily: "ubuntu", scope: "FRA-A", architecture: "x86_64", imageType: "public" }),
      );
    } finally {
      store.close();
    }
    const readable = await cli(asked);
    expect(readable.code).toBe(0);
    expect(readable.stdout).toMatch(new RegExp(`imageId\\s+${image.imageId}`));

    const v2004 = await cli([
      "latest",
      "--os",
      "ubuntu",
      "--version",
      "20.04",
      "--arch",
      "amd64",
      "--type",
      "public",
      "--scope",
      "FRA-A",
      "--json",
    ]);
    expect(v2004.code).toBe(0);
    expect(JSON.parse(v2004.stdout)).toMatchObject({ osVersion: "20.04", architecture: "x86_64" });
  });

  it("refuses a question that matches more than one architecture or type: exit 3, a clear message, nothing on stdout", async () => {
    const r = await cli(["latest", "--os", "ubuntu", "--scope", "FRA-A", "--json"]);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^image-sync: ambiguous: ubuntu in scope FRA-A matches usable images of /);
    expect(r.stderr).toMatch(/ask again with .*--(arch|type)/);
    const arm = await cli(["latest", "--os", "ubuntu", "--scope", "FRA-A", "--arch", "arm64", "--type", "public"]);
    expect(arm.code).toBe(0);
    expect(arm.stdout).toMatch(/architecture\s+arm64/);
  });

  it("exits 1 when nothing matches (JSON null), 2 for bad usage", async () => {
    const none = await cli(["latest", "--os", "plan9", "--scope", "FRA-A", "--json"]);
    expect(none.code).toBe(1);
    expect(none.stdout).toBe("null\n");
    expect(none.stderr).toContain("no usable plan9 image in scope FRA-A");
    expect((await cli(["latest", "--os", "ubuntu", "--scope", "NOWHERE"])).code).toBe(1);
    expect((await cli(["latest", "--os", "ubuntu"])).code).toBe(2);
    expect((await cli(["latest", "--scope", "FRA-A"])).code).toBe(2);
    expect((await cli(["latest", "--os", "ubuntu", "--scope", "FRA-A", "--version", "..."])).code).toBe(2);
    expect((await cli(["changes"])).code).toBe(2);
    expect((await cli(["changes", "--since", "yesterday"])).code).toBe(2);
    expect((await cli(["changes", "--since", "1h", "--type", "removed"])).code).toBe(2);
    expect((await cli(["status", "--stale-after-hours", "soon"])).code).toBe(2);
    expect((await cli(["status", "--verbose"])).code).toBe(2);
    const help = await cli(["help"]);
    expect(help.stdout).toMatch(/image-sync latest \(--os <family>/);
    expect(help.stdout).toMatch(/image-sync changes --since/);
    expect(help.stdout).toMatch(/image-sync status/);
  });
});

describe("image-sync status", () => {
  it("shows each scope's freshness and flags the stale ones", async () => {
    const r = await cli(["status", "--json"]);
    expect(r.code).toBe(1); // a stale scope, like an incomplete one
    expect((await cli(["status", "--account", "nobody"])).code).toBe(0);
    const status = JSON.parse(r.stdout);
    expect(status).toMatchObject({ staleAfterHours: 6, stale: 1 });
    expect(status.scopes.map((s: { scope: string; stale: boolean }) => `${s.scope}:${s.stale}`)).toEqual([
      "FRA-A:false",
      "HKG-A:false",
      "LAX-A:true",
    ]);
    const table = await cli(["status"]);
    expect(table.code).toBe(1);
    expect(table.stdout).toMatch(/zenlayer-vm\s+FRA-A\s+\S+\s+[\d.]+h\s+complete\s+\d+\s+\d+\s+ok/);
    expect(table.stdout).toMatch(
      /zenlayer-vm\s+LAX-A\s+never\s+-\s+failed\s+0\s+0\s+STALE\s+SERVICE_TEMPORARY_UNAVAILABLE/,
    );
    expect(table.stdout).toContain("3 scopes, 1 stale (no complete sweep within 6h)");
  });
});
