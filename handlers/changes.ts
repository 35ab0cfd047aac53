// Stream entry: DynamoDB stream records -> change events on the EventBridge bus (and the change history in
// the table, and moved latest-image pointers as SSM parameters) -> batchItemFailures.
import { loadChangesSettings } from "../lib/config.ts";
import type { StreamRecord } from "../lib/events/change-event.ts";
import { loadHistorySettings, storeHistoryWriter } from "../lib/events/history.ts";
import { processStreamRecords } from "../lib/events/process.ts";
import { defaultEventBridgeClient, eventBridgePublisher } from "../lib/events/publish.ts";
import { defaultSsmClient, loadParameterSettings, ssmParameterPublisher } from "../lib/events/ssm-publish.ts";
import { createLambdaLogger, type LambdaContextLike } from "../lib/lambda-log.ts";
import { createStore } from "../lib/store/store.ts";

const settings = loadChangesSettings(process.env);
const historySettings = loadHistorySettings(process.env);
const parameterSettings = loadParameterSettings(process.env);
const log = createLambdaLogger();
const publish = eventBridgePublisher({
  client: defaultEventBridgeClient(),
  busName: settings.eventBusName,
  onError: (message, fields) => log.warn(message, fields),
});
const history = storeHistoryWriter(
  createStore({ tableName: historySettings.tableName, region: historySettings.region }),
  { ttlSeconds: historySettings.ttlSeconds, onError: (message, fields) => log.warn(message, fields) },
);

// Off unless STACK_NAME is set: the parameters live under /<stack>/latest/, the prefix the role may write.
const parameters = parameterSettings
  ? ssmParameterPublisher({
      client: defaultSsmClient(parameterSettings.endpoint ? { endpoint: parameterSettings.endpoint } : {}),
      stackName: parameterSettings.stackName,
      onError: (message, fields) => log.warn(message, fields),
    })
  : undefined;

export async function handler(event: { Records?: StreamRecord[] }, context?: LambdaContextLike) {
  if (context) log.addContext(context);
  const records = event.Records ?? [];
  const result = await processStreamRecords(records, {
    publish,
    history,
    ...(parameters ? { parameters } : {}),
    digestThreshold: settings.digestThreshold,
  });
  log.info("stream batch processed", {
    records: records.length,
    events: result.events.length,
    digests: result.digests.length,
    recorded: result.recorded,
    pointerEvents: result.pointerEvents.length,
    parameters: result.parameters,
    failed: result.batchItemFailures.length,
  });
  return { batchItemFailures: result.batchItemFailures };
}
