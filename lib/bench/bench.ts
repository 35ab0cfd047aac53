// The benchmark (`npm run bench [-- --quick] [-- --json]`): the sync against the local stack at realistic
// per-request latency, next to a naive baseline, measured in one run. The emulator and dynalite run in child
// processes, and each sync run in a fresh one, so the peak RSS measured is that run's own.
//
// Per catalogue size: a first sync, a steady-state sync (no drift) and a sync after 1% drift; the naive
// baseline (sequential, page size 20, a PutItem per image per run) does one full run on the same catalogue
// (every naive run costs the same: it fetches and writes everything).
//
// For digging: `--scale S --replicas R` runs one size, `--cpu-profile DIR` writes a CPU profile of each sync run,
// `--memory-budget N` and `--heap-cap MiB` (0: none) change the memory settings, BENCH_SNAPSHOT_MIB=M in the
// environment writes /tmp/bench.heapsnapshot once a sync's heap passes M MiB, and BENCH_SCOPES=1 prints where a
// run's time went: each dialect's scope time against its rate bound, and the slowest scopes.
import { type ChildProcess, fork } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { SyncConfig } from "../config.ts";
import { demoConfig } from "../emulator/demo.ts";
import { DIALECTS } from "../emulator/dialects.ts";
import { type Catalogue, DEMO_CREDENTIALS, generateCatalogue, startEmulator } from "../emulator/index.ts";
import type { ApiId } from "../model.ts";
import { createHttpClient } from "../providers/http.ts";
import { ADAPTERS, API_LIMITS, DEFAULT_REQUESTS_PER_SECOND } from "../providers/index.ts";
import { startLocalDynamo } from "../store/local.ts";
import { createStore } from "../store/store.ts";
import { runSync, type SyncReport } from "../sync/engine.ts";
import { formatDuration, renderTable } from "../sync/summary.ts";

const LATENCY_MS = 50;
/**
 * The sync runs with V8's old space capped here (`--heap-cap MiB`, 0 for none), as a function given 256 MB
 * would be: uncapped, V8 on this 24 GiB machine defers collection and RSS shows its garbage (a heap snapshot
 * of a first sync at 90 MiB heap held 16 MiB of live objects). A sync that needed more would fail, not pass.
 */
const DEFAULT_HEAP_CAP_MIB = 160;
const SCOPE_CONCURRENCY = 8;
const rpsOf = (api: ApiId) => API_LIMITS[api].requestsPerSecond;

/** The demo catalogue at `scale`, each scope replicated `replicas` times under new names: many scopes. */
function benchCatalogue(scale: number, replicas: number): Catalogue {
  const base = generateCatalogue(DIALECTS, 20240712, scale);
  const out: Catalogue = new Map();
  for (const [api, scopes] of base) {
    const copy = new Map<string, Record<string, unknown>[]>();
    for (const [scope, records] of scopes) {
      if (api === "zenlayer-bmc") {
        copy.set(scope, records);
        continue;
      }
      for (let r = 0; r < replicas; r++)
        copy.set(r === 0 ? scope : `${scope}-r${r}`, r === 0 ? records : structuredClone(records));
    }
    out.set(api, copy);
  }
  return out;
}

/** Sub-listings per scope, as the sync walks them (tencent-cvm-v2 walks image types 1-4). */
function partsOf(api: ApiId, records: Record<string, unknown>[]): number[] {
  if (api !== "tencent-cvm-v2") return [records.length];
  return [1, 2, 3, 4].map((t) => records.filter((r) => r.imageType === t).length);
}

function minimumRequests(catalogue: Catalogue): { total: number; perScope: Array<{ api: ApiId; requests: number }> } {
  const perScope: Array<{ api: ApiId; requests: number }> = [];
  for (const [api, scopes] of catalogue) {
    const size = API_LIMITS[api].maxPageSize;
    for (const records of scopes.values()) {
      const requests = partsOf(api, records).reduce(
        (n, k) => n + (size === null ? 1 : Math.max(1, Math.ceil(k / size))),
        0,
      );
      perScope.push({ api, requests });
    }
  }
  return { total: perScope.reduce((n, s) => n + s.requests, 0), perScope };
}

/** Seconds the providers' rate limits alone require, with `concurrency` scopes swept at once. */
function rateBoundSeconds(perScope: Array<{ api: ApiId; requests: number }>, concurrency: number): number {
  const times = perScope.map((s) => s.requests / rpsOf(s.api));
  return Math.max(Math.max(...times), times.reduce((a, b) => a + b, 0) / concurrency);
}

