// One scope's sync, as the outline of its stages: plan the reads, sweep, decide whether anything changed, read
// what is stored, decide the changes (confirming what the sweep may have got wrong), commit, record. A failed or
// incomplete sweep changes nothing; a failure after some writes reports those, and the next run does the rest.
// Each stage is a module of this folder; decide-*.ts are pure, the others act. Acts.
import type { AccountConfig } from "../../config.ts";
import { asImageSyncError, ImageSyncError, IncompleteSweepError } from "../../errors.ts";
import { type Anomaly, type FetchedImage, providerOf, type ScopeStatus } from "../../model.ts";
import { missingIds } from "../confirm.ts";
import type { Change } from "../diff.ts";
import { fitRaw } from "../fit.ts";
import type { PointerWrite } from "../pointers.ts";
import { applyChanges } from "../replacement.ts";
import type { SweepResult } from "../sweep.ts";
import { commitChanges } from "./commit.ts";
import { namedManifest, newProgress, type Progress, type Scope, type ScopeContext } from "./context.ts";
import {
  type ChangeInput,
  countActive,
  decideChanges,
  isBaseline,
  needsConfirmingSweep,
  planWrites,
  union,
} from "./decide-changes.ts";
import { withFingerprints } from "./decide-manifest.ts";
import { needsPageIndex, steadyStatus, unchangedAtGlance, unchangedImageByImage } from "./decide-unchanged.ts";
import { knownImages, ScopeMemory } from "./memory.ts";
import { primeFromManifest, ScopeReads } from "./plan-reads.ts";
import { type Outcome, recordScope } from "./record.ts";
import { type ScopeRequests, scopeRequests } from "./requests.ts";
import { stillListed, sweepAgain, sweepPages } from "./sweep-pages.ts";

/** How a scope's stages ended: the outcome to record, and what to hand to the consumers once it is. */
interface Done {
  outcome: Outcome;
  handOver: { changes: readonly Change[]; pointers: readonly PointerWrite[]; anomaly: Anomaly | null } | null;
}

/** What the stages of a scope under way are given, once for all of them. */
interface Stages {
  ctx: ScopeContext;
  scope: Scope;
  progress: Progress;
  requests: ScopeRequests;
  memory: ScopeMemory;
  reads: ScopeReads;
}

const unchanged = (record: Outcome["record"]): Done => ({
  outcome: { status: "complete", error: null, update: {}, record },
  handOver: { changes: [], pointers: [], anomaly: null },
});

export async function syncScope(
  ctx: ScopeContext,
  account: AccountConfig,
  name: string,
  previous: ScopeStatus | undefined,
  /** Called once every request of the sweep has gone out. */
  sending: () => void = () => {},
): Promise<void> {
  const log = ctx.log.child({ account: account.name, api: account.api, scope: name });
  const key = { account: account.name, api: account.api, provider: providerOf(account.api), scope: name };
  const storeKey = { account: account.name, scope: name };
  const scope: Scope = { account, name, key, storeKey, previous, log, startMs: ctx.now(), counter: { requests: 0 } };
  const progress = newProgress(previous);
  // The scope is reported, and its status written, once: a consumer that throws afterwards changes neither.
  let finished = false;
  const finish = (outcome: Outcome) => {
    finished = true;
    return recordScope(ctx, scope, progress, outcome);
  };
  if (ctx.hooks.canStartScope && !ctx.hooks.canStartScope()) {
    const context = { account: account.name, api: account.api, scope: name };
    await finish({
      status: "incomplete",
      error: new ImageSyncError("TIME_BUDGET", "not started: the run's time budget ran out", { context }),
    });
    return;
  }
  const requests = scopeRequests(ctx, account, scope.counter);
  const memory = new ScopeMemory(ctx.memory, knownImages(previous));
  await memory.beforeReads(!!progress.manifest);
  try {
    const reads = new ScopeReads(ctx.store, storeKey, progress.manifest, memory);
    const done = await sweepAndDecide({ ctx, scope, progress, requests, memory, reads }, sending);
    const report = await finish(done.outcome);
    if (done.handOver?.anomaly) await ctx.hooks.onAnomaly?.(done.handOver.anomaly);
    if (done.handOver) await ctx.hooks.onChanges?.(done.handOver.changes, report, done.handOver.pointers);
  } catch (e) {
    const err = asImageSyncError(e, { account: account.name, api: account.api, scope: name });
    if (finished) {
      // The scope committed; what failed is the consumer it was handed to (onChanges or onAnomaly).
      log.error("the consumer of this scope's changes failed", { error: err.describe() });
      return;
    }
    const { written, counts } = progress.landed;
    if (written.length === 0) log.error("scope failed: nothing changed", { error: err.describe() });
    else
      log.error("scope failed after some writes: those changes are reported, the rest waits for the next run", {
        error: err.describe(),
        written: { ...counts },
      });
    // A confirming sweep that came back inconsistent leaves the scope incomplete, like the first one would.
    const report = await finish({ status: err instanceof IncompleteSweepError ? "incomplete" : "failed", error: err });
    // The changes written before the failure reach the local consumer too, once.
    if (written.length > 0) await ctx.hooks.onChanges?.(written, report, []);
  } finally {
    memory.done();
  }
}

