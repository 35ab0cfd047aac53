// The CLI contract: exit codes, summary, --json output on stdout alone, --events JSONL, config errors.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../lib/cli.ts";
import type { StoredImage } from "../../lib/model.ts";
import { type Stack, startStack } from "../helpers/stack.ts";

let stack: Stack;
let dir: string;
let n = 0;

beforeAll(async () => {
  stack = await startStack({ scale: 0.2 });
  dir = mkdtempSync(join(tmpdir(), "image-sync-cli-"));
});
afterAll(async () => {
  await stack?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function cli(args: string[], env: Record<string, string> = {}) {
  let stdout = "";
  let stderr = "";
  const code = await main(args, {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    env: { DYNAMODB_ENDPOINT: stack.dynamo.endpoint, AWS_REGION: "us-east-1", ...env },
  });
  return { code, stdout, stderr };
}

function configFile(doc: unknown): string {
  const path = join(dir, `config-${++n}.json`);
  writeFileSync(path, JSON.stringify(doc));
  return path;
}

describe("image-sync CLI", () => {
  it("sync exits 0 with a summary row per scope; images --json prints the stored images as one array", async () => {
    const table = `cli-ok-${Date.now()}`;
    const config = configFile(stack.config(["zenlayer-vm"], () => ({ scopes: ["FRA-A", "HKG-A"] })));
    const r = await cli(["sync", "--config", config], { TABLE_NAME: table });
    expect(r.code).toBe(0);
    const header = r.stdout.split("\n")[0];
    expect(header?.split(/\s+/)).toEqual([
      "account",
      "scope",
      "fetched",
      "added",
      "updated",
      "deprecated",
      "requests",
      "duration",
      "status",
      "error",
    ]);
    expect(r.stdout).toMatch(/zenlayer-vm\s+FRA-A\s+\d+\s+\d+\s+0\s+\d+\s+1\s+\S+\s+complete \(baseline\)/);

    const images = await cli(["images", "--account", "zenlayer-vm", "--scope", "FRA-A", "--json"], {
      TABLE_NAME: table,
    });
    expect(images.code).toBe(0);
    const parsed = JSON.parse(images.stdout) as StoredImage[];
    const records = stack.emulator.catalogue.get("zenlayer-vm")?.get("FRA-A") ?? [];
    const usable = records.filter((x) => x.imageStatus !== "UNAVAILABLE");
    expect(parsed.length).toBe(usable.length);
    expect(
      parsed.every(
        (i) => i.state === "active" && i.account === "zenlayer-vm" && i.raw && i.osType === i.osType?.toLowerCase(),
      ),
    ).toBe(true);
    const all = JSON.parse(
      (await cli(["images", "--account", "zenlayer-vm", "--all", "--json"], { TABLE_NAME: table })).stdout,
    );
    expect(all.length).toBe(
      (stack.emulator.catalogue.get("zenlayer-vm")?.get("FRA-A")?.length ?? 0) +
        (stack.emulator.catalogue.get("zenlayer-vm")?.get("HKG-A")?.length ?? 0),
    );
  });

  it("exits 1 when a scope fails, still syncing the others, and writes change events as JSON lines", async () => {
    const table = `cli-fail-${Date.now()}`;
    const config = configFile(stack.config(["zenlayer-vm"], () => ({ scopes: ["LAX-A", "SIN-A"] })));
    expect((await cli(["sync", "--config", config], { TABLE_NAME: table })).code).toBe(0);
    stack.emulator.drift({ add: 2, remove: 1, apis: ["zenlayer-vm"], seed: 7 });
    stack.emulator.inject({
      match: { api: "zenlayer-vm", scope: "SIN-A" },
      times: Number.POSITIVE_INFINITY,
      action: { type: "failure", failure: "unavailable" },
    });
    const events = join(dir, `events-${n}.jsonl`);
    try {
      const r = await cli(["sync", "--config", config, "--events", events], { TABLE_NAME: table });
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/SIN-A.*failed.*SERVICE_TEMPORARY_UNAVAILABLE/);
      expect(r.stdout).toMatch(/LAX-A.*complete/);
      const lines = readFileSync(events, "utf8")
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l));
      const lax = lines.filter((e) => e.detail.scope === "LAX-A");
      expect(lines.every((e) => e.source === "image-sync" && e.id === e.detail.eventId)).toBe(true);
      expect(lax.length).toBe(lines.length);
    } finally {
      stack.emulator.clearFaults();
    }
  });

  it("exits 2 for bad usage and for a bad config, naming every problem", async () => {
    expect((await cli(["sync"])).code).toBe(2);
    expect((await cli(["frobnicate"])).code).toBe(2);
    expect((await cli(["sync", "--config", "x", "--nope"])).code).toBe(2);
    const bad = configFile({
      accounts: [{ name: "a", api: "zenlayer-zec", credentials: { token: "t" }, zones: ["x"] }],
      extra: 1,
    });
    const r = await cli(["sync", "--config", bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown key "zones"');
    expect(r.stderr).toContain('unknown key "extra" at top level');
    expect((await cli(["sync", "--config", join(dir, "missing.json")])).code).toBe(2);
  });

  it("exits 2 with the usage on stderr when given no command, like any bad usage; help prints it on stdout", async () => {
    const none = await cli([]);
    expect(none.code).toBe(2);
    expect(none.stdout).toBe("");
    expect(none.stderr).toContain("a command is required");
    expect(none.stderr).toContain("image-sync latest");
    const help = await cli(["help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("image-sync latest");
    expect(help.stderr).toBe("");
  });

  it("--dry-run writes nothing", async () => {
    const table = `cli-dry-${Date.now()}`;
    const config = configFile(stack.config(["zenlayer-bmc"]));
    const r = await cli(["sync", "--config", config, "--dry-run", "--json"], { TABLE_NAME: table });
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.dryRun).toBe(true);
    expect(report.scopes[0].added).toBeGreaterThan(0);
    expect(
      JSON.parse((await cli(["images", "--account", "zenlayer-bmc", "--all", "--json"], { TABLE_NAME: table })).stdout),
    ).toEqual([]);
  });
});