// ---- child processes: the emulator and dynalite live outside the measured sync process ----

interface CatalogueFacts {
  images: number;
  scopes: Record<string, string[]>;
  minimum: { total: number; perScope: Array<{ api: ApiId; requests: number }> };
}
interface SyncJob {
  cmd: "sync";
  config: SyncConfig;
  endpoint: string;
  memoryBudget?: number;
  profileFile?: string;
}
type ChildMessage =
  | { type: "ready"; url: string; facts?: CatalogueFacts }
  | {
      type: "synced";
      ok: boolean;
      problem?: string;
      figures: Omit<RunFigures, "label" | "requests">;
    }
  | { type: "stats"; total: number; cpuMs?: number }
  | { type: "drift"; changes: number };

/** One sync run, measured in this (fresh) process: wall time, write requests, changes, peak RSS and heap. */
async function syncChild(job: SyncJob): Promise<Extract<ChildMessage, { type: "synced" }>> {
  const store = createStore({
    tableName: "bench",
    endpoint: job.endpoint,
    localCredentials: true,
    writeConcurrency: 64,
  });
  const http = createHttpClient();
  const sampler = rssSampler();
  heapSnapshotWatch();
  const profile = job.profileFile ? await startProfile() : null;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const report = await runSync({
    config: job.config,
    store,
    http,
    scopeConcurrency: SCOPE_CONCURRENCY,
    defaultRequestsPerSecond: DEFAULT_REQUESTS_PER_SECOND,
    ...(job.memoryBudget ? { memoryBudgetImages: job.memoryBudget } : {}),
  });
  const wallMs = performance.now() - t0;
  const cpu = cpuMs(process.cpuUsage(cpu0));
  if (profile && job.profileFile) writeFileSync(job.profileFile, JSON.stringify(await profile.stop()));
  const peak = sampler.stop();
  await http.close();
  store.close();
  const bad = report.scopes.find((s) => s.status !== "complete");
  if (process.env.BENCH_SCOPES) printScopeTimes(report, wallMs);
  return {
    type: "synced",
    ok: report.ok,
    ...(bad ? { problem: JSON.stringify(bad) } : {}),
    figures: {
      wallMs,
      writes: store.stats.writeRequests,
      changes: changesOf(report),
      peakRssMiB: peak.rss,
      peakHeapMiB: peak.heap,
      cpuMs: cpu,
    },
  };
}

/** With BENCH_SNAPSHOT_MIB=M, writes /tmp/bench.heapsnapshot once this process's heap passes M MiB. */
function heapSnapshotWatch(): void {
  const snapAt = Number(process.env.BENCH_SNAPSHOT_MIB ?? 0);
  const snapTimer = snapAt
    ? setInterval(async () => {
        if (process.memoryUsage().heapUsed / 1048576 < snapAt) return;
        clearInterval(snapTimer);
        process.stderr.write(
          `heap snapshot: ${(await import("node:v8")).writeHeapSnapshot("/tmp/bench.heapsnapshot")}\n`,
        );
      }, 20)
    : undefined;
}

/** BENCH_SCOPES=1: where the wall time went, by dialect against its rate bound, and the slowest scopes. */
function printScopeTimes(report: SyncReport, wallMs: number): void {
  const busy = report.scopes.reduce((n, s) => n + s.durationMs, 0);
  process.stderr.write(`bench: scope time ${(busy / 1000).toFixed(1)} s in ${(wallMs / 1000).toFixed(1)} s of wall\n`);
  const byApi = new Map<string, { ms: number; boundMs: number; scopes: number }>();
  for (const s of report.scopes) {
    const a = byApi.get(s.api) ?? { ms: 0, boundMs: 0, scopes: 0 };
    a.ms += s.durationMs;
    a.boundMs += (s.requests / rpsOf(s.api)) * 1000;
    a.scopes++;
    byApi.set(s.api, a);
  }
  for (const [api, a] of byApi)
    process.stderr.write(
      `  ${api}: ${a.scopes} scopes, ${(a.ms / 1000).toFixed(1)} s (rate bound ${(a.boundMs / 1000).toFixed(1)} s)\n`,
    );
  for (const s of [...report.scopes].sort((a, b) => b.durationMs - a.durationMs).slice(0, 12))
    process.stderr.write(`  ${s.api} ${s.scope}: ${s.durationMs} ms, ${s.requests} requests, ${s.fetched} images\n`);
}

