// Whether a complete sweep changed anything (lib/sync/scope/decide-unchanged.ts): pure decisions.
import { describe, expect, it } from "vitest";
import type { ScopeStatus } from "../../../../lib/model.ts";
import type { PageIndex } from "../../../../lib/store/manifest.ts";
import { needsPageIndex, steadyStatus, unchangedAtGlance } from "../../../../lib/sync/scope/decide-unchanged.ts";

const status = (over: Partial<ScopeStatus> = {}): ScopeStatus => ({
  account: "a",
  api: "tencent-cvm",
  scope: "r",
  lastRunId: "run",
  lastAttemptAt: "2026-01-01T00:00:00.000Z",
  lastOutcome: "complete",
  lastCompleteAt: "2026-01-01T00:00:00.000Z",
  baselineAt: "2025-12-01T00:00:00.000Z",
  lastError: null,
  counts: { active: 3, deprecated: 0 },
  partCounts: { "*": 3 },
  heldDeprecations: null,
  ...over,
});

const index = (pages: number, covers = true): PageIndex => ({
  pageFormat: "1.source",
  pages: new Map(Array.from({ length: pages }, (_, i) => [`d${i}`, { totalCount: 3, count: 1 }])),
  covers,
});

describe("steadyStatus", () => {
  it("holds only for a baselined scope last complete, nothing held, with the same listing sizes", () => {
    expect(steadyStatus(status(), { "*": 3 })).toBe(true);
    expect(steadyStatus(undefined, { "*": 3 })).toBe(false);
    expect(steadyStatus(status({ baselineAt: null }), { "*": 3 })).toBe(false);
    expect(steadyStatus(status({ lastOutcome: "failed" }), { "*": 3 })).toBe(false);
    const held = { digest: "x", count: 1, since: "2026-01-01T00:00:00.000Z", runId: "run" };
    expect(steadyStatus(status({ heldDeprecations: held }), { "*": 3 })).toBe(false);
    expect(steadyStatus(status(), { "*": 4 })).toBe(false);
    expect(steadyStatus(status(), { "*": 3, "2": 0 })).toBe(false);
  });
});

describe("unchangedAtGlance", () => {
  it("needs every page recognised, exactly the pages the index records, and an index that covers the scope", () => {
    expect(unchangedAtGlance(true, index(3), { pageCount: 3, unparsedPages: 3 })).toBe(true);
    expect(unchangedAtGlance(false, index(3), { pageCount: 3, unparsedPages: 3 })).toBe(false);
    expect(unchangedAtGlance(true, null, { pageCount: 3, unparsedPages: 3 })).toBe(false);
    expect(unchangedAtGlance(true, index(3, false), { pageCount: 3, unparsedPages: 3 })).toBe(false);
    expect(unchangedAtGlance(true, index(3), { pageCount: 3, unparsedPages: 2 })).toBe(false);
    expect(unchangedAtGlance(true, index(4), { pageCount: 3, unparsedPages: 3 })).toBe(false);
    expect(unchangedAtGlance(true, index(0), { pageCount: 0, unparsedPages: 0 })).toBe(false);
  });
});

describe("needsPageIndex", () => {
  it("asks for an index only when there is none and the sweep's pages can be recorded", () => {
    expect(needsPageIndex(null, 3)).toBe(true);
    expect(needsPageIndex(index(3), 3)).toBe(false);
    expect(needsPageIndex(null, 0)).toBe(false);
  });
});
