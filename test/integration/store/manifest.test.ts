// Scope manifests and sweep records: a steady sync reads a few manifest items instead of the scope's images and
// writes only its lease; a crash between image writes and the new manifest never lets a stale manifest hide a
// change; statuses still say when each scope was last swept.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FetchedImage, StoredImage } from "../../../lib/model.ts";
import { scopeStatus } from "../../../lib/query/index.ts";
import { mergeSweepRecords } from "../../../lib/store/items.ts";
import { MANIFEST_CHUNK_BYTES, manifestFromItems, manifestItems } from "../../../lib/store/manifest.ts";
import type { Store } from "../../../lib/store/store.ts";
import { classify, diffScope, type StoredDigest, sweepChangesNothing } from "../../../lib/sync/diff.ts";
import { contentHash, fingerprint, primeContentHash } from "../../../lib/sync/hash.ts";
import { countCalls } from "../../helpers/counting.ts";
import { fetchedImage } from "../../helpers/images.ts";
import { type Stack, startStack } from "../../helpers/stack.ts";

const key = { account: "acct", api: "zenlayer-zec" as const, provider: "zenlayer" as const, scope: "z1" };

const image = fetchedImage;

const digests = (stored: Map<string, StoredImage>): Map<string, StoredDigest> => new Map(stored);

