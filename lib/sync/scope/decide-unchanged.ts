// Whether a complete sweep changed anything, decided as cheaply as the scope allows: at a glance from the page
// index (nothing parsed), or image by image against the manifest (nothing read back). Decides: no clock, no I/O.
import type { FetchedImage, ScopeStatus } from "../../model.ts";
import { MAX_RECORDED_PAGES, type Manifest, type PageIndex } from "../../store/manifest.ts";
import { sweepChangesNothing } from "../diff.ts";
import type { SweepResult } from "../sweep.ts";

/** Steady state needs a status that says nothing else: last sweep complete, nothing held, same listing sizes. */
export function steadyStatus(previous: ScopeStatus | undefined, partCounts: Record<string, number>): boolean {
  return (
    !!previous?.baselineAt &&
    previous.lastOutcome === "complete" &&
    !previous.heldDeprecations &&
    samePartCounts(previous.partCounts ?? {}, partCounts)
  );
}

/**
 * At a glance: every page was recognised, they are the pages the index records, and those list every active
 * image. No image, pointer or status write, and nothing parsed.
 */
export function unchangedAtGlance(
  steady: boolean,
  index: PageIndex | null,
  sweep: Pick<SweepResult, "pageCount" | "unparsedPages">,
): boolean {
  return (
    steady &&
    !!index?.covers &&
    sweep.pageCount > 0 &&
    sweep.unparsedPages === sweep.pageCount &&
    sweep.pageCount === index.pages.size
  );
}

/** Image by image: a complete sweep that changes nothing against the manifest. */
export function unchangedImageByImage(
  steady: boolean,
  manifest: Manifest | null,
  fetched: readonly FetchedImage[],
): manifest is Manifest {
  return !!manifest && steady && sweepChangesNothing(manifest, fetched);
}

/**
 * An unchanged scope writes nothing, unless its manifest has no page index this code can use (written by another
 * version): it gets one, once.
 */
export function needsPageIndex(index: PageIndex | null, pageCount: number): boolean {
  return !index && pageCount > 0 && pageCount <= MAX_RECORDED_PAGES;
}

function samePartCounts(a: Record<string, number>, b: Record<string, number>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}
