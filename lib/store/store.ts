// The only code that talks to DynamoDB: thin send wrappers over the pure builders in items.ts.
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceNotFoundException,
} from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateQuery,
  type QueryCommandInput,
} from "@aws-sdk/lib-dynamodb";
import { StoreError } from "../errors.ts";
import type { Anomaly, ScopeKey, ScopeStatus, StoredImage } from "../model.ts";
import type { Change } from "../sync/diff.ts";
import {
  acquireLeaseParams,
  anomalyItem,
  imageFromItem,
  imagePk,
  imageSk,
  LEASE_PK,
  putImageParams,
  STATUS_PK,
  scopeImagesQuery,
  statusesQuery,
  statusFromItem,
  statusItem,
  statusSk,
} from "./items.ts";
import { tableDefinition } from "./table.ts";

export interface StoreStats {
  /** DynamoDB write requests made (PutItem calls). */
  writeRequests: number;
  readRequests: number;
}

export interface Store {
  readonly tableName: string;
  readonly stats: StoreStats;
  loadScope(key: Pick<ScopeKey, "account" | "scope">): Promise<Map<string, StoredImage>>;
  /** Applies changes with conditional writes; returns the number of write requests made. */
  writeChanges(changes: readonly Change[]): Promise<number>;
  getImage(account: string, scope: string, imageId: string): Promise<StoredImage | undefined>;
  listImages(query: { account: string; scope?: string; all?: boolean }): Promise<StoredImage[]>;
  getScopeStatus(account: string, scope: string): Promise<ScopeStatus | undefined>;
  putScopeStatus(status: ScopeStatus): Promise<void>;
  listScopeStatuses(account?: string): Promise<ScopeStatus[]>;
  putAnomaly(anomaly: Anomaly, nowMs: number): Promise<void>;
  /** Takes the account's sweep lease; false when another run holds it and it has not lapsed. */
  acquireLease(account: string, owner: string, nowMs: number, ttlMs: number): Promise<boolean>;
  releaseLease(account: string, owner: string): Promise<void>;
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
  const stats: StoreStats = { writeRequests: 0, readRequests: 0 };
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

  async function writeOne(change: Change): Promise<void> {
    const params = putImageParams(tableName, change.after, change.before ? change.before.rev : null);
    stats.writeRequests++;
    try {
      await doc.send(new PutCommand(params));
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException) {
        throw new StoreError(
          "CONCURRENT_MODIFICATION",
          `image ${change.after.imageId} changed in the table since it was read; not overwritten`,
          { cause: e, context: { account: change.after.account, scope: change.after.scope } },
        );
      }
      throw storeError("write", e, { account: change.after.account, scope: change.after.scope });
    }
  }

  return {
    tableName,
    stats,
    async loadScope(key) {
      const items = await queryAll(scopeImagesQuery(tableName, key, false));
      return new Map(items.map((item) => [String(item.imageId), imageFromItem(item)]));
    },
    async writeChanges(changes) {
      let next = 0;
      const errors: unknown[] = [];
      const worker = async () => {
        while (next < changes.length) {
          const change = changes[next++] as Change;
          try {
            await writeOne(change);
          } catch (e) {
            errors.push(e);
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, changes.length) }, worker));
      if (errors.length) throw errors[0];
      return changes.length;
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
        return out.Item ? statusFromItem(out.Item) : undefined;
      } catch (e) {
        throw storeError("get", e);
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
      return (await queryAll(statusesQuery(tableName, account))).map(statusFromItem);
    },
    async putAnomaly(anomaly, nowMs) {
      stats.writeRequests++;
      try {
        await doc.send(new PutCommand({ TableName: tableName, Item: anomalyItem(anomaly, nowMs) }));
      } catch (e) {
        throw storeError("write", e, { account: anomaly.account, scope: anomaly.scope });
      }
    },
    async acquireLease(account, owner, nowMs, ttlMs) {
      stats.writeRequests++;
      try {
        await doc.send(new PutCommand(acquireLeaseParams(tableName, account, owner, nowMs, ttlMs)));
        return true;
      } catch (e) {
        if (e instanceof ConditionalCheckFailedException) return false;
        throw storeError("lease", e, { account });
      }
    },
    async releaseLease(account, owner) {
      stats.writeRequests++;
      try {
        await doc.send(
          new DeleteCommand({
            TableName: tableName,
            Key: { PK: LEASE_PK, SK: account },
            ConditionExpression: "#owner = :owner",
            ExpressionAttributeNames: { "#owner": "owner" },
            ExpressionAttributeValues: { ":owner": owner },
          }),
        );
      } catch (e) {
        // Someone else's lease now (ours lapsed): leave it alone.
        if (!(e instanceof ConditionalCheckFailedException)) throw storeError("lease", e, { account });
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

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

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
