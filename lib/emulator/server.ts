// The emulator's HTTP core: a local node:http server that routes each request to the dialect module that
// speaks it, counts it, and lets tests and demos inject latency, faults, clock skew and catalogue drift.
// Dialect modules own the wire format; this file owns everything that is the same for every provider.
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { ApiId } from "../model.ts";
import { DEMO_CREDENTIALS } from "./credentials.ts";
import { DIALECTS } from "./dialects.ts";
import { createRng } from "./rng.ts";
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

export async function startEmulator(opts: EmulatorOptions = {}): Promise<Emulator> {
  const seed = opts.seed ?? DEFAULT_SEED;
  const dialects = opts.dialects ?? DIALECTS;
  const catalogue = opts.catalogue ?? generateCatalogue(dialects, seed, opts.scale ?? 1);
  // A private copy: tests may rotate the emulator's keys without touching the frozen demo set.
  const credentials: EmulatorCredentialSet = structuredClone(opts.credentials ?? DEMO_CREDENTIALS);
  const usedNonces = new Set<string>();
  const log: LoggedRequest[] = [];
  let faults: ArmedFault[] = [];
  let driftCalls = 0;
  let closed = false;
  const sockets = new Set<Socket>();
  const sleepers = new Set<() => void>();

  const moduleFor = (api: ApiId): DialectModule | undefined => dialects.find((d) => d.apis.includes(api));

  /** A sleep that close() cuts short, so a pending delay never holds a test open. */
  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      sleepers.add(done);
    });

  const takeFault = (info: RequestInfo): FaultAction | undefined => {
    for (const armed of faults) {
      if (!matches(armed.fault.match, info)) continue;
      armed.seen++;
      if (armed.seen <= (armed.fault.after ?? 0)) continue;
      armed.fired++;
      if (armed.fired >= (armed.fault.times ?? 1)) faults = faults.filter((f) => f !== armed);
      return armed.fault.action;
    }
    return undefined;
  };

  const send = (res: ServerResponse, reply: EmulatorReply, opts: { truncate?: boolean; abort?: boolean } = {}) => {
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
  };

  const onRequest = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    let size = 0;
    // Drain an oversized body rather than abandoning it, so the 413 reaches the client.
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size <= MAX_REQUEST_BYTES) chunks.push(chunk);
    }
    if (size > MAX_REQUEST_BYTES) {
      send(res, jsonReply(413, { error: "PayloadTooLarge", message: "request body too large" }));
      return;
    }
    const url = new URL(req.url ?? "/", "http://emulator.invalid");
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(", ") : v;
    const ereq: EmulatorRequest = {
      method: req.method ?? "GET",
      path: url.pathname,
      query: url.searchParams,
      headers,
      host: req.headers.host ?? "",
      body: Buffer.concat(chunks).toString("utf8"),
    };

    let module: DialectModule | undefined;
    let info: RequestInfo | undefined;
    for (const d of dialects) {
      info = d.describe(ereq);
      if (info) {
        module = d;
        break;
      }
    }
    if (!module || !info) {
      send(res, jsonReply(404, { error: "NotFound", message: `no emulated API at ${ereq.method} ${ereq.path}` }));
      return;
    }

    const entry: LoggedRequest = { ...info, status: 0 };
    log.push(entry);
    const ctx: DialectContext = {
      catalogue,
      credentials,
      now: () => Date.now() + emulator.clockSkewMs,
      usedNonces,
      requestId: () => randomUUID(),
    };
    const reply = (r: EmulatorReply, o?: { truncate?: boolean; abort?: boolean }) => {
      entry.status = r.status;
      send(res, r, o);
    };

    if (emulator.latencyMs > 0) await sleep(emulator.latencyMs);
    if (closed) return;
    const action = emulator.onRequest?.(ereq, info) ?? takeFault(info);
    switch (action?.type) {
      case undefined:
        return reply(module.handle(ereq, info, ctx));
      case "failure": {
        const r = module.failure(action.failure, info, ctx);
        if (action.retryAfterSeconds !== undefined) {
          r.headers = { ...r.headers, "retry-after": String(action.retryAfterSeconds) };
        }
        return reply(r);
      }
      case "http":
        return reply({ status: action.status, body: action.body, headers: action.headers ?? {} });
      case "truncate":
        return reply(module.handle(ereq, info, ctx), { truncate: true, abort: action.abort === true });
      case "reset":
        req.socket.destroy();
        return;
      case "delay":
        await sleep(action.ms);
        if (closed) return;
        return reply(module.handle(ereq, info, ctx));
      case "mutate":
        action.apply(catalogue);
        return reply(module.handle(ereq, info, ctx));
      case "transform": {
        const r = module.handle(ereq, info, ctx);
        let json: unknown;
        try {
          json = JSON.parse(r.body);
        } catch {
          return reply(r); // nothing to transform: an error page or non-JSON dialect reply
        }
        return reply({ ...r, body: JSON.stringify(action.apply(json)) });
      }
    }
  };

  const server = createServer((req, res) => {
    onRequest(req, res).catch((err: unknown) => {
      // A dialect bug must surface as a 500 the test can see, never as a hung request.
      send(res, jsonReply(500, { error: "EmulatorError", message: err instanceof Error ? err.message : String(err) }));
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  const stats: EmulatorStats = {
    get total() {
      return log.length;
    },
    count: (filter) => log.filter((e) => matches(filter, e)).length,
    log,
    reset: () => {
      log.length = 0;
    },
  };

  const drift = (dopts: DriftOptions): DriftReport => {
    driftCalls++;
    const rng = createRng(dopts.seed ?? (seed + Math.imul(driftCalls, 0x9e3779b1)) >>> 0);
    const report: DriftReport = { added: [], removed: [], unusable: [], touched: [] };
    const apis = (dopts.apis ?? [...catalogue.keys()]).filter((api) => catalogue.has(api) && moduleFor(api));
    interface Candidate {
      api: ApiId;
      scope: string;
      record: Record<string, unknown>;
      module: MaybeUsability;
      key: string;
    }
    const pool: Candidate[] = [];
    for (const api of apis) {
      const module = moduleFor(api) as MaybeUsability;
      for (const [scope, records] of catalogue.get(api) ?? []) {
        for (const record of records) {
          pool.push({ api, scope, record, module, key: `${api}\u0000${scope}\u0000${module.imageId(api, record)}` });
        }
      }
    }
    const taken = new Set<string>();
    const change = (c: Candidate): DriftChange => ({
      api: c.api,
      scope: c.scope,
      imageId: c.module.imageId(c.api, c.record),
    });

    /** Up to `n` distinct, untaken, usable candidates drawn without replacement. Drift touches only usable
     *  images so that each reported change shows up as exactly one change in the next sync (removing or
     *  touching an image that is already unusable would be invisible or ambiguous). `accept` is checked
     *  lazily because it may be expensive. */
    const draw = (n: number, accept: (c: Candidate) => boolean = () => true): Candidate[] => {
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
    };

    for (const c of draw(dopts.remove ?? 0)) {
      const records = catalogue.get(c.api)?.get(c.scope);
      const at = records?.indexOf(c.record) ?? -1;
      if (records && at >= 0) records.splice(at, 1);
      report.removed.push(change(c));
    }
    for (const c of draw(dopts.unusable ?? 0, (c) => markingChanges(c.module, c.api, c.record))) {
      c.module.markUnusable(c.api, c.record);
      report.unusable.push(change(c));
    }
    for (const c of draw(dopts.touch ?? 0)) {
      c.module.touch(c.api, c.record, rng);
      report.touched.push(change(c));
    }

    const targets: Array<{ api: ApiId; scope: string; module: DialectModule }> = [];
    for (const api of apis) {
      for (const scope of catalogue.get(api)?.keys() ?? []) targets.push({ api, scope, module: moduleFor(api)! });
    }
    for (let i = 0; i < (dopts.add ?? 0) && targets.length > 0; i++) {
      const t = rng.pick(targets);
      const records = catalogue.get(t.api)?.get(t.scope) ?? [];
      const present = new Set(records.map((r) => t.module.imageId(t.api, r)));
      // Ids are random or dated: a clash is rare, and retrying keeps every id unique within its scope.
      for (let attempt = 0; attempt < 20; attempt++) {
        const record = t.module.newRecord(t.api, t.scope, rng);
        const imageId = t.module.imageId(t.api, record);
        const key = `${t.api}\u0000${t.scope}\u0000${imageId}`;
        if (present.has(imageId) || taken.has(key)) continue;
        taken.add(key);
        records.splice(rng.int(0, records.length), 0, record);
        report.added.push({ api: t.api, scope: t.scope, imageId });
        break;
      }
    }
    return report;
  };

  const emulator: Emulator = {
    url: `http://127.0.0.1:${port}`,
    port,
    seed,
    catalogue,
    credentials,
    latencyMs: opts.latencyMs ?? 0,
    clockSkewMs: 0,
    stats,
    onRequest: null,
    inject(fault) {
      validateFault(fault);
      faults.push({ fault, seen: 0, fired: 0 });
    },
    clearFaults() {
      faults = [];
    },
    drift,
    async close() {
      if (closed) return;
      closed = true;
      for (const wake of [...sleepers]) wake();
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive and in-flight sockets would otherwise hold close() (and the test run) open.
      server.closeAllConnections();
      for (const socket of sockets) socket.destroy();
      await done;
    },
  };
  return emulator;
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
