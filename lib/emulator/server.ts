// The emulator's HTTP core: a local node:http server that routes each request to the dialect module that
// speaks it, counts it, and lets tests and demos inject latency, faults, clock skew and catalogue drift.
// Dialect modules own the wire format; this file owns everything that is the same for every provider.
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { ApiId } from "../model.ts";
import { DEMO_CREDENTIALS } from "./credentials.ts";
import { DIALECTS } from "./dialects.ts";
import { createRng, type Rng } from "./rng.ts";
import type {
  Catalogue,
  DialectContext,
  DialectModule,
  EmulatorCredentialSet,
  EmulatorReply,
  EmulatorRequest,
  FailureKind,
  RequestInfo,
} from "./types.ts";

export const DEFAULT_SEED = 20240712;
/** Larger request bodies are refused: no DescribeImages call comes close. */
const MAX_REQUEST_BYTES = 1024 * 1024;

export interface EmulatorOptions {
  /** Port on 127.0.0.1; 0 (the default) picks a free one. */
  port?: number;
  /** Seed of the generated catalogue (and of drift when DriftOptions.seed is not given). */
  seed?: number;
  /** Multiplies the generated catalogue sizes (1 = thousands of images). */
  scale?: number;
  /** Serve this catalogue instead of generating one; it is used live, not copied. */
  catalogue?: Catalogue;
  credentials?: EmulatorCredentialSet;
  /** Added to every routed request before it is answered. */
  latencyMs?: number;
  dialects?: readonly DialectModule[];
}

export type FaultAction =
  /** A canned provider error in the dialect's own envelope; Retry-After is added when given. */
  | { type: "failure"; failure: FailureKind; retryAfterSeconds?: number }
  /** Exactly this reply, whatever the dialect. */
  | { type: "http"; status: number; body: string; headers?: Record<string, string> }
  /** The normal reply cut to its first half. By default a well-formed HTTP response with a short body
   *  (Content-Length says half); with `abort`, the full length is announced and the socket dies mid-body. */
  | { type: "truncate"; abort?: boolean }
  /** The socket is destroyed without an answer. */
  | { type: "reset" }
  /** The normal reply, `ms` late. */
  | { type: "delay"; ms: number }
  /** Changes the catalogue, then answers normally (e.g. an image disappears between page 1 and page 2). */
  | { type: "mutate"; apply: (catalogue: Catalogue) => void }
  /** Answers normally, then rewrites the parsed JSON body (a lying totalCount, wrong field types...). */
  // biome-ignore lint/suspicious/noExplicitAny: the transform edits arbitrary provider JSON.
  | { type: "transform"; apply: (json: any) => any };

export interface Fault {
  /** Which requests the fault applies to; omitted fields match anything. */
  match?: Partial<RequestInfo>;
  /** Let the first N matching requests through untouched. */
  after?: number;
  /** How many requests it applies to; default 1, Infinity = until cleared. */
  times?: number;
  action: FaultAction;
}

export interface DriftOptions {
  add?: number;
  remove?: number;
  unusable?: number;
  touch?: number;
  /** Restrict drift to these APIs (default: every API in the catalogue that a dialect serves). */
  apis?: ApiId[];
  /** Default: derived from the emulator's seed and the number of drift() calls so far. */
  seed?: number;
}

export interface DriftChange {
  api: ApiId;
  scope: string;
  imageId: string;
}

export interface DriftReport {
  added: DriftChange[];
  removed: DriftChange[];
  unusable: DriftChange[];
  touched: DriftChange[];
}

export type LoggedRequest = RequestInfo & {
  /** HTTP status sent; 0 while in flight or when the socket was reset without an answer. */
  status: number;
};

export interface EmulatorStats {
  /** Routed requests since start or the last reset(). */
  readonly total: number;
  /** Routed requests matching every given field. */
  count(filter?: Partial<RequestInfo>): number;
  readonly log: LoggedRequest[];
  reset(): void;
}

/**
 * Called for every routed request before the injected faults, with the request as received (headers included):
 * it may change the catalogue (between the pages of one sweep) and may answer with a fault of its own.
 */
export type RequestHook = (req: EmulatorRequest, info: RequestInfo) => FaultAction | undefined;

