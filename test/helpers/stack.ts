// The local stack for integration tests: dynalite in memory and the provider emulator, both in-process.
import type { SyncConfig } from "../../lib/config.ts";
import { demoConfig } from "../../lib/emulator/demo.ts";
import { type Emulator, type EmulatorOptions, startEmulator } from "../../lib/emulator/index.ts";
import { createLogger } from "../../lib/log.ts";
import type { ApiId } from "../../lib/model.ts";
import { createHttpClient, type HttpClient } from "../../lib/providers/http.ts";
import { type LocalDynamo, startLocalDynamo } from "../../lib/store/local.ts";
import { createStore, type Store } from "../../lib/store/store.ts";
import { runSync, type SyncOptions, type SyncReport } from "../../lib/sync/engine.ts";

let tableCounter = 0;
/** Tests assert on reports; the engine's warnings would only clutter their output. */
const quiet = createLogger({ write: () => {} });

export interface Stack {
  emulator: Emulator;
  dynamo: LocalDynamo;
  store: Store;
  http: HttpClient;
  config(apis: readonly ApiId[], patch?: (a: SyncConfig["accounts"][number]) => object): SyncConfig;
  sync(config: SyncConfig, extra?: Partial<SyncOptions>): Promise<SyncReport>;
  /** A fresh table on the same dynalite (isolates tests that share a stack). */
  freshStore(): Promise<Store>;
  close(): Promise<void>;
}

export const fastRetry = {
  retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 20 },
  retryDeps: { sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, Math.min(ms, 20))), random: () => 0.5 },
};

export async function startStack(emulatorOptions: EmulatorOptions = {}): Promise<Stack> {
  const [emulator, dynamo] = await Promise.all([startEmulator(emulatorOptions), startLocalDynamo()]);
  const makeStore = async () => {
    const s = createStore({ tableName: `images-${++tableCounter}`, endpoint: dynamo.endpoint, localCredentials: true });
    await s.ensureTable();
    return s;
  };
  const store = await makeStore();
  const http = createHttpClient();
  return {
    emulator,
    dynamo,
    store,
    http,
    config: (apis, patch) => {
      const cfg = demoConfig(emulator.url, emulator.credentials, apis);
      return { accounts: cfg.accounts.map((a) => ({ ...a, ...(patch ? patch(a) : {}) })) } as SyncConfig;
    },
    sync: (config, extra = {}) =>
      runSync({ config, store: extra.store ?? store, http, scopeConcurrency: 4, log: quiet, ...fastRetry, ...extra }),
    freshStore: makeStore,
    close: async () => {
      await http.close();
      store.close();
      await Promise.all([emulator.close(), dynamo.close()]);
    },
  };
}
