// The model-based adversarial test of issue 14: random sequences of operations, generated and shrunk by
// fast-check, run against the real engine (runSync), the real store (createStore over dynalite, through a
// fault-injecting proxy, lib/bench/dynamo-wire.ts) and the emulator over real HTTP. A model of each scope's
// true catalogue (the emulator's live listing, changed only through this file) and a record of what every
// run could have seen decide, after every step, whether the table and the events keep the contract:
//
//   C1  no image is deprecated by a run unless the provider really dropped it (reason missing) or really
//       reported it unusable (reason status) at some moment of that run;
//   C2  every image listed, and usable, throughout a sweep the run reports complete is stored active (or was
//       changed since by a run that overlapped or followed it, which C1 judges);
//   C3  after a clean run (one inline run, no fault, no change during it, no lease of a dead run in force)
//       every scope completed and the store equals the model: every listed image stored with the listed
//       record, active exactly when usable, and every image no longer listed deprecated as missing (the
//       deprecations of a scope the guard held excepted);
//   C4  each change written has one event id, the same (with the same content) on every delivery, whatever
//       the batching: the stream consumer's pure path (processStreamRecords) runs over stream records built
//       from what the table holds after each step, delivered whole, then again in halves and reversed;
//   C5  every image write of a run that did not die is handed to onChanges exactly once and counted in the
//       run's report, and nothing is handed that was not written;
//   C6  no lease outlives its run: after a step, a lease still in force belongs to a run that died;
//   C7  at most one sweep of a scope at any time (the DescribeImages requests of two runs for one scope
//       never interleave);
//   C8  a scope that had images stored is never written as a baseline (whose changes raise no event);
//   C9  every run settles (a run that is not stopped dead ends within a bound).
//
// "Listed throughout" and "really dropped" are exact: when a run starts, every image ever listed in a scope
// but absent now counts as dropped for it, and every image present but unusable as unusable; each change made
// while runs are in flight (the emulator's request hook changes the catalogue between the pages of a sweep)
// adds the removed or unusable image to every run in flight. An image is listed throughout a run exactly when
// it is in neither set.
//
// Defects of issue 14 that today's code still has are kept out of the default run by KNOWN_DEFECTS (below):
// each entry names the defect and gates the generator or the check that would find it. Remove an entry once
// its fix is merged.
import { createHash } from "node:crypto";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import fc from "fast-check";
import type { AccountConfig, SyncConfig } from "../config.ts";
import { DEMO_CREDENTIALS } from "../emulator/credentials.ts";
import type { Catalogue, Emulator, EmulatorRequest, FaultAction, RequestHook, RequestInfo } from "../emulator/index.ts";
import { startEmulator } from "../emulator/index.ts";
import type { StreamRecord } from "../events/change-event.ts";
import { processStreamRecords } from "../events/process.ts";
import type { ChangeDetail, DigestDetail } from "../events/types.ts";
import { createLogger } from "../log.ts";
import type { StoredImage } from "../model.ts";
import { createHttpClient, type HttpClient } from "../providers/http.ts";
import { ADAPTERS } from "../providers/index.ts";
import type { AdapterFactory } from "../providers/types.ts";
import { type LocalDynamo, startLocalDynamo } from "../store/local.ts";
import { createStore, type Store } from "../store/store.ts";
import { configForBatch } from "../sync/batch.ts";
import type { Change } from "../sync/diff.ts";
import { runSync, type ScopeReport, type SyncReport } from "../sync/engine.ts";
import type { Batch } from "../sync/plan.ts";
import { type DynamoFaultKind, type DynamoWire, startDynamoWire, type WirePlan, type WireRun } from "./dynamo-wire.ts";

/**
 * Defects known and not yet fixed, each gating what would find it (the default run leaves them out so that it
 * passes; an entry goes once its fix is merged, and the run must stay green). Every gate below is open today:
 * each defect was fixed, and the long run (npm run soak -- --model) finds nothing with all of them on.
 *   1  A DynamoDB fault or a dead stop is not injected into a run that sweeps a scope never completed (its
 *      first sync failing after image writes leaves a baseline forever: C1 and C8 break).
 *   2  Changes between the pages of one sweep go one way per scope: removals, or insertions, not both, and no
 *      `replace` (a removal before the offset with an insertion after it keeps totalCount and deprecates a
 *      listed image: C1); and totalCount never lies low (a first page saying 4 of a listing of 5 ends the sweep
 *      after it: the image on page 2 is deprecated missing unconfirmed, C1).
 *   4  Runs of one step never share a scope unless they share a lease key with distinct run ids (an inline run
 *      beside a worker, overlapping batches or a concurrent redelivery sweep one scope twice at once: C7, C1).
 *   7  No record grows past DynamoDB's item limit (`bloat`) or gains an integer above 2^53 (`bignum`): such a
 *      record fails its whole batch, every run (C3, C2).
 *   8  C5 is not checked (changes written by a scope that then fails, or re-diffed after a conflict, are not
 *      handed over or counted).
 *   11 C4 does not compare `digested` or digest ids across deliveries (the digest id depends on the batching).
 *   redelivery-event-id (not in issue 14, found by this test): C4 compares an event's content across the
 *      deliveries of one step only. A redelivered worker message runs again under the same run id; when it
 *      finds a second change to an image the first delivery already changed, it writes it under the same event
 *      id (account, scope, image, kind and run id), so consumers that de-duplicate by id drop it.
 */
export const KNOWN_DEFECTS: ReadonlySet<Defect> = new Set<Defect>([]);

/*
 * What it found before the fixes (each gate removed alone; shrunk by fast-check; replay with
 * `npm run soak -- --model --known <the other gates> --seed S --path P`, or run the sequence with runSequence):
 *   1  seed 1001: sizes Z1=7 Z2=26; 1. sync [inline, DynamoDB conditional failure on its 9th request] (Z2's second
 *      batch of new images fails after the first landed); 2. sync [inline] -> C8: Z2's remaining images are
 *      written as a baseline though 25 are stored (baselineAt stayed null: no guard, no events from then on).
 *   2  seed 1002: sizes Z1=17; 1. sync [inline] with, between its pages, Z1 remove@0 at request 1 and replace@0
 *      at request 2 -> C2: img-z1-005, listed throughout a complete first sweep, is not stored. The issue's own
 *      scenario (sync; then a sync with replace@0 at request 2..5) gives C1: img-z1-004 (the first image of the
 *      old page 2, still listed) deprecated missing.
 *   4  seed 1004: sizes 0/0; 1. sync [inline | worker Z1] -> C7: both runs sweep Z1 at once (lease keys "vm" and
 *      the batch id); with images the two baselines also overwrite each other's writes (C5).
 *   7  seed 1007: sizes 0/0; 1. change Z1: replace@0, bloat@0; 2. sync [inline] -> C3: the clean run fails Z1 with
 *      a ValidationException (item size) on BatchWriteItem.
 *   8  seed 2008: sizes Z1=1; 1. sync [inline] (Z1 readd@0 mid-sweep); 2. sync [inline, DynamoDB
 *      ValidationException on its 9th request] (Z1 flip@0, remove@0 mid-sweep) -> C5: the failed scope reports a
 *      change it neither wrote nor handed over. With a ValidationException on request 10-13 of a run changing
 *      three images: "deprecated Z1 img-z1-000 rev 2 written by the run but never handed to onChanges".
 *   11 seed 1011: sizes Z2=3; 1. sync [inline]; 2. change Z2: remove@0 x2, insert@0.5, remove@0; 3. sync [inline]
 *      -> C4: the 4 changes' events say digested:true delivered whole and digested:false delivered in halves.
 *   2  (all gates on, seed 31337 path 2736:1:0:0:0:0:0:7:6:6:6:7:12:11:11:11:11:13:13:13:13:13:13:14:15:16:14:14,
 *      the 2737th of 3000 sequences): sizes Z1=1 Z2=4; 1. sync [inline]; 2. change Z2: insert@0; 3. sync [inline]
 *      with Z2's first page saying totalCount 4 of 5 -> C1: img-z2-004 deprecated missing (now gated under 2).
 *   redelivery-event-id (directed): sizes Z1=6; sync [inline]; change Z1 touch@0; sync [worker Z1]; change Z1
 *      touch@0; sync [redelivery of the last worker message] -> C4: two different "updated" changes of
 *      img-z1-000 under one event id.
 */