async function childMain(role: string, args: Record<string, string | undefined>): Promise<void> {
  if (role === "sync") {
    process.once("message", async (job: SyncJob) => {
      process.send?.(await syncChild(job), () => process.exit(0));
    });
    process.send?.({ type: "ready", url: "" } satisfies ChildMessage);
    return;
  }
  if (role === "dynamo") {
    const dynamo = await startLocalDynamo();
    let cpuAtReset = process.cpuUsage();
    process.on("message", (m: { cmd: string }) => {
      if (m.cmd === "reset") cpuAtReset = process.cpuUsage();
      process.send?.({ type: "stats", total: 0, cpuMs: cpuMs(process.cpuUsage(cpuAtReset)) } satisfies ChildMessage);
    });
    process.send?.({ type: "ready", url: dynamo.endpoint } satisfies ChildMessage);
    return;
  }
  const catalogue = benchCatalogue(Number(args.scale), Number(args.replicas));
  const emulator = await startEmulator({ catalogue, latencyMs: LATENCY_MS });
  let cpuAtReset = process.cpuUsage();
  process.on("message", (m: { cmd: string; images?: number }) => {
    if (m.cmd === "stats")
      process.send?.({
        type: "stats",
        total: emulator.stats.total,
        cpuMs: cpuMs(process.cpuUsage(cpuAtReset)),
      } satisfies ChildMessage);
    if (m.cmd === "reset") {
      emulator.stats.reset();
      cpuAtReset = process.cpuUsage();
      process.send?.({ type: "stats", total: 0 } satisfies ChildMessage);
    }
    if (m.cmd === "drift") {
      // 1% of the images change: a quarter each added, removed, made unusable and updated.
      const each = Math.max(1, Math.round(((m.images ?? 0) * 0.01) / 4));
      const r = emulator.drift({ add: each, remove: each, unusable: each, touch: each, seed: 42 });
      const changes = r.added.length + r.removed.length + r.unusable.length + r.touched.length;
      process.send?.({ type: "drift", changes } satisfies ChildMessage);
    }
  });
  const facts: CatalogueFacts = {
    images: [...catalogue.values()].reduce((n, sc) => n + [...sc.values()].reduce((m, r) => m + r.length, 0), 0),
    scopes: Object.fromEntries([...catalogue].map(([api, sc]) => [api, [...sc.keys()]])),
    minimum: minimumRequests(catalogue),
  };
  process.send?.({ type: "ready", url: emulator.url, facts } satisfies ChildMessage);
}

function spawnChild(
  role: string,
  extra: string[] = [],
  execArgv: string[] = [],
): Promise<{ child: ChildProcess; url: string; facts?: CatalogueFacts }> {
  const child = fork(process.argv[1] as string, ["--role", role, ...extra], {
    stdio: ["ignore", "ignore", "inherit", "ipc"],
    execArgv: [...process.execArgv, ...execArgv],
  });
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("message", (m: ChildMessage) =>
      m.type === "ready"
        ? resolve({ child, url: m.url, ...(m.facts ? { facts: m.facts } : {}) })
        : reject(new Error("bad child")),
    );
  });
}

function ask<T extends ChildMessage["type"]>(
  child: ChildProcess,
  cmd: object,
  type: T,
): Promise<Extract<ChildMessage, { type: T }>> {
  return new Promise((resolve) => {
    const on = (m: ChildMessage) => {
      if (m.type === type) {
        child.off("message", on);
        resolve(m as Extract<ChildMessage, { type: T }>);
      }
    };
    child.on("message", on);
    child.send(cmd);
  });
}

// ---- measurement ----

interface RunFigures {
  label: string;
  wallMs: number;
  requests: number;
  writes: number;
  changes: number;
  peakRssMiB: number;
  /** Peak V8 heap in use (live objects and garbage not yet collected), for reading RSS against. */
  peakHeapMiB: number;
  /** CPU time the measured process used (user + system). */
  cpuMs: number;
}

const cpuMs = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1000;

function rssSampler() {
  let peak = process.memoryUsage().rss;
  let heap = process.memoryUsage().heapUsed;
  const sample = () => {
    const m = process.memoryUsage();
    peak = Math.max(peak, m.rss);
    heap = Math.max(heap, m.heapUsed);
  };
  const timer = setInterval(sample, 50);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      return { rss: peak / 1024 / 1024, heap: heap / 1024 / 1024 };
    },
  };
}

const changesOf = (r: SyncReport) => r.scopes.reduce((n, s) => n + s.added + s.updated + s.deprecated + s.restored, 0);

