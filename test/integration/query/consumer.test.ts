// The package as a downstream TypeScript Lambda gets it: `npm pack`, installed into a fresh project with the
// peer AWS SDK (offline, from the versions in this repo's lock file), the README's example compiled with
// `tsc --strict` under NodeNext resolution (so the `types` conditions of `exports` decide), then run against
// dynalite filled by a real sync. A missing or wrong declaration, a file the tarball lacks or a README example
// that drifted from the API fails it.
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { transform } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storeHistoryWriter } from "../../../lib/events/history.ts";
import { streamRecordsFor } from "../../../lib/events/local.ts";
import { processStreamRecords } from "../../../lib/events/process.ts";
import { latestImage } from "../../../lib/query/index.ts";
import type { Store } from "../../../lib/store/store.ts";
import { type Stack, startStack } from "../../helpers/stack.ts";

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8"));
/** What the consumer installs beside image-sync: the peers, and the Node types its code compiles against. */
const CONSUMER_DEPS = ["@aws-sdk/client-dynamodb", "@aws-sdk/lib-dynamodb", "@types/node"];
const ZONE = "FRA-A";

let dir: string;
let app: string;
let stack: Stack;
let store: Store;
let packed: { filename: string; files: Array<{ path: string }> };
let removedId: string;
/** The consumer's compile, started as soon as it is installed (it needs no data): null when it passed. */
let compiled: Promise<Error | null>;

/** A command's output; on failure, the error carries what it printed, so the test says why. */
async function sh(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) {
  try {
    return await run(cmd, args, { cwd, env, maxBuffer: 64 * 1024 * 1024 });
  } catch (e) {
    const { stdout, stderr } = e as { stdout?: string; stderr?: string };
    throw new Error(`${cmd} ${args.join(" ")} failed:\n${stdout ?? ""}\n${stderr ?? ""}`);
  }
}

/**
 * A lock file for the consumer holding the repo lock's entries of CONSUMER_DEPS and everything they need, at
 * the same paths: `npm ci --offline` then installs exactly those versions from the npm cache, which the
 * clone's own `npm ci` filled, without asking the registry for package metadata.
 */
function consumerLock(tarball: string, integrity: string): object {
  const all = lock.packages as Record<string, Record<string, unknown>>;
  const picked = new Map<string, Record<string, unknown>>();
  const resolve = (from: string, name: string): string => {
    for (let at = from; ; at = at.replace(/\/?node_modules\/(?:@[^/]+\/)?[^/]+$/, "")) {
      const path = `${at ? `${at}/` : ""}node_modules/${name}`;
      if (all[path]) return path;
      if (!at) throw new Error(`the lock file has no ${name} for ${from || "the root"}`);
    }
  };
  const visit = (path: string) => {
    if (picked.has(path)) return;
    const { dev: _dev, devOptional: _devOptional, ...entry } = all[path] as Record<string, unknown>;
    picked.set(path, entry);
    const needs = { ...(entry.dependencies as object), ...(entry.optionalDependencies as object) };
    for (const name of Object.keys(needs)) visit(resolve(path, name));
    for (const name of Object.keys((entry.peerDependencies as object) ?? {}))
      if (!(entry.peerDependenciesMeta as Record<string, { optional?: boolean }> | undefined)?.[name]?.optional)
        visit(resolve(path, name));
  };
  for (const name of [...CONSUMER_DEPS, ...Object.keys(pkg.dependencies ?? {})]) visit(`node_modules/${name}`);
  const versions = Object.fromEntries(CONSUMER_DEPS.map((n) => [n, String(all[`node_modules/${n}`]?.version)]));
  const spec = `file:../${tarball}`;
  return {
    name: "consumer",
    lockfileVersion: 3,
    requires: true,
    packages: {
      "": { name: "consumer", dependencies: { "image-sync": spec, ...versions } },
      "node_modules/image-sync": {
        version: pkg.version,
        resolved: spec,
        integrity,
        license: pkg.license,
        bin: pkg.bin,
        engines: pkg.engines,
        dependencies: pkg.dependencies,
        peerDependencies: pkg.peerDependencies,
        peerDependenciesMeta: pkg.peerDependenciesMeta,
      },
      ...Object.fromEntries(picked),
    },
  };
}

