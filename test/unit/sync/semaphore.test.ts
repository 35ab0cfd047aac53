import { describe, expect, it } from "vitest";
import { WeightedSemaphore } from "../../../lib/sync/semaphore.ts";

describe("WeightedSemaphore", () => {
  it("admits weights up to its capacity, first come first served, and runs an oversized one alone", async () => {
    const sem = new WeightedSemaphore(10);
    const order: string[] = [];
    const a = await sem.acquire(6);
    const tagged = (name: string, p: Promise<() => void>) =>
      p.then((r) => {
        order.push(name);
        return r;
      });
    const b = tagged("b", sem.acquire(6));
    const c = tagged("c", sem.acquire(3));
    await new Promise((r) => setTimeout(r, 5));
    expect(order).toEqual([]); // c fits, but waits behind b
    a();
    const rb = await b;
    const rc = await c;
    expect(order).toEqual(["b", "c"]);
    const big = tagged("big", sem.acquire(100));
    await new Promise((r) => setTimeout(r, 5));
    expect(order).toEqual(["b", "c"]);
    rb();
    rc();
    rc(); // releasing twice frees once
    (await big)();
    expect(order).toEqual(["b", "c", "big"]);
    const d = await sem.acquire(10);
    d();
  });
});
