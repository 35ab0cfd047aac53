// The provider emulator: a local HTTP stand-in for every provider API the sync reads (a product feature,
// used by the demo, the CLI and the integration tests).
export { DEMO_CREDENTIALS } from "./credentials.ts";
export { DIALECTS } from "./dialects.ts";
export { createRng, type Rng } from "./rng.ts";
export {
  DEFAULT_SEED,
  type DriftChange,
  type DriftOptions,
  type DriftReport,
  type Emulator,
  type EmulatorOptions,
  type EmulatorStats,
  type Fault,
  type FaultAction,
  generateCatalogue,
  type LoggedRequest,
  type RequestHook,
  startEmulator,
} from "./server.ts";
export type * from "./types.ts";
export { zenlayerDialect } from "./zenlayer.ts";
