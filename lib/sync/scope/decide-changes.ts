// What a complete sweep changes in its scope, given what is stored: the diff, held back by the mass-deprecation
// guard, with replacements and the latest-image pointers that follow; whether a confirming sweep is needed; the
// anomaly a held deprecation raises; the counts the status keeps. Decides: no clock, no I/O (`now` is passed in).
import type {
  Anomaly,
  FetchedImage,
  LatestPointer,
  ProviderName,
  ScopeKey,
  ScopeStatus,
  StoredImage,
} from "../../model.ts";
import { type Change, type DiffResult, diffScope } from "../diff.ts";
import { type GuardPolicy, type GuardResult, guardDeprecations } from "../guard.ts";
import { type PointerWrite, planPointers } from "../pointers.ts";
import { applyChanges, withReplacements } from "../replacement.ts";
import { withRunChanges } from "../run-changes.ts";

/** What every decision about one scope's changes starts from. */
export interface ChangeInput {
  key: ScopeKey & { provider: ProviderName };
  stored: ReadonlyMap<string, StoredImage>;
  previous: ScopeStatus | undefined;
  /** The sweep's unique images per sub-listing. */
  partCounts: Record<string, number>;
  baseline: boolean;
  /** Active images stored before this sweep. */
  activeCount: number;
  policy: GuardPolicy;
  /** ISO time of the run's decision. */
  now: string;
  runId: string;
}

export interface Decision {
  diff: DiffResult;
  guarded: GuardResult;
}

/** What the scope's status keeps of a complete sweep that wrote its changes. */
export type StatusUpdate = Partial<Pick<ScopeStatus, "counts" | "heldDeprecations" | "partCounts">>;

export interface WritePlan {
  /** The image changes to write, with replacements and the run's totals. */
  apply: Change[];
  pointers: PointerWrite[];
  /** Set when the guard holds a mass deprecation. */
  anomaly: Anomaly | null;
  status: StatusUpdate;
}

/**
 * The baseline is the first sweep of a scope with nothing stored, whatever its status says: a first sync that
 * wrote images and then failed leaves no baseline time, and must not leave the guard and events off.
 */
export function isBaseline(previous: ScopeStatus | undefined, stored: ReadonlyMap<string, unknown>): boolean {
  return !previous?.baselineAt && stored.size === 0;
}

export function countActive(stored: ReadonlyMap<string, { state: string }>): number {
  let n = 0;
  for (const s of stored.values()) if (s.state === "active") n++;
  return n;
}

/** The diff of these images against what is stored, and what the guard lets through of it. */
export function decideChanges(input: ChangeInput, listed: readonly FetchedImage[]): Decision {
  const { key, stored, baseline, now, runId, previous } = input;
  const diff = diffScope({ key, stored, fetched: listed, baseline, now, runId });
  const guarded = guardDeprecations({
    changes: diff.changes,
    activeCount: input.activeCount,
    previous: previous?.heldDeprecations ?? null,
    policy: input.policy,
    now,
    runId,
    emptied: Object.entries(previous?.partCounts ?? {}).some(([part, n]) => n > 0 && input.partCounts[part] === 0),
  });
  return { diff, guarded };
}

/**
 * A sweep that finds images new to the store is confirmed by a second one (lib/sync/confirm.ts): an offset-paged
 * listing that lost an image before the offset and gained one after it between two pages skips an image and
 * still adds up, and the one gained is new (added or restored).
 */
export function needsConfirmingSweep(pageCount: number, diff: DiffResult): boolean {
  return pageCount > 1 && diff.changes.some((c) => c.kind === "added" || c.kind === "restored");
}

/** The images of two sweeps, each id once, the second sweep's version where both list it. */
export function union(first: readonly FetchedImage[], second: readonly FetchedImage[]): FetchedImage[] {
  const byId = new Map(first.map((i) => [i.imageId, i]));
  for (const image of second) byId.set(image.imageId, image);
  return [...byId.values()];
}

/**
 * The writes a decision makes. Deprecated images carry their replacement, chosen from the scope as it stands
 * after this run (held deprecations are not applied, so they neither get one nor move a pointer).
 */
export function planWrites(
  input: ChangeInput,
  { diff, guarded }: Decision,
  storedPointers: ReadonlyMap<string, LatestPointer>,
): WritePlan {
  const { key, stored, baseline, now, runId, previous } = input;
  const apply = withRunChanges(withReplacements(stored, guarded.apply));
  const pointers = planPointers({
    key,
    images: applyChanges(stored, apply).values(),
    stored: storedPointers,
    baseline,
    now,
    runId,
  });
  const anomaly: Anomaly | null = guarded.held
    ? {
        ...key,
        runId,
        detectedAt: now,
        wouldDeprecate: guarded.held.count,
        knownImages: input.activeCount,
        sample: guarded.heldChanges.slice(0, 20).map((c) => ({
          imageId: c.after.imageId,
          name: c.after.name,
          reason: c.after.deprecationReason,
        })),
      }
    : null;
  // While deprecations are held, the last trusted picture (counts per listing) stays the reference.
  const counts = guarded.held ? (previous?.counts ?? diff.counts) : diff.counts;
  const partCounts = guarded.held ? (previous?.partCounts ?? input.partCounts) : input.partCounts;
  return { apply, pointers, anomaly, status: { counts, heldDeprecations: guarded.held, partCounts } };
}
