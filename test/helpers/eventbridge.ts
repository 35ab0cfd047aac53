// A local HTTP endpoint speaking EventBridge's JSON protocol (PutEvents only), so tests drive the real
// @aws-sdk/client-eventbridge client. `failWhen` decides per entry and attempt whether to answer an ErrorCode.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedEntry {
  Source: string;
  DetailType: string;
  Detail: string;
  EventBusName: string;
  Time?: number;
}

export interface LocalEventBridge {
  endpoint: string;
  /** Every PutEvents call's entries, in order. */
  calls: ReceivedEntry[][];
  /** Entries accepted (given an EventId). */
  accepted: ReceivedEntry[];
  failWhen: (entry: ReceivedEntry, seenBefore: number) => boolean;
  /** When true, the whole call answers HTTP 500. */
  failCalls: boolean;
  close(): Promise<void>;
}

export async function startLocalEventBridge(): Promise<LocalEventBridge> {
  const seen = new Map<string, number>();
  let counter = 0;
  const bridge: LocalEventBridge = {
    endpoint: "",
    calls: [],
    accepted: [],
    failWhen: () => false,
    failCalls: false,
    close: async () => {},
  };
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      if (req.headers["x-amz-target"] !== "AWSEvents.PutEvents") {
        res.writeHead(400, { "content-type": "application/x-amz-json-1.1" });
        res.end(JSON.stringify({ __type: "UnknownOperationException" }));
        return;
      }
      if (bridge.failCalls) {
        res.writeHead(500, { "content-type": "application/x-amz-json-1.1" });
        res.end(JSON.stringify({ __type: "InternalException", message: "injected" }));
        return;
      }
      const { Entries } = JSON.parse(body) as { Entries: ReceivedEntry[] };
      bridge.calls.push(Entries);
      let failed = 0;
      const results = Entries.map((e) => {
        const key = e.Detail;
        const n = seen.get(key) ?? 0;
        seen.set(key, n + 1);
        if (bridge.failWhen(e, n)) {
          failed++;
          return { ErrorCode: "ThrottlingException", ErrorMessage: "Rate exceeded" };
        }
        bridge.accepted.push(e);
        return { EventId: `ev-${++counter}` };
      });
      res.writeHead(200, { "content-type": "application/x-amz-json-1.1" });
      res.end(JSON.stringify({ FailedEntryCount: failed, Entries: results }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  bridge.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  bridge.close = () =>
    new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  return bridge;
}
