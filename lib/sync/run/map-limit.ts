// Bounded concurrency for the run's scopes, with a place given up early by a scope whose requests have all gone
// out (it still waits for replies and writes). Acts: schedules.
import { settleAll } from "../settle.ts";

/**
 * Runs `fn` over the items, `limit` at a time: an item's place goes to the next once its promise settles or it
 * calls `done` (work left that does not count against the limit). Resolves when every call has settled.
 */
export async function mapLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, done: () => void) => Promise<void>,
): Promise<void> {
  let next = 0;
  const calls: Promise<void>[] = [];
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      let done = () => {};
      const freed = new Promise<void>((resolve) => {
        done = resolve;
      });
      const call = fn(item, done);
      calls.push(call);
      await Promise.race([call.catch(() => undefined), freed]);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  // Every call settles before a failure is told: nothing is left running behind the caller's back.
  await settleAll(calls);
}
