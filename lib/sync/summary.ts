// Readable output of a sync run: one row per scope, then totals.
import type { SyncReport } from "./engine.ts";

export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(1)}s`;
}

export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => /^-?[\d.]+(ms|s)?$/.test(r[i] ?? "")));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}

export function formatSummary(report: SyncReport): string {
  const headers = [
    "account",
    "scope",
    "fetched",
    "added",
    "updated",
    "deprecated",
    "requests",
    "duration",
    "status",
    "error",
  ];
  const rows = report.scopes.map((s) => [
    s.account,
    s.scope,
    String(s.fetched),
    String(s.added),
    String(s.updated),
    String(s.deprecated),
    String(s.requests),
    formatDuration(s.durationMs),
    s.status === "complete" && s.baseline ? "complete (baseline)" : s.status,
    s.error ? s.error.message : "",
  ]);
  const sum = (k: "fetched" | "added" | "updated" | "deprecated" | "restored" | "requests" | "writes") =>
    report.scopes.reduce((n, s) => n + s[k], 0);
  const counts = (status: string) => report.scopes.filter((s) => s.status === status).length;
  const changes = sum("added") + sum("updated") + sum("deprecated") + sum("restored");
  const totals = [
    `run ${report.runId}${report.dryRun ? " (dry run: nothing written)" : ""}: ${report.scopes.length} scopes`,
    `${counts("complete")} complete, ${counts("incomplete")} incomplete, ${counts("failed")} failed`,
    `${sum("fetched")} images fetched`,
    `${changes} changes (${sum("added")} added, ${sum("updated")} updated, ${sum("deprecated")} deprecated, ${sum("restored")} restored)`,
    `${sum("requests")} provider requests`,
    `${sum("writes")} write requests (images and manifests)`,
    formatDuration(report.durationMs),
  ].join(", ");
  return `${renderTable(headers, rows)}\n\n${totals}`;
}
