// The only code that talks to DynamoDB: thin send wrappers over the pure builders in items.ts.
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceNotFoundException,
} from "@aws-sdk/client-dynamodb";
import {
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateQuery,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
  type UpdateCommandInput,
} from "@aws-sdk/lib-dynamodb";
import { asImageSyncError, StoreError } from "../errors.ts";
import type { ChangeEntry } from "../events/history.ts";
import type { Anomaly, LatestPointer, ScopeKey, ScopeStatus, StoredImage } from "../model.ts";
import type { Change } from "../sync/diff.ts";
import type { PointerWrite } from "../sync/pointers.ts";
import { ITEM_LIMIT_BYTES, itemSizeBytes } from "./item-size.ts";
import {
  acquireScopesParams,
  anomalyItem,
  clearManifestParams,
  historyItem,
  holdAttr,
  imageFromItem,
  imageItem,
  imagePk,
  imageSk,
  LEASE_CHUNK,
  LEASE_PK,
  leasesQuery,
  legacyLeaseLive,
  liveHolds,
  mergeSweepRecords,
  pointerFromItem,
  pointerSk,
  putImageParams,
  putPointerParams,
  releaseScopesParams,
  STATUS_PK,
  type SweepRecord,
  scopeImagesQuery,
  scopeIndexQuery,
  scopePointersQuery,
  statusesQuery,
  statusFromItem,
  statusItem,
  statusSk,
  updateImageParams,
} from "./items.ts";
import {
  type Manifest,
  type ManifestRef,
  manifestFromItems,
  manifestItems,
  manifestPk,
  manifestQuery,
  manifestSk,
  PAGES_SK,
  type PageIndex,
  pageIndexFromItem,
  pageIndexItem,
} from "./manifest.ts";
import { tableDefinition } from "./table.ts";

export interface StoreStats {
  /** DynamoDB write requests made (PutItem, BatchWriteItem, DeleteItem calls). */
  writeRequests: number;
  /** Image items written. */
  itemsWritten: number;
  readRequests: number;
}

/** One page of a Query: the items and, when more may follow, the key to continue from. */
export interface QueryPage {
  items: Record<string, unknown>[];
  lastKey?: Record<string, unknown>;
}

/** Read-only access by key, as lib/query uses it: one GetItem, or one page of one Query. */
export interface ItemReader {
  readonly tableName: string;
  getItem(key: { PK: string; SK: string }): Promise<Record<string, unknown> | undefined>;
  /** One page (DynamoDB stops at 1 MB or `Limit`) of a Query on this table or one of its indexes. */
  queryPage(input: Omit<QueryCommandInput, "TableName">): Promise<QueryPage>;
}

/**
 * An ItemReader over a document client the caller owns (a downstream Lambda's, created once per container).
 * `stats`, when given, counts each request as a read.
 */
export function createItemReader(doc: DynamoDBDocumentClient, tableName: string, stats?: StoreStats): ItemReader {
  return {
    tableName,
    async getItem(key) {
      if (stats) stats.readRequests++;
      try {
        const out = await doc.send(new GetCommand({ TableName: tableName, Key: key }));
        return out.Item as Record<string, unknown> | undefined;
      } catch (e) {
        throw storeError("get", e);
      }
    },
    async queryPage(input) {
      if (stats) stats.readRequests++;
      try {
        const out = await doc.send(new QueryCommand({ ...input, TableName: tableName }));
        return {
          items: (out.Items ?? []) as Record<string, unknown>[],
          ...(out.LastEvaluatedKey ? { lastKey: out.LastEvaluatedKey as Record<string, unknown> } : {}),
        };
      } catch (e) {
        throw storeError("query", e);
      }
    },
  };
}

