export { versionKey } from "./items.ts";
export { type LocalDynamo, startLocalDynamo } from "./local.ts";
export { createStore, type Store, type StoreOptions, type StoreStats } from "./store.ts";
