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
import type { Publisher } from "../events/publish.ts";
import type { ChangeDetail } from "../events/types.ts";
import { createLogger, type Logger } from "../log.ts";
import type { ApiId } from "../model.ts";
import { createHttpClient, type HttpClient } from "../providers/http.ts";
import { type LocalDynamo, startLocalDynamo } from "../store/local.ts";
import { createStore, type Store } from "../store/store.ts";
import type { Change } from "../sync/diff.ts";
import { runSync, type SyncReport } from "../sync/engine.ts";
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
  return chaosSoak({ runs: values.runs, seconds: values.seconds, scale: values.scale, seed: values.seed });
}

/** What the runs of the chaos soak share. */
interface Soak {
  readonly emulator: Emulator;
  readonly store: Store;
  readonly config: SyncConfig;
  readonly targets: Target[];
  readonly rng: Rng;
  readonly violations: string[];
  readonly faultCounts: Map<string, number>;
  /** The scopes given an empty listing by the last run. */
  readonly emptiedLastRun: Set<string>;
  /** Runs so far, the current one included. */
  runs: number;
}

/** The soak without `--model`: `runs` sync runs at most, for `seconds` at most. */
async function chaosSoak(values: { runs: string; seconds: string; scale: string; seed?: string }): Promise<number> {
  const maxRuns = Number(values.runs);
  const deadline = Date.now() + Number(values.seconds) * 1000;
  const { soak, dynamo, http, secrets } = await startSoak(values);
  const { violations } = soak;
  const logLines: string[] = [];
  const log = createLogger({ level: "debug", write: (l) => logLines.push(l) }); // no redaction on purpose
  const eventIds = new Map<string, string>(); // eventId -> logical change
  const tally = { changes: 0, events: 0 };
  const started = Date.now();

  const publish = localPublisher((e) => {
    tally.events++;
    const d = e.detail as ChangeDetail;
    if (!d.changeType) return;
    const logical = `${d.account}|${d.scope}|${d.imageId}|${d.changeType}|${d.runId}`;
    const seen = eventIds.get(e.id);
    if (seen && seen !== logical)
      violations.push(`run ${soak.runs}: event id ${e.id} reused for ${logical} and ${seen}`);
    eventIds.set(e.id, logical);
  });

  while (soak.runs < maxRuns && Date.now() < deadline) {
    await soakRun(soak, { http, log, publish, tally });
    if (soak.runs % 20 === 0) process.stderr.write(`soak: ${soak.runs} runs, ${violations.length} violations\n`);
  }

  violations.push(...finalViolations(eventIds, tally, logLines, secrets));
  await http.close();
  soak.store.close();
  await Promise.all([soak.emulator.close(), dynamo.close()]);
  printSoakSummary(soak, tally, logLines.length, started);
  return violations.length ? 1 : 0;
}

/** The local stack of the chaos soak: the emulator, an embedded DynamoDB with its table, an HTTP client. */
async function startSoak(values: {
  scale: string;
  seed?: string;
}): Promise<{ soak: Soak; dynamo: LocalDynamo; http: HttpClient; secrets: string[] }> {
  const seed = Number(values.seed ?? "1");
  const rng = createRng(seed);
  const emulator = await startEmulator({ scale: Number(values.scale), seed });
  const dynamo = await startLocalDynamo();
  const store: Store = createStore({ tableName: "soak", endpoint: dynamo.endpoint, localCredentials: true });
  await store.ensureTable();
  const http = createHttpClient({ headersTimeoutMs: 5_000, bodyTimeoutMs: 5_000 });
  const creds = emulator.credentials;
  const secrets = [creds.zenlayer.accessKeySecret, creds.zenlayer.token, creds.tencent.secretKey];
  const targets: Target[] = [...emulator.catalogue].flatMap(([api, scopes]) =>
    [...scopes.keys()].map((scope) => ({ api, scope })),
  );
  const soak: Soak = {
    emulator,
    store,
    config: soakConfig(emulator),
    targets,
    rng,
    violations: [],
    faultCounts: new Map(),
    emptiedLastRun: new Set(),
    runs: 0,
  };
  return { soak, dynamo, http, secrets };
}

