// How fresh the catalogue is: every scope's last complete sweep, counts and last error, stale ones flagged.
import { leasesQuery, mergeSweepRecords, statusesQuery, statusFromItem } from "../store/items.ts";
import type { ItemReader } from "../store/store.ts";
import { QueryError } from "./errors.ts";
import { collectAll } from "./paging.ts";
import type { ScopeFreshness, ScopeStatusOptions } from "./types.ts";

export const DEFAULT_STALE_AFTER_HOURS = 6;

/**
 * Every scope's status, by account and scope: one Query of the SCOPES partition and one of the LEASES
 * partition, whose sweep records say which scopes were since swept and found unchanged.
 */
export async function scopeStatus(reader: ItemReader, opts: ScopeStatusOptions = {}): Promise<ScopeFreshness[]> {
  const staleAfterHours = opts.staleAfterHours ?? DEFAULT_STALE_AFTER_HOURS;
  if (typeof staleAfterHours !== "number" || !(staleAfterHours > 0))
    throw new QueryError("INVALID_QUERY", "staleAfterHours must be a positive number");
  const nowMs = (opts.now ?? new Date()).getTime();
  const { TableName: _t, ...input } = statusesQuery("", opts.account);
  const { TableName: _l, ...leases } = leasesQuery("");
  const [items, leaseItems] = await Promise.all([collectAll(reader, input), collectAll(reader, leases)]);
  const statuses = mergeSweepRecords(items.map(statusFromItem), leaseItems);
  return statuses
    .map((s): ScopeFreshness => {
      const completeMs = s.lastCompleteAt ? Date.parse(s.lastCompleteAt) : Number.NaN;
      const ageHours = Number.isFinite(completeMs) ? Math.max(0, (nowMs - completeMs) / 3_600_000) : null;
      return {
        account: s.account,
        api: s.api,
        scope: s.scope,
        lastOutcome: s.lastOutcome,
        lastAttemptAt: s.lastAttemptAt,
        lastCompleteAt: s.lastCompleteAt ?? null,
        baselineAt: s.baselineAt ?? null,
        ageHours: ageHours === null ? null : Math.round(ageHours * 100) / 100,
        stale: ageHours === null || ageHours > staleAfterHours,
        counts: s.counts,
        lastError: s.lastError ?? null,
        heldDeprecations: s.heldDeprecations?.count ?? 0,
      };
    })
    .sort((a, b) => (a.account === b.account ? cmp(a.scope, b.scope) : cmp(a.account, b.account)));
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
