// A fault-injecting HTTP proxy in front of dynalite for the model-based test (lib/bench/model.ts). Each run
// gets its own store client whose endpoint ends in a path naming the run ("/<tag>"), so the proxy can count
// that run's requests and writes alone: it can fail one chosen request (throttling, a 500, a
// ValidationException, a conditional failure) and can stop the run dead after its k-th write: that write
// reaches the table, but its reply and every later request of the run are held and never answered.
import { createServer, type IncomingMessage, request, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type DynamoFaultKind = "throttle" | "internal" | "validation" | "conditional";

export interface WirePlan {
  /** Fail the run's n-th request (1-based, reads included, SDK retries counted) with this fault. */
  fault?: { at: number; kind: DynamoFaultKind };
  /** After the run's k-th write has reached the table, answer nothing more: the run is dead. */
  dieAfterWrite?: number;
}

export interface WireRun {
  plan: WirePlan;
  requests: number;
  writes: number;
  /** The injected fault was sent. */
  faulted: boolean;
  /** Request names, in order, as they reached the proxy ("PutItem", ...). */
  targets: string[];
  dead: boolean;
  /** Resolves when the run dies (never, when it does not). */
  died: Promise<void>;
}

export interface DynamoWire {
  /** The endpoint for a run's store client. */
  endpointFor(tag: string, plan: WirePlan): string;
  run(tag: string): WireRun | undefined;
  /** Ends the held requests of dead runs (their clients see a reset; the proxy keeps holding what follows). */
  dropHeld(): void;
  /**
   * Resolves once no request is being forwarded to the table: a run that dies while another of its writes is on
   * its way lands that write too, and the model's snapshot must see it in the step it belongs to.
   */
  quiet(): Promise<void>;
  close(): Promise<void>;
}

const WRITES = new Set(["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"]);

const FAULTS: Record<DynamoFaultKind, { status: number; type: string }> = {
  throttle: { status: 400, type: "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException" },
  internal: { status: 500, type: "com.amazonaws.dynamodb.v20120810#InternalServerError" },
  validation: { status: 400, type: "com.amazon.coral.validate#ValidationException" },
  conditional: { status: 400, type: "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException" },
};

type LiveRun = WireRun & { die: () => void };

/** What the proxy's request handler and the wire's methods share. */
interface WireState {
  readonly to: URL;
  readonly runs: Map<string, LiveRun>;
  /** Replies of dead runs, never sent. */
  readonly held: Set<ServerResponse>;
  /** Requests on their way to the table. */
  readonly forwarding: Set<Promise<unknown>>;
}

export async function startDynamoWire(target: string): Promise<DynamoWire> {
  const state: WireState = { to: new URL(target), runs: new Map(), held: new Set(), forwarding: new Set() };
  const server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => {
      body += c;
    });
    req.on("end", () => relay(state, req, body, res));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    endpointFor(tag, plan) {
      state.runs.set(tag, newRun(plan));
      return `${base}/${tag}`;
    },
    run: (tag) => state.runs.get(tag),
    dropHeld() {
      for (const res of [...state.held]) res.destroy();
      state.held.clear();
    },
    async quiet() {
      while (state.forwarding.size > 0) await Promise.allSettled([...state.forwarding]);
    },
    close: () =>
      new Promise<void>((r) => {
        for (const res of [...state.held]) res.destroy();
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

function newRun(plan: WirePlan): LiveRun {
  let die = () => {};
  const died = new Promise<void>((r) => {
    die = r;
  });
  const run: LiveRun = {
    plan,
    requests: 0,
    writes: 0,
    faulted: false,
    targets: [],
    dead: false,
    died,
    die: () => {
      run.dead = true;
      die();
    },
  };
  return run;
}

/** Answers one request: held for a dead run, the run's injected fault, else dynalite's reply. */
async function relay(state: WireState, req: IncomingMessage, body: string, res: ServerResponse): Promise<void> {
  const name = String(req.headers["x-amz-target"] ?? "").replace(/^.*\./, "");
  const tag = (req.url ?? "/").split("/").filter(Boolean)[0] ?? "";
  const headers = { ...req.headers } as Record<string, unknown>;
  delete headers["content-length"];
  const run = state.runs.get(tag);
  try {
    if (run) {
      if (run.dead) return hold(state, res);
      run.requests++;
      run.targets.push(name);
      const fault = run.plan.fault;
      if (fault && !run.faulted && run.requests === fault.at) {
        run.faulted = true;
        const f = FAULTS[fault.kind];
        res.writeHead(f.status, { "content-type": "application/x-amz-json-1.0" });
        res.end(JSON.stringify({ __type: f.type, message: "injected by the model-based test" }));
        return;
      }
    }
    const sending = forward(state.to, headers, body);
    state.forwarding.add(sending);
    const out = await sending.finally(() => state.forwarding.delete(sending));
    if (run && WRITES.has(name)) {
      run.writes++;
      if (run.plan.dieAfterWrite !== undefined && run.writes >= run.plan.dieAfterWrite) {
        run.die();
        return hold(state, res);
      }
    }
    res.writeHead(out.status, { "content-type": out.contentType });
    res.end(out.body);
  } catch (e) {
    res.writeHead(500, { "content-type": "application/x-amz-json-1.0" });
    res.end(JSON.stringify({ __type: "ProxyError", message: (e as Error).message }));
  }
}

function hold(state: WireState, res: ServerResponse): void {
  state.held.add(res);
  res.on("close", () => state.held.delete(res));
}

function forward(
  to: URL,
  headers: Record<string, unknown>,
  body: string,
): Promise<{ status: number; body: string; contentType: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: to.hostname,
        port: to.port,
        method: "POST",
        path: "/",
        headers: { ...headers, "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        let out = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          out += c;
        });
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 500,
            body: out,
            contentType: String(res.headers["content-type"] ?? "application/x-amz-json-1.0"),
          }),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}
