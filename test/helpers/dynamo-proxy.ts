// A fault-injecting proxy in front of dynalite, speaking the DynamoDB JSON protocol: it can answer a share
// of BatchWriteItem items as UnprocessedItems (forwarding only the rest) and throttle requests, the two
// DynamoDB faults a real table produces under load; and it can refuse chosen image items as too large (a
// ValidationException failing the whole request, as DynamoDB does).
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import type { EmulatorOptions } from "../../lib/emulator/index.ts";
import { createStore, type Store } from "../../lib/store/store.ts";
import { type Stack, startStack } from "./stack.ts";

export interface DynamoProxy {
  endpoint: string;
  /** BatchWriteItem calls that still leave half their items unprocessed. */
  unprocessedBatches: number;
  /** Requests that still answer ProvisionedThroughputExceededException. */
  throttles: number;
  /** Image ids whose items are refused with "Item size has exceeded the maximum allowed size". */
  refusedImageIds: Set<string>;
  seen: { batchWrites: number; throttled: number; unprocessed: number; refused: number };
  /**
   * Decides each request's fate before the other faults: an error to answer instead of forwarding (the
   * exception's short name, e.g. "ValidationException", with HTTP 400 or 500), or undefined to go on.
   */
  fault?: (target: string, body: string) => { type: string; status?: number } | undefined;
  /**
   * A request's fate, decided before `fault`: `send` is the body to forward (the request's own when absent,
   * nothing when null); `reply` turns what dynalite answered (null when nothing was forwarded) into the answer
   * (a write that lands and is then answered with a 5xx, a BatchWriteItem answered as partly unprocessed).
   */
  hook?: (target: string, body: string) => ProxyPlan | undefined;
  close(): Promise<void>;
}

const refuses = (body: string, ids: ReadonlySet<string>): boolean =>
  [...ids].some((id) => body.includes(`"imageId":{"S":${JSON.stringify(id)}}`));

export interface ProxyReply {
  status: number;
  body: string;
}

export interface ProxyPlan {
  send?: string | null;
  reply?: (out: ProxyReply | null) => ProxyReply;
}

/** DynamoDB's answer when a request may or may not have been applied. */
export const INTERNAL_ERROR: ProxyReply = {
  status: 500,
  body: JSON.stringify({ __type: "com.amazonaws.dynamodb.v20120810#InternalServerError", message: "injected" }),
};

export async function startDynamoProxy(target: string): Promise<DynamoProxy> {
  const to = new URL(target);
  const proxy: DynamoProxy = {
    endpoint: "",
    unprocessedBatches: 0,
    throttles: 0,
    refusedImageIds: new Set(),
    seen: { batchWrites: 0, throttled: 0, unprocessed: 0, refused: 0 },
    close: async () => {},
  };
  const forward = (
    headers: Record<string, unknown>,
    body: string,
  ): Promise<{ status: number; body: string; headers: Record<string, unknown> }> =>
    new Promise((resolve, reject) => {
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
          res.on("data", (c) => {
            out += c;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 500, body: out, headers: res.headers }));
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", async () => {
      const target = String(req.headers["x-amz-target"] ?? "");
      const headers = { ...req.headers } as Record<string, unknown>;
      delete headers["content-length"];
      const plan = proxy.hook?.(target.replace(/^DynamoDB_\d+\./, ""), body);
      if (plan) {
        const send = plan.send === undefined ? body : plan.send;
        const out = send === null ? null : await forward(headers, send);
        const answer = plan.reply ? plan.reply(out) : (out as ProxyReply);
        res.writeHead(answer.status, { "content-type": "application/x-amz-json-1.0" });
        res.end(answer.body);
        return;
      }
      const injected = proxy.fault?.(target.replace(/^DynamoDB_\d+\./, ""), body);
      if (injected) {
        res.writeHead(injected.status ?? 400, { "content-type": "application/x-amz-json-1.0" });
        res.end(JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${injected.type}`, message: "injected" }));
        return;
      }
      if (proxy.throttles > 0 && !target.endsWith("DescribeTable")) {
        proxy.throttles--;
        proxy.seen.throttled++;
        res.writeHead(400, { "content-type": "application/x-amz-json-1.0" });
        res.end(
          JSON.stringify({
            __type: "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
            message: "injected",
          }),
        );
        return;
      }
      if ((target.endsWith("BatchWriteItem") || target.endsWith("PutItem")) && refuses(body, proxy.refusedImageIds)) {
        proxy.seen.refused++;
        res.writeHead(400, { "content-type": "application/x-amz-json-1.0" });
        res.end(
          JSON.stringify({
            __type: "com.amazon.coral.validate#ValidationException",
            message: "Item size has exceeded the maximum allowed size",
          }),
        );
        return;
      }
      if (target.endsWith("BatchWriteItem")) {
        proxy.seen.batchWrites++;
        if (proxy.unprocessedBatches > 0) {
          proxy.unprocessedBatches--;
          const parsed = JSON.parse(body) as { RequestItems: Record<string, unknown[]> };
          const unprocessed: Record<string, unknown[]> = {};
          for (const [table, items] of Object.entries(parsed.RequestItems)) {
            const keep = items.slice(0, Math.ceil(items.length / 2));
            unprocessed[table] = items.slice(keep.length);
            proxy.seen.unprocessed += unprocessed[table].length;
            parsed.RequestItems[table] = keep;
          }
          const out = await forward(headers, JSON.stringify(parsed));
          res.writeHead(out.status, { "content-type": "application/x-amz-json-1.0" });
          res.end(JSON.stringify({ ...JSON.parse(out.body), UnprocessedItems: unprocessed }));
          return;
        }
      }
      const out = await forward(headers, body);
      res.writeHead(out.status, {
        "content-type": String(out.headers["content-type"] ?? "application/x-amz-json-1.0"),
      });
      res.end(out.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  proxy.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  return proxy;
}

/** The local stack with the proxy in front of its dynalite, and fresh tables reached through the proxy. */
export interface ProxiedStack {
  stack: Stack;
  proxy: DynamoProxy;
  /** A fresh table through the proxy, so a test can fail any single DynamoDB request. */
  freshStore(): Promise<Store>;
  close(): Promise<void>;
}

let proxiedTables = 0;

export async function startProxiedStack(options: EmulatorOptions = {}): Promise<ProxiedStack> {
  const stack = await startStack(options);
  const proxy = await startDynamoProxy(stack.dynamo.endpoint);
  return {
    stack,
    proxy,
    freshStore: async () => {
      const store = createStore({
        tableName: `proxied-${++proxiedTables}`,
        endpoint: proxy.endpoint,
        localCredentials: true,
      });
      await store.ensureTable();
      return store;
    },
    close: async () => {
      await proxy.close();
      await stack.close();
    },
  };
}