/** The README's downstream Lambda, exactly as written between its consumer-example markers. */
function readmeExample(): string {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const block = /<!-- consumer-example[^>]*-->\s*```ts\n([\s\S]*?)```\s*<!-- \/consumer-example -->/.exec(readme);
  if (!block?.[1]) throw new Error("README.md has no ```ts block between consumer-example markers");
  return block[1];
}

/**
 * Type-level checks of the declarations beyond what the example touches: each @ts-expect-error fails the
 * compile when the line it marks compiles, as it would if a declaration fell back to `any`.
 */
const CHECKS = `
import {
  changesSince,
  ConfigError,
  createQueryReader,
  findImages,
  getImage,
  handleQuery,
  ImageSyncError,
  latestImage,
  listScope,
  QueryError,
  type QueryErrorCode,
  scopeStatus,
  StoreError,
  whereLatest,
  type ChangeEntry,
  type LatestPointer,
  type Page,
  type ScopeFreshness,
  type StoredImage,
} from "image-sync/query";

const reader = createQueryReader({ tableName: "t", region: "eu-central-1" });
const image: StoredImage | undefined = await latestImage(reader, { osFamily: "ubuntu", scope: "FRA-A" });
const id: string | undefined = image?.imageId;
// @ts-expect-error the scope is required
await latestImage(reader, { osFamily: "ubuntu" });
// @ts-expect-error an image's state is active or deprecated
const state: "gone" = image!.state;
const one: StoredImage | undefined = await getImage(reader, { account: "a", scope: "s", imageId: "i" });
const listed: Page<StoredImage> = await listScope(reader, { account: "a", scope: "s" }, { limit: 10 });
const found: Page<StoredImage> = await findImages(reader, { osFamily: "ubuntu", state: "active" });
const pointers: Page<LatestPointer> = await whereLatest(reader, { osFamily: "ubuntu" });
const changes: Page<ChangeEntry> = await changesSince(reader, new Date(0), { changeType: "anomaly" });
for (const c of changes.items) {
  if (c.changeType === "anomaly") {
    const n: number = c.wouldDeprecate;
    // @ts-expect-error an anomaly names no single image
    c.imageId;
  } else {
    const i: string = c.imageId;
  }
}
const scopes: ScopeFreshness[] = await scopeStatus(reader, { staleAfterHours: 2 });
const stale: boolean | undefined = scopes[0]?.stale;
const answer = await handleQuery({ action: "status" }, { reader, staleAfterHours: 6 });
const codes: QueryErrorCode[] = ["INVALID_QUERY", "INVALID_PAGE_TOKEN", "AMBIGUOUS_QUERY", "READ_LIMIT"];
// @ts-expect-error not a query error code
const wrong: QueryErrorCode = "NOT_A_CODE";
const e: unknown = new QueryError("INVALID_QUERY", "x");
if (e instanceof QueryError) {
  const code: QueryErrorCode = e.code;
  const retryable: boolean = e.retryable;
}
if (e instanceof StoreError || e instanceof ConfigError) {
  const base: ImageSyncError = e;
}
export { answer, codes, found, id, listed, one, pointers, stale, state, wrong };
`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "image-sync-consumer-"));
  // The package is built apart from dist/, with the repo's package.json and README: other tests build into
  // dist/ at the same time, and a file rewritten while npm packs it would be torn.
  const stage = join(dir, "package");
  mkdirSync(stage);
  for (const f of ["package.json", "README.md", "docs"])
    if (existsSync(join(root, f))) cpSync(join(root, f), join(stage, f), { recursive: true });
  const [, started] = await Promise.all([
    sh(process.execPath, [join(root, "lib/build/build.mjs"), "--package", "--out", join(stage, "dist")], root),
    startStack({ scale: 0.2 }),
  ]);
  stack = started;
  const out = await sh("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", dir], stage);
  const [info] = JSON.parse(out.stdout) as Array<{
    filename: string;
    integrity: string;
    files: Array<{ path: string }>;
  }>;
  packed = info as typeof packed;

  app = join(dir, "app");
  mkdirSync(app);
  const lockDoc = consumerLock(packed.filename, (info as { integrity: string }).integrity) as {
    packages: Record<string, { dependencies?: object }>;
  };
  writeFileSync(
    join(app, "package.json"),
    JSON.stringify({
      name: "consumer",
      private: true,
      type: "module",
      dependencies: lockDoc.packages[""]?.dependencies,
    }),
  );
  writeFileSync(join(app, "package-lock.json"), JSON.stringify(lockDoc, null, 2));
  await sh("npm", ["ci", "--offline", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], app);
  writeFileSync(join(app, "handler.ts"), readmeExample());
  writeFileSync(join(app, "checks.ts"), CHECKS);
  // No skipLibCheck: the package's declarations are checked like the consumer's own code.
  const strict = [
    "--strict",
    "--noEmit",
    "--module",
    "nodenext",
    "--moduleResolution",
    "nodenext",
    "--target",
    "es2022",
  ];
  compiled = sh(process.execPath, [tsc, ...strict, "--types", "node", "handler.ts", "checks.ts"], app).then(
    () => null,
    (e: Error) => e,
  );

  // The catalogue: a baseline sync of one zone, then one image gone, its deprecation recorded by the stream
  // consumer's code as on AWS, so the example's changesSince has something to find.
  store = await stack.freshStore();
  const config = stack.config(["zenlayer-vm"], () => ({ scopes: [ZONE] }));
  expect((await stack.sync(config, { store })).ok).toBe(true);
  const records = stack.emulator.catalogue.get("zenlayer-vm")?.get(ZONE) as Array<Record<string, unknown>>;
  const gone = records.findIndex((r) => r.imageStatus === "AVAILABLE" && !String(r.imageName).includes("Ubuntu"));
  removedId = String(records[gone]?.imageId);
  records.splice(gone, 1);
  const history = storeHistoryWriter(store);
  const second = await stack.sync(config, {
    store,
    onChanges: async (changes) => {
      const r = await processStreamRecords(streamRecordsFor(changes), {
        publish: async (e) => e.map(() => true),
        history,
      });
      expect(r.batchItemFailures).toEqual([]);
    },
  });
  expect(second.scopes[0]?.deprecated).toBe(1);
}, 240_000);

