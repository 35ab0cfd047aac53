// The republish command's wiring from the environment (the CLI's `republish`): the EventBridge bus
// (EVENT_BUS_NAME, EVENTBRIDGE_ENDPOINT for a local stand-in), the change history in the same table
// (HISTORY_TTL_DAYS) and, with STACK_NAME, the latest-image parameters; or nothing at all for a dry run.
import { ConfigError } from "../errors.ts";
import type { Store } from "../store/store.ts";
import { storeHistoryWriter } from "./history.ts";
import { defaultEventBridgeClient, eventBridgePublisher, type Publisher } from "./publish.ts";
import { type RepublishResult, type RepublishSelection, republish } from "./republish.ts";
import { defaultSsmClient, loadParameterSettings, ssmParameterPublisher } from "./ssm-publish.ts";

export interface RepublishEnvOptions {
  dryRun: boolean;
  warn: (message: string) => void;
}

const acceptAll: Publisher = async (entries) => entries.map(() => true);

export async function republishFromEnv(
  store: Store,
  selection: RepublishSelection,
  env: Record<string, string | undefined>,
  opts: RepublishEnvOptions,
): Promise<RepublishResult> {
  if (opts.dryRun) return republish(store, selection, { publish: acceptAll });
  const busName = env.EVENT_BUS_NAME?.trim();
  const days = Number(env.HISTORY_TTL_DAYS ?? "30");
  const problems = [
    ...(busName ? [] : ["EVENT_BUS_NAME is not set (the stack's ChangeEventBusArn output names the bus)"]),
    ...(days > 0 ? [] : ["HISTORY_TTL_DAYS must be a positive number"]),
  ];
  if (problems.length) throw new ConfigError(problems);
  const onError = (message: string, fields: Record<string, unknown>) =>
    opts.warn(`${message} ${JSON.stringify(fields)}`);
  const publish = eventBridgePublisher({
    client: defaultEventBridgeClient(env.EVENTBRIDGE_ENDPOINT?.trim() || undefined),
    busName: busName as string,
    onError,
  });
  const history = storeHistoryWriter(store, { ttlSeconds: Math.round(days * 86_400), onError });
  const ps = loadParameterSettings(env);
  const parameters = ps
    ? ssmParameterPublisher({
        client: defaultSsmClient(ps.endpoint ? { endpoint: ps.endpoint } : {}),
        stackName: ps.stackName,
        onError,
      })
    : undefined;
  return republish(store, selection, { publish, history, ...(parameters ? { parameters } : {}) });
}
