// The sync engine: for every account and scope, sweep the provider, diff against the store and
// write only what changed. A failed or incomplete sweep changes nothing for its scope; the others
// still sync. Retries, pacing and request counting are done here, the same way for every dialect.
import { randomBytes } from "node:crypto";
import type { AccountConfig, SyncConfig } from "../config.ts";
import { asImageSyncError, ImageSyncError, IncompleteSweepError } from "../errors.ts";
import { createLogger, type Logger } from "../log.ts";
import {
  type Anomaly,
  type ApiId,
  type FetchedImage,
  providerOf,
  type ScopeOutcome,
  type ScopeStatus,
} from "../model.ts";
import type { HttpClient } from "../providers/http.ts";
import { ADAPTERS, DEFAULT_REQUESTS_PER_SECOND } from "../providers/index.ts";
import type { AdapterFactory, PageQuery, ProviderAdapter } from "../providers/types.ts";
import type { SweepRecord } from "../store/items.ts";
import type { Manifest } from "../store/manifest.ts";
import type { Store } from "../store/store.ts";
import { lookUp, missingIds } from "./confirm.ts";
import { type Change, classify } from "./diff.ts";
import { fitRaw } from "./fit.ts";
import { DEFAULT_GUARD, type GuardPolicy } from "./guard.ts";
import { primeContentHash } from "./hash.ts";
import { Pacer } from "./pacer.ts";
import { PAGE_FORMAT, PageProbe, replaying } from "./pages.ts";
import type { PointerWrite } from "./pointers.ts";
import { applyChanges } from "./replacement.ts";
import { emptyReport, errorSummary, runReport, type ScopeReport, type SyncReport, tally } from "./report.ts";
import { DEFAULT_RETRY, type RetryDeps, type RetryPolicy, realRetryDeps, withRetry } from "./retry.ts";
import { sweepOrder } from "./run/decide-order.ts";
import type { StatusUpdate } from "./scope/decide-changes.ts";
import {
  type ChangeInput,
  countActive,
  decideChanges,
  isBaseline,
  needsConfirmingSweep,
  planWrites,
  union,
} from "./scope/decide-changes.ts";
import { type ManifestRecord, withFingerprints } from "./scope/decide-manifest.ts";
import { nextStatus } from "./scope/decide-status.ts";
import { needsPageIndex, steadyStatus, unchangedAtGlance, unchangedImageByImage } from "./scope/decide-unchanged.ts";
import { WeightedSemaphore } from "./semaphore.ts";
import { settleAll } from "./settle.ts";
import { type SweptPage, sweepScope } from "./sweep.ts";

export type { ScopeReport, SyncReport } from "./report.ts";
export { sweepOrder };

export interface SyncOptions {
  config: SyncConfig;
  store: Store;
  http: HttpClient;
  /** Unix milliseconds. */
  now?: () => number;
  runId?: string;
  dryRun?: boolean;
  retry?: RetryPolicy;
  retryDeps?: RetryDeps;
  /** Scopes swept at once across all accounts. */
  scopeConcurrency?: number;
  /** Images the scopes in progress may hold at once (a scope larger than this runs alone). */
  memoryBudgetImages?: number;
  /** Pages of one listing in flight at once (paced by the scope's rate limit). */
  pageConcurrency?: number;
  /** Requests per second per scope for providers that publish no limit (Zenlayer). */
  defaultRequestsPerSecond?: number;
  adapters?: Record<ApiId, AdapterFactory>;
  log?: Logger;
  /** False once the run should stop starting scopes (time budget); unstarted scopes are reported incomplete. */
  canStartScope?: () => boolean;
  /** Mass-deprecation guard thresholds. */
  guard?: GuardPolicy;
  /** How long a run's scope holds last before they lapse (longer than one invocation). */
  leaseMs?: number;
  /** Called when the guard holds a mass deprecation (after the anomaly item is written). */
  onAnomaly?: (anomaly: Anomaly) => void | Promise<void>;
  /** Called with each complete scope's changes once they are written (or would be, in a dry run). */
  onChanges?: (
    changes: readonly Change[],
    report: ScopeReport,
    pointers: readonly PointerWrite[],
  ) => void | Promise<void>;
}

