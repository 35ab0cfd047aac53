// The chaos soak (`npm run soak`): many sync runs on the local stack with random provider faults and
// catalogue drift. After every run it checks the invariants an operator relies on:
//   1. no image the emulator still lists was deprecated as missing (no false alarms);
//   2. after a clean run, every image the emulator lists is stored, active exactly when usable (no lost data);
//   3. every logical change produced exactly one distinct event id (at-least-once, de-duplicable);
//   4. no log line contains a secret (the logger here does NOT redact, so this checks the code itself).
// Bounded in runs and in time; exits 1 when any invariant was violated.
// `--model` runs the model-based adversarial test (lib/bench/model.ts) instead, for `--runs` sequences.
import { parseArgs } from "node:util";
import type { SyncConfig } from "../config.ts";
import { demoConfig } from "../emulator/demo.ts";
import { DIALECTS } from "../emulator/dialects.ts";
import { type Emulator, type FaultAction, startEmulator } from "../emulator/index.ts";
import { createRng, type Rng } from "../emulator/rng.ts";
import { localPublisher, streamRecordsFor } from "../events/local.ts";
import { processStreamRecords } from "../events/process.ts";
import type { ChangeDetail } from "../events/types.ts";
import { createLogger } from "../log.ts";
import type { ApiId } from "../model.ts";
import { createHttpClient } from "../providers/http.ts";
import { startLocalDynamo } from "../store/local.ts";
import { createStore, type Store } from "../store/store.ts";
import type { Change } from "../sync/diff.ts";
import { runSync } from "../sync/engine.ts";
import { coverageLine, KNOWN_DEFECTS, parseDefects, runModel } from "./model.ts";

const FAULT_KINDS = [
  "throttle",
  "internal",
  "unavailable",
  "reset",
  "truncate",
  "html-502",
  "lying-total",
  "empty-listing",
  "shift",
  "error-in-200",
  "auth",
  "clock-skew",
  "latency",
] as const;
type FaultKind = (typeof FAULT_KINDS)[number];

interface Target {
  api: ApiId;
  scope: string;
}

function usable(api: ApiId, record: Record<string, unknown>): boolean {
  const module = DIALECTS.find((d) => d.apis.includes(api));
  return module?.isUsable ? module.isUsable(api, record) : true;
}

/** One fault of `kind` on `target`, as the emulator injects it. */
function faultFor(kind: FaultKind, target: Target, rng: Rng, emulator: Emulator): FaultAction | null {
  switch (kind) {
    case "throttle":
      return { type: "failure", failure: "throttle", retryAfterSeconds: 0 };
    case "internal":
      return { type: "failure", failure: "internal" };
    case "unavailable":
      return { type: "failure", failure: "unavailable" };
    case "reset":
      return { type: "reset" };
    case "truncate":
      return { type: "truncate" };
    case "html-502":
      return {
        type: "http",
        status: 502,
        body: "<html><body>502 Bad Gateway</body></html>",
        headers: { "content-type": "text/html" },
      };
    case "auth":
      return { type: "failure", failure: "auth" };
    case "latency":
      return { type: "delay", ms: rng.int(5, 40) };
    case "error-in-200":
      return target.api.startsWith("tencent")
        ? { type: "failure", failure: "internal" }
        : { type: "failure", failure: "unavailable" };
    case "lying-total":
      return { type: "transform", apply: (json: unknown) => lieAboutTotal(json, rng.int(1, 5)) };
    case "empty-listing":
      return { type: "transform", apply: emptyListing };
    case "shift": {
      const list = emulator.catalogue.get(target.api)?.get(target.scope);
      if (!list || list.length < 2) return null;
      // The provider drops an image between two pages: real drift, seen mid-sweep.
      return { type: "mutate", apply: () => void list.splice(rng.int(0, list.length - 1), 1) };
    }
    case "clock-skew":
      return null; // applied to the whole emulator for one run, below
  }
}

/** Every dialect's envelope keeps its count in one of these places. */
function lieAboutTotal(json: unknown, delta: number): unknown {
  const j = json as Record<string, Record<string, unknown>>;
  if (j.response && typeof j.response.totalCount === "number") j.response.totalCount += delta;
  else if (j.Response && typeof j.Response.TotalCount === "number") j.Response.TotalCount += delta;
  else {
    const flat = json as Record<string, unknown>;
    if (typeof flat.totalCount === "number") flat.totalCount += delta;
  }
  return json;
}