/** The naive baseline: scopes one after another, pages of 20 one after another, a PutItem per image. */
async function naiveRun(config: SyncConfig, endpoint: string, tableName: string) {
  const http = createHttpClient();
  const doc = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint, region: "us-east-1", credentials: { accessKeyId: "l", secretAccessKey: "l" } }),
    { marshallOptions: { removeUndefinedValues: true } },
  );
  let requests = 0;
  let writes = 0;
  const counting = {
    send: (r: Parameters<typeof http.send>[0]) => {
      requests++;
      return http.send(r);
    },
    close: () => http.close(),
  };
  for (const account of config.accounts) {
    const adapter = ADAPTERS[account.api]({ account, http: counting, now: Date.now });
    for (const scope of account.scopes ?? ["global"]) {
      for (const part of adapter.parts(scope)) {
        for (let pageNumber = 1; ; pageNumber++) {
          const page = await adapter.fetchPage({
            scope,
            part,
            pageNumber,
            pageSize: adapter.maxPageSize === null ? 0 : 20,
          });
          for (const image of page.images) {
            await doc.send(
              new PutCommand({
                TableName: tableName,
                Item: { PK: `${account.name}#${scope}`, SK: image.imageId, ...image },
              }),
            );
            writes++;
          }
          if (adapter.maxPageSize === null || page.images.length < 20) break;
        }
      }
    }
  }
  await http.close();
  doc.destroy();
  return { requests, writes };
}

interface SizeResult {
  images: number;
  scopes: number;
  runs: RunFigures[];
  baseline: RunFigures | null;
  minimumRequests: number;
  rateBoundS: number;
  rateBoundUnlimitedS: number;
  driftChanges: number;
}

/** A CPU profile of this process (the sync's side only), for `--cpu-profile <dir>`. */
async function startProfile(): Promise<{ stop: () => Promise<object> }> {
  const session = new Session();
  session.connect();
  const post = (method: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) =>
      session.post(method, (err, result) => (err ? reject(err) : resolve(result as Record<string, unknown>))),
    );
  await post("Profiler.enable");
  await post("Profiler.start");
  return {
    stop: async () => {
      const { profile } = await post("Profiler.stop");
      session.disconnect();
      return profile as object;
    },
  };
}

async function benchSize(
  scale: number,
  replicas: number,
  baselineMaxImages: number,
  profileDir?: string,
  memoryBudget?: number,
  heapCapMiB?: number,
): Promise<SizeResult> {
  // The catalogue lives in the emulator's process only; it reports the facts the figures need.
  const [emu, dyn] = await Promise.all([
    spawnChild("emulator", ["--scale", String(scale), "--replicas", String(replicas)]),
    spawnChild("dynamo"),
  ]);
  const facts = emu.facts as CatalogueFacts;
  const images = facts.images;
  const scopes = Object.values(facts.scopes).reduce((n, list) => n + list.length, 0);
  const min = facts.minimum;
  const config = benchConfig(emu.url, facts);
  const store = createStore({ tableName: "bench", endpoint: dyn.url, localCredentials: true });
  await store.ensureTable();
  store.close();
  const runs: RunFigures[] = [];
  let driftChanges = 0;
  for (const label of ["first", "steady", "drift 1%"]) {
    if (label === "drift 1%") driftChanges = (await ask(emu.child, { cmd: "drift", images }, "drift")).changes;
    runs.push(await measuredRun(emu, dyn, label, config, images, { profileDir, memoryBudget, heapCapMiB }));
  }
  const baseline = images <= baselineMaxImages ? await baselineRun(config, dyn.url, images) : null;
  emu.child.kill();
  dyn.child.kill();
  return {
    images,
    scopes,
    runs,
    baseline,
    minimumRequests: min.total,
    rateBoundS: rateBoundSeconds(min.perScope, SCOPE_CONCURRENCY),
    rateBoundUnlimitedS: rateBoundSeconds(min.perScope, Number.POSITIVE_INFINITY),
    driftChanges,
  };
}

/** The demo config with the emulator's scopes named (the bench catalogue replicates them under new names). */
function benchConfig(url: string, facts: CatalogueFacts): SyncConfig {
  const base = demoConfig(url, DEMO_CREDENTIALS);
  return {
    accounts: base.accounts.map((a) => ({
      ...a,
      ...(a.api === "zenlayer-bmc" ? {} : { scopes: facts.scopes[a.api] ?? [] }),
    })),
  };
}