/** A defect of issue 14 by number, or one this test found that the issue does not list, by name. */
export type Defect = number | "redelivery-event-id";

/** "1,2,redelivery-event-id" (or "none") -> the defects it names. */
export function parseDefects(list: string): Set<Defect> {
  return new Set(
    list
      .split(",")
      .map((d) => d.trim())
      .filter((d) => d && d !== "none")
      .map((d) => (/^\d+$/.test(d) ? Number(d) : (d as Defect))),
  );
}

// ---------------------------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------------------------

export const SCOPES = ["Z1", "Z2"] as const;
/** Page size the sweeps use here (the real one is 1000): catalogues of 0-40 images take several pages. */
export const PAGE_SIZE = 4;
const ACCOUNT = "vm";
const LEASE_MS = 10 * 60_000;

/** A change to a scope's true catalogue; `at` (0..1) picks the position. */
export interface CatChange {
  /** `replace`: the image at `at` goes and a new one is appended (the listing keeps its length). `bloat`: the
   *  record at `at` grows 500 fields of 900 bytes (455 KB); `bignum`: it gains an integer above 2^53. */
  t: "remove" | "insert" | "readd" | "flip" | "touch" | "replace" | "bloat" | "bignum";
  at: number;
}
/** A catalogue change made when the `request`-th DescribeImages request of the step for the scope arrives. */
export interface MidSweep {
  scope: number;
  request: number;
  change: CatChange;
}
export const PROVIDER_FAULTS = [
  "throttle",
  "throttle-retry-after",
  "internal",
  "unavailable",
  "reset",
  "truncate",
  "truncate-abort",
  "error-in-200",
  "html-502",
  "delay",
  "lying-total",
  "empty-listing",
  "page-swap",
  "image-on-two-pages",
] as const;
export type ProviderFaultKind = (typeof PROVIDER_FAULTS)[number];
/** Faults that answer HTTP 200 with a listing that is not the catalogue. */
type LieKind = "lying-total" | "empty-listing" | "page-swap" | "image-on-two-pages";
const LIES: ReadonlySet<ProviderFaultKind> = new Set([
  "lying-total",
  "empty-listing",
  "page-swap",
  "image-on-two-pages",
]);
/** A fault on `times` DescribeImages requests for the scope from the step's `request`-th on. */
export interface ProviderFault {
  scope: number;
  request: number;
  kind: ProviderFaultKind;
  times: number;
  /** totalCount's lie (lying-total). */
  delta: number;
}
/** One runSync: inline (lease by account) or a fan-out worker for a batch; a redelivery repeats the last
 *  worker message (same run id, same batch). `db` injects a DynamoDB fault or a dead stop into this run. */
export interface Invocation {
  mode: "inline" | "worker";
  /** Worker batches: 0 = [Z1], 1 = [Z2], 2 = [Z1, Z2] (a re-plan packs differently). */
  batch: number;
  redelivery: boolean;
  db: WirePlan;
}
export type Op =
  | { t: "change"; scope: number; changes: CatChange[] }
  | { t: "sync"; runs: Invocation[]; mid: MidSweep[]; faults: ProviderFault[] }
  | { t: "clock"; ms: number };
export interface Sequence {
  sizes: number[];
  ops: Op[];
}

const frac = fc.integer({ min: 0, max: 99 }).map((n) => n / 100);
const catChange: fc.Arbitrary<CatChange> = fc.record({
  t: fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom("remove", "insert", "readd", "flip", "touch", "replace") },
    { weight: 1, arbitrary: fc.constantFrom("bloat", "bignum") },
  ),
  at: frac,
});
const scopeIx = fc.integer({ min: 0, max: SCOPES.length - 1 });
const dbFault: fc.Arbitrary<DynamoFaultKind> = fc.constantFrom("throttle", "internal", "validation", "conditional");
const wirePlan: fc.Arbitrary<WirePlan> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({}) },
  { weight: 2, arbitrary: fc.record({ fault: fc.record({ at: fc.integer({ min: 1, max: 24 }), kind: dbFault }) }) },
  { weight: 2, arbitrary: fc.record({ dieAfterWrite: fc.integer({ min: 1, max: 16 }) }) },
);
const invocation: fc.Arbitrary<Invocation> = fc.record({
  mode: fc.constantFrom("inline", "worker"),
  batch: fc.integer({ min: 0, max: 2 }),
  redelivery: fc.boolean(),
  db: wirePlan,
});
const syncOp: fc.Arbitrary<Op> = fc.record({
  t: fc.constant("sync" as const),
  runs: fc.oneof(
    { weight: 3, arbitrary: fc.tuple(invocation).map((r) => [...r]) },
    { weight: 2, arbitrary: fc.array(invocation, { minLength: 2, maxLength: 3 }) },
  ),
  mid: fc.oneof(
    { weight: 2, arbitrary: fc.constant<MidSweep[]>([]) },
    {
      weight: 2,
      arbitrary: fc.array(fc.record({ scope: scopeIx, request: fc.integer({ min: 1, max: 8 }), change: catChange }), {
        minLength: 1,
        maxLength: 3,
      }),
    },
  ),
  faults: fc.oneof(
    { weight: 2, arbitrary: fc.constant<ProviderFault[]>([]) },
    {
      weight: 1,
      arbitrary: fc.array(
        fc.record({
          scope: scopeIx,
          request: fc.integer({ min: 1, max: 8 }),
          kind: fc.constantFrom(...PROVIDER_FAULTS),
          times: fc.integer({ min: 1, max: 3 }),
          delta: fc.constantFrom(1, -1, 2, -3),
        }),
        { minLength: 1, maxLength: 2 },
      ),
    },
  ),
});
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: syncOp },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant("change" as const),
      scope: scopeIx,
      changes: fc.array(catChange, { minLength: 1, maxLength: 4 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant("clock" as const), ms: fc.constantFrom(60_000, LEASE_MS + 1_000, -120_000) }),
  },
);

export function sequenceArb(maxOps: number): fc.Arbitrary<Sequence> {
  return fc.record({
    sizes: fc.array(fc.integer({ min: 0, max: 40 }), { minLength: SCOPES.length, maxLength: SCOPES.length }),
    ops: fc.array(opArb, { minLength: 1, maxLength: maxOps }),
  });
}

/** A readable command list of a sequence. */
export function describeSequence(s: Sequence): string {
  const lines = [`catalogue sizes ${SCOPES.map((z, i) => `${z}=${s.sizes[i] ?? 0}`).join(" ")}`];
  s.ops.forEach((op, i) => {
    lines.push(`${i + 1}. ${describeOp(op)}`);
  });
  return lines.join("\n");
}

function describeChange(c: CatChange): string {
  return `${c.t}@${c.at.toFixed(2)}`;
}

export function describeOp(op: Op): string {
  switch (op.t) {
    case "change":
      return `change ${SCOPES[op.scope]}: ${op.changes.map(describeChange).join(", ")}`;
    case "clock":
      return `clock ${op.ms > 0 ? "+" : ""}${op.ms / 1000}s`;
    case "sync": {
      const runs = op.runs.map((r) => {
        const who = r.mode === "inline" ? "inline" : `worker ${BATCHES[r.batch]?.scopes.join("+")}`;
        const db = r.db.fault
          ? ` dynamo ${r.db.fault.kind} on request ${r.db.fault.at}`
          : r.db.dieAfterWrite !== undefined
            ? ` dies after write ${r.db.dieAfterWrite}`
            : "";
        return `${r.redelivery && r.mode === "worker" ? "redelivery of the last worker message" : who}${db}`;
      });
      const mid = op.mid.map((m) => `${SCOPES[m.scope]} at request ${m.request}: ${describeChange(m.change)}`);
      const faults = op.faults.map(
        (f) =>
          `${SCOPES[f.scope]} ${f.kind}${f.kind === "lying-total" ? `(${f.delta > 0 ? "+" : ""}${f.delta})` : ""} from request ${f.request} x${f.times}`,
      );
      return [
        `sync [${runs.join(" | ")}]`,
        ...(mid.length ? [`mid-sweep {${mid.join("; ")}}`] : []),
        ...(faults.length ? [`provider faults {${faults.join("; ")}}`] : []),
      ].join(" ");
    }
  }
}

