// The memory policy of one scope's sync (lib/sync/scope/memory.ts): what it reserves of the run's budget, when.
import { describe, expect, it } from "vitest";
import { ScopeMemory } from "../../../../lib/sync/scope/memory.ts";
import type { WeightedSemaphore } from "../../../../lib/sync/semaphore.ts";

/** A budget that grants at once (or when `gate` opens) and tells what is held. */
function budget(gate: Promise<void> = Promise.resolve()) {
  let held = 0;
  const grants: number[] = [];
  const fake = {
    acquire: async (weight: number) => {
      await gate;
      held += weight;
      grants.push(weight);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        held -= weight;
      };
    },
  };
  return { semaphore: fake as unknown as WeightedSemaphore, held: () => held, grants };
}

describe("ScopeMemory", () => {
  it("reserves a quarter of a known scope with a manifest before its reads, then all of it, never both", async () => {
    const b = budget();
    const memory = new ScopeMemory(b.semaphore, 80);
    await memory.beforeReads(true);
    expect(b.held()).toBe(20);
    await memory.full();
    expect(b.held()).toBe(80);
    await memory.full();
    expect(b.grants).toEqual([20, 80]);
    memory.done();
    expect(b.held()).toBe(0);
  });

  it("reserves a known scope without a manifest in full, and a new one once its first page tells its size", async () => {
    const b = budget();
    const known = new ScopeMemory(b.semaphore, 30);
    await known.beforeReads(false);
    expect(b.held()).toBe(30);
    const fresh = new ScopeMemory(b.semaphore, 0);
    await fresh.beforeReads(false);
    expect(b.held()).toBe(30);
    await fresh.sized(50);
    await fresh.sized(60); // sized once: a later listing's first page changes nothing
    expect(b.held()).toBe(80);
    known.done();
    fresh.done();
    expect(b.held()).toBe(0);
  });

  it("lets a reservation that lands after the scope finished go at once", async () => {
    let open = () => {};
    const b = budget(new Promise<void>((resolve) => (open = resolve)));
    const memory = new ScopeMemory(b.semaphore, 5);
    const waiting = memory.beforeReads(false);
    await new Promise((r) => setTimeout(r, 0)); // the reservation is asked for, and waits
    memory.done();
    open();
    await waiting;
    expect(b.grants).toEqual([5]);
    expect(b.held()).toBe(0);
  });

  it("asks for nothing once the scope finished", async () => {
    const b = budget();
    const memory = new ScopeMemory(b.semaphore, 5);
    const waiting = memory.beforeReads(false);
    memory.done();
    await waiting;
    await memory.full();
    expect(b.grants).toEqual([]);
  });
});