export interface Store extends ItemReader {
  readonly tableName: string;
  readonly stats: StoreStats;
  /** The scope's images as the sync diffs them: every attribute but `raw` (see SYNC_READ_ATTRIBUTES). */
  loadScope(key: Pick<ScopeKey, "account" | "scope">): Promise<Map<string, StoredImage>>;
  /**
   * Applies changes (new images batched, known ones conditioned on their rev); returns the write requests made.
   * `onWritten` hears of each batch or image once it is written, with the requests it took, so a caller knows
   * what landed when a later write fails (a failed batch or image is reported with no change, and its requests).
   */
  writeChanges(
    changes: readonly Change[],
    onWritten?: (written: readonly Change[], requests: number) => void,
  ): Promise<number>;
  /** A scope's latest-image pointers, by sort key (one Query). */
  loadPointers(key: Pick<ScopeKey, "account" | "scope">): Promise<Map<string, LatestPointer>>;
  /** Writes pointers, each conditioned on the rev read (or on not existing yet); returns the write requests made. */
  writePointers(writes: readonly PointerWrite[]): Promise<number>;
  getImage(account: string, scope: string, imageId: string): Promise<StoredImage | undefined>;
  listImages(query: { account: string; scope?: string; all?: boolean }): Promise<StoredImage[]>;
  getScopeStatus(account: string, scope: string): Promise<ScopeStatus | undefined>;
  putScopeStatus(status: ScopeStatus): Promise<void>;
  listScopeStatuses(account?: string): Promise<ScopeStatus[]>;
  putAnomaly(anomaly: Anomaly, nowMs: number): Promise<void>;
  /** Records one change in the history (idempotent: the same change overwrites its own item). */
  putHistory(entry: ChangeEntry, ttlSeconds: number): Promise<void>;
  /** Takes the account's sweep lease; false when another run holds it and it has not lapsed. */
  /**
   * Takes the holds of those of the account's scopes that no other owner holds (lib/store/items.ts, scope
   * leases) until `nowMs + ttlMs`; returns the scopes taken. Another owner's live holds are left alone.
   */
  acquireScopes(
    account: string,
    scopes: readonly string[],
    owner: string,
    nowMs: number,
    ttlMs: number,
  ): Promise<string[]>;
  /**
   * True while a lease of an older version of this code (one item per account or per fan-out batch, with owner
   * and leaseUntil) is live: its scopes are unknown, so no scope may be swept until it lapses (one Query).
   */
  olderVersionLeaseLive(nowMs: number): Promise<boolean>;
  /**
   * Lets the holds go with the run's record of its unchanged sweeps; returns the scopes whose hold was no longer
   * ours (lapsed and taken), for which nothing was recorded.
   */
  releaseScopes(
    account: string,
    scopes: readonly string[],
    owner: string,
    record: SweepRecord,
    nowMs: number,
  ): Promise<string[]>;
  /** The manifest the reference names, or null when its chunks do not make it up (one Query). */
  loadManifest(key: Pick<ScopeKey, "account" | "scope">, ref: ManifestRef): Promise<Manifest | null>;
  /** The page index of the manifest the reference names, or null when it has none (one GetItem). */
  loadPageIndex(key: Pick<ScopeKey, "account" | "scope">, ref: ManifestRef): Promise<PageIndex | null>;
  /**
   * Writes the scope's status naming a new manifest, together with that manifest's chunks and page index
   * (chunks beyond it, up to `previousChunks`, are deleted): one BatchWriteItem for up to 23 chunks. The
   * writes may land in any order, or some not at all: a status naming chunks that are not all there finds
   * no manifest (loadManifest gives null). Returns the reference and the write requests made.
   */
  commitScope(
    status: ScopeStatus,
    manifest: { runId: string; digests: Manifest; pages: PageIndex | null; previousChunks: number },
  ): Promise<{ ref: ManifestRef; requests: number }>;
  /** Removes the manifest reference from the scope's status (before its images change); one write. */
  clearManifest(key: Pick<ScopeKey, "account" | "scope">): Promise<void>;
  /** Creates the table when it is missing (local endpoints only). */
  ensureTable(): Promise<void>;
  close(): void;
}