type Child = Awaited<ReturnType<typeof spawnChild>>;

/** One sync run, in a fresh process, with the emulator's and dynalite's counters reset before it. */
async function measuredRun(
  emu: Child,
  dyn: Child,
  label: string,
  config: SyncConfig,
  images: number,
  opts: { profileDir?: string | undefined; memoryBudget?: number | undefined; heapCapMiB?: number | undefined },
): Promise<RunFigures> {
  const { profileDir, memoryBudget, heapCapMiB } = opts;
  await Promise.all([ask(emu.child, { cmd: "reset" }, "stats"), ask(dyn.child, { cmd: "reset" }, "stats")]);
  // Each run in a fresh process, as each scheduled invocation usually is: its memory is its own, not what an
  // earlier run left behind.
  const sync = await spawnChild("sync", [], heapCapMiB ? [`--max-old-space-size=${heapCapMiB}`] : []);
  const job: SyncJob = {
    cmd: "sync",
    config,
    endpoint: dyn.url,
    ...(memoryBudget ? { memoryBudget } : {}),
    ...(profileDir ? { profileFile: join(profileDir, `${images}-${label.replace(/\W+/g, "-")}.cpuprofile`) } : {}),
  };
  const done = await ask(sync.child, job, "synced");
  if (!done.ok) throw new Error(`bench sync not ok: ${done.problem}`);
  if (job.profileFile) process.stderr.write(`bench: CPU profile of this run in ${job.profileFile}\n`);
  const [emuStats, dynStats] = await Promise.all([
    ask(emu.child, { cmd: "stats" }, "stats"),
    ask(dyn.child, { cmd: "stats" }, "stats"),
  ]);
  const requests = emuStats.total;
  process.stderr.write(
    `bench: ${label}: the sync used ${(done.figures.cpuMs / 1000).toFixed(1)} s of CPU, the emulator ${((emuStats.cpuMs ?? 0) / 1000).toFixed(1)} s, DynamoDB (dynalite) ${((dynStats.cpuMs ?? 0) / 1000).toFixed(1)} s\n`,
  );
  process.stderr.write(`bench: ${images} images, ${label}: ${formatDuration(done.figures.wallMs)}\n`);
  return { label, requests, ...done.figures };
}

/** The naive baseline's one run, measured in this process. */
async function baselineRun(config: SyncConfig, endpoint: string, images: number): Promise<RunFigures> {
  const naiveStore = createStore({ tableName: "naive", endpoint, localCredentials: true });
  await naiveStore.ensureTable();
  naiveStore.close();
  const sampler = rssSampler();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const n = await naiveRun(config, endpoint, "naive");
  const peak = sampler.stop();
  const baseline: RunFigures = {
    label: "naive baseline",
    wallMs: performance.now() - t0,
    requests: n.requests,
    writes: n.writes,
    changes: n.writes,
    peakRssMiB: peak.rss,
    peakHeapMiB: peak.heap,
    cpuMs: cpuMs(process.cpuUsage(cpu0)),
  };
  process.stderr.write(`bench: ${images} images, naive baseline: ${formatDuration(baseline.wallMs)}\n`);
  return baseline;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      role: { type: "string" },
      scale: { type: "string" },
      replicas: { type: "string" },
      quick: { type: "boolean" },
      json: { type: "boolean" },
      "baseline-max": { type: "string", default: "150000" },
      "cpu-profile": { type: "string" },
      "memory-budget": { type: "string" },
      "heap-cap": { type: "string", default: String(DEFAULT_HEAP_CAP_MIB) },
    },
  });
  if (values.role) return childMain(values.role, { scale: values.scale, replicas: values.replicas });
  // Sizes: the demo catalogue (about 12.9k images over 28 scopes at scale 1), scaled and replicated.
  // `--scale S --replicas R` runs one size of your choosing (e.g. to profile it).
  const sizes = values.scale
    ? [{ scale: Number(values.scale), replicas: Number(values.replicas ?? 1) }]
    : values.quick
      ? [{ scale: 0.2, replicas: 2 }]
      : [
          { scale: 2, replicas: 4 },
          { scale: 3, replicas: 8 },
        ];
  const results: SizeResult[] = [];
  const profileDir = values["cpu-profile"];
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const budget = values["memory-budget"] ? Number(values["memory-budget"]) : undefined;
  const heapCapMiB = Number(values["heap-cap"]);
  for (const s of sizes)
    results.push(
      await benchSize(s.scale, s.replicas, Number(values["baseline-max"]), profileDir, budget, heapCapMiB || undefined),
    );

  printResultTable(results);
  const figures = sizeFigures(results);
  printFigures(figures);
  if (values.json) printJsonSummary(figures, !!values.quick, heapCapMiB);
}