export interface Emulator {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  readonly seed: number;
  /** The live catalogue: edit it to change what the providers report. */
  readonly catalogue: Catalogue;
  readonly credentials: EmulatorCredentialSet;
  latencyMs: number;
  /** Added to the emulator's clock (signature expiry checks). */
  clockSkewMs: number;
  readonly stats: EmulatorStats;
  /** See RequestHook; null (the default) for none. */
  onRequest: RequestHook | null;
  inject(fault: Fault): void;
  clearFaults(): void;
  drift(opts: DriftOptions): DriftReport;
  close(): Promise<void>;
}

/** Optional dialect capability (proposed for DialectModule): whether the provider reports a record usable. */
type MaybeUsability = DialectModule & { isUsable?: (api: ApiId, record: Record<string, unknown>) => boolean };

/** FNV-1a, so each dialect gets its own stream: adding a dialect never changes another's catalogue. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** The catalogue every dialect generates for `seed` and `scale`, merged. Deterministic. */
export function generateCatalogue(dialects: readonly DialectModule[], seed: number, scale: number): Catalogue {
  const catalogue: Catalogue = new Map();
  for (const module of dialects) {
    const rng = createRng((seed ^ hashString(module.apis.join(","))) >>> 0);
    for (const [api, scopes] of module.generate(rng, scale)) catalogue.set(api, scopes);
  }
  return catalogue;
}

function matches(filter: Partial<RequestInfo> | undefined, info: RequestInfo): boolean {
  if (!filter) return true;
  return (Object.keys(filter) as Array<keyof RequestInfo>).every(
    (k) => filter[k] === undefined || filter[k] === info[k],
  );
}

function validateFault(fault: Fault): void {
  const after = fault.after ?? 0;
  const times = fault.times ?? 1;
  if (!Number.isInteger(after) || after < 0) throw new RangeError(`fault.after must be a non-negative integer`);
  if (!(times === Number.POSITIVE_INFINITY || (Number.isInteger(times) && times > 0))) {
    throw new RangeError(`fault.times must be a positive integer or Infinity`);
  }
}

interface ArmedFault {
  fault: Fault;
  seen: number;
  fired: number;
}

/** What the server and the emulator's methods share. */
interface EmulatorState {
  readonly seed: number;
  readonly dialects: readonly DialectModule[];
  readonly catalogue: Catalogue;
  readonly credentials: EmulatorCredentialSet;
  readonly usedNonces: Set<string>;
  readonly log: LoggedRequest[];
  faults: ArmedFault[];
  driftCalls: number;
  closed: boolean;
  readonly sockets: Set<Socket>;
  readonly sleepers: Set<() => void>;
  /** The settings a test changes on the live emulator; the emulator itself once it is built. */
  knobs: Pick<Emulator, "latencyMs" | "clockSkewMs" | "onRequest">;
}

export async function startEmulator(opts: EmulatorOptions = {}): Promise<Emulator> {
  const seed = opts.seed ?? DEFAULT_SEED;
  const dialects = opts.dialects ?? DIALECTS;
  const catalogue = opts.catalogue ?? generateCatalogue(dialects, seed, opts.scale ?? 1);
  // A private copy: tests may rotate the emulator's keys without touching the frozen demo set.
  const credentials: EmulatorCredentialSet = structuredClone(opts.credentials ?? DEMO_CREDENTIALS);
  const state: EmulatorState = {
    seed,
    dialects,
    catalogue,
    credentials,
    usedNonces: new Set<string>(),
    log: [],
    faults: [],
    driftCalls: 0,
    closed: false,
    sockets: new Set<Socket>(),
    sleepers: new Set<() => void>(),
    knobs: { latencyMs: opts.latencyMs ?? 0, clockSkewMs: 0, onRequest: null },
  };
  const server = await listen(state, opts.port ?? 0);
  const port = (server.address() as AddressInfo).port;
  const emulator: Emulator = {
    url: `http://127.0.0.1:${port}`,
    port,
    seed,
    catalogue,
    credentials,
    latencyMs: opts.latencyMs ?? 0,
    clockSkewMs: 0,
    stats: requestStats(state.log),
    onRequest: null,
    inject(fault) {
      validateFault(fault);
      state.faults.push({ fault, seen: 0, fired: 0 });
    },
    clearFaults() {
      state.faults = [];
    },
    drift: (dopts) => drift(state, dopts),
    close: () => closeEmulator(state, server),
  };
  state.knobs = emulator;
  return emulator;
}

