// The mass-deprecation guard: when one complete sweep would deprecate a large share of a scope, the
// deprecations are held (not written) and reported as an anomaly; they are applied only when the next
// complete sweep would deprecate exactly the same images. A provider hiccup that lists half a catalogue
// with HTTP 200 therefore never becomes a deprecation storm.
import { createHash } from "node:crypto";
import type { Change } from "./diff.ts";

export interface GuardPolicy {
  /** Share of the scope's active images (0..1) above which deprecations are held. */
  maxShare: number;
  /** ... and only when more than this many images would be deprecated. */
  minCount: number;
}

export const DEFAULT_GUARD: GuardPolicy = { maxShare: 0.2, minCount: 10 };

export interface HeldDeprecations {
  /** sha256 of the sorted ids held. */
  digest: string;
  count: number;
  since: string;
  runId: string;
}

export interface GuardResult {
  /** The changes to write now. */
  apply: Change[];
  /** Set when deprecations are held by this sweep. */
  held: HeldDeprecations | null;
  /** The held deprecations, for the anomaly report. */
  heldChanges: Change[];
  /** True when a previous hold was confirmed by this sweep and its deprecations are applied. */
  confirmed: boolean;
}

export function deprecationDigest(changes: readonly Change[]): string {
  const ids = changes.map((c) => c.after.imageId).sort();
  return createHash("sha256").update(ids.join("\u0000")).digest("hex");
}

export function guardDeprecations(input: {
  changes: readonly Change[];
  /**
   * Active images in the scope before this sweep. Deprecated ones do not count: history must not weaken the
   * guard (100 stored, 80 deprecated: dropping the 20 active ones is all of the scope, not a fifth).
   */
  activeCount: number;
  previous: HeldDeprecations | null;
  policy: GuardPolicy;
  now: string;
  runId: string;
  /** A listing (or sub-listing) that had images at the last complete sweep came back empty. */
  emptied?: boolean;
}): GuardResult {
  const deprecations = input.changes.filter((c) => c.kind === "deprecated");
  const others = input.changes.filter((c) => c.kind !== "deprecated");
  // An API that answers an empty list with HTTP 200 is the classic false alarm: held whatever its size.
  const emptiedListing = !!input.emptied && deprecations.some((c) => c.after.deprecationReason === "missing");
  // No baseline exemption: a scope with nothing stored has nothing to deprecate, and one with images stored is
  // guarded whatever its status says (a first sync that failed half-way leaves images and no baseline).
  const big =
    emptiedListing ||
    (deprecations.length > input.policy.minCount &&
      deprecations.length > input.policy.maxShare * Math.max(1, input.activeCount));
  if (!big) return { apply: [...input.changes], held: null, heldChanges: [], confirmed: false };
  const digest = deprecationDigest(deprecations);
  if (input.previous && input.previous.digest === digest) {
    return { apply: [...input.changes], held: null, heldChanges: [], confirmed: true };
  }
  return {
    apply: others,
    held: { digest, count: deprecations.length, since: input.now, runId: input.runId },
    heldChanges: deprecations,
    confirmed: false,
  };
}
