// The commit stage of one scope: the writes its decision makes, in the order that keeps the table readable
// whatever fails in between. The manifest reference goes first (should a write below fail, the next run reads
// the images), the images next (a pointer never names an image the table does not hold yet), then the pointers
// and the anomaly. A conditional write that fails (CONCURRENT_MODIFICATION) means another writer changed the
// scope since it was read: this sweep may be the older one, so it stops (the next run sweeps again) instead of
// re-diffing an older listing against newer state. The status and manifest follow in record.ts. Acts: writes.
import { ImageSyncError } from "../../errors.ts";
import type { ManifestRef } from "../../store/manifest.ts";
import type { Landed, Scope, ScopeContext } from "./context.ts";
import { count } from "./context.ts";
import type { WritePlan } from "./decide-changes.ts";

/** Writes stop this long before the run's holds lapse (clock drift between runs, a write's own latency). */
const LEASE_MARGIN_MS = 30_000;

/** Writes the plan, recording in `landed` what lands as it lands (what the report and consumer are told). */
export async function commitChanges(
  ctx: ScopeContext,
  scope: Scope,
  plan: WritePlan,
  /** The manifest the scope's status names. */
  manifest: ManifestRef | null,
  landed: Landed,
): Promise<void> {
  const { apply, pointers, anomaly } = plan;
  if (ctx.dryRun) count(landed.counts, apply);
  else {
    // Holds last leaseMs from when they were taken, by this run's clock: past that, another run may own the
    // scope, so nothing is written.
    if (ctx.now() >= ctx.leasedAt + ctx.leaseMs - Math.min(LEASE_MARGIN_MS, ctx.leaseMs / 10))
      throw new ImageSyncError(
        "LEASE_LAPSED",
        "the run's hold on this scope lapsed before its writes; nothing written",
        {
          context: { account: scope.key.account, api: scope.key.api, scope: scope.name },
        },
      );
    if (manifest && (apply.length > 0 || pointers.length > 0)) {
      await ctx.store.clearManifest(scope.storeKey);
      landed.writes++;
      landed.manifestCleared = true;
    }
    // Should the pointer writes fail, the next run computes them again from the stored images.
    await ctx.store.writeChanges(apply, (changes, requests) => {
      landed.written.push(...changes);
      count(landed.counts, changes);
      landed.writes += requests;
    });
    landed.pointerWrites += await ctx.store.writePointers(pointers);
  }
  landed.pointersMoved = pointers.filter((p) => p.moved).length;
  if (anomaly) {
    scope.log.warn("mass deprecation held until the next complete sweep agrees", {
      wouldDeprecate: anomaly.wouldDeprecate,
      activeImages: anomaly.knownImages,
    });
    if (!ctx.dryRun) await ctx.store.putAnomaly(anomaly, ctx.now());
  }
}