afterAll(async () => {
  store?.close();
  await stack?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("a downstream Lambda installing the packed package", () => {
  it("packs exactly what a consumer needs", () => {
    const paths = packed.files.map((f) => f.path).sort();
    const types = paths.filter((p) => p.startsWith("dist/types/"));
    expect(paths.filter((p) => !p.startsWith("dist/types/"))).toEqual(
      ["README.md", "dist/cli.mjs", "dist/query.mjs", "docs/CHANGELOG.md", "package.json"].sort(),
    );
    expect(types).toContain("dist/types/query/index.d.ts");
    expect(types.every((p) => p.endsWith(".d.ts"))).toBe(true);
    // Only declarations the query API reaches, and none names a library the package does not install.
    expect(types).not.toContain("dist/types/schema.d.ts");
    for (const p of types)
      expect(readFileSync(join(app, "node_modules", "image-sync", p), "utf8"), p).not.toMatch(/from "valibot"/);
  });

  it("installs none of the sync's dependencies, only image-sync and the SDK it is given", () => {
    const modules = join(app, "node_modules");
    for (const name of [
      "dynalite",
      "undici",
      "@aws-lambda-powertools/logger",
      "@aws-sdk/client-eventbridge",
      "@aws-sdk/client-sqs",
      "@aws-sdk/client-ssm",
      "classic-level",
    ])
      expect(existsSync(join(modules, name)), name).toBe(false);
    expect(existsSync(join(modules, "image-sync", "dist", "query.mjs"))).toBe(true);
  });

  it("satisfies the package's peer ranges with the SDK versions this repo tests (npm ls fails on an invalid peer)", async () => {
    const tree = JSON.parse((await sh("npm", ["ls", "--all", "--json", "--offline"], app)).stdout);
    expect(tree.problems).toBeUndefined();
    const peers = tree.dependencies["image-sync"]?.dependencies ?? {};
    for (const name of ["@aws-sdk/client-dynamodb", "@aws-sdk/lib-dynamodb"])
      expect(peers[name]?.version, name).toBe(lock.packages[`node_modules/${name}`].version);
    // dynalite, the optional peer, is not installed.
    expect(peers.dynalite?.version).toBeUndefined();
  }, 120_000);

  it("compiles the README's example and the declaration checks with tsc --strict (NodeNext), and runs it on a real sync", async () => {
    const failed = await compiled;
    if (failed) throw failed;
    // The compiled example runs as plain JavaScript (its types stripped, imports untouched), so it loads
    // image-sync/query and the SDK from the consumer's node_modules, as the Lambda would.
    const js = await transform(readFileSync(join(app, "handler.ts"), "utf8"), { loader: "ts", format: "esm" });
    writeFileSync(join(app, "handler.mjs"), js.code);
    writeFileSync(
      join(app, "invoke.mjs"),
      [
        'import { handler } from "./handler.mjs";',
        "const result = await handler({ zone: process.argv[2] });",
        'process.stdout.write("RESULT " + JSON.stringify(result) + "\\n");',
      ].join("\n"),
    );
    const env = {
      PATH: process.env.PATH,
      IMAGES_TABLE: store.tableName,
      AWS_ENDPOINT_URL_DYNAMODB: stack.dynamo.endpoint,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "local",
      AWS_SECRET_ACCESS_KEY: "local",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    };
    const out = await sh(process.execPath, ["invoke.mjs", ZONE], app, env);
    const result = JSON.parse(
      out.stdout
        .split("\n")
        .find((l) => l.startsWith("RESULT "))
        ?.slice(7) ?? "null",
    );
    const expected = await latestImage(store, {
      osFamily: "ubuntu",
      osVersion: "22.04",
      scope: ZONE,
      architecture: "x86_64",
      imageType: "public",
    });
    expect(expected).toBeDefined();
    expect(result).toEqual({ launch: expected?.imageId, deprecated: [removedId] });
    expect(out.stdout).toContain(`(${removedId})`);
  }, 240_000);

  it("runs the CLI from the install: bad usage exits 2, the embedded store asks for dynalite, any endpoint answers", async () => {
    const bin = join(app, "node_modules", ".bin", "image-sync");
    const base = {
      PATH: process.env.PATH,
      AWS_REGION: "us-east-1",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    };
    const exit = (args: string[], env: NodeJS.ProcessEnv) =>
      run(process.execPath, [bin, ...args], { cwd: app, env }).then(
        (r) => ({ code: 0, ...r }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
    const none = await exit([], base);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("Usage:");
    const embedded = await exit(["status"], base);
    expect(embedded.code).toBe(2);
    expect(embedded.stderr).toContain("npm install dynalite");
    const latest = await exit(
      [
        "latest",
        "--os",
        "ubuntu",
        "--version",
        "22.04",
        "--scope",
        ZONE,
        "--arch",
        "x86_64",
        "--type",
        "public",
        "--json",
      ],
      { ...base, DYNAMODB_ENDPOINT: stack.dynamo.endpoint, TABLE_NAME: store.tableName },
    );
    expect(latest.stderr).toBe("");
    expect(latest.code).toBe(0);
    const expected = await latestImage(store, {
      osFamily: "ubuntu",
      osVersion: "22.04",
      scope: ZONE,
      architecture: "x86_64",
      imageType: "public",
    });
    expect(JSON.parse(latest.stdout).imageId).toBe(expected?.imageId);
  }, 120_000);
});