describe("content hash and fingerprint", () => {
  const fixture = (): FetchedImage =>
    image("img-1", {
      name: "Ubuntu é",
      sizeGiB: 20.5,
      raw: {
        imageStatus: "AVAILABLE",
        imageId: "img-1",
        tags: [{ v: 1, k: "a" }],
        nested: { z: [1, null], é: "x", "10": 1, "9": 2 },
      },
    });

  it("the content hash is the one stored before (computed by the previous implementation): no mass update on upgrade", () => {
    expect(contentHash(fixture())).toBe("1aa1674245fee405ca95ff38e6106152e22a262517ef9aca29ec10faf32b5235");
  });

  it("a new key order is a new fingerprint but the same content hash: never an update", () => {
    const a = fixture();
    const reordered = Object.fromEntries(Object.entries(fixture()).reverse()) as unknown as FetchedImage;
    expect(fingerprint(reordered)).not.toBe(fingerprint(a));
    expect(contentHash(reordered)).toBe(contentHash(a));
    const known: StoredDigest = {
      state: "active",
      contentHash: contentHash(a),
      deprecationReason: null,
      fingerprint: fingerprint(a),
    };
    expect(classify(known, reordered)).toBeNull();
  });

  it("a known fingerprint stands for the recorded hash; an unknown one is hashed", () => {
    const same = fixture();
    primeContentHash(same, fingerprint(fixture()), "recorded");
    expect(contentHash(same)).toBe("recorded");
    const changed = image("img-1", { name: "other" });
    primeContentHash(changed, fingerprint(fixture()), "recorded");
    expect(contentHash(changed)).not.toBe("recorded");
    expect(contentHash(changed)).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe("manifest codec", () => {
  const many = new Map<string, StoredDigest>();
  for (let i = 0; i < 9_000; i++)
    many.set(`img-${String(i).padStart(6, "0")}-${"x".repeat(20)}`, {
      contentHash: i.toString(16).padStart(64, "0"),
      state: i % 7 === 0 ? "deprecated" : "active",
      deprecationReason: i % 7 === 0 ? (i % 2 ? "missing" : "status") : null,
      ...(i % 3 ? { fingerprint: `fp${i}` } : {}),
    });

  it("round-trips through several chunks, each inside the chunk budget", () => {
    const { items, ref } = manifestItems(key, "run-1", many);
    expect(ref).toEqual({ runId: "run-1", chunks: items.length, count: 9_000 });
    expect(items.length).toBeGreaterThan(2);
    for (const item of items) expect(Buffer.byteLength(String(item.entries))).toBeLessThanOrEqual(MANIFEST_CHUNK_BYTES);
    expect(manifestFromItems(items, ref)).toEqual(many);
    expect(manifestFromItems([...items].reverse(), ref)).toEqual(many);
  });

  it("is refused (null) when a chunk is missing, left by another run, corrupt, or the count is off", () => {
    const { items, ref } = manifestItems(key, "run-1", many);
    const older = manifestItems(key, "run-0", many).items;
    expect(manifestFromItems(items.slice(1), ref)).toBeNull();
    expect(manifestFromItems([older[0] as Record<string, unknown>, ...items.slice(1)], ref)).toBeNull();
    expect(manifestFromItems([{ ...items[0], entries: "[[" }, ...items.slice(1)], ref)).toBeNull();
    expect(manifestFromItems(items, { ...ref, count: ref.count + 1 })).toBeNull();
    // Chunks beyond the reference (left by a larger, older manifest) are ignored.
    expect(manifestFromItems([...items, ...older], ref)).toEqual(many);
  });

  it("an empty scope has one empty chunk", () => {
    const { items, ref } = manifestItems(key, "r", []);
    expect(ref).toEqual({ runId: "r", chunks: 1, count: 0 });
    expect(manifestFromItems(items, ref)).toEqual(new Map());
  });
});

describe("sweepChangesNothing", () => {
  it("agrees with diffScope on every mix of added, removed, changed, unusable and restored images", () => {
    // A small deterministic generator: 400 random scopes, each diffed both ways.
    let seed = 42;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    let changedCases = 0;
    for (let round = 0; round < 400; round++) {
      const base = Array.from({ length: 1 + Math.floor(rnd() * 6) }, (_, i) =>
        image(`i${i}`, rnd() < 0.2 ? { unusable: "status", status: "UNAVAILABLE" } : {}),
      );
      const stored = new Map(
        diffScope({ key, stored: new Map(), fetched: base, baseline: true, now: "T0", runId: "r0" }).changes.map(
          (c) => [c.after.imageId, c.after],
        ),
      );
      // Some stored images were deprecated as missing earlier.
      if (rnd() < 0.2) {
        const gone = diffScope({ key, stored, fetched: base.slice(1), baseline: false, now: "T1", runId: "r1" });
        for (const c of gone.changes) stored.set(c.after.imageId, c.after);
      }
      let next = base.map((img) => {
        const r = rnd();
        if (r < 0.06) return image(img.imageId, { name: "renamed" });
        if (r < 0.1) return image(img.imageId, { unusable: "status", status: "UNAVAILABLE" });
        if (r < 0.13) return image(img.imageId, { unusable: "flag", available: false });
        if (r < 0.16) return image(img.imageId);
        return img;
      });
      if (rnd() < 0.08) next = next.slice(1);
      if (rnd() < 0.05) next = [...next, image("new")];
      const diff = diffScope({ key, stored, fetched: next, baseline: false, now: "T2", runId: "r2" });
      if (diff.changes.length) changedCases++;
      expect(sweepChangesNothing(digests(stored), next), `round ${round}`).toBe(diff.changes.length === 0);
    }
    // Both outcomes were exercised.
    expect(changedCases).toBeGreaterThan(40);
    expect(changedCases).toBeLessThan(360);
  });
});

describe("mergeSweepRecords", () => {
  const status = {
    account: "a",
    api: "zenlayer-vm" as const,
    scope: "s",
    lastRunId: "r1",
    lastAttemptAt: "2026-01-01T01:00:00.000Z",
    lastOutcome: "failed" as const,
    lastCompleteAt: "2026-01-01T00:00:00.000Z",
    baselineAt: "2026-01-01T00:00:00.000Z",
    lastError: { code: "X", message: "x" },
    counts: { active: 3, deprecated: 0 },
  };
  it("a later record makes the scope complete at its time; an earlier one, or another scope's, changes nothing", () => {
    const later = { sweeps: { runId: "r2", scopes: { "a#s": "2026-01-01T02:00:00.000Z" } } };
    const earlier = { sweeps: { runId: "r0", scopes: { "a#s": "2026-01-01T00:30:00.000Z", "a#t": "2026-01-02" } } };
    expect(mergeSweepRecords([status], [earlier, later, { owner: "x" }])).toEqual([
      {
        ...status,
        lastRunId: "r2",
        lastAttemptAt: "2026-01-01T02:00:00.000Z",
        lastOutcome: "complete",
        lastCompleteAt: "2026-01-01T02:00:00.000Z",
        lastError: null,
      },
    ]);
    expect(mergeSweepRecords([status], [earlier])).toEqual([status]);
  });
});

describe("manifests and sweep records over real syncs", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ scale: 0.3 });
  });
  afterAll(async () => {
    await stack?.close();
  });
  const records = (scope: string) => {
    const list = stack.emulator.catalogue.get("zenlayer-vm")?.get(scope);
    if (!list) throw new Error(`no zenlayer-vm ${scope}`);
    return list;
  };
  const vm = (scope: string) => stack.config(["zenlayer-vm"], () => ({ scopes: [scope] }));

  /** The store, counting the calls the engine makes, with some of them made to fail or do nothing. */
  function instrument(raw: Store) {
    const { store, calls } = countCalls(raw, ["loadScope", "loadManifest", "putScopeStatus"]);
    const faults = { commitLost: false, leaseLapsed: false };
    const wrapped: Store = {
      ...store,
      // As if the run died after its image writes: neither the new manifest nor the status lands.
      commitScope: (...args) => (faults.commitLost ? new Promise(() => {}) : store.commitScope(...args)),
      // As if DynamoDB refused to let the holds go: nothing can be recorded on the lease.
      releaseScopes: (...args) =>
        faults.leaseLapsed
          ? Promise.reject(Object.assign(new Error("unavailable"), { name: "ServiceUnavailable" }))
          : store.releaseScopes(...args),
    };
    return { store: wrapped, calls, faults };
  }

  it("a steady sync reads neither the images nor the manifest's digests, and writes nothing but its lease", async () => {
    const raw = await stack.freshStore();
    const { store, calls } = instrument(raw);
    const clock = { t: Date.parse("2026-03-01T00:00:00Z") };
    const now = () => clock.t;
    const first = await stack.sync(vm("FRA-A"), { store, now });
    expect(first.ok).toBe(true);
    expect(calls).toMatchObject({ loadScope: 1, loadManifest: 0 });
    const status = await raw.getScopeStatus("zenlayer-vm", "FRA-A");
    expect(status?.manifest).toMatchObject({ runId: first.runId, count: records("FRA-A").length });

    clock.t += 3_600_000;
    const writes = raw.stats.writeRequests;
    const second = await stack.sync(vm("FRA-A"), { store, now });
    expect(second.scopes[0]).toMatchObject({ status: "complete", unchanged: records("FRA-A").length, writes: 0 });
    // Its page index says every page is as recorded (test/pages.test.ts): the digests are not needed.
    expect(calls).toMatchObject({ loadScope: 1, loadManifest: 0, putScopeStatus: 0 });
    expect(raw.stats.writeRequests - writes).toBe(2);
    // Every reader sees the sweep: the store, and the query API's freshness.
    expect(await raw.getScopeStatus("zenlayer-vm", "FRA-A")).toMatchObject({
      lastRunId: second.runId,
      lastCompleteAt: "2026-03-01T01:00:00.000Z",
      manifest: status?.manifest,
    });
    const [fresh] = await scopeStatus(raw, { now: new Date(clock.t + 60_000) });
    expect(fresh).toMatchObject({ lastCompleteAt: "2026-03-01T01:00:00.000Z", stale: false });
  });

  it("a run that dies after changing images leaves no manifest, so the next run reads the images and sees the truth", async () => {
    const raw = await stack.freshStore();
    const { store, calls, faults } = instrument(raw);
    const list = records("HKG-A");
    expect((await stack.sync(vm("HKG-A"), { store })).ok).toBe(true);

    // The provider drops an image; the run deprecates it, then dies before its new manifest and its status.
    const [gone] = list.splice(0, 1);
    if (!gone) throw new Error("empty scope");
    faults.commitLost = true;
    const died = Promise.race([
      stack.sync(vm("HKG-A"), { store, leaseMs: 1_000 }),
      new Promise((r) => setTimeout(r, 1_500, "died")),
    ]);
    expect(await died).toBe("died");
    expect((await raw.getImage("zenlayer-vm", "HKG-A", String(gone.imageId)))?.state).toBe("deprecated");
    expect((await raw.getScopeStatus("zenlayer-vm", "HKG-A"))?.manifest ?? null).toBeNull();

    // The image comes back: the listing now matches the first run's manifest, which must not be trusted.
    list.unshift(gone);
    faults.commitLost = false;
    const reads = calls.loadScope;
    const healed = await stack.sync(vm("HKG-A"), { store });
    expect(healed.scopes[0]).toMatchObject({ status: "complete", restored: 1 });
    expect(calls.loadScope).toBe(reads + 1);
    expect((await raw.getImage("zenlayer-vm", "HKG-A", String(gone.imageId)))?.state).toBe("active");
    // And the run after that is steady again, from a new manifest.
    const steady = await stack.sync(vm("HKG-A"), { store });
    expect(steady.scopes[0]).toMatchObject({ status: "complete", writes: 0, restored: 0 });
    expect(calls.loadScope).toBe(reads + 1);
  });

  it("a lease the store cannot take fails that account alone; the others sync and let theirs go", async () => {
    const raw = await stack.freshStore();
    const store: Store = {
      ...raw,
      acquireScopes: (account, ...rest) =>
        account === "zenlayer-zec"
          ? Promise.reject(Object.assign(new Error("throttled"), { name: "ProvisionedThroughputExceededException" }))
          : raw.acquireScopes(account, ...rest),
    };
    const config = stack.config(["zenlayer-vm", "zenlayer-zec"], (a) => ({
      scopes: a.api === "zenlayer-vm" ? ["SIN-A"] : ["sa-east-1a"],
    }));
    const report = await stack.sync(config, { store });
    expect(report.ok).toBe(false);
    expect(report.scopes.map((s) => [s.account, s.scope, s.status])).toEqual([
      ["zenlayer-vm", "SIN-A", "complete"],
      ["zenlayer-zec", "*", "failed"],
    ]);
    expect(report.scopes[1]?.error?.message).toMatch(/throttled/);
    expect(await raw.acquireScopes("zenlayer-vm", ["SIN-A"], "next-run", Date.now(), 60_000)).toEqual(["SIN-A"]);
  });

  it("a lease that cannot be let go cannot carry the record: the unchanged scopes' statuses are written instead", async () => {
    const raw = await stack.freshStore();
    const { store, calls, faults } = instrument(raw);
    const config = stack.config(["zenlayer-vm"], () => ({ scopes: ["FRA-A", "HKG-A", "SIN-A"] }));
    expect((await stack.sync(config, { store })).ok).toBe(true);
    faults.leaseLapsed = true;
    const before = calls.putScopeStatus;
    const second = await stack.sync(config, { store });
    expect(second.scopes.map((s) => s.writes)).toEqual([0, 0, 0]);
    expect(calls.putScopeStatus - before).toBe(3);
    for (const s of await raw.listScopeStatuses()) expect(s.lastRunId).toBe(second.runId);
  });
});