/** Sweeps, and decides whether the scope changed: at a glance, image by image, or by reading it back. */
async function sweepAndDecide(s: Stages, sending: () => void): Promise<Done> {
  const { scope, progress, reads } = s;
  const sweep = await sweepPages(s.ctx, scope, s.requests, reads, s.memory, sending);
  progress.fetched = Object.values(sweep.partCounts).reduce((n, c) => n + c, 0);
  if (!sweep.complete) {
    const { account, api } = scope.key;
    const error = new IncompleteSweepError(sweep.problem ?? "inconsistent listing", {
      account,
      api,
      scope: scope.name,
    });
    scope.log.warn("scope incomplete: nothing changed", { problem: sweep.problem });
    return { outcome: { status: "incomplete", error }, handOver: null };
  }
  const steady = steadyStatus(scope.previous, sweep.partCounts);
  const pageIndex = reads.index ? await reads.index : null;
  if (unchangedAtGlance(steady, pageIndex, sweep)) {
    progress.unchanged = knownImages(scope.previous);
    return unchanged("unchanged");
  }
  await s.memory.full();
  const fetched = (sweep.unparsedPages > 0 ? await sweep.parseAll() : sweep.images).map(fitRaw);
  progress.fetched = fetched.length;
  const manifest = progress.manifest
    ? await reads.manifest().catch((e) => {
        scope.log.warn("manifest unreadable: reading the images", { error: asImageSyncError(e).describe() });
        return null;
      })
    : null;
  if (!manifest) progress.manifest = null;
  else primeFromManifest(manifest, fetched);
  if (unchangedImageByImage(steady, manifest, fetched)) {
    progress.unchanged = manifest.size;
    const reindex = needsPageIndex(pageIndex, sweep.pageCount);
    return unchanged(reindex ? withFingerprints(manifest, fetched, sweep.pageRecords()) : "unchanged");
  }
  return changeScope(s, sweep, fetched);
}

/** Reads the scope back, decides its changes (confirming what the sweep may have missed) and commits them. */
async function changeScope(s: Stages, sweep: SweepResult, swept: FetchedImage[]): Promise<Done> {
  const { ctx, scope, progress } = s;
  const read = s.reads.stored();
  const stored = await read.images;
  const storedPointers = await read.pointers;
  const baseline = isBaseline(scope.previous, stored);
  const input: ChangeInput = {
    key: scope.key,
    stored,
    previous: scope.previous,
    partCounts: sweep.partCounts,
    baseline,
    activeCount: countActive(stored),
    policy: ctx.guard,
    now: new Date(ctx.now()).toISOString(),
    runId: ctx.runId,
  };
  progress.baseline = baseline;
  let fetched = swept;
  let decision = decideChanges(input, fetched);
  // The images of both sweeps are taken (the second's version of each): an image listed throughout is kept.
  if (needsConfirmingSweep(sweep.pageCount, decision.diff)) {
    fetched = union(fetched, await sweepAgain(ctx, scope, s.requests));
    progress.fetched = fetched.length;
    decision = decideChanges(input, fetched);
  }
  // Missing images are deprecated only once the provider, asked by id, does not return them.
  const missing = missingIds(decision.guarded.apply);
  const found = missing.length > 0 ? await stillListed(scope, s.requests, missing) : [];
  if (found.length > 0) {
    fetched = [...fetched, ...found];
    decision = decideChanges(input, fetched);
  }
  const plan = planWrites(input, decision, storedPointers);
  progress.unchanged = decision.diff.unchanged;
  progress.held = decision.guarded.heldChanges.length;
  await commitChanges(ctx, scope, plan, progress.manifest, progress.landed);
  // The status names a manifest of the scope as it now stands (written with it) unless the one it named still
  // holds: nothing was written.
  const record = namedManifest(progress)
    ? null
    : withFingerprints(applyChanges(stored, plan.apply), fetched, sweep.pageRecords());
  return {
    outcome: { status: "complete", error: null, update: plan.status, record },
    handOver: { changes: plan.apply, pointers: plan.pointers, anomaly: plan.anomaly },
  };
}