const batchId = (scopes: string[]) =>
  `${ACCOUNT}#${createHash("sha256").update(scopes.join("\u0000")).digest("hex").slice(0, 12)}`;
const BATCHES: Batch[] = [["Z1"], ["Z2"], ["Z1", "Z2"]].map((scopes) => ({
  id: batchId(scopes),
  account: ACCOUNT,
  scopes,
  estimatedSeconds: 1,
}));

// ---------------------------------------------------------------------------------------------------------
// The shared stack: one emulator, one dynalite, one proxy; a fresh table per sequence
// ---------------------------------------------------------------------------------------------------------

export interface ModelStack {
  emulator: Emulator;
  dynamo: LocalDynamo;
  wire: DynamoWire;
  http: HttpClient;
  raw: DynamoDBDocumentClient;
  close(): Promise<void>;
}

export async function startModelStack(): Promise<ModelStack> {
  const catalogue: Catalogue = new Map([["zenlayer-vm", new Map()]]);
  const [emulator, dynamo] = await Promise.all([startEmulator({ catalogue }), startLocalDynamo()]);
  const wire = await startDynamoWire(dynamo.endpoint);
  const http = createHttpClient({ headersTimeoutMs: 5_000, bodyTimeoutMs: 5_000 });
  const client = new DynamoDBClient({
    region: "us-east-1",
    endpoint: dynamo.endpoint,
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  const raw = DynamoDBDocumentClient.from(client);
  return {
    emulator,
    dynamo,
    wire,
    http,
    raw,
    close: async () => {
      raw.destroy();
      await http.close();
      await wire.close();
      await Promise.all([emulator.close(), dynamo.close()]);
    },
  };
}

const quiet = createLogger({ write: () => {} });

/** Sweeps of PAGE_SIZE pages: the same adapter, a smaller page (the emulator accepts any size from 1). */
const smallPages: AdapterFactory = (ctx) => ({ ...ADAPTERS["zenlayer-vm"](ctx), maxPageSize: PAGE_SIZE });
const ADAPTERS_HERE = { ...ADAPTERS, "zenlayer-vm": smallPages };

const FAMILIES: ReadonlyArray<readonly [string, string]> = [
  ["Ubuntu", "22.04"],
  ["Ubuntu", "24.04"],
  ["Debian", "12"],
  ["CentOS", "7.9"],
];

// ---------------------------------------------------------------------------------------------------------
// One sequence
// ---------------------------------------------------------------------------------------------------------

interface Window {
  tag: string;
  runId: string;
  /** Logical times: the run's start and its end (settled or dead); null while in flight. */
  start: number;
  end: number | null;
  /** Per scope: images absent at some moment of the run, and images unusable at some moment. */
  dropped: Map<string, Set<string>>;
  unusable: Map<string, Set<string>>;
  /** Per scope: images present and usable when the run started. */
  startUsable: Map<string, Set<string>>;
}

interface Outcome {
  tag: string;
  inv: Invocation;
  runId: string;
  scopes: string[];
  leaseKey: string;
  /** Model time the run started at (its lease runs from there). */
  startedAt: number;
  dead: boolean;
  report: SyncReport | null;
  error: string | null;
  handed: Array<{ scope: string; imageId: string; rev: number; runId: string; kind: string }>;
}

type Item = Record<string, unknown>;

class Violation extends Error {}

/** What a sync step leaves for the checks. */
interface StepFacts {
  outcomes: Outcome[];
  clean: boolean;
  storedBefore: Set<string>;
  sweeps: Array<{ tag: string; scope: string }>;
  lied: Set<string>;
}

/** The table as the checks read it after a step. */
interface TableFacts {
  items: Map<string, Item>;
  images: Array<StoredImage & Item>;
  /** Images by scope and id. */
  stored: Map<string, StoredImage & Item>;
  /** The windows of each run id (a redelivery has its own). */
  byRun: Map<string, Window[]>;
}

export interface SequenceResult {
  /** Invariant violations of the step that first broke the contract (empty when none did). */
  violations: string[];
  step: number;
  /** The operations as they ran: after the KNOWN_DEFECTS gates, up to the step that broke. */
  ran: Op[];
}

class Runner {
  private readonly records: Map<string, Record<string, unknown>[]>;
  private readonly universe = new Map<string, Map<string, Record<string, unknown>>>();
  private readonly removed = new Map<string, string[]>();
  private readonly windows: Window[] = [];
  private readonly inFlight = new Set<Window>();
  private readonly outcomes: Outcome[] = [];
  private readonly store: Store;
  private clock = 0;
  private offset = 0;
  private nextId = 0;
  private tags = 0;
  private touches = 0;
  private emptied = new Set<string>();
  private completed = new Set<string>();
  private lastWorker: { runId: string; batch: number } | null = null;
  private snapshot = new Map<string, Item>();
  private eventIds = new Map<string, string>();
  private eventContent = new Map<string, string>();
  private readonly config: SyncConfig;
  /** The operations as they ran (after the gates). */
  readonly ran: Op[] = [];

  constructor(
    private readonly stack: ModelStack,
    private readonly table: string,
    private readonly known: ReadonlySet<Defect>,
    private readonly id: number,
    private readonly tamper?: Tamper,
  ) {
    const scopes = stack.emulator.catalogue.get("zenlayer-vm") as Map<string, Record<string, unknown>[]>;
    scopes.clear();
    for (const z of SCOPES) scopes.set(z, []);
    this.records = scopes;
    for (const z of SCOPES) {
      this.universe.set(z, new Map());
      this.removed.set(z, []);
    }
    this.store = createStore({ tableName: table, endpoint: stack.dynamo.endpoint, localCredentials: true });
    const account: AccountConfig = {
      name: ACCOUNT,
      api: "zenlayer-vm",
      endpoint: stack.emulator.url,
      credentials: { token: DEMO_CREDENTIALS.zenlayer.token },
      scopes: [...SCOPES],
      requestsPerSecond: 5_000,
    };
    this.config = { accounts: [account] };
  }

  now = () => Date.now() + this.offset;

  private list(scope: string): Record<string, unknown>[] {
    return this.records.get(scope) as Record<string, unknown>[];
  }

  private newRecord(scope: string): Record<string, unknown> {
    const n = this.nextId++;
    const [category, version] = FAMILIES[n % FAMILIES.length] as readonly [string, string];
    const record: Record<string, unknown> = {
      imageVersion: version,
      imageId: `img-${scope.toLowerCase()}-${String(n).padStart(3, "0")}`,
      imageName: `${category} ${version}`,
      imageDescription: null,
      osType: "linux",
      imageSize: "30",
      imageStatus: n % 7 === 3 ? "UNAVAILABLE" : "AVAILABLE",
      category,
      imageType: "PUBLIC_IMAGE",
    };
    this.universe.get(scope)?.set(String(record.imageId), record);
    return record;
  }

  async setUp(sizes: number[]): Promise<void> {
    await this.store.ensureTable();
    SCOPES.forEach((z, i) => {
      for (let k = 0; k < (sizes[i] ?? 0); k++) this.list(z).push(this.newRecord(z));
    });
  }

  close(): void {
    this.store.close();
  }

  /** Applies a change to the true catalogue and tells every run in flight what it could have seen. */
  private apply(scope: string, c: CatChange): void {
    const list = this.list(scope);
    switch (c.t) {
      case "remove": {
        if (list.length === 0) return;
        const [r] = list.splice(Math.floor(c.at * list.length), 1);
        if (!r) return;
        this.note(scope, "dropped", String(r.imageId));
        this.removed.get(scope)?.push(String(r.imageId));
        return;
      }
      case "replace":
        this.apply(scope, { t: "remove", at: c.at });
        this.apply(scope, { t: "insert", at: 1 });
        return;
      case "insert": {
        const r = this.newRecord(scope);
        list.splice(Math.floor(c.at * (list.length + 1)), 0, r);
        if (r.imageStatus !== "AVAILABLE") this.note(scope, "unusable", String(r.imageId));
        return;
      }
      case "readd":
        this.readd(scope, c.at);
        return;
      case "flip": {
        const r = list[Math.floor(c.at * list.length)];
        if (!r) return;
        r.imageStatus = r.imageStatus === "AVAILABLE" ? "UNAVAILABLE" : "AVAILABLE";
        if (r.imageStatus !== "AVAILABLE") this.note(scope, "unusable", String(r.imageId));
        return;
      }
      case "touch": {
        const r = list[Math.floor(c.at * list.length)];
        if (r) r.imageDescription = `touched ${++this.touches}`;
        return;
      }
      case "bloat": {
        const r = list[Math.floor(c.at * list.length)];
        if (r && !("blob0" in r)) for (let i = 0; i < 500; i++) r[`blob${i}`] = "x".repeat(900);
        return;
      }
      case "bignum": {
        const r = list[Math.floor(c.at * list.length)];
        if (r) r.buildNumber = 2 ** 60;
        return;
      }
    }
  }

  /** Tells every run in flight that the image was absent, or unusable, at some moment of it. */
  private note(scope: string, kind: "dropped" | "unusable", id: string): void {
    for (const w of this.inFlight) {
      const m = w[kind];
      if (!m.has(scope)) m.set(scope, new Set());
      m.get(scope)?.add(id);
    }
  }

  /** Lists again one of the images removed earlier and still absent (the one `at` picks). */
  private readd(scope: string, at: number): void {
    const list = this.list(scope);
    const gone = this.removed.get(scope) ?? [];
    const present = new Set(list.map((r) => String(r.imageId)));
    const back = gone.filter((id) => !present.has(id));
    if (back.length === 0) return;
    const id = back[Math.floor(at * back.length)] as string;
    const record = this.universe.get(scope)?.get(id);
    if (!record) return;
    list.splice(Math.floor(at * (list.length + 1)), 0, record);
    if (record.imageStatus !== "AVAILABLE") this.note(scope, "unusable", id);
  }

  private open(tag: string, runId: string): Window {
    const w: Window = {
      tag,
      runId,
      start: ++this.clock,
      end: null,
      dropped: new Map(),
      unusable: new Map(),
      startUsable: new Map(),
    };
    for (const z of SCOPES) {
      const present = new Set(this.list(z).map((r) => String(r.imageId)));
      w.dropped.set(z, new Set([...(this.universe.get(z)?.keys() ?? [])].filter((id) => !present.has(id))));
      w.unusable.set(
        z,
        new Set(
          this.list(z)
            .filter((r) => r.imageStatus !== "AVAILABLE")
            .map((r) => String(r.imageId)),
        ),
      );
      w.startUsable.set(
        z,
        new Set(
          this.list(z)
            .filter((r) => r.imageStatus === "AVAILABLE")
            .map((r) => String(r.imageId)),
        ),
      );
    }
    this.windows.push(w);
    this.inFlight.add(w);
    return w;
  }

  private closeWindow(w: Window): void {
    if (w.end !== null) return;
    w.end = ++this.clock;
    this.inFlight.delete(w);
  }

  // ------------------------------------------------------------------------------------------------------
  // The gates of KNOWN_DEFECTS, in one place
  // ------------------------------------------------------------------------------------------------------

  /** Defect 7: records too large for one item, or with integers above 2^53, poison their scope. */
  private gated(c: CatChange): boolean {
    return this.known.has(7) && (c.t === "bloat" || c.t === "bignum");
  }

  private gate(op: Extract<Op, { t: "sync" }>): Extract<Op, { t: "sync" }> {
    // A redelivery repeats the last worker message (its batch and run id), from this step or an earlier one.
    const scopesOf = (r: Invocation) => (r.mode === "inline" ? [...SCOPES] : (BATCHES[r.batch]?.scopes ?? []));
    const keyOf = (r: Invocation) => (r.mode === "inline" ? ACCOUNT : (BATCHES[r.batch]?.id ?? ""));
    let last = this.lastWorker?.batch ?? null;
    let runs: Invocation[] = [];
    const fromThisStep = new Set<number>();
    for (const generated of op.runs) {
      const r = { ...generated };
      if (r.mode === "worker" && r.redelivery) {
        if (last === null) r.redelivery = false;
        else r.batch = last;
      }
      if (this.known.has(4)) {
        const concurrentRedelivery = r.mode === "worker" && r.redelivery && fromThisStep.has(r.batch);
        const overlaps = runs.some((k) => keyOf(k) !== keyOf(r) && scopesOf(k).some((s) => scopesOf(r).includes(s)));
        if (concurrentRedelivery || overlaps) continue;
      }
      if (r.mode === "worker" && !r.redelivery) last = r.batch;
      if (r.mode === "worker") fromThisStep.add(r.batch);
      runs.push(r);
    }
    if (this.known.has(1))
      runs = runs.map((r) => (scopesOf(r).some((s) => !this.completed.has(s)) ? { ...r, db: {} } : r));
    let mid = op.mid;
    mid = mid.filter((m) => !this.gated(m.change));
    if (this.known.has(2)) {
      mid = mid.filter((m) => {
        if (m.change.t === "replace") return false;
        const removes = op.mid.some((x) => x.scope === m.scope && x.change.t === "remove");
        return !(removes && (m.change.t === "insert" || m.change.t === "readd"));
      });
    }
    // An empty listing once per scope and sequence: the guard trusts two complete sweeps that agree, and
    // independent transient faults never agree twice.
    const faults = op.faults.filter((f) => {
      // Defect 2's family: a totalCount that lies low on the first page ends the sweep early, and the images past
      // it are deprecated unconfirmed.
      if (this.known.has(2) && f.kind === "lying-total" && f.delta < 0) return false;
      if (f.kind !== "empty-listing") return true;
      const z = SCOPES[f.scope] as string;
      if (this.emptied.has(z)) return false;
      this.emptied.add(z);
      return true;
    });
    return { t: "sync", runs, mid, faults };
  }

  // ------------------------------------------------------------------------------------------------------
  // Steps
  // ------------------------------------------------------------------------------------------------------

  async step(op: Op): Promise<string[]> {
    if (op.t === "change") {
      // Nothing is written between runs: the checks wait for the next run.
      const changes = op.changes.filter((c) => !this.gated(c));
      this.ran.push({ ...op, changes });
      for (const c of changes) this.apply(SCOPES[op.scope] as string, c);
      return [];
    }
    if (op.t === "clock") {
      this.offset += op.ms;
      this.ran.push(op);
      return [];
    }
    return this.syncStep(op);
  }

  private async syncStep(op: Extract<Op, { t: "sync" }>): Promise<string[]> {
    const sync = this.gate(op);
    this.ran.push(sync);
    const storedBefore = new Set([...this.snapshot.values()].map((i) => String(i.scope)));
    // The step's DescribeImages requests, and which run sent each (for C7).
    const sweeps: Array<{ tag: string; scope: string }> = [];
    this.stack.emulator.onRequest = this.providerHook(sync, sweeps);
    let outcomes: Outcome[];
    const t0 = Date.now();
    try {
      outcomes = await Promise.all(sync.runs.map((inv) => this.invoke(inv)));
      if (process.env.MODEL_DEBUG)
        console.log(
          "invoke",
          Date.now() - t0,
          JSON.stringify(
            outcomes.map((o) => o.report?.scopes.map((s) => [s.scope, s.status, s.requests, s.writes, s.durationMs])),
          ),
        );
    } finally {
      this.stack.emulator.onRequest = null;
    }
    this.outcomes.push(...outcomes);
    this.countStep(sync, outcomes);
    for (const o of outcomes)
      if (o.report) for (const s of o.report.scopes) if (s.status === "complete") this.completed.add(s.scope);
    const clean = this.isClean(sync, outcomes);
    const t1 = Date.now();
    // A listing that lies about its content (not an error the engine can see) may pass for complete: C2 cannot
    // hold the engine to images it was never shown. C1 still holds it to every deprecation.
    const lied = new Set(sync.faults.filter((f) => LIES.has(f.kind)).map((f) => SCOPES[f.scope] as string));
    // A run that died with another write on its way lands it: the snapshot is taken once nothing is in flight.
    await this.stack.wire.quiet();
    await this.tamper?.({ raw: this.stack.raw, table: this.table, runIds: outcomes.map((o) => o.runId) });
    const violations = await this.check({ outcomes, clean, storedBefore, sweeps, lied }, outcomes);
    if (process.env.MODEL_DEBUG) console.log("check", Date.now() - t1);
    return violations;
  }

  /**
   * The emulator's request hook for one step: it records each DescribeImages request in `sweeps`, makes the
   * step's mid-sweep changes and answers with its provider faults.
   */
  private providerHook(sync: Extract<Op, { t: "sync" }>, sweeps: Array<{ tag: string; scope: string }>): RequestHook {
    // The step's DescribeImages requests per scope.
    const counts = new Map<string, number>();
    return (req: EmulatorRequest, info: RequestInfo): FaultAction | undefined => {
      if (info.action !== "DescribeImages") return undefined;
      sweeps.push({ tag: req.headers["x-model-invocation"] ?? "", scope: info.scope });
      const n = (counts.get(info.scope) ?? 0) + 1;
      counts.set(info.scope, n);
      for (const m of sync.mid)
        if (SCOPES[m.scope] === info.scope && m.request === n) {
          count(`mid-sweep ${m.change.t}`);
          this.apply(info.scope, m.change);
        }
      // A request for named images (a fix may confirm a removal so) is never lied to: the lies stand for a listing
      // gone wrong, and a provider that lies about a named image cannot be told from one that dropped it.
      const named = /"imageIds"/.test(req.body);
      for (const f of sync.faults) {
        if (named && LIES.has(f.kind)) continue;
        const times = f.kind === "empty-listing" ? 1_000 : f.times;
        if (SCOPES[f.scope] === info.scope && n >= f.request && n < f.request + times) {
          count(`provider ${f.kind}`);
          return this.fault(f, info);
        }
      }
      return undefined;
    };
  }

  private countStep(sync: Extract<Op, { t: "sync" }>, outcomes: readonly Outcome[]): void {
    count(`step of ${sync.runs.length} run${sync.runs.length === 1 ? "" : "s"}`);
    for (const o of outcomes) {
      count(o.inv.mode === "inline" ? "inline run" : o.inv.redelivery ? "redelivered worker" : "worker run");
      if (o.dead) count("run stopped dead");
      const fault = o.inv.db.fault;
      if (fault && this.stack.wire.run(o.tag)?.faulted) count(`dynamo ${fault.kind}`);
      for (const s of o.report?.scopes ?? []) count(`scope ${s.status}`);
    }
  }

  /** Whether the step was one inline run with no fault and no change during it, and no earlier run's holds. */
  private isClean(sync: Extract<Op, { t: "sync" }>, outcomes: readonly Outcome[]): boolean {
    return (
      sync.runs.length === 1 &&
      sync.runs[0]?.mode === "inline" &&
      !sync.runs[0].db.fault &&
      sync.runs[0].db.dieAfterWrite === undefined &&
      sync.mid.length === 0 &&
      sync.faults.length === 0 &&
      // No earlier run's holds may still be in force: one stopped dead, or one whose release an injected
      // non-retryable fault (a ValidationException, a conditional failure) may have hit: its holds lapse, as
      // designed, after LEASE_MS.
      !this.outcomes.some(
        (o) =>
          o !== outcomes[0] &&
          o.startedAt + LEASE_MS >= this.now() - 1_000 &&
          (o.dead ||
            ((o.inv.db.fault?.kind === "validation" || o.inv.db.fault?.kind === "conditional") &&
              this.stack.wire.run(o.tag)?.faulted)),
      )
    );
  }

  private fault(f: ProviderFault, info: RequestInfo): FaultAction {
    switch (f.kind) {
      case "throttle":
        return { type: "failure", failure: "throttle" };
      case "throttle-retry-after":
        return { type: "failure", failure: "throttle", retryAfterSeconds: 1 };
      case "internal":
        return { type: "failure", failure: "internal" };
      case "unavailable":
        return { type: "failure", failure: "unavailable" };
      case "reset":
        return { type: "reset" };
      case "truncate":
        return { type: "truncate" };
      case "truncate-abort":
        return { type: "truncate", abort: true };
      case "error-in-200":
        return {
          type: "http",
          status: 200,
          body: JSON.stringify({ requestId: "T-MODEL", code: "INTERNAL_SERVER_ERROR", message: "injected" }),
        };
      case "html-502":
        return {
          type: "http",
          status: 502,
          body: "<html><body>502 Bad Gateway</body></html>",
          headers: { "content-type": "text/html" },
        };
      case "delay":
        return { type: "delay", ms: 5 + 7 * f.times };
      default:
        return this.lie(f, f.kind, info);
    }
  }

  /** A listing answered 200 but rewritten so that it is not the catalogue (LIES). */
  private lie(f: ProviderFault, kind: LieKind, info: RequestInfo): FaultAction {
    const list = this.list(info.scope);
    const page = (p: number) => list.slice((p - 1) * PAGE_SIZE, p * PAGE_SIZE);
    switch (kind) {
      case "lying-total":
        return {
          type: "transform",
          apply: (j: { response?: { totalCount?: number } }) => {
            if (j.response && typeof j.response.totalCount === "number")
              j.response.totalCount = Math.max(0, j.response.totalCount + f.delta);
            return j;
          },
        };
      case "empty-listing":
        return {
          type: "transform",
          apply: (j: { response?: Record<string, unknown> }) => {
            if (j.response) Object.assign(j.response, { totalCount: 0, dataSet: [] });
            return j;
          },
        };
      case "page-swap": {
        const other = info.pageNumber === 1 ? 2 : info.pageNumber - 1;
        return {
          type: "transform",
          apply: (j: { response?: Record<string, unknown> }) => {
            if (j.response) j.response.dataSet = page(other);
            return j;
          },
        };
      }
      case "image-on-two-pages": {
        const p = info.pageNumber;
        return {
          type: "transform",
          apply: (j: { response?: { dataSet?: unknown[] } }) => {
            const data = j.response?.dataSet;
            if (!j.response || !Array.isArray(data) || data.length === 0) return j;
            const neighbour = p === 1 ? page(2)[0] : page(p - 1)[PAGE_SIZE - 1];
            if (neighbour)
              j.response.dataSet = p === 1 ? [...data.slice(0, -1), neighbour] : [neighbour, ...data.slice(1)];
            return j;
          },
        };
      }
    }
  }

  private async invoke(inv: Invocation): Promise<Outcome> {
    const tag = `s${this.id}i${++this.tags}`;
    const { runId, batch } = this.identify(inv);
    const scopes = batch ? batch.scopes : [...SCOPES];
    const store = createStore({
      tableName: this.table,
      endpoint: this.stack.wire.endpointFor(tag, inv.db),
      localCredentials: true,
    });
    const wire = this.stack.wire.run(tag);
    const http = this.taggedHttp(tag, wire);
    const outcome: Outcome = {
      tag,
      inv,
      runId,
      scopes,
      leaseKey: batch ? batch.id : ACCOUNT,
      startedAt: this.now(),
      dead: false,
      report: null,
      error: null,
      handed: [],
    };
    const w = this.open(tag, runId);
    const run = this.startRun(batch, store, http, outcome);
    run.catch(() => {});
    const { ending, cancel } = runEnding(run, wire);
    const settled = await ending;
    cancel();
    this.closeWindow(w);
    if ("report" in settled) outcome.report = settled.report;
    else if ("error" in settled) outcome.error = settled.error;
    else if ("dead" in settled) outcome.dead = true;
    else outcome.error = "HUNG";
    if (!outcome.dead) store.close();
    return outcome;
  }

  /** The run id and batch of an invocation: a redelivery repeats the last worker message's. */
  private identify(inv: Invocation): { runId: string; batch: Batch | null } {
    let batch: Batch | null = null;
    let runId = `2026${String(this.id).padStart(4, "0")}T${String(this.tags).padStart(6, "0")}Z-m${this.tags}`;
    if (inv.mode === "worker") {
      if (inv.redelivery && this.lastWorker) {
        runId = this.lastWorker.runId;
        batch = BATCHES[this.lastWorker.batch] ?? null;
      } else {
        batch = BATCHES[inv.batch] ?? null;
        this.lastWorker = { runId, batch: inv.batch };
      }
    }
    return { runId, batch };
  }

  /** The shared HTTP client, with each request naming the run (for C7); a dead run sends nothing more. */
  private taggedHttp(tag: string, wire: WireRun | undefined): HttpClient {
    const base = this.stack.http;
    return {
      // A dead run sends nothing more anywhere.
      send: (req) =>
        wire?.dead
          ? new Promise(() => {})
          : base.send({ ...req, headers: { ...req.headers, "x-model-invocation": tag } }),
      close: async () => {},
    };
  }

  /** Starts the engine for the outcome's run, collecting what it hands to onChanges. */
  private startRun(batch: Batch | null, store: Store, http: HttpClient, outcome: Outcome): Promise<SyncReport> {
    return runSync({
      config: batch ? configForBatch(this.config, batch) : this.config,
      store,
      http,
      now: this.now,
      runId: outcome.runId,
      log: quiet,
      retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
      retryDeps: { sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 25))), random: () => 0.5 },
      scopeConcurrency: 2,
      adapters: ADAPTERS_HERE,
      leaseMs: LEASE_MS,
      onChanges: (changes: readonly Change[], report: ScopeReport) => {
        for (const c of changes)
          outcome.handed.push({
            scope: report.scope,
            imageId: c.after.imageId,
            rev: c.after.rev,
            runId: c.after.lastChange.runId,
            kind: c.after.lastChange.kind,
          });
      },
    });
  }

  private async scan(): Promise<Map<string, Item>> {
    const items = new Map<string, Item>();
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.stack.raw.send(
        new ScanCommand({ TableName: this.table, ...(start ? { ExclusiveStartKey: start } : {}) }),
      );
      for (const i of out.Items ?? []) items.set(`${String(i.PK)}\u0000${String(i.SK)}`, i);
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
  }

  // ------------------------------------------------------------------------------------------------------
  // Invariants
  // ------------------------------------------------------------------------------------------------------

  private async check(step: StepFacts | null, outcomes: Outcome[]): Promise<string[]> {
    const v: string[] = [];
    const items = await this.scan();
    const images = [...items.values()].filter((i) => i.itemType === "image") as unknown as Array<StoredImage & Item>;
    const byRun = new Map<string, Window[]>();
    for (const w of this.windows) byRun.set(w.runId, [...(byRun.get(w.runId) ?? []), w]);
    const stored = new Map(images.map((i) => [`${i.scope}\u0000${i.imageId}`, i]));
    const table: TableFacts = { items, images, stored, byRun };

    // C9: every run settles.
    for (const o of outcomes) if (o.error === "HUNG") v.push(`C9 run ${o.tag} (${o.runId}) did not settle in 30 s`);
    v.push(...this.deprecationsJustified(table));
    if (step) {
      v.push(...this.completeSweepsStored(step, table));
      v.push(...this.cleanRunMatchesModel(step, table));
      if (!this.known.has(8)) v.push(...this.writesHandedOnce(step, table));
      v.push(...this.noLateBaselines(step, table));
      v.push(...oneSweepAtATime(step.sweeps));
      v.push(...this.noLeaseOutlivesItsRun(items));
    }

    // C4: events over what the table holds now, delivered whole, in halves and reversed.
    v.push(...(await this.checkEvents(items)));
    this.snapshot = new Map([...items].filter(([, i]) => i.itemType === "image"));
    return v;
  }

  /** C1: deprecated only when really dropped or really unusable during the writing run. */
  private deprecationsJustified({ images, byRun }: TableFacts): string[] {
    const v: string[] = [];
    for (const img of images) {
      if (img.state !== "deprecated") continue;
      const by = img.lastChange?.runId;
      const ws = byRun.get(by) ?? [];
      if (img.lastChange?.kind === "restored") continue;
      if (ws.length === 0) {
        v.push(`C1 ${img.scope} ${img.imageId} deprecated by unknown run ${by}`);
        continue;
      }
      if (img.deprecationReason === "missing" && !inAny(ws, "dropped", img.scope, img.imageId))
        v.push(
          `C1 ${img.scope} ${img.imageId} deprecated missing by run ${by} (${img.lastChange.kind}), but the provider listed it throughout that run`,
        );
      if (img.deprecationReason !== "missing" && !inAny(ws, "unusable", img.scope, img.imageId))
        v.push(
          `C1 ${img.scope} ${img.imageId} deprecated (${img.deprecationReason}) by run ${by}, but the provider listed it usable throughout that run`,
        );
    }
    return v;
  }

  /** C2: listed and usable throughout a complete sweep -> stored active (or changed since by an overlapping run). */
  private completeSweepsStored(step: StepFacts, { stored, byRun }: TableFacts): string[] {
    const v: string[] = [];
    for (const o of step.outcomes) {
      if (!o.report) continue;
      const w = this.windows.find((x) => x.tag === o.tag) as Window;
      for (const s of o.report.scopes) {
        if (s.status !== "complete" || step.lied.has(s.scope)) continue;
        for (const id of w.startUsable.get(s.scope) ?? []) {
          if (w.dropped.get(s.scope)?.has(id) || w.unusable.get(s.scope)?.has(id)) continue;
          const img = stored.get(`${s.scope}\u0000${id}`);
          if (!img) {
            v.push(`C2 ${s.scope} ${id} listed throughout the complete sweep of run ${o.tag} but not stored`);
            continue;
          }
          if (img.state === "active") continue;
          // Another run (a redelivery counts, it has its own window) that overlapped or followed this one.
          const writer = byRun.get(img.lastChange?.runId) ?? [];
          const later = writer.some((x) => x.tag !== o.tag && (x.end === null || x.end >= w.start));
          if (!later)
            v.push(
              `C2 ${s.scope} ${id} listed usable throughout the complete sweep of run ${o.tag} but stored ${img.state} (${img.deprecationReason}, by ${img.lastChange?.runId})`,
            );
        }
      }
    }
    return v;
  }

  /** C3: after a clean run the store equals the model. */
  private cleanRunMatchesModel(step: StepFacts, { images, stored }: TableFacts): string[] {
    const v: string[] = [];
    const only = step.outcomes[0];
    if (step.clean && only) {
      count("clean run compared with the model");
      const report = only.report;
      if (!report?.ok)
        v.push(
          `C3 clean run ${only.tag} not ok: ${
            report
              ? report.scopes
                  .filter((s) => s.status !== "complete")
                  .map((s) => `${s.scope} ${s.status} ${s.error?.code ?? ""} ${s.error?.message ?? ""}`)
                  .join("; ")
              : (only.error ?? "no report")
          }`,
        );
      else
        for (const z of SCOPES) {
          const held = (report.scopes.find((s) => s.scope === z)?.held ?? 0) > 0;
          const listed = new Set<string>();
          for (const r of this.list(z)) {
            const id = String(r.imageId);
            listed.add(id);
            const img = stored.get(`${z}\u0000${id}`);
            if (!img) {
              v.push(`C3 ${z} ${id} listed but not stored after a clean run`);
              continue;
            }
            const usable = r.imageStatus === "AVAILABLE";
            if (usable && img.state !== "active")
              v.push(`C3 ${z} ${id} usable but stored ${img.state} (${img.deprecationReason}) after a clean run`);
            if (!usable && !held && img.state !== "deprecated")
              v.push(`C3 ${z} ${id} unusable but stored active after a clean run`);
            if (!sameRecord(img.raw, r))
              v.push(`C3 ${z} ${id} stored record differs from the listed one after a clean run`);
          }
          if (!held)
            for (const img of images)
              if (img.scope === z && !listed.has(img.imageId) && img.state !== "deprecated")
                v.push(`C3 ${z} ${img.imageId} no longer listed but stored active after a clean run`);
        }
    }
    return v;
  }

  /** C5: every write of a run that did not die is handed over once and counted; nothing unwritten is handed. */
  private writesHandedOnce(step: StepFacts, { images, stored }: TableFacts): string[] {
    const v: string[] = [];
    const changed = images.filter((i) => {
      const was = this.snapshot.get(`${String(i.PK)}\u0000${String(i.SK)}`);
      return !was || was.rev !== i.rev;
    });
    const deadRuns = new Set(step.outcomes.filter((o) => o.dead).map((o) => o.runId));
    const stepRuns = new Set(step.outcomes.map((o) => o.runId));
    const handed = new Map<string, number>();
    for (const o of step.outcomes)
      for (const h of o.handed) {
        const k = `${h.scope}\u0000${h.imageId}\u0000${h.rev}`;
        handed.set(k, (handed.get(k) ?? 0) + 1);
        const img = stored.get(`${h.scope}\u0000${h.imageId}`);
        if (!img || img.rev < h.rev || (img.rev === h.rev && img.lastChange.runId !== h.runId))
          v.push(
            `C5 run ${o.tag} handed ${h.kind} ${h.scope} ${h.imageId} rev ${h.rev}, which the table does not hold`,
          );
      }
    for (const [k, n] of handed) if (n > 1) v.push(`C5 change ${k.replaceAll("\u0000", " ")} handed ${n} times`);
    for (const i of changed) {
      const by = i.lastChange.runId;
      // A run stopped dead in an earlier step may land its last write after that step's snapshot; a
      // redelivery of its message shares its run id, so such a write cannot be told from the redelivery's.
      if (!stepRuns.has(by) || deadRuns.has(by) || this.outcomes.some((o) => o.dead && o.runId === by)) continue;
      if (!handed.has(`${i.scope}\u0000${i.imageId}\u0000${i.rev}`))
        v.push(
          `C5 ${i.lastChange.kind} ${i.scope} ${i.imageId} rev ${i.rev} written by run ${by} but never handed to onChanges`,
        );
    }
    for (const o of step.outcomes)
      for (const s of o.report?.scopes ?? []) {
        if (s.scope === "*") continue;
        const reported = s.added + s.updated + s.deprecated + s.restored;
        const n = o.handed.filter((h) => h.scope === s.scope).length;
        if (reported !== n)
          v.push(`C5 run ${o.tag} reports ${reported} changes for ${s.scope} (${s.status}) but handed ${n}`);
      }
    return v;
  }

  /**
   * C8: a scope that had images stored is never written as a baseline by a run of this step (a write of a run
   * stopped dead in an earlier step may land after that step's snapshot: it was judged there).
   */
  private noLateBaselines(step: StepFacts, { images }: TableFacts): string[] {
    const v: string[] = [];
    const runsOfStep = new Set(step.outcomes.map((o) => o.runId));
    for (const i of images) {
      const was = this.snapshot.get(`${String(i.PK)}\u0000${String(i.SK)}`);
      if ((was && was.rev === i.rev) || !i.lastChange?.baseline) continue;
      if (!runsOfStep.has(i.lastChange.runId)) continue;
      if (step.storedBefore.has(i.scope))
        v.push(
          `C8 ${i.scope} ${i.imageId} written as a baseline (${i.lastChange.kind}) though the scope had images stored`,
        );
    }
    return v;
  }

  /**
   * C6: no lease outlives its run: a scope's hold (S#<scope> on the account's lease item: owner, until) still in
   * force belongs to a run that died, or whose release an injected fault may have hit.
   */
  private noLeaseOutlivesItsRun(items: Map<string, Item>): string[] {
    const v: string[] = [];
    const nowMs = this.now();
    for (const i of items.values()) {
      if (i.itemType !== "lease") continue;
      for (const [attr, hold] of Object.entries(i)) {
        if (!attr.startsWith("S#")) continue;
        const h = hold as { owner?: unknown; until?: unknown };
        if (!(Number(h.until) > nowMs)) continue;
        const runId = String(h.owner).split("/")[0];
        const owners = this.outcomes.filter((o) => o.runId === runId);
        const excused = owners.some(
          (o) =>
            o.dead ||
            ((o.inv.db.fault?.kind === "validation" || o.inv.db.fault?.kind === "conditional") &&
              this.stack.wire.run(o.tag)?.faulted),
        );
        if (!excused) v.push(`C6 hold ${attr} still held by run ${runId}, which has ended`);
      }
    }
    return v;
  }

  /** C4: the stream records of the image items changed since the last snapshot, and the changes they carry. */
  private changedRecords(items: Map<string, Item>): { records: StreamRecord[]; expected: string[] } {
    const opts = { removeUndefinedValues: true, convertClassInstanceToMap: true } as const;
    const records: StreamRecord[] = [];
    const expected: string[] = [];
    let seq = 0;
    for (const [k, i] of items) {
      if (i.itemType !== "image") continue;
      const was = this.snapshot.get(k);
      if (was && JSON.stringify(was) === JSON.stringify(i)) continue;
      records.push({
        eventName: was ? "MODIFY" : "INSERT",
        dynamodb: {
          SequenceNumber: String(++seq).padStart(21, "0"),
          NewImage: marshall(i, opts),
          ...(was ? { OldImage: marshall(was, opts) } : {}),
        },
      });
      const next = i.lastChange as StoredImage["lastChange"];
      const prev = was?.lastChange as StoredImage["lastChange"] | undefined;
      const same = prev && prev.kind === next.kind && prev.at === next.at && prev.runId === next.runId;
      if (!same && !next.baseline) expected.push(`${String(i.scope)} ${String(i.imageId)}`);
    }
    return { records, expected };
  }

  private async checkEvents(items: Map<string, Item>): Promise<string[]> {
    const v: string[] = [];
    if (this.known.has("redelivery-event-id")) this.eventContent.clear();
    const { records, expected } = this.changedRecords(items);
    if (records.length === 0) return v;
    const deliveries: StreamRecord[][][] = [
      [records],
      [records.slice(0, Math.ceil(records.length / 2)), records.slice(Math.ceil(records.length / 2))],
      [[...records].reverse()],
    ];
    const digestIds = new Map<string, Set<string>>();
    for (const [d, batches] of deliveries.entries()) {
      let events = 0;
      for (const batch of batches) {
        const out = await processStreamRecords(batch, { publish: async (e) => e.map(() => true), digestThreshold: 3 });
        events += out.events.length;
        for (const e of out.events) {
          const detail = e.detail as ChangeDetail;
          const logical = `${detail.account} ${detail.scope} ${detail.imageId} ${detail.changeType} ${detail.runId}`;
          const seen = this.eventIds.get(detail.eventId);
          if (seen !== undefined && seen !== logical)
            v.push(`C4 event id ${detail.eventId} names two changes: ${seen} and ${logical}`);
          this.eventIds.set(detail.eventId, logical);
          const content = JSON.stringify(this.known.has(11) ? { ...detail, digested: undefined } : detail);
          const was = this.eventContent.get(detail.eventId);
          if (was !== undefined && was !== content)
            v.push(`C4 event ${detail.eventId} (${logical}) delivered with different content on delivery ${d + 1}`);
          this.eventContent.set(detail.eventId, content);
        }
        // A digest is one per run and scope (defect 11's fix): its id must be the same on every delivery.
        for (const dg of out.digests as DigestDetail[]) {
          const key = `${dg.runId} ${dg.byScope.map((b) => `${b.account}#${b.scope}`).join(",")}`;
          const ids = digestIds.get(key) ?? new Set();
          ids.add(dg.eventId);
          digestIds.set(key, ids);
        }
      }
      if (events !== expected.length)
        v.push(`C4 delivery ${d + 1} made ${events} change events for ${expected.length} changes written`);
    }
    if (!this.known.has(11))
      for (const [runId, ids] of digestIds)
        if (ids.size > 1) v.push(`C4 run and scope ${runId} got ${ids.size} different digest ids over redeliveries`);
    return v;
  }
}

