// A store that counts the calls the engine makes to some of its methods (and otherwise is the store).
import type { Store } from "../../lib/store/store.ts";

type Method = { [K in keyof Store]: Store[K] extends (...args: never[]) => unknown ? K : never }[keyof Store];

export function countCalls<K extends Method>(
  store: Store,
  names: readonly K[],
): { store: Store; calls: Record<K, number> } {
  const calls = Object.fromEntries(names.map((n) => [n, 0])) as Record<K, number>;
  const wrapped: Store = { ...store };
  for (const name of names) {
    const method = store[name] as (...args: unknown[]) => unknown;
    Object.assign(wrapped, {
      [name]: (...args: unknown[]) => {
        calls[name]++;
        return method.apply(store, args);
      },
    });
  }
  return { store: wrapped, calls };
}
