// Publishing to EventBridge: PutEvents in chunks of 10, entries that come back with an ErrorCode resent,
// and the answer says exactly which entries never made it.
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from "@aws-sdk/client-eventbridge";

/** Publishes entries; resolves to one boolean per entry: true when published. Never throws. */
export type Publisher = (entries: readonly PutEventsRequestEntry[]) => Promise<boolean[]>;

export const PUT_EVENTS_MAX = 10;
/** EventBridge's entry limit is 1 MB in newer regions, 256 KB in older ones: stay under the smaller. */
export const MAX_ENTRY_BYTES = 256 * 1024;

export function entrySize(e: PutEventsRequestEntry): number {
  return (
    Buffer.byteLength(e.Detail ?? "") +
    Buffer.byteLength(e.DetailType ?? "") +
    Buffer.byteLength(e.Source ?? "") +
    (e.Resources ?? []).reduce((n, r) => n + Buffer.byteLength(r), 0) +
    (e.Time ? 14 : 0)
  );
}

export interface EventBridgePublisherOptions {
  client: EventBridgeClient;
  busName: string;
  /** Attempts per entry, the first included. */
  attempts?: number;
  sleep?: (ms: number) => Promise<void>;
  onError?: (message: string, fields: Record<string, unknown>) => void;
}

export function eventBridgePublisher(opts: EventBridgePublisherOptions): Publisher {
  const attempts = opts.attempts ?? 3;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  return async (entries) => {
    const ok = entries.map(() => false);
    let pending = entries.map((_, i) => i);
    for (let attempt = 1; attempt <= attempts && pending.length > 0; attempt++) {
      if (attempt > 1) await sleep(100 * 2 ** (attempt - 2) * (0.5 + Math.random()));
      const failedNow: number[] = [];
      for (let i = 0; i < pending.length; i += PUT_EVENTS_MAX) {
        const chunk = pending.slice(i, i + PUT_EVENTS_MAX);
        try {
          const out = await opts.client.send(
            new PutEventsCommand({
              Entries: chunk.map((idx) => ({ ...(entries[idx] as PutEventsRequestEntry), EventBusName: opts.busName })),
            }),
          );
          chunk.forEach((idx, j) => {
            const result = out.Entries?.[j];
            if (result && !result.ErrorCode && result.EventId) ok[idx] = true;
            else {
              failedNow.push(idx);
              opts.onError?.("PutEvents entry failed", {
                errorCode: result?.ErrorCode,
                errorMessage: result?.ErrorMessage,
                attempt,
              });
            }
          });
        } catch (e) {
          failedNow.push(...chunk);
          opts.onError?.("PutEvents call failed", { error: (e as Error).message, attempt });
        }
      }
      pending = failedNow;
    }
    return ok;
  };
}

export function defaultEventBridgeClient(endpoint?: string): EventBridgeClient {
  return new EventBridgeClient({ ...(endpoint ? { endpoint } : {}), maxAttempts: 3 });
}