function emptyListing(json: unknown): unknown {
  const j = json as Record<string, Record<string, unknown>>;
  if (j.response && "dataSet" in j.response) Object.assign(j.response, { dataSet: [], totalCount: 0 });
  else if (j.response && "images" in j.response) Object.assign(j.response, { images: [] });
  else if (j.Response && "ImageSet" in j.Response) Object.assign(j.Response, { ImageSet: [], TotalCount: 0 });
  else if ("imageSet" in j) Object.assign(j, { imageSet: [], totalCount: 0 });
  return json;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      runs: { type: "string", default: "200" },
      seconds: { type: "string", default: "600" },
      scale: { type: "string", default: "0.15" },
      seed: { type: "string" },
      model: { type: "boolean", default: false },
      path: { type: "string" },
      known: { type: "string" },
    },
  });
  if (values.model) return modelSoak(values);
  const maxRuns = Number(values.runs);
  const deadline = Date.now() + Number(values.seconds) * 1000;
  const seed = Number(values.seed ?? "1");
  const rng = createRng(seed);
  const emulator = await startEmulator({ scale: Number(values.scale), seed });
  const dynamo = await startLocalDynamo();
  const store: Store = createStore({ tableName: "soak", endpoint: dynamo.endpoint, localCredentials: true });
  await store.ensureTable();
  const http = createHttpClient({ headersTimeoutMs: 5_000, bodyTimeoutMs: 5_000 });
  const creds = emulator.credentials;
  const secrets = [creds.zenlayer.accessKeySecret, creds.zenlayer.token, creds.tencent.secretKey];

  // Every scope configured explicitly, so stored scope names match the emulator's catalogue keys.
  const base = demoConfig(emulator.url, creds);
  const config: SyncConfig = {
    accounts: base.accounts.map((a) => ({
      ...a,
      ...(a.api === "zenlayer-bmc" ? {} : { scopes: [...(emulator.catalogue.get(a.api)?.keys() ?? [])] }),
    })),
  };
  const targets: Target[] = [...emulator.catalogue].flatMap(([api, scopes]) =>
    [...scopes.keys()].map((scope) => ({ api, scope })),
  );

  const faultCounts = new Map<string, number>();
  const violations: string[] = [];
  const logLines: string[] = [];
  const log = createLogger({ level: "debug", write: (l) => logLines.push(l) }); // no redaction on purpose
  const eventIds = new Map<string, string>(); // eventId -> logical change
  let changeCount = 0;
  let eventCount = 0;
  const emptiedLastRun = new Set<string>();
  let runs = 0;
  const started = Date.now();

  const publish = localPublisher((e) => {
    eventCount++;
    const d = e.detail as ChangeDetail;
    if (!d.changeType) return;
    const logical = `${d.account}|${d.scope}|${d.imageId}|${d.changeType}|${d.runId}`;
    const seen = eventIds.get(e.id);
    if (seen && seen !== logical) violations.push(`run ${runs}: event id ${e.id} reused for ${logical} and ${seen}`);
    eventIds.set(e.id, logical);
  });

  while (runs < maxRuns && Date.now() < deadline) {
    runs++;
    const clean = runs % 5 === 0; // every fifth run is clean, to check that nothing was lost
    if (runs > 1)
      emulator.drift({
        add: rng.int(0, 4),
        remove: rng.int(0, 3),
        unusable: rng.int(0, 2),
        touch: rng.int(0, 3),
        seed: runs,
      });
    const emptiedNow = new Set<string>();
    if (!clean) {
      const n = rng.int(1, 4);
      for (let i = 0; i < n; i++) {
        const kind = rng.pick(FAULT_KINDS);
        const target = rng.pick(targets);
        const key = `${target.api}|${target.scope}`;
        // The guard trusts two agreeing complete sweeps; independent transient faults never repeat an empty listing.
        if (kind === "empty-listing" && emptiedLastRun.has(key)) continue;
        if (kind === "clock-skew") {
          emulator.clockSkewMs = rng.pick([-1, 1]) * 10 * 60_000;
        } else {
          const action = faultFor(kind, target, rng, emulator);
          if (!action) continue;
          emulator.inject({
            match: { api: target.api, scope: target.scope, ...(kind === "shift" ? { pageNumber: 2 } : {}) },
            times: rng.int(1, 3),
            action,
          });
        }
        if (kind === "empty-listing") emptiedNow.add(key);
        if (process.env.SOAK_DEBUG) process.stderr.write(`run ${runs}: ${kind} on ${key}\n`);
        faultCounts.set(kind, (faultCounts.get(kind) ?? 0) + 1);
      }
    }
    emptiedLastRun.clear();
    for (const k of emptiedNow) emptiedLastRun.add(k);

    const report = await runSync({
      config,
      store,
      http,
      log,
      scopeConcurrency: 4,
      retry: { attempts: 3, baseDelayMs: 2, maxDelayMs: 10 },
      retryDeps: { sleep: (ms) => new Promise((r) => setTimeout(r, ms)), random: Math.random },
      onChanges: async (changes: readonly Change[]) => {
        const alertable = changes.filter((c) => !c.after.lastChange.baseline);
        changeCount += alertable.length;
        await processStreamRecords(streamRecordsFor(changes), { publish, digestThreshold: 1_000_000 });
      },
    });
    emulator.clearFaults();
    emulator.clockSkewMs = 0;

    // 1. Nothing the emulator lists is deprecated as missing.
    for (const { api, scope } of targets) {
      const listed = new Set(
        (emulator.catalogue.get(api)?.get(scope) ?? []).map((r) => String(r.imageId ?? r.ImageId ?? r.unImgId)),
      );
      const account = config.accounts.find((a) => a.api === api)?.name as string;
      for (const img of await store.listImages({ account, scope, all: true })) {
        if (img.state === "deprecated" && img.deprecationReason === "missing" && listed.has(img.imageId)) {
          violations.push(`run ${runs}: ${api} ${scope} ${img.imageId} deprecated as missing but still listed`);
        }
      }
    }
    // 2. After a clean run, every listed image is stored, and every usable one is active.
    if (clean) {
      if (!report.ok)
        violations.push(
          `run ${runs}: clean run not ok: ${report.scopes
            .filter((s) => s.status !== "complete")
            .map((s) => `${s.scope} ${s.error?.message}`)
            .join("; ")}`,
        );
      for (const { api, scope } of targets) {
        const account = config.accounts.find((a) => a.api === api)?.name as string;
        const stored = new Map((await store.listImages({ account, scope, all: true })).map((i) => [i.imageId, i]));
        for (const r of emulator.catalogue.get(api)?.get(scope) ?? []) {
          const id = String(r.imageId ?? r.ImageId ?? r.unImgId);
          const img = stored.get(id);
          if (!img) violations.push(`run ${runs}: ${api} ${scope} ${id} listed but not stored`);
          else if (img.state !== "active" && usable(api, r))
            violations.push(
              `run ${runs}: ${api} ${scope} ${id} usable but stored as ${img.state} (${img.deprecationReason})`,
            );
        }
      }
    }
    if (runs % 20 === 0) process.stderr.write(`soak: ${runs} runs, ${violations.length} violations\n`);
  }

  // 3. One distinct event id per logical change.
  const logical = new Set(eventIds.values());
  if (logical.size !== eventIds.size) violations.push("event ids are not one per logical change");
  if (eventCount !== changeCount) violations.push(`${changeCount} changes reported but ${eventCount} events published`);
  // 4. No secret in any log line.
  for (const line of logLines)
    for (const s of secrets)
      if (line.includes(s)) violations.push(`a log line contains a secret: ${line.slice(0, 80)}...`);

  await http.close();
  store.close();
  await Promise.all([emulator.close(), dynamo.close()]);

  const faults = [...faultCounts].sort((a, b) => b[1] - a[1]);
  process.stdout.write(
    [
      `soak: ${runs} runs in ${((Date.now() - started) / 1000).toFixed(1)}s (every 5th run clean), ${changeCount} changes, ${eventCount} events, ${logLines.length} log lines`,
      `faults injected: ${faults.reduce((n, [, c]) => n + c, 0)} (${faults.map(([k, c]) => `${k} ${c}`).join(", ")})`,
      `invariant violations: ${violations.length}`,
      ...violations.slice(0, 20).map((v) => `  - ${v}`),
      "",
    ].join("\n"),
  );
  return violations.length ? 1 : 0;
}