/** The emulator's server, listening on 127.0.0.1 and keeping track of its sockets for close(). */
async function listen(state: EmulatorState, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    onRequest(state, req, res).catch((err: unknown) => {
      // A dialect bug must surface as a 500 the test can see, never as a hung request.
      send(res, jsonReply(500, { error: "EmulatorError", message: err instanceof Error ? err.message : String(err) }));
    });
  });
  server.on("connection", (socket) => {
    state.sockets.add(socket);
    socket.on("close", () => state.sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  return server;
}

function requestStats(log: LoggedRequest[]): EmulatorStats {
  return {
    get total() {
      return log.length;
    },
    count: (filter) => log.filter((e) => matches(filter, e)).length,
    log,
    reset: () => {
      log.length = 0;
    },
  };
}

async function closeEmulator(state: EmulatorState, server: Server): Promise<void> {
  if (state.closed) return;
  state.closed = true;
  for (const wake of [...state.sleepers]) wake();
  const done = new Promise<void>((resolve) => server.close(() => resolve()));
  // Keep-alive and in-flight sockets would otherwise hold close() (and the test run) open.
  server.closeAllConnections();
  for (const socket of state.sockets) socket.destroy();
  await done;
}

const moduleFor = (state: EmulatorState, api: ApiId): DialectModule | undefined =>
  state.dialects.find((d) => d.apis.includes(api));

/** A sleep that close() cuts short, so a pending delay never holds a test open. */
function sleep(state: EmulatorState, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      state.sleepers.delete(done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    state.sleepers.add(done);
  });
}

function takeFault(state: EmulatorState, info: RequestInfo): FaultAction | undefined {
  for (const armed of state.faults) {
    if (!matches(armed.fault.match, info)) continue;
    armed.seen++;
    if (armed.seen <= (armed.fault.after ?? 0)) continue;
    armed.fired++;
    if (armed.fired >= (armed.fault.times ?? 1)) state.faults = state.faults.filter((f) => f !== armed);
    return armed.fault.action;
  }
  return undefined;
}

type SendOptions = { truncate?: boolean; abort?: boolean };

function send(res: ServerResponse, reply: EmulatorReply, opts: SendOptions = {}): void {
  if (res.destroyed || res.writableEnded) return;
  const full = Buffer.from(reply.body, "utf8");
  const body = opts.truncate ? full.subarray(0, Math.floor(full.length / 2)) : full;
  const headers: Record<string, string> = { "content-type": "application/json", ...lowerKeys(reply.headers) };
  headers["content-length"] = String(opts.abort ? full.length : body.length);
  res.writeHead(reply.status, headers);
  if (opts.abort) {
    res.write(body, () => res.socket?.destroy());
  } else {
    res.end(body);
  }
}

async function onRequest(state: EmulatorState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readBody(req);
  if (body === null) {
    send(res, jsonReply(413, { error: "PayloadTooLarge", message: "request body too large" }));
    return;
  }
  const ereq = emulatorRequest(req, body);
  const routed = route(state.dialects, ereq);
  if (!routed) {
    send(res, jsonReply(404, { error: "NotFound", message: `no emulated API at ${ereq.method} ${ereq.path}` }));
    return;
  }
  const { module, info } = routed;
  const entry: LoggedRequest = { ...info, status: 0 };
  state.log.push(entry);
  const ctx: DialectContext = {
    catalogue: state.catalogue,
    credentials: state.credentials,
    now: () => Date.now() + state.knobs.clockSkewMs,
    usedNonces: state.usedNonces,
    requestId: () => randomUUID(),
  };
  const reply = (r: EmulatorReply, o?: SendOptions) => {
    entry.status = r.status;
    send(res, r, o);
  };

  if (state.knobs.latencyMs > 0) await sleep(state, state.knobs.latencyMs);
  if (state.closed) return;
  const action = state.knobs.onRequest?.(ereq, info) ?? takeFault(state, info);
  return answer(state, action, { req, ereq, info, module, ctx, reply });
}

/** The request's body, or null when it is over MAX_REQUEST_BYTES. */
async function readBody(req: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  // Drain an oversized body rather than abandoning it, so the 413 reaches the client.
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= MAX_REQUEST_BYTES) chunks.push(chunk);
  }
  return size > MAX_REQUEST_BYTES ? null : Buffer.concat(chunks).toString("utf8");
}