export function newRunId(nowMs: number): string {
  return `${new Date(nowMs)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z")}-${randomBytes(3).toString("hex")}`;
}

/** An HttpClient that counts the requests sent through it. */
function counting(http: HttpClient, counter: { requests: number }): HttpClient {
  return {
    send: (req) => {
      counter.requests++;
      return http.send(req);
    },
    close: () => Promise.resolve(),
  };
}

/**
 * Runs `fn` over the items, `limit` at a time: an item's place goes to the next once its promise settles or it
 * calls `done` (work left that does not count against the limit). Resolves when every call has settled.
 */
export async function mapLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, done: () => void) => Promise<void>,
): Promise<void> {
  let next = 0;
  const calls: Promise<void>[] = [];
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      let done = () => {};
      const freed = new Promise<void>((resolve) => {
        done = resolve;
      });
      const call = fn(item, done);
      calls.push(call);
      await Promise.race([call.catch(() => undefined), freed]);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  // Every call settles before a failure is told: nothing is left running behind the caller's back.
  await settleAll(calls);
}

export async function runSync(opts: SyncOptions): Promise<SyncReport> {
  const now = opts.now ?? Date.now;
  const startMs = now();
  const runId = opts.runId ?? newRunId(startMs);
  const log = (opts.log ?? createLogger({ level: "warn" })).child({ runId });
  const adapters = opts.adapters ?? ADAPTERS;
  const retry = opts.retry ?? DEFAULT_RETRY;
  const retryDeps = opts.retryDeps ?? realRetryDeps;
  const guard = opts.guard ?? DEFAULT_GUARD;
  const leaseMs = opts.leaseMs ?? 16 * 60_000;
  const memory = new WeightedSemaphore(opts.memoryBudgetImages ?? DEFAULT_MEMORY_BUDGET_IMAGES);
  const dryRun = opts.dryRun ?? false;
  const reports: ScopeReport[] = [];
  // Scopes swept completely and found unchanged, per account: recorded on its lease as it is let go instead of
  // rewriting their status items (see SweepRecord). Beyond MAX_RECORDED_SCOPES their statuses are written.
  const unchangedSweeps = new Map<string, ScopeStatus[]>();

  const makeAdapter = (account: AccountConfig, http: HttpClient): ProviderAdapter =>
    adapters[account.api]({ account, http, now });

  // Discover every account's scopes first (in parallel), so scope sweeps share one concurrency pool.
  const discovered = await Promise.all(opts.config.accounts.map((account) => discover(account)));
  // At most one sweep of a scope at any time, across runs, workers and redeliveries: a hold per scope on the
  // account's lease item, owned by this invocation alone, with an expiry so a crashed run's holds lapse.
  const owner = `${runId}/${randomBytes(4).toString("hex")}`;
  const leasedAt = now();
  const holds = new Map<AccountConfig, string[]>();
  const tasks: Array<{ account: AccountConfig; scope: string }> = [];
  await Promise.all(
    opts.config.accounts.map(async (account, i) => {
      const scopes = discovered[i] ?? [];
      if (scopes.length === 0) return;
      const taken = dryRun ? scopes : await takeHolds(account, scopes);
      for (const scope of taken) tasks.push({ account, scope });
    }),
  );
  try {
    // The statuses are read once the holds are taken (a status read before could predate another run's commit),
    // alongside the check for an older version's leases.
    const [older, stored] = await Promise.all([
      !dryRun && tasks.length > 0 && olderVersionLive(),
      opts.store.listScopeStatuses(),
    ]);
    // While a run of an older version (account- or batch-wide leases) is live, its scopes are unknown: sweep none.
    if (older) skipAll("a run of an older version holds a lease; skipped until it lapses");
    const statuses = new Map(stored.map((s) => [`${s.account}#${s.scope}`, s]));
    sweepOrder(tasks, statuses);
    // `scopeConcurrency` scopes send requests at once: a scope whose requests have all gone out gives its place
    // to the next while it waits for the replies and writes.
    await mapLimit(tasks, opts.scopeConcurrency ?? 4, (task, sending) =>
      syncScope(task.account, task.scope, statuses.get(`${task.account.name}#${task.scope}`), sending),
    );
  } finally {
    await Promise.all([...holds.keys()].map((account) => letGo(account)));
  }

  function skipAll(message: string): void {
    for (const { account, scope } of tasks.splice(0)) {
      const err = new ImageSyncError("LEASE_HELD", message, {
        context: { account: account.name, api: account.api, scope },
      });
      reports.push({ ...emptyReport(account, scope), status: "skipped", error: errorSummary(err) });
    }
  }

  /** True while an older version's lease is live (a store that cannot tell says no: its holds still apply). */
  async function olderVersionLive(): Promise<boolean> {
    try {
      return await opts.store.olderVersionLeaseLive(now());
    } catch (e) {
      log.warn("could not read the leases of older versions", { error: asImageSyncError(e).describe() });
      return false;
    }
  }

  /** The account's scopes, or null (reported as the account's failure) when discovery fails. */
  async function discover(account: AccountConfig): Promise<string[] | null> {
    const counter = { requests: 0 };
    const t0 = now();
    try {
      const adapter = makeAdapter(account, counting(opts.http, counter));
      return await withRetry(() => adapter.listScopes(), retry, retryDeps);
    } catch (e) {
      const err = asImageSyncError(e, { account: account.name, api: account.api });
      log.error("scope discovery failed", { account: account.name, api: account.api, error: err.describe() });
      reports.push({
        ...emptyReport(account, "*"),
        requests: counter.requests,
        durationMs: now() - t0,
        error: errorSummary(err),
      });
      return null;
    }
  }

  /** Takes the holds of the account's scopes that no other run holds; the others are reported skipped. */
  async function takeHolds(account: AccountConfig, scopes: string[]): Promise<string[]> {
    let taken: string[];
    try {
      taken = await opts.store.acquireScopes(account.name, scopes, owner, leasedAt, leaseMs);
    } catch (e) {
      const err = asImageSyncError(e, { account: account.name, api: account.api });
      log.error("account failed: its lease could not be taken", { account: account.name, error: err.describe() });
      reports.push({ ...emptyReport(account, "*"), error: errorSummary(err) });
      return [];
    }
    holds.set(account, taken);
    for (const scope of scopes.filter((s) => !taken.includes(s))) {
      const err = new ImageSyncError("LEASE_HELD", "another run is sweeping this scope; skipped", {
        context: { account: account.name, api: account.api, scope },
      });
      log.warn("scope skipped: another run holds it", { account: account.name, scope });
      reports.push({ ...emptyReport(account, scope), status: "skipped", error: errorSummary(err) });
    }
    return taken;
  }

  /** Lets the account's holds go with the record of its unchanged scopes (or writes their statuses instead). */
  async function letGo(account: AccountConfig): Promise<void> {
    const swept = unchangedSweeps.get(account.name) ?? [];
    const recorded = swept.slice(0, MAX_RECORDED_SCOPES);
    const record: SweepRecord = {
      runId,
      scopes: Object.fromEntries(recorded.map((s) => [`${s.account}#${s.scope}`, s.lastAttemptAt])),
    };
    let lost: ReadonlySet<string> | null = null;
    try {
      lost = new Set(await opts.store.releaseScopes(account.name, holds.get(account) ?? [], owner, record, now()));
    } catch (e) {
      log.warn("could not release lease", { account: account.name, error: asImageSyncError(e).describe() });
    }
    // What the lease could not carry goes to the status items themselves; a scope whose hold lapsed and was taken
    // is left to its new owner, and when the release failed outright every status is written.
    const unrecorded = swept.filter((s, i) => lost === null || (i >= MAX_RECORDED_SCOPES && !lost.has(s.scope)));
    for (const status of unrecorded) {
      await opts.store
        .putScopeStatus(status)
        .catch((e) =>
          log.error("could not record scope status", { scope: status.scope, error: asImageSyncError(e).describe() }),
        );
    }
  }

  async function syncScope(
    account: AccountConfig,
    scope: string,
    previous: ScopeStatus | undefined,
    /** Called once every request of the sweep has gone out. */
    sending: () => void = () => {},
  ): Promise<void> {
    const report = emptyReport(account, scope);
    const scopeLog = log.child({ account: account.name, api: account.api, scope });
    const t0 = now();
    const counter = { requests: 0 };
    const key = { account: account.name, api: account.api, provider: providerOf(account.api), scope };
    // The manifest the scope's status names: dropped before the images change, renamed once they have.
    let manifestRef = previous?.manifest ?? null;
    // Image changes written so far (reported and handed to onChanges even when a later write fails).
    const written: Change[] = [];
    let handedOver = false;
    // The scope is reported, and its status written, once: a consumer that throws afterwards changes neither.
    let finished = false;
    const finish = async (
      status: ScopeOutcome,
      error: ImageSyncError | null,
      extra: StatusUpdate = {},
      /** "unchanged": recorded on the lease; a manifest: written with the status, which names it. */
      record: "unchanged" | ManifestRecord | null = null,
    ) => {
      if (finished) return;
      finished = true;
      report.status = status;
      report.error = error ? errorSummary(error) : null;
      report.requests = counter.requests;
      report.durationMs = now() - t0;
      reports.push(report);
      // A run whose hold lapsed writes nothing for the scope: its status is the new owner's to write.
      if (dryRun || error?.code === "LEASE_LAPSED") return;
      const at = new Date(now()).toISOString();
      const next = nextStatus({
        key: { account: account.name, api: account.api, scope },
        previous,
        runId,
        at,
        outcome: status,
        error: report.error,
        update: extra,
        manifest: manifestRef,
      });
      if (record === "unchanged") {
        const swept = unchangedSweeps.get(account.name);
        if (swept) swept.push(next);
        else unchangedSweeps.set(account.name, [next]);
        return;
      }
      try {
        if (record) {
          const committed = await opts.store.commitScope(next, {
            runId,
            ...record,
            previousChunks: previous?.manifest?.chunks ?? 0,
          });
          report.writes += committed.requests;
        } else await opts.store.putScopeStatus(next);
      } catch (e) {
        scopeLog.error("could not record scope status", { error: asImageSyncError(e).describe() });
      }
    };

    if (opts.canStartScope && !opts.canStartScope()) {
      const err = new ImageSyncError("TIME_BUDGET", "not started: the run's time budget ran out", {
        context: { account: account.name, api: account.api, scope },
      });
      await finish("incomplete", err);
      return;
    }

    const http = counting(opts.http, counter);
    const adapter = makeAdapter(account, http);
    const rps =
      account.requestsPerSecond ??
      adapter.defaultRequestsPerSecond ??
      opts.defaultRequestsPerSecond ??
      DEFAULT_REQUESTS_PER_SECOND;
    const pacer = new Pacer(rps, now);
    // Memory: a scope holds its stored images and its sweep at once. A known scope reserves its last size
    // before reading; a new one reserves once its first page tells how big it is. A scope whose pages may all be
    // recognised holds only their replies, a fraction of the images they parse into: it reserves that, and the
    // rest once it must parse (letting its share go first, so no scope holds memory while it waits for more).
    const known = previous ? previous.counts.active + previous.counts.deprecated : 0;
    let release: (() => void) | undefined;
    let reserved = 0;
    let done = false;
    let reserving = Promise.resolve();
    // One change of reservation at a time; one that lands after the scope finished is let go at once.
    const reserve = (images: number): Promise<void> => {
      reserving = reserving.then(async () => {
        if (images <= reserved || done) return;
        release?.();
        release = undefined;
        const got = await memory.acquire(images);
        if (done) return got();
        release = got;
        reserved = images;
      });
      return reserving;
    };
    const full = () => reserve(Math.max(known, reserved, 1));
    if (known > 0) await reserve(manifestRef ? Math.ceil(known * REPLY_WEIGHT) : known);
    try {
      // With a manifest, "did anything change?" needs one small item: its page index, read while the provider
      // is swept. The manifest's digests are read once a page is not recognised (or there is no index). Without
      // a manifest, the images are read back anyway: start that now instead.
      const scopeKey = { account: account.name, scope };
      const index = manifestRef
        ? opts.store.loadPageIndex(scopeKey, manifestRef).then(
            (i) => (i?.pageFormat === PAGE_FORMAT ? i : null),
            () => null,
          )
        : null;
      let manifestEarly: Promise<Manifest | null> | null = null;
      const readManifest = (): Promise<Manifest | null> => {
        if (!manifestEarly) {
          manifestEarly = manifestRef ? opts.store.loadManifest(scopeKey, manifestRef) : Promise.resolve(null);
          manifestEarly.catch(() => undefined); // awaited below; a failed sweep must not leave it unhandled
        }
        return manifestEarly;
      };
      void index?.then((i) => {
        if (!i) readManifest();
      });
      let storedEarly = manifestRef ? null : opts.store.loadScope(scopeKey);
      storedEarly?.catch(() => undefined);
      let pointersEarly = manifestRef ? null : opts.store.loadPointers(scopeKey);
      pointersEarly?.catch(() => undefined);
      // A page that changes something against the manifest means the images will be read back: start then.
      const readBack = () => {
        if (storedEarly) return;
        const ready = full();
        storedEarly = ready.then(() => opts.store.loadScope(scopeKey));
        storedEarly.catch(() => undefined);
        pointersEarly = ready.then(() => opts.store.loadPointers(scopeKey));
        pointersEarly.catch(() => undefined);
      };
      const watch = (page: SweptPage): SweptPage => {
        if (!storedEarly && manifestRef && !page.reused)
          readManifest().then(
            (m) => {
              if (m) primeFromManifest(m, page.images);
              if (!m || page.images.some((img) => classify(m.get(img.imageId) ?? null, img) !== null)) readBack();
            },
            () => readBack(),
          );
        return page;
      };
      // One request for one page; a reply recognised from the last sweep is not parsed (lib/sync/pages.ts).
      const knownPages = index?.then((i) => i?.pages ?? null) ?? null;
      const fetchPage = async (query: PageQuery): Promise<SweptPage> => {
        const probe = new PageProbe(http, knownPages, account.api, query);
        try {
          const page = await makeAdapter(account, probe.http).fetchPage(query);
          return { ...page, digest: probe.digest, reused: null };
        } catch (e) {
          const match = probe.match;
          if (!match) throw e;
          const parse = async () => (await makeAdapter(account, replaying(match.response)).fetchPage(query)).images;
          return {
            images: [],
            totalCount: match.record.totalCount,
            requestId: null,
            digest: probe.digest,
            reused: { count: match.record.count, parse },
          };
        }
      };
      // A lookup by id (lib/sync/confirm.ts): paced and retried like a page, never recognised from a digest.
      const lookupPage = (query: PageQuery) =>
        withRetry(
          async () => {
            await pacer.take();
            return adapter.fetchPage(query);
          },
          retry,
          retryDeps,
        );
      const sweep = await sweepScope(
        adapter,
        scope,
        (query, sent) =>
          withRetry(
            async () => {
              await pacer.take();
              sent?.();
              return watch(await fetchPage(query));
            },
            retry,
            retryDeps,
            (err, delayMs) => scopeLog.warn("retrying", { code: err.code, delayMs, page: query.pageNumber }),
          ),
        {
          concurrency: opts.pageConcurrency ?? 4,
          onSize: async (total) => {
            if (reserved === 0) await reserve(total * adapter.parts(scope).length);
          },
          lastCounts: previous?.partCounts ?? {},
          // A scope without a manifest will parse and write all it fetched: it keeps its place until done, so
          // no more first sweeps run at once than the concurrency says (their write bursts set the peak RSS).
          ...(manifestRef ? { onAllSent: sending } : {}),
        },
      );
      report.fetched = Object.values(sweep.partCounts).reduce((n, c) => n + c, 0);
      if (!sweep.complete) {
        const err = new IncompleteSweepError(sweep.problem ?? "inconsistent listing", {
          account: account.name,
          api: account.api,
          scope,
        });
        scopeLog.warn("scope incomplete: nothing changed", { problem: sweep.problem });
        await finish("incomplete", err);
        return;
      }
      const steady = steadyStatus(previous, sweep.partCounts);
      const pageIndex = index ? await index : null;
      if (unchangedAtGlance(steady, pageIndex, sweep)) {
        report.unchanged = known;
        await finish("complete", null, {}, "unchanged");
        await opts.onChanges?.([], report, []);
        return;
      }
      await full();
      let fetched = (sweep.unparsedPages > 0 ? await sweep.parseAll() : sweep.images).map(fitRaw);
      report.fetched = fetched.length;
      const manifest = manifestRef
        ? await readManifest().catch((e) => {
            scopeLog.warn("manifest unreadable: reading the images", { error: asImageSyncError(e).describe() });
            return null;
          })
        : null;
      if (!manifest) manifestRef = null;
      else primeFromManifest(manifest, fetched);
      if (unchangedImageByImage(steady, manifest, fetched)) {
        report.unchanged = manifest.size;
        const reindex = needsPageIndex(pageIndex, sweep.pageCount);
        await finish(
          "complete",
          null,
          {},
          reindex ? withFingerprints(manifest, fetched, sweep.pageRecords()) : "unchanged",
        );
        await opts.onChanges?.([], report, []);
        return;
      }
      storedEarly ??= opts.store.loadScope(scopeKey);
      pointersEarly ??= opts.store.loadPointers(scopeKey);
      pointersEarly.catch(() => undefined);
      // One diff of this sweep against what is stored. A conditional write that fails means another writer
      // changed the scope since it was read: this sweep may be the older one, so it stops (the next run sweeps
      // again) instead of re-diffing an older listing against newer state.
      {
        const stored = await storedEarly;
        const storedPointers = await pointersEarly;
        const nowIso = new Date(now()).toISOString();
        const baseline = isBaseline(previous, stored);
        report.baseline = baseline;
        const input: ChangeInput = {
          key,
          stored,
          previous,
          partCounts: sweep.partCounts,
          baseline,
          activeCount: countActive(stored),
          policy: guard,
          now: nowIso,
          runId,
        };
        let decision = decideChanges(input, fetched);
        // The images of both sweeps are taken (the second's version of each), so an image listed throughout is
        // never left out.
        if (needsConfirmingSweep(sweep.pageCount, decision.diff)) {
          const again = await sweepScope(adapter, scope, (query) => lookupPage(query), {
            concurrency: opts.pageConcurrency ?? 4,
          });
          if (!again.complete)
            throw new IncompleteSweepError(`the confirming sweep: ${again.problem ?? "inconsistent listing"}`, {
              account: account.name,
              api: account.api,
              scope,
            });
          fetched = union(fetched, again.images.map(fitRaw));
          report.fetched = fetched.length;
          decision = decideChanges(input, fetched);
        }
        // Missing images are deprecated only once the provider, asked by id, does not return them
        // (lib/sync/confirm.ts): those it still has were lost by the paging, and are diffed as listed.
        const unconfirmed = missingIds(decision.guarded.apply);
        if (unconfirmed.length > 0) {
          const found = (await lookUp(adapter, scope, unconfirmed, lookupPage)).map(fitRaw);
          if (found.length > 0) {
            scopeLog.warn("images the sweep missed are still listed by id: not deprecated", {
              images: found.slice(0, 20).map((i) => i.imageId),
              count: found.length,
            });
            fetched = [...fetched, ...found];
            decision = decideChanges(input, fetched);
          }
        }
        const { diff, guarded } = decision;
        const { apply, pointers, anomaly, status: update } = planWrites(input, decision, storedPointers);
        let held: Anomaly | null = null;
        report.unchanged = diff.unchanged;
        report.held = guarded.heldChanges.length;
        if (dryRun) tally(report, apply);
        else {
          // Holds last leaseMs from when they were taken, by this run's clock: past that, another run may own
          // the scope, so nothing is written.
          if (now() >= leasedAt + leaseMs - Math.min(LEASE_MARGIN_MS, leaseMs / 10))
            throw new ImageSyncError(
              "LEASE_LAPSED",
              "the run's hold on this scope lapsed before its writes; nothing written",
              {
                context: { account: account.name, api: account.api, scope },
              },
            );
          // The manifest reference goes first: should a write below fail, the next run reads the images.
          if (manifestRef && (apply.length > 0 || pointers.length > 0)) {
            await opts.store.clearManifest(scopeKey);
            report.writes++;
            manifestRef = null;
          }
          // Images next: a pointer never names an image the table does not hold yet. Should the pointer writes
          // fail, the next run computes them again from the stored images. Every image write is reported and
          // handed to the consumer, whatever fails after it (see the catch below).
          await opts.store.writeChanges(apply, (changes, requests) => {
            written.push(...changes);
            tally(report, changes);
            report.writes += requests;
          });
          report.pointerWrites += await opts.store.writePointers(pointers);
        }
        report.pointersMoved = pointers.filter((p) => p.moved).length;
        if (anomaly) {
          scopeLog.warn("mass deprecation held until the next complete sweep agrees", {
            wouldDeprecate: anomaly.wouldDeprecate,
            activeImages: anomaly.knownImages,
          });
          if (!dryRun) await opts.store.putAnomaly(anomaly, now());
          held = anomaly;
        }
        // The status names a manifest of the scope as it now stands (written with it) unless the one it named
        // still holds: nothing was written.
        await finish(
          "complete",
          null,
          update,
          manifestRef ? null : withFingerprints(applyChanges(stored, apply), fetched, sweep.pageRecords()),
        );
        handedOver = true;
        if (held) await opts.onAnomaly?.(held);
        await opts.onChanges?.(apply, report, pointers);
        return;
      }
    } catch (e) {
      const err = asImageSyncError(e, { account: account.name, api: account.api, scope });
      if (finished) {
        // The scope committed; what failed is the consumer it was handed to (onChanges or onAnomaly).
        scopeLog.error("the consumer of this scope's changes failed", { error: err.describe() });
        return;
      }
      if (written.length === 0) scopeLog.error("scope failed: nothing changed", { error: err.describe() });
      else
        scopeLog.error("scope failed after some writes: those changes are reported, the rest waits for the next run", {
          error: err.describe(),
          written: {
            added: report.added,
            updated: report.updated,
            deprecated: report.deprecated,
            restored: report.restored,
          },
        });
      // A confirming sweep that came back inconsistent leaves the scope incomplete, like the first one would.
      await finish(err instanceof IncompleteSweepError ? "incomplete" : "failed", err);
      // The changes written before the failure reach the local consumer too, once.
      if (!handedOver && written.length > 0) await opts.onChanges?.(written, report, []);
    } finally {
      done = true;
      release?.();
    }
  }

  return runReport({ runId, startMs, endMs: now(), dryRun }, reports);
}

/**
 * Images the scopes in progress may hold at once. 16k keeps a first sync of 309k images under 256 MiB RSS with
 * V8's heap capped at 160 MiB (npm run bench), at 188 s against 172 s with 40k; steady runs are not slower.
 */
export const DEFAULT_MEMORY_BUDGET_IMAGES = 16_000;

/**
 * What a scope's kept page replies weigh against the images they parse into (JSON text against objects, about a
 * quarter), for the memory reservation of a scope whose pages may all be recognised.
 */
const REPLY_WEIGHT = 0.25;

/** Unchanged scopes one lease item records (about 70 bytes each: far inside DynamoDB's 400 KB item limit). */
export const MAX_RECORDED_SCOPES = 2_000;

/** Content hashes the manifest recorded for images whose fingerprint it knows: no need to hash them again. */
function primeFromManifest(digests: Manifest, images: readonly FetchedImage[]): void {
  for (const image of images) {
    const d = digests.get(image.imageId);
    if (d) primeContentHash(image, d.fingerprint, d.contentHash);
  }
}

/** Writes stop this long before the run's holds lapse (clock drift between runs, a write's own latency). */
const LEASE_MARGIN_MS = 30_000;