/**
 * `--model`: the model-based adversarial test (lib/bench/model.ts) for `--runs` sequences. `--seed` and `--path`
 * replay a failure; `--known 1,2,redelivery-event-id` (or `none`) replaces the defects left out (KNOWN_DEFECTS).
 */
async function modelSoak(values: { runs?: string; seed?: string; path?: string; known?: string }): Promise<number> {
  const known = values.known === undefined ? KNOWN_DEFECTS : parseDefects(values.known);
  const numRuns = Number(values.runs ?? "200");
  const started = Date.now();
  const result = await runModel({
    numRuns,
    maxOps: 8,
    known,
    ...(values.seed !== undefined ? { seed: Number(values.seed) } : {}),
    ...(values.path !== undefined ? { path: values.path } : {}),
    onSequence: (n) => {
      if (n % 100 === 0)
        process.stderr.write(`model: ${n} sequences, ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
    },
  });
  process.stdout.write(
    result.failed
      ? `${result.report}\n`
      : `model: ${result.numRuns} sequences of up to 8 operations in ${(result.durationMs / 1000).toFixed(1)} s (seed ${result.seed}), known defects left out: ${[...known].join(", ") || "none"}; invariant violations: 0\n`,
  );
  process.stdout.write(`covered: ${coverageLine()}\n`);
  return result.failed ? 1 : 0;
}

process.exitCode = await main();
