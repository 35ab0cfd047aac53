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
  const ctx: StoreContext = { client, doc, tableName, stats, concurrency: opts.writeConcurrency ?? 32 };
  const reader = createItemReader(doc, tableName, stats);

  return {
    tableName,
    stats,
    getItem: reader.getItem,
    queryPage: reader.queryPage,
    loadScope: (key) => loadScope(ctx, key),
    writeChanges: (changes, onWritten) => writeChanges(ctx, changes, onWritten),
    loadPointers: (key) => loadPointers(ctx, key),
    writePointers: (writes) => writePointers(ctx, writes),
    getImage: (account, scope, imageId) => getImage(ctx, account, scope, imageId),
    listImages: (query) => listImages(ctx, query),
    getScopeStatus: (account, scope) => getScopeStatus(ctx, account, scope),
    putScopeStatus: (status) => putScopeStatus(ctx, status),
    listScopeStatuses: (account) => listScopeStatuses(ctx, account),
    putAnomaly: (anomaly, nowMs) => putAnomaly(ctx, anomaly, nowMs),
    putHistory: (entry, ttlSeconds) => putHistory(ctx, entry, ttlSeconds),
    acquireScopes: (account, scopes, owner, nowMs, ttlMs) => acquireScopes(ctx, account, scopes, owner, nowMs, ttlMs),
    releaseScopes: (account, scopes, owner, record, nowMs) => releaseHolds(ctx, account, scopes, owner, record, nowMs),
    olderVersionLeaseLive: (nowMs) => olderVersionLeaseLive(ctx, nowMs),
    loadManifest: async (key, ref) => manifestFromItems(await queryAll(ctx, manifestQuery(tableName, key)), ref),
    loadPageIndex: async (key, ref) =>
      pageIndexFromItem(await reader.getItem({ PK: manifestPk(key), SK: PAGES_SK }), ref),
    commitScope: (status, manifest) => commitScope(ctx, status, manifest),
    clearManifest: (key) => clearManifest(ctx, key),
    ensureTable: () => ensureTable(ctx),
    close() {
      client.destroy();
    },
  };
}

/** What every request of one store shares: its clients, its table and the counts in its stats. */
interface StoreContext {
  readonly client: DynamoDBClient;
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly stats: StoreStats;
  /** Parallel conditional writes per call of writeChanges or writePointers. */
  readonly concurrency: number;
}

type ScopeRef = Pick<ScopeKey, "account" | "scope">;
type ErrorContext = { account?: string; scope?: string };

async function queryAll(ctx: StoreContext, input: QueryCommandInput): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  try {
    for await (const page of paginateQuery({ client: ctx.doc }, input)) {
      ctx.stats.readRequests++;
      items.push(...((page.Items ?? []) as Record<string, unknown>[]));
    }
  } catch (e) {
    throw storeError("query", e);
  }
  return items;
}

/** One BatchWriteItem (25 requests at most); unprocessed requests are resent with backoff, then it fails. */
async function batchWrite(
  ctx: StoreContext,
  requests: Record<string, unknown>[],
  counter: { requests: number },
  context: ErrorContext,
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
    ctx.stats.writeRequests++;
    counter.requests++;
    try {
      const out = await ctx.doc.send(new BatchWriteCommand({ RequestItems: { [ctx.tableName]: pending } }));
      const unprocessed = (out.UnprocessedItems?.[ctx.tableName] ?? []) as typeof pending;
      const left = new Set(unprocessed.map(requestKey));
      onLanded(pending.filter((r) => !left.has(requestKey(r))));
      pending = unprocessed;
    } catch (e) {
      const err = storeError("batch write", e, context);
      if (!err.retryable) throw err;
    }
  }
}

/** Runs the jobs `concurrency` at a time, every one of them whatever the others do; returns their errors. */
async function runJobs(concurrency: number, jobs: ReadonlyArray<() => Promise<void>>): Promise<unknown[]> {
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
  return errors;
}

async function loadScope(ctx: StoreContext, key: ScopeRef): Promise<Map<string, StoredImage>> {
  const items = await queryAll(ctx, scopeIndexQuery(ctx.tableName, key));
  return new Map(items.map((item) => [String(item.imageId), imageFromItem(item)]));
}

/** Writes some changes with the requests it takes counted in `own`; `landed` hears of each written before a failure. */
type WriteJob = (own: { requests: number }, landed: (c: Change) => void) => Promise<void>;

