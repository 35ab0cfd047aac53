// The embedded DynamoDB: dynalite (a real implementation of the DynamoDB API) on a loopback port,
// persisted under a directory (LevelDB) or in memory for tests.
import { mkdirSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { ConfigError } from "../errors.ts";

export interface LocalDynamo {
  endpoint: string;
  close(): Promise<void>;
}

/** Starts dynalite on 127.0.0.1. With `path`, data survives restarts; without, it lives in memory. */
export async function startLocalDynamo(opts: { path?: string; port?: number } = {}): Promise<LocalDynamo> {
  if (opts.path) mkdirSync(opts.path, { recursive: true });
  const dynalite = await loadDynalite();
  const server = dynalite({
    ...(opts.path ? { path: opts.path } : {}),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}

/**
 * dynalite is an optional peer dependency of the published package (its LevelDB bindings are native code a
 * consumer that only queries should not install), so the CLI loads it only when it runs the embedded store.
 */
async function loadDynalite(): Promise<typeof import("dynalite").default> {
  try {
    return (await import("dynalite")).default;
  } catch (e) {
    if ((e as { code?: string }).code !== "ERR_MODULE_NOT_FOUND") throw e;
    throw new ConfigError([
      "the embedded DynamoDB needs dynalite, an optional peer dependency of image-sync: install it " +
        "(npm install dynalite@^4) or set DYNAMODB_ENDPOINT to a DynamoDB API",
    ]);
  }
}
