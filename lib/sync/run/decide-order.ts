// The order a run sweeps its scopes in. Decides: no clock, no I/O.
import type { AccountConfig } from "../../config.ts";
import type { ScopeStatus } from "../../model.ts";
import { API_LIMITS } from "../../providers/index.ts";
import { cmp } from "../report.ts";

/**
 * Sorts the scopes to sweep (in place). Scopes completed longest ago (or never) go first, so a run cut short by
 * its time budget moves them forward. Scopes last completed by the same run are equally fresh: among them the
 * longest sweeps go first, so the short ones fill in at the end instead of one long sweep running alone.
 */
export function sweepOrder(
  tasks: Array<{ account: AccountConfig; scope: string }>,
  statuses: ReadonlyMap<string, ScopeStatus>,
): void {
  const order = new Map(
    tasks.map((t) => {
      const s = statuses.get(`${t.account.name}#${t.scope}`);
      const completedBy = s?.lastOutcome === "complete" ? runStartOf(s.lastRunId) : null;
      return [t, { fresh: completedBy ?? s?.lastCompleteAt ?? "", seconds: expectedSeconds(t.account, s) }];
    }),
  );
  tasks.sort((a, b) => {
    const x = order.get(a) as { fresh: string; seconds: number };
    const y = order.get(b) as { fresh: string; seconds: number };
    return cmp(x.fresh, y.fresh) || y.seconds - x.seconds;
  });
}

/** When run `runId` (newRunId) started, as ISO 8601; null for an id of another shape. */
function runStartOf(runId: string): string | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-/.exec(runId);
  return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.000Z` : null;
}

/** The seconds a scope's sweep takes at its pace, from its listings' sizes in the last complete sweep. */
function expectedSeconds(account: AccountConfig, status: ScopeStatus | undefined): number {
  const limits = API_LIMITS[account.api];
  const pages = Object.values(status?.partCounts ?? {}).reduce(
    (n, count) => n + (limits.maxPageSize === null ? 1 : Math.max(1, Math.ceil(count / limits.maxPageSize))),
    0,
  );
  return pages / (account.requestsPerSecond ?? limits.requestsPerSecond);
}
