// Readable alert text: one line per change, and one digest per scope and run when a scope has many changes
// in a run, so a big provider release is one message per scope, not a thousand.
import { createHash } from "node:crypto";
import type { ChangeKind, RunChanges } from "../model.ts";
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

const KINDS: readonly ChangeKind[] = ["added", "updated", "deprecated", "restored"];

/**
 * The digest of one scope's changes in one run, built from the change that carries it alone: its id comes from
 * the run, the scope and that image, its content from the record's RunChanges, so every delivery of the record,
 * in whatever batch, yields the same digest.
 */
export function scopeDigest(carrier: ChangeDetail, changes: RunChanges): DigestDetail {
  const byChange: Partial<Record<ChangeKind, number>> = {};
  for (const k of KINDS) {
    const n = changes.byChange[k];
    if (n) byChange[k] = n;
  }
  const kinds = (Object.entries(byChange) as Array<[ChangeKind, number]>).map(([k, n]) => `${n} ${k}`).join(", ");
  const { runId, account, scope } = carrier;
  return {
    eventId: createHash("sha256")
      .update(["digest", runId, account, scope, carrier.imageId].join("\u0000"))
      .digest("hex")
      .slice(0, 32),
    runId,
    total: changes.total,
    byChange,
    byScope: [{ account, scope, count: changes.total }],
    message: `image-sync run ${runId}: ${changes.total} image changes (${kinds}) in ${account} ${scope} (${changes.total})`,
  };
}