function emulatorRequest(req: IncomingMessage, body: string): EmulatorRequest {
  const url = new URL(req.url ?? "/", "http://emulator.invalid");
  const headers: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(", ") : v;
  return {
    method: req.method ?? "GET",
    path: url.pathname,
    query: url.searchParams,
    headers,
    host: req.headers.host ?? "",
    body,
  };
}

/** The first dialect that recognises the request, with what it says the request is. */
function route(
  dialects: readonly DialectModule[],
  ereq: EmulatorRequest,
): { module: DialectModule; info: RequestInfo } | undefined {
  for (const module of dialects) {
    const info = module.describe(ereq);
    if (info) return { module, info };
  }
  return undefined;
}

/** One routed request, ready to be answered. */
interface Routed {
  req: IncomingMessage;
  ereq: EmulatorRequest;
  info: RequestInfo;
  module: DialectModule;
  ctx: DialectContext;
  reply: (r: EmulatorReply, o?: SendOptions) => void;
}

/** Answers as the action says: normally when there is none. */
async function answer(state: EmulatorState, action: FaultAction | undefined, r: Routed): Promise<void> {
  const { req, ereq, info, module, ctx, reply } = r;
  switch (action?.type) {
    case undefined:
      return reply(module.handle(ereq, info, ctx));
    case "failure": {
      const failed = module.failure(action.failure, info, ctx);
      if (action.retryAfterSeconds !== undefined) {
        failed.headers = { ...failed.headers, "retry-after": String(action.retryAfterSeconds) };
      }
      return reply(failed);
    }
    case "http":
      return reply({ status: action.status, body: action.body, headers: action.headers ?? {} });
    case "truncate":
      return reply(module.handle(ereq, info, ctx), { truncate: true, abort: action.abort === true });
    case "reset":
      req.socket.destroy();
      return;
    case "delay":
      await sleep(state, action.ms);
      if (state.closed) return;
      return reply(module.handle(ereq, info, ctx));
    case "mutate":
      action.apply(state.catalogue);
      return reply(module.handle(ereq, info, ctx));
    case "transform":
      return reply(transformed(module.handle(ereq, info, ctx), action.apply));
  }
}

/** The reply with its JSON body rewritten; as it was when the body is not JSON (an error page, say). */
// biome-ignore lint/suspicious/noExplicitAny: the transform edits arbitrary provider JSON.
function transformed(r: EmulatorReply, apply: (json: any) => any): EmulatorReply {
  let json: unknown;
  try {
    json = JSON.parse(r.body);
  } catch {
    return r;
  }
  return { ...r, body: JSON.stringify(apply(json)) };
}

/** An image drift may change: where it is and the module that speaks its API. */
interface Candidate {
  api: ApiId;
  scope: string;
  record: Record<string, unknown>;
  module: MaybeUsability;
  key: string;
}

/** Emulator.drift. */
function drift(state: EmulatorState, dopts: DriftOptions): DriftReport {
  const { catalogue } = state;
  state.driftCalls++;
  const rng = createRng(dopts.seed ?? (state.seed + Math.imul(state.driftCalls, 0x9e3779b1)) >>> 0);
  const report: DriftReport = { added: [], removed: [], unusable: [], touched: [] };
  const apis = (dopts.apis ?? [...catalogue.keys()]).filter((api) => catalogue.has(api) && moduleFor(state, api));
  const pool = driftPool(state, apis);
  const taken = new Set<string>();
  const draw = (n: number, accept?: (c: Candidate) => boolean) => drawCandidates(pool, taken, rng, n, accept);

  for (const c of draw(dopts.remove ?? 0)) {
    const records = catalogue.get(c.api)?.get(c.scope);
    const at = records?.indexOf(c.record) ?? -1;
    if (records && at >= 0) records.splice(at, 1);
    report.removed.push(driftChange(c));
  }
  for (const c of draw(dopts.unusable ?? 0, (c) => markingChanges(c.module, c.api, c.record))) {
    c.module.markUnusable(c.api, c.record);
    report.unusable.push(driftChange(c));
  }
  for (const c of draw(dopts.touch ?? 0)) {
    c.module.touch(c.api, c.record, rng);
    report.touched.push(driftChange(c));
  }
  report.added.push(...driftAdd(state, apis, dopts.add ?? 0, rng, taken));
  return report;
}

