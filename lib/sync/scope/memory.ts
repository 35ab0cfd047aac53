// The memory policy of one scope's sync: what it reserves of the run's image budget (a WeightedSemaphore), when.
// A scope holds its stored images and its sweep at once. A known scope reserves its last size before reading; a
// new one reserves once its first page tells how big it is. A scope whose pages may all be recognised holds only
// their replies, a fraction of the images they parse into: it reserves that, and the rest once it must parse
// (letting its share go first, so no scope holds memory while it waits for more). Acts: it waits on the budget.
import type { ScopeStatus } from "../../model.ts";
import type { WeightedSemaphore } from "../semaphore.ts";

/**
 * What a scope's kept page replies weigh against the images they parse into (JSON text against objects, about a
 * quarter), for the memory reservation of a scope whose pages may all be recognised.
 */
const REPLY_WEIGHT = 0.25;

/** The images a scope's last status counts (0 for a scope never swept). */
export function knownImages(previous: ScopeStatus | undefined): number {
  return previous ? previous.counts.active + previous.counts.deprecated : 0;
}

export class ScopeMemory {
  private release: (() => void) | undefined;
  private reserved = 0;
  private finished = false;
  private reserving = Promise.resolve();

  constructor(
    private readonly budget: WeightedSemaphore,
    /** The scope's images by its last status. */
    private readonly known: number,
  ) {}

  /** Before the reads: the scope's last size, or the share of it its replies weigh when it has a manifest. */
  async beforeReads(hasManifest: boolean): Promise<void> {
    if (this.known > 0) await this.reserve(hasManifest ? Math.ceil(this.known * REPLY_WEIGHT) : this.known);
  }

  /** Once the first page tells how big a scope is: what a scope that reserved nothing yet holds. */
  async sized(images: number): Promise<void> {
    if (this.reserved === 0) await this.reserve(images);
  }

  /** Before the images are parsed or read back: all of them. */
  full(): Promise<void> {
    return this.reserve(Math.max(this.known, this.reserved, 1));
  }

  /** The scope finished: its share goes back, and one still being reserved goes back as it lands. */
  done(): void {
    this.finished = true;
    this.release?.();
  }

  /** One change of reservation at a time; one that lands after the scope finished is let go at once. */
  private reserve(images: number): Promise<void> {
    this.reserving = this.reserving.then(async () => {
      if (images <= this.reserved || this.finished) return;
      this.release?.();
      this.release = undefined;
      const got = await this.budget.acquire(images);
      if (this.finished) return got();
      this.release = got;
      this.reserved = images;
    });
    return this.reserving;
  }
}
