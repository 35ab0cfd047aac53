// The package's library entry, for code that embeds the sync or reads its events.
export { type AccountConfig, parseConfig, type SyncConfig } from "./config.ts";
export { ConfigError, ImageSyncError } from "./errors.ts";
export { changeEventFromRecord, eventId } from "./events/change-event.ts";
export type {
  ChangeDetail,
  ChangeEvent,
  DeliveredEvent,
  DigestDetail,
  PointerDetail,
  StaleDetail,
} from "./events/types.ts";
export type * from "./model.ts";
export { createStore, type Store } from "./store/store.ts";
export { runSync, type ScopeReport, type SyncOptions, type SyncReport } from "./sync/engine.ts";
