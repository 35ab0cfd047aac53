// The reader the queries run on, for a downstream Lambda: built once per container from a client it owns,
// or from a table name alone.
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { createItemReader, type ItemReader } from "../store/store.ts";

export type { ItemReader as QueryReader } from "../store/store.ts";

export interface QueryReaderOptions {
  tableName: string;
  /** A document client to reuse (its marshalling options must leave numbers as numbers: the default). */
  documentClient?: DynamoDBDocumentClient;
  /** A plain client to wrap; ignored when documentClient is given. */
  client?: DynamoDBClient;
  /** For a client created here. */
  region?: string;
  endpoint?: string;
}

export function createQueryReader(opts: QueryReaderOptions): ItemReader {
  const doc =
    opts.documentClient ??
    DynamoDBDocumentClient.from(
      opts.client ??
        new DynamoDBClient({
          ...(opts.region ? { region: opts.region } : {}),
          ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
        }),
    );
  return createItemReader(doc, opts.tableName);
}
