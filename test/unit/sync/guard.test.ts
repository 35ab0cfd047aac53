import { describe, expect, it } from "vitest";
import type { StoredImage } from "../../../lib/model.ts";
import type { Change } from "../../../lib/sync/diff.ts";
import { DEFAULT_GUARD, deprecationDigest, guardDeprecations } from "../../../lib/sync/guard.ts";

const change = (id: string, kind: Change["kind"] = "deprecated"): Change => ({
  kind,
  before: null,
  after: { imageId: id } as StoredImage,
});
const many = (n: number, kind: Change["kind"] = "deprecated") =>
  Array.from({ length: n }, (_, i) => change(`i${i}`, kind));
const run = (changes: Change[], activeCount: number, previous = null as ReturnType<typeof guardDeprecations>["held"]) =>
  guardDeprecations({ changes, activeCount, previous, policy: DEFAULT_GUARD, now: "t", runId: "r" });

describe("guardDeprecations", () => {
  it("lets ordinary deprecations through", () => {
    expect(run(many(10), 20).held).toBeNull(); // not more than 10
    expect(run(many(11), 100).held).toBeNull(); // 11% of the scope
    expect(run(many(11), 100).apply).toHaveLength(11);
  });

  it("holds more than 20% and more than 10 images, applying the other changes", () => {
    const r = run([...many(30), change("new", "added")], 100);
    expect(r.held).toMatchObject({ count: 30, digest: deprecationDigest(many(30)) });
    expect(r.apply.map((c) => c.kind)).toEqual(["added"]);
    expect(r.heldChanges).toHaveLength(30);
  });

  it("applies a held set when the next sweep agrees, and re-holds when it does not", () => {
    const first = run(many(30), 100);
    const agreed = run(many(30), 100, first.held);
    expect(agreed).toMatchObject({ held: null, confirmed: true });
    expect(agreed.apply).toHaveLength(30);
    const differs = run(many(31), 100, first.held);
    expect(differs.held?.count).toBe(31);
    expect(differs.apply).toHaveLength(0);
  });

  it("holds even a small deprecation when a listing that had images came back empty", () => {
    const missing = many(3).map((c) => ({ ...c, after: { ...c.after, deprecationReason: "missing" as const } }));
    const r = guardDeprecations({
      changes: missing,
      activeCount: 3,
      previous: null,
      policy: DEFAULT_GUARD,
      now: "t",
      runId: "r",
      emptied: true,
    });
    expect(r.held?.count).toBe(3);
    expect(r.apply).toEqual([]);
    expect(run(missing, 3).held).toBeNull();
  });

  it("takes the share over active images: history does not weaken it", () => {
    // 100 stored, 80 of them deprecated: 15 of the 20 active images going is three quarters of the scope.
    expect(run(many(15), 20).held?.count).toBe(15);
    // The same 15 against 100 active images is ordinary.
    expect(run(many(15), 100).held).toBeNull();
  });
});