function printResultTable(results: readonly SizeResult[]): void {
  const rows: string[][] = [];
  for (const r of results) {
    for (const run of [...r.runs, ...(r.baseline ? [r.baseline] : [])]) {
      rows.push([
        String(r.images),
        String(r.scopes),
        run.label,
        formatDuration(run.wallMs),
        String(run.requests),
        String(run.writes),
        String(run.changes),
        run.peakRssMiB.toFixed(0),
        run.peakHeapMiB.toFixed(0),
        `${(run.cpuMs / 1000).toFixed(1)}s`,
      ]);
    }
  }
  process.stdout.write(
    `${renderTable(["images", "scopes", "run", "wall", "requests", "writes", "changes", "peak RSS MiB", "peak heap MiB", "CPU"], rows)}\n\n`,
  );
}

/** Each size's figures of merit. */
function sizeFigures(results: readonly SizeResult[]) {
  return results.map((r) => {
    const [first, steady, drift] = r.runs as [RunFigures, RunFigures, RunFigures];
    return {
      images: r.images,
      scopes: r.scopes,
      requestsVsMinimum: steady.requests / r.minimumRequests,
      steadyWritesPerScope: steady.writes / r.scopes,
      driftWritesVsChanges: drift.writes / (drift.changes + r.scopes),
      timeVsRateBound: steady.wallMs / 1000 / r.rateBoundS,
      timeVsRateBoundUnlimited: steady.wallMs / 1000 / r.rateBoundUnlimitedS,
      rateBoundS: r.rateBoundS,
      peakRssMiB: Math.max(...r.runs.map((x) => x.peakRssMiB)),
      peakHeapMiB: Math.max(...r.runs.map((x) => x.peakHeapMiB)),
      baselineSpeedup: r.baseline ? r.baseline.wallMs / first.wallMs : null,
      baselineRequestsVsOurs: r.baseline ? r.baseline.requests / steady.requests : null,
      driftChangesInjected: r.driftChanges,
    };
  });
}

type SizeFigures = ReturnType<typeof sizeFigures>[number];

function printFigures(figures: readonly SizeFigures[]): void {
  for (const f of figures) {
    process.stdout.write(
      `${f.images} images / ${f.scopes} scopes: requests vs minimum ${f.requestsVsMinimum.toFixed(2)}, steady writes per scope ${f.steadyWritesPerScope.toFixed(2)}, drift writes vs (changes + scopes) ${f.driftWritesVsChanges.toFixed(2)}, steady time vs rate bound ${f.timeVsRateBound.toFixed(2)} (bound ${f.rateBoundS.toFixed(1)}s at ${SCOPE_CONCURRENCY} scopes at once; ${f.timeVsRateBoundUnlimited.toFixed(1)} vs all scopes at once), peak RSS ${f.peakRssMiB.toFixed(0)} MiB, baseline speedup ${f.baselineSpeedup?.toFixed(1) ?? "n/a"}x\n`,
    );
  }
}

/** `--json`: one line of the worst figures over the sizes, and every size's. */
function printJsonSummary(figures: SizeFigures[], quick: boolean, heapCapMiB: number): void {
  const last = figures[figures.length - 1] as (typeof figures)[number];
  const summary = {
    quick,
    heapCapMiB: heapCapMiB || null,
    latencyMs: LATENCY_MS,
    rateLimits: { zenlayerRps: DEFAULT_REQUESTS_PER_SECOND, tencentRps: API_LIMITS["tencent-cvm"].requestsPerSecond },
    scopeConcurrency: SCOPE_CONCURRENCY,
    requestsVsMinimum: Math.max(...figures.map((f) => f.requestsVsMinimum)),
    steadyWritesPerScope: Math.max(...figures.map((f) => f.steadyWritesPerScope)),
    driftWritesVsChanges: Math.max(...figures.map((f) => f.driftWritesVsChanges)),
    timeVsRateBound: Math.max(...figures.map((f) => f.timeVsRateBound)),
    peakRssMiB: last.peakRssMiB,
    // From the largest size the naive baseline ran at (it takes about an hour at 300k images).
    baselineSpeedup: [...figures].reverse().find((f) => f.baselineSpeedup !== null)?.baselineSpeedup ?? null,
    sizes: figures,
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

await main();
