// The same change or digest has the same id and the same content on every delivery, whatever the batching,
// bisecting and retries of the stream (the event source mapping splits and redelivers batches freely).
// Real changes from the engine (emulator over real HTTP, dynalite), delivered as DynamoDB streams them.
import type { PutEventsRequestEntry } from "@aws-sdk/client-eventbridge";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StreamRecord } from "../../../lib/events/change-event.ts";
import { streamRecordsFor } from "../../../lib/events/local.ts";
import { processStreamRecords } from "../../../lib/events/process.ts";
import type { Publisher } from "../../../lib/events/publish.ts";
import type { Change } from "../../../lib/sync/diff.ts";
import { withRunChanges } from "../../../lib/sync/run-changes.ts";
import { type Stack, startStack } from "../../helpers/stack.ts";

let stack: Stack;
let records: StreamRecord[];
let held: Record<string, unknown>[];

beforeAll(async () => {
  stack = await startStack({ scale: 0.2 });
  // A baseline without 30 of FRA-A's images and 3 of SIN-A's, then a run that finds them again (and a change
  // of one more): 31 changes in FRA-A (over the threshold of 25), 3 in SIN-A (under it).
  const fra = stack.emulator.catalogue.get("zenlayer-vm")?.get("FRA-A") ?? [];
  const sin = stack.emulator.catalogue.get("zenlayer-vm")?.get("SIN-A") ?? [];
  held = [...fra.splice(10, 30), ...sin.splice(0, 3)];
  const config = stack.config(["zenlayer-vm"], () => ({ scopes: ["FRA-A", "SIN-A"] }));
  const store = await stack.freshStore();
  expect((await stack.sync(config, { store })).ok).toBe(true);
  fra.splice(10, 0, ...held.slice(0, 30));
  sin.splice(0, 0, ...held.slice(30));
  (fra[0] as Record<string, unknown>).imageDescription = "touched";
  const written: Change[] = [];
  const r = await stack.sync(config, {
    store,
    onChanges: (changes) => void written.push(...changes),
  });
  expect(r.ok).toBe(true);
  records = streamRecordsFor(written);
});
afterAll(async () => {
  await stack?.close();
});

/** Every entry published, as (detail-type, eventId) -> the Detail texts seen for it. */
type Seen = Map<string, Set<string>>;

/** A publisher that records what it accepts and refuses the entries `refuse` picks (the first delivery). */
function recorder(seen: Seen, refuse: (e: PutEventsRequestEntry, i: number) => boolean = () => false): Publisher {
  let n = 0;
  return async (entries) =>
    entries.map((e) => {
      if (refuse(e, n++)) return false;
      const id = (JSON.parse(e.Detail ?? "{}") as { eventId: string }).eventId;
      const key = `${e.DetailType}#${id}`;
      const set = seen.get(key) ?? new Set<string>();
      set.add(`${e.Time?.toISOString()} ${e.Detail}`);
      seen.set(key, set);
      return true;
    });
}

/** Delivers the records in batches, redelivering each batch's failed records (bisected) until none fail. */
async function deliver(batches: StreamRecord[][], publish: Publisher): Promise<void> {
  const queue = [...batches];
  while (queue.length) {
    const batch = queue.shift() as StreamRecord[];
    const r = await processStreamRecords(batch, { publish, digestThreshold: 25 });
    const failed = new Set(r.batchItemFailures.map((f) => f.itemIdentifier));
    const again = batch.filter((x) => failed.has(x.dynamodb?.SequenceNumber ?? ""));
    const half = Math.ceil(again.length / 2);
    if (again.length) queue.push(again.slice(0, half), ...(again.length > 1 ? [again.slice(half)] : []));
  }
}

const chunks = <T>(list: readonly T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(list.length / size) }, (_, i) => list.slice(i * size, (i + 1) * size));

/** Deterministic shuffle (the stream orders per item, not across items). */
function shuffled<T>(list: readonly T[], seed: number): T[] {
  const out = [...list];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe("every delivery of a change or digest is the same event", () => {
  it("whatever the batching, bisecting and partial failures", async () => {
    expect(records.length).toBe(34);
    const deliveries: Seen[] = [];
    const ways: Array<[StreamRecord[][], (e: PutEventsRequestEntry, i: number) => boolean]> = [
      [[records], () => false],
      [chunks(records, 7), () => false],
      [chunks(shuffled(records, 7), 10), (_e, i) => i % 3 === 0],
      [chunks(shuffled(records, 11), 100), (e) => e.DetailType === "Sync Digest"],
      [records.map((r) => [r]), (_e, i) => i < 5],
    ];
    for (const [batches, refuse] of ways) {
      const seen: Seen = new Map();
      // Refused entries only on the first delivery of each: a later one succeeds.
      const refused = new Set<string>();
      await deliver(
        batches,
        recorder(seen, (e, i) => {
          const key = `${e.DetailType}${e.Detail}`;
          if (refused.has(key) || !refuse(e, i)) return false;
          refused.add(key);
          return true;
        }),
      );
      deliveries.push(seen);
    }
    const first = deliveries[0] as Seen;
    const digests = [...first.keys()].filter((k) => k.startsWith("Sync Digest#"));
    expect(digests).toHaveLength(1);
    expect([...(first.get(digests[0] as string) ?? [])][0]).toContain("31 image changes (30 added, 1 updated)");
    expect(first.size).toBe(34 + 1);
    for (const seen of deliveries) {
      expect([...seen.keys()].sort()).toEqual([...first.keys()].sort());
      for (const [key, contents] of seen) {
        expect(contents.size, key).toBe(1);
        expect([...contents], key).toEqual([...(first.get(key) ?? [])]);
      }
    }
    // digested: true for FRA-A's 31 changes, false for SIN-A's 3, on every delivery.
    const digested = [...first.entries()]
      .filter(([k]) => k.startsWith("Image"))
      .map(([, v]) => JSON.parse([...v][0]?.replace(/^\S+ /, "") ?? "{}") as { scope: string; digested: boolean });
    expect(digested.filter((d) => d.digested).every((d) => d.scope === "FRA-A")).toBe(true);
    expect(digested.filter((d) => d.digested)).toHaveLength(31);
  });
});

describe("withRunChanges", () => {
  it("stamps every change of the run alike and gives the digest to one the store accepts", () => {
    const fra = records.filter((r) => JSON.stringify(r).includes("FRA-A"));
    expect(fra.length).toBe(31);
    const changes: Change[] = [];
    const lastChange = { kind: "added" as const, at: "t", runId: "r", baseline: false };
    const image = (id: string, description: string) =>
      ({ imageId: id, account: "a", scope: "s", description, lastChange }) as unknown as Change["after"];
    changes.push({ kind: "added", before: null, after: image("too-big", "z".repeat(450 * 1024)) });
    changes.push({ kind: "added", before: null, after: image("fine", "ok") });
    const stamped = withRunChanges(changes);
    expect(stamped.map((c) => c.after.lastChange.runChanges)).toEqual([
      { total: 2, byChange: { added: 2 } },
      { total: 2, byChange: { added: 2 }, carriesDigest: true },
    ]);
    const baseline = changes.map((c) => ({
      ...c,
      after: { ...c.after, lastChange: { ...lastChange, baseline: true } },
    }));
    expect(withRunChanges(baseline)).toEqual(baseline);
  });
});