/** Store.writeChanges. */
async function writeChanges(
  ctx: StoreContext,
  changes: readonly Change[],
  onWritten?: (written: readonly Change[], requests: number) => void,
): Promise<number> {
  // Images never seen before go in BatchWriteItem requests of 25: a batch cannot carry a condition, but
  // the account's sweep lease (taken by the engine before any write) keeps other runs out. Every
  // change to a known image is a PutItem conditioned on the rev that was read.
  // An image whose item would be over DynamoDB's limit is not sent (it would fail its whole batch): the
  // others are written, then the call fails naming it. It is not stored, so it is never deprecated.
  const tooLarge = changes.filter((c) => itemSizeBytes(imageItem(c.after)) > ITEM_LIMIT_BYTES);
  const writable = tooLarge.length ? changes.filter((c) => !tooLarge.includes(c)) : changes;
  const counter = { requests: 0 };
  const jobs = changeJobs(ctx, writable).map(
    ({ done, job }) =>
      () =>
        reported(done, job, counter, onWritten),
  );
  const errors = await runJobs(ctx.concurrency, jobs);
  if (errors.length) throw errors[0];
  if (tooLarge.length) throw itemTooLargeError(tooLarge);
  return counter.requests;
}

/** The batches of new images, then the known images one by one, each with the changes it writes. */
function changeJobs(ctx: StoreContext, writable: readonly Change[]): { done: readonly Change[]; job: WriteJob }[] {
  const fresh = writable.filter((c) => c.before === null);
  const known = writable.filter((c) => c.before !== null);
  const batches: Change[][] = [];
  for (let i = 0; i < fresh.length; i += BATCH_MAX) batches.push(fresh.slice(i, i + BATCH_MAX));
  return [
    ...batches.map((b) => ({ done: b, job: ((own, landed) => writeBatch(ctx, b, own, landed)) as WriteJob })),
    ...known.map((c) => ({ done: [c], job: ((own) => writeOne(ctx, c, own)) as WriteJob })),
  ];
}

/**
 * Runs one write job and reports its changes once they are written, with its requests (retries included); a
 * batch that failed after writing some of its images one by one reports those.
 */
async function reported(
  done: readonly Change[],
  job: WriteJob,
  counter: { requests: number },
  onWritten?: (written: readonly Change[], requests: number) => void,
): Promise<void> {
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
}

