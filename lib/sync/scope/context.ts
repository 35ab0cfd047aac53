// What one scope's stages are given: the run's dependencies and settings (ScopeContext), the scope itself
// (Scope), and what its stages have found and written so far (Progress), of which its report is made however far
// it got. Stages return what they find; only the scope's outline (sync-scope.ts) writes Progress, but for the
// writes that land (Landed), which the commit stage records as they land.
import type { AccountConfig } from "../../config.ts";
import type { Logger } from "../../log.ts";
import type { Anomaly, ChangeKind, ProviderName, ScopeKey, ScopeStatus } from "../../model.ts";
import type { ManifestRef } from "../../store/manifest.ts";
import type { Store } from "../../store/store.ts";
import type { Change } from "../diff.ts";
import type { GuardPolicy } from "../guard.ts";
import type { PointerWrite } from "../pointers.ts";
import type { ScopeReport } from "../report.ts";
import type { WeightedSemaphore } from "../semaphore.ts";
import type { RequestDeps } from "./requests.ts";

export interface ScopeContext extends RequestDeps {
  store: Store;
  /** The run's logger. */
  log: Logger;
  runId: string;
  dryRun: boolean;
  guard: GuardPolicy;
  /** Pages of one listing in flight at once. */
  pageConcurrency: number;
  /** The images the scopes in progress may hold at once. */
  memory: WeightedSemaphore;
  /** When the run's holds were taken, and how long they last. */
  leasedAt: number;
  leaseMs: number;
  /** The run's time budget and consumers, called as the caller gave them (SyncOptions). */
  hooks: {
    canStartScope?: () => boolean;
    onAnomaly?: (anomaly: Anomaly) => void | Promise<void>;
    onChanges?: (
      changes: readonly Change[],
      report: ScopeReport,
      pointers: readonly PointerWrite[],
    ) => void | Promise<void>;
  };
  /** Takes a scope's report once it is final (the run sorts them). */
  report: (report: ScopeReport) => void;
  /** Takes the status of a scope found unchanged, recorded on the account's lease as its holds go. */
  recordUnchanged: (status: ScopeStatus) => void;
}

export interface Scope {
  account: AccountConfig;
  name: string;
  key: ScopeKey & { provider: ProviderName };
  /** The key of the scope's items in the store. */
  storeKey: { account: string; scope: string };
  /** The scope's status as the run read it once its hold was taken. */
  previous: ScopeStatus | undefined;
  log: Logger;
  startMs: number;
  /** Provider requests made for the scope so far. */
  counter: { requests: number };
}

/** The writes of a scope that landed, recorded as they land: reported even when a later write fails. */
export interface Landed {
  /** Image changes written, batch by batch (handed to the consumer when a later write fails). */
  written: Change[];
  /** Image changes the report counts: those written, or in a dry run those that would be. */
  counts: Record<ChangeKind, number>;
  writes: number;
  pointerWrites: number;
  pointersMoved: number;
  /** The status no longer names a manifest: its reference went before the images changed. */
  manifestCleared: boolean;
}

export interface Progress {
  fetched: number;
  baseline: boolean;
  unchanged: number;
  held: number;
  /** The manifest the status names, unless one was unreadable or its reference was cleared (landed). */
  manifest: ManifestRef | null;
  landed: Landed;
}

export function newProgress(previous: ScopeStatus | undefined): Progress {
  return {
    fetched: 0,
    baseline: false,
    unchanged: 0,
    held: 0,
    manifest: previous?.manifest ?? null,
    landed: {
      written: [],
      counts: { added: 0, updated: 0, deprecated: 0, restored: 0 },
      writes: 0,
      pointerWrites: 0,
      pointersMoved: 0,
      manifestCleared: false,
    },
  };
}

/** The manifest the scope's status names now. */
export function namedManifest(progress: Progress): ManifestRef | null {
  return progress.landed.manifestCleared ? null : progress.manifest;
}

/** Adds changes to counts of added, updated, deprecated and restored images. */
export function count(counts: Record<ChangeKind, number>, changes: readonly Change[]): void {
  for (const c of changes) counts[c.kind]++;
}
