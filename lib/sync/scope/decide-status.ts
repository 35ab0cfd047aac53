// What a scope's status item says after a sweep: the outcome, what the last complete sweep found, and the
// manifest it names. Decides: no clock, no I/O (`at` is passed in).
import type { ScopeKey, ScopeOutcome, ScopeStatus } from "../../model.ts";
import type { ManifestRef } from "../../store/manifest.ts";
import type { ErrorSummary } from "../report.ts";
import type { StatusUpdate } from "./decide-changes.ts";

export interface StatusInput {
  key: ScopeKey;
  previous: ScopeStatus | undefined;
  runId: string;
  /** ISO time the status is written. */
  at: string;
  outcome: ScopeOutcome;
  error: ErrorSummary | null;
  /** What a complete sweep that wrote its changes found; else the previous status's picture stands. */
  update: StatusUpdate;
  /** The manifest the status names: null once the images changed and until a new one is written with it. */
  manifest: ManifestRef | null;
}

export function nextStatus({ key, previous, runId, at, outcome, error, update, manifest }: StatusInput): ScopeStatus {
  return {
    account: key.account,
    api: key.api,
    scope: key.scope,
    lastRunId: runId,
    lastAttemptAt: at,
    lastOutcome: outcome,
    lastCompleteAt: outcome === "complete" ? at : (previous?.lastCompleteAt ?? null),
    baselineAt: previous?.baselineAt ?? (outcome === "complete" ? at : null),
    lastError: error,
    counts: update.counts ?? previous?.counts ?? { active: 0, deprecated: 0 },
    heldDeprecations:
      "heldDeprecations" in update ? (update.heldDeprecations ?? null) : (previous?.heldDeprecations ?? null),
    partCounts: update.partCounts ?? previous?.partCounts ?? {},
    manifest,
  };
}
