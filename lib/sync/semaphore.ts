// A weighted semaphore: bounds how many images the scopes being synced at once may hold in memory, so peak
// memory follows the budget (and the largest scope), not the number of scopes or the catalogue.

export class WeightedSemaphore {
  private used = 0;
  private readonly waiting: Array<{ weight: number; wake: () => void }> = [];

  constructor(private readonly capacity: number) {}

  /** Waits until `weight` (capped at the capacity, so one huge scope still runs alone) is free. */
  async acquire(weight: number): Promise<() => void> {
    const w = Math.max(0, Math.min(weight, this.capacity));
    if (this.waiting.length > 0 || this.used + w > this.capacity) {
      await new Promise<void>((wake) => this.waiting.push({ weight: w, wake }));
    } else {
      this.used += w;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used -= w;
      this.drain();
    };
  }

  private drain(): void {
    // First come, first served: a large waiter is not starved by small ones behind it.
    while (this.waiting.length > 0) {
      const head = this.waiting[0] as { weight: number; wake: () => void };
      if (this.used + head.weight > this.capacity) return;
      this.waiting.shift();
      this.used += head.weight;
      head.wake();
    }
  }
}
