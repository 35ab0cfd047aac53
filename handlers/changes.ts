// Stream entry: DynamoDB stream records -> change events on the EventBridge bus -> batchItemFailures.
import { loadChangesSettings } from "../lib/config.ts";
import type { StreamRecord } from "../lib/events/change-event.ts";
import { processStreamRecords } from "../lib/events/process.ts";
import { defaultEventBridgeClient, eventBridgePublisher } from "../lib/events/publish.ts";
import { createLogger } from "../lib/log.ts";

const settings = loadChangesSettings(process.env);
const log = createLogger({ format: "json", level: "info" });
const publish = eventBridgePublisher({
  client: defaultEventBridgeClient(),
  busName: settings.eventBusName,
  onError: (message, fields) => log.warn(message, fields),
});

export async function handler(event: { Records?: StreamRecord[] }) {
  const records = event.Records ?? [];
  const result = await processStreamRecords(records, { publish, digestThreshold: settings.digestThreshold });
  log.info("stream batch processed", {
    records: records.length,
    events: result.events.length,
    digests: result.digests.length,
    failed: result.batchItemFailures.length,
  });
  return { batchItemFailures: result.batchItemFailures };
}