/** One BatchWriteItem of new images; should DynamoDB refuse the request, its images are written one by one. */
async function writeBatch(
  ctx: StoreContext,
  batch: readonly Change[],
  counter: { requests: number },
  landed: (c: Change) => void = () => {},
): Promise<void> {
  const first = batch[0]?.after;
  const byKey = new Map(batch.map((c) => [requestKey({ PutRequest: { Item: imageItem(c.after) } }), c]));
  try {
    await batchWrite(
      ctx,
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
      await writeOne(ctx, c, counter).then(
        () => landed(c),
        (err: unknown) => errors.push(err),
      );
    if (errors.length) throw errors[0];
    return;
  }
  ctx.stats.itemsWritten += batch.length;
}

async function writeOne(ctx: StoreContext, change: Change, counter: { requests: number }): Promise<void> {
  // A change built without the raw record (read back without it) updates the item in place and keeps it.
  const partial = change.after.raw === undefined && change.before !== null;
  ctx.stats.writeRequests++;
  counter.requests++;
  try {
    if (partial)
      await ctx.doc.send(new UpdateCommand(updateImageParams(ctx.tableName, change.after, change.before?.rev ?? 0)));
    else
      await ctx.doc.send(
        new PutCommand(putImageParams(ctx.tableName, change.after, change.before ? change.before.rev : null)),
      );
    ctx.stats.itemsWritten++;
  } catch (e) {
    // A write DynamoDB applied but answered with a 5xx is retried by the SDK, and the retry's condition fails:
    // the item holding this very change (its rev, run and content) means it landed.
    if (e instanceof ConditionalCheckFailedException && (await holdsChange(ctx, change))) {
      ctx.stats.itemsWritten++;
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
async function holdsChange(ctx: StoreContext, change: Change): Promise<boolean> {
  ctx.stats.readRequests++;
  const out = await ctx.doc.send(
    new GetCommand({
      TableName: ctx.tableName,
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

async function loadPointers(ctx: StoreContext, key: ScopeRef): Promise<Map<string, LatestPointer>> {
  const items = await queryAll(ctx, scopePointersQuery(ctx.tableName, key));
  return new Map(
    items.map((item) => {
      const pointer = pointerFromItem(item);
      return [pointerSk(pointer), pointer];
    }),
  );
}

/** Store.writePointers. */
async function writePointers(ctx: StoreContext, writes: readonly PointerWrite[]): Promise<number> {
  // A scope has a few dozen pointers at most, and a steady run writes none: one conditional PutItem each.
  // Not counted in stats.itemsWritten, which counts image items.
  const counter = { requests: 0 };
  const errors = await runJobs(
    ctx.concurrency,
    writes.map((w) => () => writePointer(ctx, w, counter)),
  );
  if (errors.length) throw errors[0];
  return counter.requests;
}

async function writePointer(ctx: StoreContext, w: PointerWrite, counter: { requests: number }): Promise<void> {
  ctx.stats.writeRequests++;
  counter.requests++;
  try {
    await ctx.doc.send(new PutCommand(putPointerParams(ctx.tableName, w.after, w.before ? w.before.rev : null)));
  } catch (e) {
    const context = { account: w.after.account, scope: w.after.scope };
    throw e instanceof ConditionalCheckFailedException
      ? new StoreError(
          "CONCURRENT_MODIFICATION",
          `pointer ${pointerSk(w.after)} changed in the table since it was read; not overwritten`,
          { cause: e, context },
        )
      : storeError("write", e, context);
  }
}

async function getImage(
  ctx: StoreContext,
  account: string,
  scope: string,
  imageId: string,
): Promise<StoredImage | undefined> {
  ctx.stats.readRequests++;
  try {
    const out = await ctx.doc.send(
      new GetCommand({ TableName: ctx.tableName, Key: { PK: imagePk(account, scope), SK: imageSk(imageId) } }),
    );
    return out.Item ? imageFromItem(out.Item) : undefined;
  } catch (e) {
    throw storeError("get", e);
  }
}

async function listImages(
  ctx: StoreContext,
  query: { account: string; scope?: string; all?: boolean },
): Promise<StoredImage[]> {
  const scopes = query.scope
    ? [query.scope]
    : (await queryAll(ctx, statusesQuery(ctx.tableName, query.account))).map((i) => String(i.scope));
  const out: StoredImage[] = [];
  for (const scope of scopes) {
    const items = await queryAll(ctx, scopeImagesQuery(ctx.tableName, { account: query.account, scope }, !query.all));
    out.push(...items.map(imageFromItem));
  }
  return out.sort((a, b) => (a.scope === b.scope ? cmp(a.imageId, b.imageId) : cmp(a.scope, b.scope)));
}

async function getScopeStatus(ctx: StoreContext, account: string, scope: string): Promise<ScopeStatus | undefined> {
  ctx.stats.readRequests++;
  try {
    const out = await ctx.doc.send(
      new GetCommand({ TableName: ctx.tableName, Key: { PK: STATUS_PK, SK: statusSk(account, scope) } }),
    );
    if (!out.Item) return undefined;
    return mergeSweepRecords([statusFromItem(out.Item)], await queryAll(ctx, leasesQuery(ctx.tableName)))[0];
  } catch (e) {
    throw e instanceof StoreError ? e : storeError("get", e);
  }
}

async function listScopeStatuses(ctx: StoreContext, account?: string): Promise<ScopeStatus[]> {
  const [items, leases] = await Promise.all([
    queryAll(ctx, statusesQuery(ctx.tableName, account)),
    queryAll(ctx, leasesQuery(ctx.tableName)),
  ]);
  return mergeSweepRecords(items.map(statusFromItem), leases);
}

async function putScopeStatus(ctx: StoreContext, status: ScopeStatus): Promise<void> {
  ctx.stats.writeRequests++;
  try {
    await ctx.doc.send(new PutCommand({ TableName: ctx.tableName, Item: statusItem(status) }));
  } catch (e) {
    throw storeError("write", e, { account: status.account, scope: status.scope });
  }
}

async function putAnomaly(ctx: StoreContext, anomaly: Anomaly, nowMs: number): Promise<void> {
  ctx.stats.writeRequests++;
  try {
    await ctx.doc.send(new PutCommand({ TableName: ctx.tableName, Item: anomalyItem(anomaly, nowMs) }));
  } catch (e) {
    throw storeError("write", e, { account: anomaly.account, scope: anomaly.scope });
  }
}

async function putHistory(ctx: StoreContext, entry: ChangeEntry, ttlSeconds: number): Promise<void> {
  ctx.stats.writeRequests++;
  try {
    await ctx.doc.send(new PutCommand({ TableName: ctx.tableName, Item: historyItem(entry, ttlSeconds) }));
  } catch (e) {
    throw storeError("write", e, { account: entry.account, scope: entry.scope });
  }
}

/** Store.acquireScopes. */
async function acquireScopes(
  ctx: StoreContext,
  account: string,
  scopes: readonly string[],
  owner: string,
  nowMs: number,
  ttlMs: number,
): Promise<string[]> {
  const taken: string[] = [];
  try {
    for (let i = 0; i < scopes.length; i += LEASE_CHUNK) {
      let wanted = scopes.slice(i, i + LEASE_CHUNK);
      // All or none per update: when some are held, read who holds what and take the free ones. A hold that
      // is already ours (an update DynamoDB applied, answered with a 5xx and retried) counts as taken.
      for (let attempt = 1; wanted.length > 0 && attempt <= 3; attempt++) {
        const params = acquireScopesParams(ctx.tableName, account, wanted, owner, nowMs, ttlMs);
        if (await leaseUpdate(ctx, params, account)) {
          taken.push(...wanted);
          break;
        }
        const item = await leaseItem(ctx, account);
        const held = liveHolds(item, nowMs);
        taken.push(...wanted.filter((scope) => held.get(scope) === owner));
        wanted = legacyLeaseLive(item, nowMs) ? [] : wanted.filter((scope) => !held.has(scope));
      }
    }
  } catch (e) {
    // No hold outlives a failed acquisition: the chunks already taken are let go before the error is told.
    if (taken.length > 0)
      await releaseHolds(ctx, account, taken, owner, { runId: owner, scopes: {} }, nowMs).catch(() => undefined);
    throw e;
  }
  return taken;
}

/** Store.releaseScopes. */
async function releaseHolds(
  ctx: StoreContext,
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
      const params = releaseScopesParams(ctx.tableName, account, ours, owner, record, nowMs);
      if (await leaseUpdate(ctx, params, account)) break;
      // A hold lapsed and was taken: let go of the others, leave that one to its new owner. A hold already
      // gone was let go (an update applied, answered with a 5xx and retried).
      const item = await leaseItem(ctx, account);
      const ownerOf = (scope: string) => (item?.[holdAttr(scope)] as { owner?: unknown } | undefined)?.owner;
      lost.push(...ours.filter((scope) => ownerOf(scope) !== undefined && ownerOf(scope) !== owner));
      ours = ours.filter((scope) => ownerOf(scope) === owner);
    }
  }
  return lost;
}

/** One conditional lease update: false when its condition failed. */
async function leaseUpdate(ctx: StoreContext, params: UpdateCommandInput, account: string): Promise<boolean> {
  ctx.stats.writeRequests++;
  try {
    await ctx.doc.send(new UpdateCommand(params));
    return true;
  } catch (e) {
    if (e instanceof ConditionalCheckFailedException) return false;
    throw storeError("lease", e, { account });
  }
}

async function leaseItem(ctx: StoreContext, account: string): Promise<Record<string, unknown> | undefined> {
  ctx.stats.readRequests++;
  try {
    const out = await ctx.doc.send(
      new GetCommand({ TableName: ctx.tableName, Key: { PK: LEASE_PK, SK: account }, ConsistentRead: true }),
    );
    return out.Item;
  } catch (e) {
    throw storeError("lease read", e, { account });
  }
}

async function olderVersionLeaseLive(ctx: StoreContext, nowMs: number): Promise<boolean> {
  return (await queryAll(ctx, leasesQuery(ctx.tableName))).some((item) => legacyLeaseLive(item, nowMs));
}

/** Store.commitScope. */
async function commitScope(
  ctx: StoreContext,
  status: ScopeStatus,
  manifest: { runId: string; digests: Manifest; pages: PageIndex | null; previousChunks: number },
): Promise<{ ref: ManifestRef; requests: number }> {
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
    await batchWrite(ctx, requests.slice(i, i + BATCH_MAX), counter, key, "manifest and status items");
  return { ref, requests: counter.requests };
}

async function clearManifest(ctx: StoreContext, key: ScopeRef): Promise<void> {
  ctx.stats.writeRequests++;
  try {
    await ctx.doc.send(new UpdateCommand(clearManifestParams(ctx.tableName, key)));
  } catch (e) {
    // No status item yet: there is no manifest to clear.
    if (!(e instanceof ConditionalCheckFailedException)) throw storeError("write", e, key);
  }
}

async function ensureTable({ client, tableName }: StoreContext): Promise<void> {
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
