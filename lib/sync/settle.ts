// Requests that belong together fail together, and settle before the failure is told: a sweep or a lookup that
// has failed sends nothing more, and has nothing in flight once its caller hears of it. Otherwise the engine
// would let a scope's hold go while requests of the failed sweep were still going out, and the next run's sweep
// of that scope would overlap them (found by the model-based test, seed 9002).

/** Waits for every promise to settle, then rejects with the first error in list order, if any. */
export async function settleAll<T>(promises: readonly Promise<T>[]): Promise<T[]> {
  const outcomes = await Promise.allSettled(promises);
  const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === "rejected");
  if (failed) throw failed.reason;
  return outcomes.map((o) => (o as PromiseFulfilledResult<T>).value);
}

/** A latch shared by requests that fail together: once one has failed, the others are not sent. */
export class Halt {
  private error: { reason: unknown } | null = null;

  /** Wraps a request: it is not sent once another has failed, and its own failure trips the latch. */
  guard<A extends unknown[], R>(send: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
    return async (...args: A) => {
      if (this.error) throw this.error.reason;
      try {
        return await send(...args);
      } catch (e) {
        this.error ??= { reason: e };
        throw e;
      }
    };
  }

  /** The first failure, when there was one (thrown in preference to the ones it caused). */
  rethrow(): void {
    if (this.error) throw this.error.reason;
  }
}