/** C7: at most one sweep of a scope at a time. */
function oneSweepAtATime(sweeps: ReadonlyArray<{ tag: string; scope: string }>): string[] {
  const v: string[] = [];
  for (const z of SCOPES) {
    const spans = new Map<string, [number, number]>();
    sweeps.forEach((s, i) => {
      if (s.scope !== z) return;
      const span = spans.get(s.tag);
      spans.set(s.tag, span ? [span[0], i] : [i, i]);
    });
    const list = [...spans.entries()];
    for (let a = 0; a < list.length; a++)
      for (let b = a + 1; b < list.length; b++) {
        const [ta, [sa, ea]] = list[a] as [string, [number, number]];
        const [tb, [sb, eb]] = list[b] as [string, [number, number]];
        if (sa <= eb && sb <= ea) v.push(`C7 runs ${ta} and ${tb} swept ${z} at the same time`);
      }
  }
  return v;
}

/** How a run ends: its report or error, stopped dead, or hung (30 s); `cancel` stops the clock. */
function runEnding(run: Promise<SyncReport>, wire: WireRun | undefined) {
  let timer: NodeJS.Timeout | undefined;
  const ending = Promise.race([
    run.then(
      (r) => ({ report: r }) as const,
      (e: unknown) => ({ error: e instanceof Error ? e.message : String(e) }) as const,
    ),
    (wire?.died ?? new Promise<void>(() => {})).then(() => ({ dead: true }) as const),
    new Promise<{ hung: true }>((r) => {
      timer = setTimeout(() => r({ hung: true }), 30_000);
    }),
  ]);
  return { ending, cancel: () => clearTimeout(timer) };
}

