// The local path of the change pipeline: the same stream-consumer code, fed with stream records built
// from what the sync wrote (old and new items, marshalled as DynamoDB delivers them), publishing each
// event as one JSON line shaped as EventBridge delivers it to a target.
import { createHash } from "node:crypto";
import type { PutEventsRequestEntry } from "@aws-sdk/client-eventbridge";
import { marshall } from "@aws-sdk/util-dynamodb";
import type { Anomaly } from "../model.ts";
import { anomalyItem, imageItem, pointerItem } from "../store/items.ts";
import type { Change } from "../sync/diff.ts";
import type { PointerWrite } from "../sync/pointers.ts";
import type { StreamRecord } from "./change-event.ts";
import type { Publisher } from "./publish.ts";
import { type DeliveredEvent, EVENT_SOURCE } from "./types.ts";

const marshalOpts = { removeUndefinedValues: true, convertClassInstanceToMap: false } as const;

let sequence = 0n;

/** The stream records DynamoDB would deliver for these writes (INSERT for new items, MODIFY otherwise). */
export function streamRecordsFor(changes: readonly Change[]): StreamRecord[] {
  return changes.map((c) => {
    sequence++;
    return {
      eventName: c.before ? "MODIFY" : "INSERT",
      dynamodb: {
        SequenceNumber: String(sequence).padStart(21, "0"),
        NewImage: marshall(imageItem(c.after), marshalOpts),
        ...(c.before ? { OldImage: marshall(imageItem(c.before), marshalOpts) } : {}),
      },
    };
  });
}

/** The stream records DynamoDB would deliver for these pointer writes. */
export function streamRecordsForPointers(writes: readonly PointerWrite[]): StreamRecord[] {
  return writes.map((w) => {
    sequence++;
    return {
      eventName: w.before ? "MODIFY" : "INSERT",
      dynamodb: {
        SequenceNumber: String(sequence).padStart(21, "0"),
        NewImage: marshall(pointerItem(w.after), marshalOpts),
        ...(w.before ? { OldImage: marshall(pointerItem(w.before), marshalOpts) } : {}),
      },
    };
  });
}

/** The stream record DynamoDB would deliver for a newly written anomaly item. */
export function streamRecordForAnomaly(anomaly: Anomaly, nowMs: number): StreamRecord {
  sequence++;
  return {
    eventName: "INSERT",
    dynamodb: {
      SequenceNumber: String(sequence).padStart(21, "0"),
      NewImage: marshall(anomalyItem(anomaly, nowMs), marshalOpts),
    },
  };
}

/** An EventBridge-delivered event for a PutEvents entry, with the detail's eventId as its id. */
export function delivered(entry: PutEventsRequestEntry): DeliveredEvent {
  const detail = JSON.parse(entry.Detail ?? "{}") as DeliveredEvent["detail"];
  const id =
    (detail as { eventId?: string }).eventId ??
    createHash("sha256")
      .update(entry.Detail ?? "")
      .digest("hex")
      .slice(0, 32);
  return {
    version: "0",
    id,
    source: EVENT_SOURCE,
    "detail-type": entry.DetailType ?? "",
    account: "000000000000",
    time: (entry.Time ?? new Date()).toISOString().replace(/\.\d{3}Z$/, "Z"),
    region: "local",
    resources: entry.Resources ?? [],
    detail,
  };
}

/** A publisher that hands each event, as delivered, to `sink` (a JSONL file, the console, a test). */
export function localPublisher(sink: (event: DeliveredEvent) => void): Publisher {
  return async (entries) => {
    for (const e of entries) sink(delivered(e));
    return entries.map(() => true);
  };
}