export interface StoreOptions {
  tableName: string;
  endpoint?: string;
  region?: string;
  /** Parallel conditional writes per call of writeChanges. */
  writeConcurrency?: number;
  /** Static credentials for a local endpoint (dynalite ignores them, the SDK needs some). */
  localCredentials?: boolean;
}

export function createStore(opts: StoreOptions): Store {
  const client = new DynamoDBClient({
    region: opts.region ?? "us-east-1",
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    ...(opts.localCredentials ? { credentials: { accessKeyId: "local", secretAccessKey: "local" } } : {}),
    maxAttempts: 6,
  });
  const doc = DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
  });
  const tableName = opts.tableName;
  const stats: StoreStats = { writeRequests: 0, itemsWritten: 0, readRequests: 0 };
  const concurrency = opts.writeConcurrency ?? 32;

  async function queryAll(input: QueryCommandInput): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    try {
      for await (const page of paginateQuery({ client: doc }, input)) {
        stats.readRequests++;
        items.push(...((page.Items ?? []) as Record<string, unknown>[]));
      }
    } catch (e) {
      throw storeError("query", e);
    }
    return items;
  }

  /** One BatchWriteItem (25 requests at most); unprocessed requests are resent with backoff, then it fails. */
  async function batchWrite(
    requests: Record<string, unknown>[],
    counter: { requests: number },
    context: { account?: string; scope?: string },
    what: string,
    /** Hears of the requests each attempt processed (all but its UnprocessedItems), even when a later one fails. */
    onLanded: (landed: Record<string, unknown>[]) => void = () => {},
  ): Promise<void> {
    let pending = requests;
    for (let attempt = 1; pending.length > 0; attempt++) {
      if (attempt > BATCH_ATTEMPTS) {
        throw new StoreError(
          "UNPROCESSED_ITEMS",
          `${pending.length} ${what} still unprocessed after ${BATCH_ATTEMPTS} attempts`,
          { retryable: true, context },
        );
      }
      if (attempt > 1) await sleep(Math.min(2_000, 50 * 2 ** attempt) * (0.5 + Math.random() / 2));
      stats.writeRequests++;
      counter.requests++;
      try {
        const out = await doc.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending } }));
        const unprocessed = (out.UnprocessedItems?.[tableName] ?? []) as typeof pending;
        const left = new Set(unprocessed.map(requestKey));
        onLanded(pending.filter((r) => !left.has(requestKey(r))));
        pending = unprocessed;
      } catch (e) {
        const err = storeError("batch write", e, context);
        if (!err.retryable) throw err;
      }
    }
  }

  /** Store.releaseScopes. */
  async function releaseHolds(
    account: string,
    scopes: readonly string[],
    owner: string,
    record: SweepRecord,
    nowMs: number,
  ): Promise<string[]> {
    const lost: string[] = [];
    for (let i = 0; i < scopes.length; i += LEASE_CHUNK) {
      let ours = scopes.slice(i, i + LEASE_CHUNK);
      for (let attempt = 1; ours.length > 0 && attempt <= 3; attempt++) {
        if (await leaseUpdate(releaseScopesParams(tableName, account, ours, owner, record, nowMs), account)) break;
        // A hold lapsed and was taken: let go of the others, leave that one to its new owner. A hold already
        // gone was let go (an update applied, answered with a 5xx and retried).
        const item = await leaseItem(account);
        const ownerOf = (scope: string) => (item?.[holdAttr(scope)] as { owner?: unknown } | undefined)?.owner;
        lost.push(...ours.filter((scope) => ownerOf(scope) !== undefined && ownerOf(scope) !== owner));
        ours = ours.filter((scope) => ownerOf(scope) === owner);
      }
    }
    return lost;
  }

  /** One conditional lease update: false when its condition failed. */
  async function leaseUpdate(params: UpdateCommandInput, account: string): Promise<boolean> {
    stats.writeRequests++;
    try {
      await doc.send(new UpdateCommand(params));
      return true;
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException) return false;
      throw storeError("lease", e, { account });
    }
  }

  async function leaseItem(account: string): Promise<Record<string, unknown> | undefined> {
    stats.readRequests++;
    try {
      const out = await doc.send(
        new GetCommand({ TableName: tableName, Key: { PK: LEASE_PK, SK: account }, ConsistentRead: true }),
      );
      return out.Item;
    } catch (e) {
      throw storeError("lease read", e, { account });
    }
  }

  /** One BatchWriteItem of new images; should DynamoDB refuse the request, its images are written one by one. */
  async function writeBatch(
    batch: readonly Change[],
    counter: { requests: number },
    landed: (c: Change) => void = () => {},
  ): Promise<void> {
    const first = batch[0]?.after;
    const byKey = new Map(batch.map((c) => [requestKey({ PutRequest: { Item: imageItem(c.after) } }), c]));
    try {
      await batchWrite(
        batch.map((c) => ({ PutRequest: { Item: imageItem(c.after) } })),
        counter,
        { account: first?.account, scope: first?.scope },
        "new images",
        (requests) => {
          for (const r of requests) {
            const c = byKey.get(requestKey(r));
            if (c) landed(c);
          }
        },
      );
    } catch (e) {
      // One item DynamoDB refuses fails the whole request: alone, it fails by itself.
      if (batch.length === 1 || asImageSyncError(e).code !== "DYNAMODB_ValidationException") throw e;
      const errors: unknown[] = [];
      for (const c of batch)
        await writeOne(c, counter).then(
          () => landed(c),
          (err: unknown) => errors.push(err),
        );
      if (errors.length) throw errors[0];
      return;
    }
    stats.itemsWritten += batch.length;
  }

  async function writeOne(change: Change, counter: { requests: number }): Promise<void> {
    // A change built without the raw record (read back without it) updates the item in place and keeps it.
    const partial = change.after.raw === undefined && change.before !== null;
    stats.writeRequests++;
    counter.requests++;
    try {
      if (partial)
        await doc.send(new UpdateCommand(updateImageParams(tableName, change.after, change.before?.rev ?? 0)));
      else
        await doc.send(
          new PutCommand(putImageParams(tableName, change.after, change.before ? change.before.rev : null)),
        );
      stats.itemsWritten++;
    } catch (e) {
      // A write DynamoDB applied but answered with a 5xx is retried by the SDK, and the retry's condition fails:
      // the item holding this very change (its rev, run and content) means it landed.
      if (e instanceof ConditionalCheckFailedException && (await holdsChange(change))) {
        stats.itemsWritten++;
        return;
      }
      if (e instanceof ConditionalCheckFailedException) {
        throw new StoreError(
          "CONCURRENT_MODIFICATION",
          `image ${change.after.imageId} changed in the table since it was read; not overwritten`,
          { cause: e, context: { account: change.after.account, scope: change.after.scope } },
        );
      }
      if ((e as Error).name === "ValidationException" && /size/i.test((e as Error).message))
        throw itemTooLargeError([change], e);
      throw storeError("write", e, { account: change.after.account, scope: change.after.scope });
    }
  }

  /** True when the stored item is the one this change writes (a consistent read). */
  async function holdsChange(change: Change): Promise<boolean> {
    stats.readRequests++;
    const out = await doc.send(
      new GetCommand({
        TableName: tableName,
        Key: { PK: imagePk(change.after.account, change.after.scope), SK: imageSk(change.after.imageId) },
        ConsistentRead: true,
      }),
    );
    const item = out.Item;
    const last = item?.lastChange as { runId?: unknown; kind?: unknown } | undefined;
    return (
      item?.rev === change.after.rev &&
      item?.contentHash === change.after.contentHash &&
      last?.runId === change.after.lastChange.runId &&
      last?.kind === change.after.lastChange.kind
    );
  }

  const reader = createItemReader(doc, tableName, stats);

  return {
    tableName,
    stats,
    getItem: reader.getItem,
    queryPage: reader.queryPage,
    async loadScope(key) {
      const items = await queryAll(scopeIndexQuery(tableName, key));
      return new Map(items.map((item) => [String(item.imageId), imageFromItem(item)]));
    },
    async writeChanges(changes, onWritten) {
      // Images never seen before go in BatchWriteItem requests of 25: a batch cannot carry a condition, but
      // the account's sweep lease (taken by the engine before any write) keeps other runs out. Every
      // change to a known image is a PutItem conditioned on the rev that was read.
      // An image whose item would be over DynamoDB's limit is not sent (it would fail its whole batch): the
      // others are written, then the call fails naming it. It is not stored, so it is never deprecated.
      const tooLarge = changes.filter((c) => itemSizeBytes(imageItem(c.after)) > ITEM_LIMIT_BYTES);
      const writable = tooLarge.length ? changes.filter((c) => !tooLarge.includes(c)) : changes;
      const fresh = writable.filter((c) => c.before === null);
      const known = writable.filter((c) => c.before !== null);
      const counter = { requests: 0 };
      const batches: Change[][] = [];
      for (let i = 0; i < fresh.length; i += BATCH_MAX) batches.push(fresh.slice(i, i + BATCH_MAX));
      const jobs: Array<() => Promise<void>> = [
        ...batches.map((b) => () => reported(b, (own, landed) => writeBatch(b, own, landed))),
        ...known.map((c) => () => reported([c], (own) => writeOne(c, own))),
      ];
      // Each job's changes are reported once they are written, with its requests (retries included); a batch
      // that failed after writing some of its images one by one reports those.
      const reported = async (
        done: readonly Change[],
        job: (own: { requests: number }, landed: (c: Change) => void) => Promise<void>,
      ) => {
        const own = { requests: 0 };
        const partial: Change[] = [];
        let ok = false;
        try {
          await job(own, (c) => partial.push(c));
          ok = true;
        } finally {
          counter.requests += own.requests;
          onWritten?.(ok ? done : partial, own.requests);
        }
      };
      let next = 0;
      const errors: unknown[] = [];
      const worker = async () => {
        while (next < jobs.length) {
          const job = jobs[next++] as () => Promise<void>;
          try {
            await job();
          } catch (e) {
            errors.push(e);
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, worker));
      if (errors.length) throw errors[0];
      if (tooLarge.length) throw itemTooLargeError(tooLarge);
      return counter.requests;
    },
    async loadPointers(key) {
      const items = await queryAll(scopePointersQuery(tableName, key));
      return new Map(
        items.map((item) => {
          const pointer = pointerFromItem(item);
          return [pointerSk(pointer), pointer];
        }),
      );
    },
    async writePointers(writes) {
      // A scope has a few dozen pointers at most, and a steady run writes none: one conditional PutItem each.
      // Not counted in stats.itemsWritten, which counts image items.
      let requests = 0;
      let next = 0;
      const errors: unknown[] = [];
      const worker = async () => {
        while (next < writes.length) {
          const w = writes[next++] as PointerWrite;
          stats.writeRequests++;
          requests++;
          try {
            await doc.send(new PutCommand(putPointerParams(tableName, w.after, w.before ? w.before.rev : null)));
          } catch (e) {
            const context = { account: w.after.account, scope: w.after.scope };
            errors.push(
              e instanceof ConditionalCheckFailedException
                ? new StoreError(
                    "CONCURRENT_MODIFICATION",
                    `pointer ${pointerSk(w.after)} changed in the table since it was read; not overwritten`,
                    { cause: e, context },
                  )
                : storeError("write", e, context),
            );
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, writes.length) }, worker));
      if (errors.length) throw errors[0];
      return requests;
    },
    async getImage(account, scope, imageId) {
      stats.readRequests++;
      try {
        const out = await doc.send(
          new GetCommand({ TableName: tableName, Key: { PK: imagePk(account, scope), SK: imageSk(imageId) } }),
        );
        return out.Item ? imageFromItem(out.Item) : undefined;
      } catch (e) {
        throw storeError("get", e);
      }
    },
    async listImages(query) {
      const scopes = query.scope
        ? [query.scope]
        : (await queryAll(statusesQuery(tableName, query.account))).map((i) => String(i.scope));
      const out: StoredImage[] = [];
      for (const scope of scopes) {
        const items = await queryAll(scopeImagesQuery(tableName, { account: query.account, scope }, !query.all));
        out.push(...items.map(imageFromItem));
      }
      return out.sort((a, b) => (a.scope === b.scope ? cmp(a.imageId, b.imageId) : cmp(a.scope, b.scope)));
    },
    async getScopeStatus(account, scope) {
      stats.readRequests++;
      try {
        const out = await doc.send(
          new GetCommand({ TableName: tableName, Key: { PK: STATUS_PK, SK: statusSk(account, scope) } }),
        );
        if (!out.Item) return undefined;
        return mergeSweepRecords([statusFromItem(out.Item)], await queryAll(leasesQuery(tableName)))[0];
      } catch (e) {
        throw e instanceof StoreError ? e : storeError("get", e);
      }
    },
    async putScopeStatus(status) {
      stats.writeRequests++;
      try {
        await doc.send(new PutCommand({ TableName: tableName, Item: statusItem(status) }));
      } catch (e) {
        throw storeError("write", e, { account: status.account, scope: status.scope });
      }
    },
    async listScopeStatuses(account) {
      const [items, leases] = await Promise.all([
        queryAll(statusesQuery(tableName, account)),
        queryAll(leasesQuery(tableName)),
      ]);
      return mergeSweepRecords(items.map(statusFromItem), leases);
    },
    async putAnomaly(anomaly, nowMs) {
      stats.writeRequests++;
      try {
        await doc.send(new PutCommand({ TableName: tableName, Item: anomalyItem(anomaly, nowMs) }));
      } catch (e) {
        throw storeError("write", e, { account: anomaly.account, scope: anomaly.scope });
      }
    },
    async putHistory(entry, ttlSeconds) {
      stats.writeRequests++;
      try {
        await doc.send(new PutCommand({ TableName: tableName, Item: historyItem(entry, ttlSeconds) }));
      } catch (e) {
        throw storeError("write", e, { account: entry.account, scope: entry.scope });
      }
    },
    async acquireScopes(account, scopes, owner, nowMs, ttlMs) {
      const taken: string[] = [];
      try {
        for (let i = 0; i < scopes.length; i += LEASE_CHUNK) {
          let wanted = scopes.slice(i, i + LEASE_CHUNK);
          // All or none per update: when some are held, read who holds what and take the free ones. A hold that
          // is already ours (an update DynamoDB applied, answered with a 5xx and retried) counts as taken.
          for (let attempt = 1; wanted.length > 0 && attempt <= 3; attempt++) {
            if (await leaseUpdate(acquireScopesParams(tableName, account, wanted, owner, nowMs, ttlMs), account)) {
              taken.push(...wanted);
              break;
            }
            const item = await leaseItem(account);
            const held = liveHolds(item, nowMs);
            taken.push(...wanted.filter((scope) => held.get(scope) === owner));
            wanted = legacyLeaseLive(item, nowMs) ? [] : wanted.filter((scope) => !held.has(scope));
          }
        }
      } catch (e) {
        // No hold outlives a failed acquisition: the chunks already taken are let go before the error is told.
        if (taken.length > 0)
          await releaseHolds(account, taken, owner, { runId: owner, scopes: {} }, nowMs).catch(() => undefined);
        throw e;
      }
      return taken;
    },
    releaseScopes: releaseHolds,
    async olderVersionLeaseLive(nowMs) {
      return (await queryAll(leasesQuery(tableName))).some((item) => legacyLeaseLive(item, nowMs));
    },
    async loadManifest(key, ref) {
      return manifestFromItems(await queryAll(manifestQuery(tableName, key)), ref);
    },
    async loadPageIndex(key, ref) {
      return pageIndexFromItem(await reader.getItem({ PK: manifestPk(key), SK: PAGES_SK }), ref);
    },
    async commitScope(status, manifest) {
      const key = { account: status.account, scope: status.scope };
      const { items, ref } = manifestItems(key, manifest.runId, manifest.digests);
      const pages = manifest.pages && pageIndexItem(key, manifest.runId, manifest.pages);
      const requests: Record<string, unknown>[] = [...items, ...(pages ? [pages] : [])].map((Item) => ({
        PutRequest: { Item },
      }));
      for (let i = ref.chunks; i < manifest.previousChunks; i++)
        requests.push({ DeleteRequest: { Key: { PK: manifestPk(key), SK: manifestSk(i) } } });
      requests.push({ PutRequest: { Item: statusItem({ ...status, manifest: ref }) } });
      const counter = { requests: 0 };
      // 25 items of at most 300 KB stay under BatchWriteItem's 16 MB.
      for (let i = 0; i < requests.length; i += BATCH_MAX)
        await batchWrite(requests.slice(i, i + BATCH_MAX), counter, key, "manifest and status items");
      return { ref, requests: counter.requests };
    },
    async clearManifest(key) {
      stats.writeRequests++;
      try {
        await doc.send(new UpdateCommand(clearManifestParams(tableName, key)));
      } catch (e) {
        // No status item yet: there is no manifest to clear.
        if (!(e instanceof ConditionalCheckFailedException)) throw storeError("write", e, key);
      }
    },
    async ensureTable() {
      try {
        await client.send(new DescribeTableCommand({ TableName: tableName }));
        return;
      } catch (e) {
        if (!(e instanceof ResourceNotFoundException)) throw storeError("describe table", e);
      }
      try {
        await client.send(new CreateTableCommand(tableDefinition(tableName)));
      } catch (e) {
        if ((e as { name?: string }).name !== "ResourceInUseException") throw storeError("create table", e);
      }
      for (let i = 0; i < 100; i++) {
        const out = await client.send(new DescribeTableCommand({ TableName: tableName }));
        if (out.Table?.TableStatus === "ACTIVE") return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new StoreError("TABLE_NOT_ACTIVE", `table ${tableName} did not become active`);
    },
    close() {
      client.destroy();
    },
  };
}