/** One run: catalogue drift (after the first), faults (unless it is a clean run), the sync, invariants 1 and 2. */
async function soakRun(
  soak: Soak,
  deps: { http: HttpClient; log: Logger; publish: Publisher; tally: { changes: number; events: number } },
): Promise<void> {
  const { emulator, rng } = soak;
  soak.runs++;
  const clean = soak.runs % 5 === 0; // every fifth run is clean, to check that nothing was lost
  if (soak.runs > 1)
    emulator.drift({
      add: rng.int(0, 4),
      remove: rng.int(0, 3),
      unusable: rng.int(0, 2),
      touch: rng.int(0, 3),
      seed: soak.runs,
    });
  const emptiedNow = clean ? new Set<string>() : injectFaults(soak);
  soak.emptiedLastRun.clear();
  for (const k of emptiedNow) soak.emptiedLastRun.add(k);

  const report = await runSync({
    config: soak.config,
    store: soak.store,
    http: deps.http,
    log: deps.log,
    scopeConcurrency: 4,
    retry: { attempts: 3, baseDelayMs: 2, maxDelayMs: 10 },
    retryDeps: { sleep: (ms) => new Promise((r) => setTimeout(r, ms)), random: Math.random },
    onChanges: async (changes: readonly Change[]) => {
      const alertable = changes.filter((c) => !c.after.lastChange.baseline);
      deps.tally.changes += alertable.length;
      await processStreamRecords(streamRecordsFor(changes), { publish: deps.publish, digestThreshold: 1_000_000 });
    },
  });
  emulator.clearFaults();
  emulator.clockSkewMs = 0;
  await checkNoListedImageMissing(soak);
  if (clean) await checkCleanRun(soak, report);
}

/** The demo config with every scope configured explicitly, so stored scope names match the catalogue's keys. */
function soakConfig(emulator: Emulator): SyncConfig {
  const base = demoConfig(emulator.url, emulator.credentials);
  return {
    accounts: base.accounts.map((a) => ({
      ...a,
      ...(a.api === "zenlayer-bmc" ? {} : { scopes: [...(emulator.catalogue.get(a.api)?.keys() ?? [])] }),
    })),
  };
}

/** Injects one to four random faults for the next run; returns the scopes given an empty listing. */
function injectFaults(soak: Soak): Set<string> {
  const { emulator, rng } = soak;
  const emptiedNow = new Set<string>();
  const n = rng.int(1, 4);
  for (let i = 0; i < n; i++) {
    const kind = rng.pick(FAULT_KINDS);
    const target = rng.pick(soak.targets);
    const key = `${target.api}|${target.scope}`;
    // The guard trusts two agreeing complete sweeps; independent transient faults never repeat an empty listing.
    if (kind === "empty-listing" && soak.emptiedLastRun.has(key)) continue;
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
    if (process.env.SOAK_DEBUG) process.stderr.write(`run ${soak.runs}: ${kind} on ${key}\n`);
    soak.faultCounts.set(kind, (soak.faultCounts.get(kind) ?? 0) + 1);
  }
  return emptiedNow;
}

/** Invariant 1: nothing the emulator lists is deprecated as missing. */
async function checkNoListedImageMissing({ emulator, store, config, targets, violations, runs }: Soak): Promise<void> {
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
}

/** Invariant 2: after a clean run, every listed image is stored, and every usable one is active. */
async function checkCleanRun(soak: Soak, report: SyncReport): Promise<void> {
  const { emulator, store, config, targets, violations, runs } = soak;
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

/** Invariants 3 and 4, over the whole soak. */
function finalViolations(
  eventIds: Map<string, string>,
  tally: { changes: number; events: number },
  logLines: readonly string[],
  secrets: readonly string[],
): string[] {
  const violations: string[] = [];
  // 3. One distinct event id per logical change.
  const logical = new Set(eventIds.values());
  if (logical.size !== eventIds.size) violations.push("event ids are not one per logical change");
  if (tally.events !== tally.changes)
    violations.push(`${tally.changes} changes reported but ${tally.events} events published`);
  // 4. No secret in any log line.
  for (const line of logLines)
    for (const s of secrets)
      if (line.includes(s)) violations.push(`a log line contains a secret: ${line.slice(0, 80)}...`);
  return violations;
}

function printSoakSummary(
  soak: Soak,
  tally: { changes: number; events: number },
  logLineCount: number,
  started: number,
): void {
  const faults = [...soak.faultCounts].sort((a, b) => b[1] - a[1]);
  const { violations } = soak;
  process.stdout.write(
    [
      `soak: ${soak.runs} runs in ${((Date.now() - started) / 1000).toFixed(1)}s (every 5th run clean), ${tally.changes} changes, ${tally.events} events, ${logLineCount} log lines`,
      `faults injected: ${faults.reduce((n, [, c]) => n + c, 0)} (${faults.map(([k, c]) => `${k} ${c}`).join(", ")})`,
      `invariant violations: ${violations.length}`,
      ...violations.slice(0, 20).map((v) => `  - ${v}`),
      "",
    ].join("\n"),
  );
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
