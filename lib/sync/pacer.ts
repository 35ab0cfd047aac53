// Pacing: a token bucket per account, API and scope so a sweep never exceeds the provider's rate limit.

export class Pacer {
  private nextAt = 0;
  private readonly intervalMs: number;

  constructor(
    requestsPerSecond: number,
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {
    this.intervalMs = 1000 / requestsPerSecond;
  }

  /** Waits for a token. Requests start at most `requestsPerSecond` per second, with no burst beyond one. */
  async take(): Promise<void> {
    const t = this.now();
    const at = Math.max(t, this.nextAt);
    this.nextAt = at + this.intervalMs;
    if (at > t) await this.sleep(at - t);
  }
}