const BATCH_MAX = 25;

/** The key a BatchWriteItem request writes or deletes, to tell the processed requests from the unprocessed. */
function requestKey(request: Record<string, unknown>): string {
  const r = request as {
    PutRequest?: { Item?: Record<string, unknown> };
    DeleteRequest?: { Key?: Record<string, unknown> };
  };
  const key = r.PutRequest?.Item ?? r.DeleteRequest?.Key ?? {};
  return `${String(key.PK)}\u0000${String(key.SK)}`;
}
const BATCH_ATTEMPTS = 8;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Images that cannot be stored, whatever their raw record's trimming: named, the rest of the scope written. */
function itemTooLargeError(changes: readonly Change[], cause?: unknown): StoreError {
  const ids = changes.map((c) => c.after.imageId);
  const first = changes[0]?.after;
  const named = ids.length > 10 ? `${ids.slice(0, 10).join(", ")} and ${ids.length - 10} more` : ids.join(", ");
  return new StoreError(
    "ITEM_TOO_LARGE",
    `${ids.length} image${ids.length === 1 ? "" : "s"} over DynamoDB's 400 KB item limit even with the raw record trimmed, not written: ${named}`,
    { cause, context: { account: first?.account, scope: first?.scope } },
  );
}

function storeError(op: string, e: unknown, context: { account?: string; scope?: string } = {}): StoreError {
  const name = (e as { name?: string }).name ?? "Error";
  const retryable =
    /Throttl|ProvisionedThroughputExceeded|InternalServerError|ServiceUnavailable|RequestLimitExceeded/.test(name);
  return new StoreError(`DYNAMODB_${name}`, `DynamoDB ${op} failed: ${(e as Error).message}`, {
    cause: e,
    retryable,
    context,
  });
}
