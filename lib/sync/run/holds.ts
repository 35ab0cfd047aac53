// The run's holds on its scopes. At most one sweep of a scope at any time, across runs, workers and redeliveries:
// a hold per scope on the account's lease item (LEASES/<account>, S#<scope>), owned by this invocation alone,
// with an expiry so a crashed run's holds lapse. Scopes swept completely and found unchanged are recorded on the
// lease as it is let go (W#<scope>, see SweepRecord) instead of rewriting their status items. Acts: store writes.
import type { AccountConfig } from "../../config.ts";
import { asImageSyncError } from "../../errors.ts";
import type { ScopeStatus } from "../../model.ts";
import type { SweepRecord } from "../../store/items.ts";
import { emptyReport, errorSummary, type ScopeReport, skippedReport } from "../report.ts";
import type { Run } from "./context.ts";

/** Unchanged scopes one lease item records (about 70 bytes each: far inside DynamoDB's 400 KB item limit). */
export const MAX_RECORDED_SCOPES = 2_000;

export interface ScopeTask {
  account: AccountConfig;
  scope: string;
}

export class Holds {
  private readonly taken = new Map<AccountConfig, string[]>();
  /** Per account: beyond MAX_RECORDED_SCOPES, their statuses are written as the holds go. */
  private readonly unchanged = new Map<string, ScopeStatus[]>();

  constructor(
    private readonly run: Run,
    private readonly owner: string,
    /** When the holds were taken: they last the run's leaseMs from then. */
    readonly leasedAt: number,
    private readonly report: (report: ScopeReport) => void,
  ) {}

  /** The scopes this run may sweep: those of every account whose holds it took (all of them in a dry run). */
  async takeAll(accounts: readonly AccountConfig[], discovered: readonly (string[] | null)[]): Promise<ScopeTask[]> {
    const tasks: ScopeTask[] = [];
    await Promise.all(
      accounts.map(async (account, i) => {
        const scopes = discovered[i] ?? [];
        if (scopes.length === 0) return;
        const taken = this.run.dryRun ? scopes : await this.take(account, scopes);
        for (const scope of taken) tasks.push({ account, scope });
      }),
    );
    return tasks;
  }

  /** True while an older version's lease is live (a store that cannot tell says no: its holds still apply). */
  async olderVersionLive(): Promise<boolean> {
    try {
      return await this.run.store.olderVersionLeaseLive(this.run.now());
    } catch (e) {
      this.run.log.warn("could not read the leases of older versions", { error: asImageSyncError(e).describe() });
      return false;
    }
  }

  recordUnchanged(status: ScopeStatus): void {
    const swept = this.unchanged.get(status.account);
    if (swept) swept.push(status);
    else this.unchanged.set(status.account, [status]);
  }

  /** Lets every account's holds go. */
  async letGo(): Promise<void> {
    await Promise.all([...this.taken.keys()].map((account) => this.letGoOf(account)));
  }

  /** Takes the holds of the account's scopes that no other run holds; the others are reported skipped. */
  private async take(account: AccountConfig, scopes: string[]): Promise<string[]> {
    const { store, log, leaseMs } = this.run;
    let taken: string[];
    try {
      taken = await store.acquireScopes(account.name, scopes, this.owner, this.leasedAt, leaseMs);
    } catch (e) {
      const err = asImageSyncError(e, { account: account.name, api: account.api });
      log.error("account failed: its lease could not be taken", { account: account.name, error: err.describe() });
      this.report({ ...emptyReport(account, "*"), error: errorSummary(err) });
      return [];
    }
    this.taken.set(account, taken);
    for (const scope of scopes.filter((s) => !taken.includes(s))) {
      log.warn("scope skipped: another run holds it", { account: account.name, scope });
      this.report(skippedReport(account, scope, "another run is sweeping this scope; skipped"));
    }
    return taken;
  }

  /** Lets the account's holds go with the record of its unchanged scopes (or writes their statuses instead). */
  private async letGoOf(account: AccountConfig): Promise<void> {
    const { store, log, runId } = this.run;
    const swept = this.unchanged.get(account.name) ?? [];
    const recorded = swept.slice(0, MAX_RECORDED_SCOPES);
    const record: SweepRecord = {
      runId,
      scopes: Object.fromEntries(recorded.map((s) => [`${s.account}#${s.scope}`, s.lastAttemptAt])),
    };
    let lost: ReadonlySet<string> | null = null;
    try {
      const ours = this.taken.get(account) ?? [];
      lost = new Set(await store.releaseScopes(account.name, ours, this.owner, record, this.run.now()));
    } catch (e) {
      log.warn("could not release lease", { account: account.name, error: asImageSyncError(e).describe() });
    }
    // What the lease could not carry goes to the status items themselves; a scope whose hold lapsed and was taken
    // is left to its new owner, and when the release failed outright every status is written.
    const unrecorded = swept.filter((s, i) => lost === null || (i >= MAX_RECORDED_SCOPES && !lost.has(s.scope)));
    for (const status of unrecorded) {
      await store
        .putScopeStatus(status)
        .catch((e) =>
          log.error("could not record scope status", { scope: status.scope, error: asImageSyncError(e).describe() }),
        );
    }
  }
}