const inAny = (ws: Window[], kind: "dropped" | "unusable", scope: string, id: string) =>
  ws.some((w) => w[kind].get(scope)?.has(id));

/**
 * Whether a stored raw record is the listed one: fields a trimmed record names as dropped (its documented
 * `_imageSyncTrimmed` marker) and an integer above 2^53 (kept in whatever lossless form) are not compared.
 */
function sameRecord(stored: Record<string, unknown>, listed: Record<string, unknown>): boolean {
  const skip = new Set(["_imageSyncTrimmed", "buildNumber"]);
  const strip = (r: Record<string, unknown>) => Object.fromEntries(Object.entries(r).filter(([k]) => !skip.has(k)));
  // A record trimmed to fit DynamoDB's item limit keeps some of its fields (the marker names only the first 50
  // dropped): each field it kept is the listed one.
  if (stored._imageSyncTrimmed !== undefined)
    return Object.entries(strip(stored)).every(([k, v]) => canon(v) === canon(listed[k]));
  return canon(strip(stored)) === canon(strip(listed));
}

/** JSON with sorted keys (DynamoDB maps keep no order). */
function canon(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === "object" && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : x,
  );
}

let sequences = 0;

/** What the sequences exercised, by kind (operations, faults that fired, outcomes). */
export const coverage = new Map<string, number>();
const count = (what: string) => coverage.set(what, (coverage.get(what) ?? 0) + 1);