/** Every image of the APIs, in catalogue order. */
function driftPool(state: EmulatorState, apis: readonly ApiId[]): Candidate[] {
  const pool: Candidate[] = [];
  for (const api of apis) {
    const module = moduleFor(state, api) as MaybeUsability;
    for (const [scope, records] of state.catalogue.get(api) ?? []) {
      for (const record of records) {
        pool.push({ api, scope, record, module, key: `${api}\u0000${scope}\u0000${module.imageId(api, record)}` });
      }
    }
  }
  return pool;
}

const driftChange = (c: Candidate): DriftChange => ({
  api: c.api,
  scope: c.scope,
  imageId: c.module.imageId(c.api, c.record),
});

/** Up to `n` distinct, untaken, usable candidates drawn without replacement. Drift touches only usable
 *  images so that each reported change shows up as exactly one change in the next sync (removing or
 *  touching an image that is already unusable would be invisible or ambiguous). `accept` is checked
 *  lazily because it may be expensive. */
function drawCandidates(
  pool: readonly Candidate[],
  taken: Set<string>,
  rng: Rng,
  n: number,
  accept: (c: Candidate) => boolean = () => true,
): Candidate[] {
  const eligible = pool.filter((c) => !taken.has(c.key) && (c.module.isUsable?.(c.api, c.record) ?? true));
  const out: Candidate[] = [];
  for (let i = 0; i < eligible.length && out.length < n; i++) {
    const j = rng.int(i, eligible.length - 1);
    const c = eligible[j] as Candidate;
    eligible[j] = eligible[i] as Candidate;
    eligible[i] = c;
    if (!accept(c)) continue;
    taken.add(c.key);
    out.push(c);
  }
  return out;
}

/** Adds `n` new images, each to a scope picked at random; returns them. */
function driftAdd(
  state: EmulatorState,
  apis: readonly ApiId[],
  n: number,
  rng: Rng,
  taken: Set<string>,
): DriftChange[] {
  const added: DriftChange[] = [];
  const targets: Array<{ api: ApiId; scope: string; module: DialectModule }> = [];
  for (const api of apis) {
    for (const scope of state.catalogue.get(api)?.keys() ?? [])
      targets.push({ api, scope, module: moduleFor(state, api)! });
  }
  for (let i = 0; i < n && targets.length > 0; i++) {
    const t = rng.pick(targets);
    const records = state.catalogue.get(t.api)?.get(t.scope) ?? [];
    const present = new Set(records.map((r) => t.module.imageId(t.api, r)));
    // Ids are random or dated: a clash is rare, and retrying keeps every id unique within its scope.
    for (let attempt = 0; attempt < 20; attempt++) {
      const record = t.module.newRecord(t.api, t.scope, rng);
      const imageId = t.module.imageId(t.api, record);
      const key = `${t.api}\u0000${t.scope}\u0000${imageId}`;
      if (present.has(imageId) || taken.has(key)) continue;
      taken.add(key);
      records.splice(rng.int(0, records.length), 0, record);
      added.push({ api: t.api, scope: t.scope, imageId });
      break;
    }
  }
  return added;
}

/** Whether markUnusable would change the record: records with no status to take away (zenlayer-bmc) can
 *  only disappear, so drift never reports them as made unusable. */
function markingChanges(module: DialectModule, api: ApiId, record: Record<string, unknown>): boolean {
  const probe = structuredClone(record);
  module.markUnusable(api, probe);
  return JSON.stringify(probe) !== JSON.stringify(record);
}

function jsonReply(status: number, body: unknown): EmulatorReply {
  return { status, headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
}

function lowerKeys(headers: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) out[k.toLowerCase()] = v;
  return out;
}
