// The store reads of one scope's sync, started as early as they can be without reading what is not needed.
// With a manifest, "did anything change?" needs one small item: its page index, read while the provider is
// swept. The manifest's digests are read once a page is not recognised (or there is no index). The images are
// read back as soon as it is known they will be needed: at once for a scope without a manifest, else once a
// page changes something against the manifest (the early read-back policy, `watch`). Acts: store reads.
import type { FetchedImage, LatestPointer, StoredImage } from "../../model.ts";
import type { Manifest, ManifestRef, PageIndex } from "../../store/manifest.ts";
import type { Store } from "../../store/store.ts";
import { classify } from "../diff.ts";
import { primeContentHash } from "../hash.ts";
import { PAGE_FORMAT, type PageRecord } from "../pages.ts";
import type { SweptPage } from "../sweep.ts";
import type { ScopeMemory } from "./memory.ts";

type StoreKey = { account: string; scope: string };

export class ScopeReads {
  /** The page index of the manifest, when there is one this code can use. */
  readonly index: Promise<PageIndex | null> | null;
  /** The pages a sweep may recognise (lib/sync/pages.ts). */
  readonly knownPages: Promise<ReadonlyMap<string, PageRecord> | null> | null;
  private manifestRead: Promise<Manifest | null> | null = null;
  private images: Promise<Map<string, StoredImage>> | null;
  private pointers: Promise<Map<string, LatestPointer>> | null;

  constructor(
    private readonly store: Store,
    private readonly key: StoreKey,
    /** The manifest the scope's status names. */
    private readonly ref: ManifestRef | null,
    private readonly memory: ScopeMemory,
  ) {
    this.index = ref
      ? store.loadPageIndex(key, ref).then(
          (i) => (i?.pageFormat === PAGE_FORMAT ? i : null),
          () => null,
        )
      : null;
    void this.index?.then((i) => {
      if (!i) this.manifest();
    });
    // Without a manifest, the images are read back anyway: start that now.
    this.images = ref ? null : store.loadScope(key);
    this.images?.catch(() => undefined);
    this.pointers = ref ? null : store.loadPointers(key);
    this.pointers?.catch(() => undefined);
    this.knownPages = this.index?.then((i) => i?.pages ?? null) ?? null;
  }

  /** The manifest's digests, read once. */
  manifest(): Promise<Manifest | null> {
    if (!this.manifestRead) {
      this.manifestRead = this.ref ? this.store.loadManifest(this.key, this.ref) : Promise.resolve(null);
      this.manifestRead.catch(() => undefined); // awaited later; a failed sweep must not leave it unhandled
    }
    return this.manifestRead;
  }

  /** Sees each page the sweep fetched: one that changes something against the manifest starts the read-back. */
  watch(page: SweptPage): SweptPage {
    if (!this.images && this.ref && !page.reused)
      this.manifest().then(
        (m) => {
          if (m) primeFromManifest(m, page.images);
          if (!m || page.images.some((img) => classify(m.get(img.imageId) ?? null, img) !== null)) this.readBack();
        },
        () => this.readBack(),
      );
    return page;
  }

  /** The stored images and pointers: the reads started early, or started now. */
  stored(): { images: Promise<Map<string, StoredImage>>; pointers: Promise<Map<string, LatestPointer>> } {
    this.images ??= this.store.loadScope(this.key);
    this.pointers ??= this.store.loadPointers(this.key);
    this.pointers.catch(() => undefined);
    return { images: this.images, pointers: this.pointers };
  }

  /** Reads the images back once the memory for all of them is reserved. */
  private readBack(): void {
    if (this.images) return;
    const ready = this.memory.full();
    this.images = ready.then(() => this.store.loadScope(this.key));
    this.images.catch(() => undefined);
    this.pointers = ready.then(() => this.store.loadPointers(this.key));
    this.pointers.catch(() => undefined);
  }
}

/** Content hashes the manifest recorded for images whose fingerprint it knows: no need to hash them again. */
export function primeFromManifest(digests: Manifest, images: readonly FetchedImage[]): void {
  for (const image of images) {
    const d = digests.get(image.imageId);
    if (d) primeContentHash(image, d.fingerprint, d.contentHash);
  }
}