/** The coverage, most frequent first, on one line. */
export function coverageLine(): string {
  return [...coverage]
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(", ");
}

/** A fresh table per sequence, the next one created while the current sequence runs. */
const nextTables = new WeakMap<ModelStack, Promise<string>>();
function makeTable(stack: ModelStack): Promise<string> {
  const name = `model-${process.pid}-${++sequences}`;
  const store = createStore({ tableName: name, endpoint: stack.dynamo.endpoint, localCredentials: true });
  return store.ensureTable().then(
    () => {
      store.close();
      return name;
    },
    (e: unknown) => {
      store.close();
      throw e;
    },
  );
}
function takeTable(stack: ModelStack): Promise<string> {
  const table = nextTables.get(stack) ?? makeTable(stack);
  const next = makeTable(stack);
  next.catch(() => {});
  nextTables.set(stack, next);
  return table;
}

/** Runs one sequence on the stack; the violations of the first step that broke the contract, if any. */
/** Changes the table behind the engine's back after a step's runs, before its checks (the harness's own tests). */
export type Tamper = (ctx: { raw: DynamoDBDocumentClient; table: string; runIds: string[] }) => Promise<void>;

export async function runSequence(
  stack: ModelStack,
  seq: Sequence,
  known: ReadonlySet<Defect> = KNOWN_DEFECTS,
  tamper?: Tamper,
): Promise<SequenceResult> {
  const table = await takeTable(stack);
  const runner = new Runner(stack, table, known, sequences, tamper);
  try {
    await runner.setUp(seq.sizes);
    for (const [i, op] of seq.ops.entries()) {
      const violations = await runner.step(op);
      if (violations.length > 0) return { violations, step: i + 1, ran: runner.ran };
    }
    return { violations: [], step: seq.ops.length, ran: runner.ran };
  } finally {
    runner.close();
    stack.wire.dropHeld();
  }
}

