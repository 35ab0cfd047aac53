// Opens the store the CLI uses: the configured DynamoDB endpoint, or the embedded, persistent dynalite.
import { join } from "node:path";
import { isLocalEndpoint, type RuntimeSettings } from "../config.ts";
import { startLocalDynamo } from "./local.ts";
import { createStore, type Store } from "./store.ts";

export interface OpenedStore {
  store: Store;
  /** Where the data lives, for messages. */
  location: string;
  close(): Promise<void>;
}

export async function openStore(settings: RuntimeSettings): Promise<OpenedStore> {
  if (settings.dynamodbEndpoint) {
    const local = isLocalEndpoint(settings.dynamodbEndpoint);
    const store = createStore({
      tableName: settings.tableName,
      endpoint: settings.dynamodbEndpoint,
      region: settings.region,
      localCredentials: local,
    });
    if (local) await store.ensureTable();
    return {
      store,
      location: `${settings.dynamodbEndpoint} table ${settings.tableName}`,
      close: async () => store.close(),
    };
  }
  const path = join(settings.dataDir, "dynamodb");
  const dynamo = await startLocalDynamo({ path });
  const store = createStore({
    tableName: settings.tableName,
    endpoint: dynamo.endpoint,
    region: settings.region,
    localCredentials: true,
  });
  await store.ensureTable();
  return {
    store,
    location: `embedded DynamoDB in ${path} table ${settings.tableName}`,
    close: async () => {
      store.close();
      await dynamo.close();
    },
  };
}
