// Readable alert text: one line per change, and one digest per run when a run has many changes,
// so a big provider release is one message, not a thousand.
import { createHash } from "node:crypto";
import type { ChangeKind } from "../model.ts";
import type { ChangeDetail, DigestDetail } from "./types.ts";

const VERB: Record<ChangeKind, string> = {
  added: "Added",
  updated: "Updated",
  deprecated: "Deprecated",
  restored: "Restored",
};

function reasonText(d: Pick<ChangeDetail, "reason" | "after">): string {
  switch (d.reason) {
    case "missing":
      return "missing from listing";
    case "status":
      return `status ${d.after.status ?? "unknown"}`;
    case "flag":
      return "flagged deprecated by the provider";
    default:
      return "";
  }
}

export function alertLine(
  d: Pick<ChangeDetail, "changeType" | "name" | "imageId" | "account" | "scope" | "reason" | "after">,
): string {
  const what = d.name ? `${d.name} (${d.imageId})` : d.imageId;
  const why = reasonText(d);
  return `${VERB[d.changeType]}: ${what} in ${d.account} ${d.scope}${why ? `: ${why}` : ""}`;
}

/** One digest for a run's changes. */
export function digest(runId: string, details: readonly ChangeDetail[]): DigestDetail {
  const byChange: Partial<Record<ChangeKind, number>> = {};
  const scopes = new Map<string, { account: string; scope: string; count: number }>();
  for (const d of details) {
    byChange[d.changeType] = (byChange[d.changeType] ?? 0) + 1;
    const key = `${d.account}\u0000${d.scope}`;
    const entry = scopes.get(key) ?? { account: d.account, scope: d.scope, count: 0 };
    entry.count++;
    scopes.set(key, entry);
  }
  const byScope = [...scopes.values()].sort((a, b) => b.count - a.count);
  const kinds = (Object.entries(byChange) as Array<[ChangeKind, number]>).map(([k, n]) => `${n} ${k}`).join(", ");
  const top = byScope
    .slice(0, 5)
    .map((s) => `${s.account} ${s.scope} (${s.count})`)
    .join(", ");
  const more = byScope.length > 5 ? ` and ${byScope.length - 5} more scopes` : "";
  return {
    eventId: createHash("sha256")
      .update([runId, ...details.map((d) => d.eventId).sort()].join("\u0000"))
      .digest("hex")
      .slice(0, 32),
    runId,
    total: details.length,
    byChange,
    byScope,
    message: `image-sync run ${runId}: ${details.length} image changes (${kinds}) in ${top}${more}`,
  };
}