export interface ModelRunOptions {
  numRuns: number;
  maxOps?: number;
  seed?: number;
  path?: string;
  known?: ReadonlySet<Defect>;
  /** Called after each sequence (progress). */
  onSequence?: (n: number) => void;
}

export interface ModelRunResult {
  failed: boolean;
  numRuns: number;
  seed: number;
  /** Replay with { seed, path }. */
  path: string | null;
  /** The shrunk sequence, readable, with the violations it produced. */
  report: string;
  durationMs: number;
}

/** The property over random sequences: fast-check generates, runs and shrinks them. */
export async function runModel(opts: ModelRunOptions): Promise<ModelRunResult> {
  const stack = await startModelStack();
  const t0 = Date.now();
  const known = opts.known ?? KNOWN_DEFECTS;
  let n = 0;
  let last: { seq: Sequence; result: SequenceResult } | null = null;
  try {
    const property = fc.asyncProperty(sequenceArb(opts.maxOps ?? 8), async (seq) => {
      const result = await runSequence(stack, seq, known);
      opts.onSequence?.(++n);
      if (result.violations.length > 0) {
        last = { seq, result };
        throw new Violation(result.violations.join("\n"));
      }
    });
    const seed = opts.seed ?? Date.now() ^ (Math.random() * 0x7fffffff);
    const out = await fc.check(property, {
      numRuns: opts.numRuns,
      seed,
      ...(opts.path ? { path: opts.path } : {}),
      endOnFailure: false,
    });
    const durationMs = Date.now() - t0;
    if (!out.failed) return { failed: false, numRuns: out.numRuns, seed: out.seed, path: null, report: "", durationMs };
    const shrunk = (out.counterexample?.[0] as Sequence | undefined) ?? null;
    // The last failing run fast-check tried is the shrunk one; run it again to name its violations.
    const final = shrunk ? await runSequence(stack, shrunk, known) : null;
    const lastFailure = last as { seq: Sequence; result: SequenceResult } | null;
    const violations = final?.violations.length ? final : (lastFailure?.result ?? null);
    const report = [
      `model-based test failed after ${out.numRuns} sequences (${out.numShrinks} shrinks)`,
      `replay: seed ${out.seed}, path "${out.counterexamplePath}" (npm run soak -- --model --seed ${out.seed} --path ${out.counterexamplePath})`,
      `known defects left out: ${[...known].join(", ") || "none"}`,
      "shrunk sequence, as it ran (after the gates of the defects left out):",
      shrunk ? describeSequence({ ...shrunk, ops: violations?.ran ?? shrunk.ops }) : "(none)",
      `broke at step ${violations?.step ?? "?"}:`,
      ...(violations?.violations ?? [String(out.errorInstance ?? "")]).slice(0, 20).map((x) => `  ${x}`),
    ].join("\n");
    return { failed: true, numRuns: out.numRuns, seed: out.seed, path: out.counterexamplePath, report, durationMs };
  } finally {
    await stack.close();
  }
}
