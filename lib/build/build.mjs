// Bundles the CLI and the query API (ESM, Node 20+) and each Lambda handler (Node 22) with esbuild, and emits the
// query API's declarations with tsc. Plain JavaScript so that `npm install` (prepare) can run it before anything
// is compiled.
//   node lib/build/build.mjs                      everything, into dist/
//   node lib/build/build.mjs --package --out DIR  only what the npm package ships (no handlers), into DIR: the
//                                                 consumer test builds apart, so a build another test runs
//                                                 at the same time never rewrites the files it packs
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";
import { parserDefine } from "./parser-hash.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const { values: args } = parseArgs({ options: { package: { type: "boolean" }, out: { type: "string" } } });
const dist = args.out ? resolve(args.out) : join(root, "dist");
// The client's AWS SDK is the caller's (peerDependencies); everything else a shipped bundle needs is inside it,
// so a consumer's install holds none of the service's dependencies.
const peers = ["@aws-sdk/client-dynamodb", "@aws-sdk/lib-dynamodb"];
// ESM bundles of CommonJS dependencies need `require`, `__filename` and `__dirname`.
const cjsShim = [
  "import { createRequire as __isCreateRequire } from 'node:module';",
  "import { fileURLToPath as __isFileURLToPath } from 'node:url';",
  "import { dirname as __isDirname } from 'node:path';",
  "const require = __isCreateRequire(import.meta.url);",
  "const __filename = __isFileURLToPath(import.meta.url);",
  "const __dirname = __isDirname(__filename);",
].join("\n");

const common = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: true,
  legalComments: "none",
  logLevel: "warning",
  define: parserDefine(root),
};

const handlers = args.package
  ? []
  : readdirSync(join(root, "handlers"))
      .filter((f) => f.endsWith(".ts"))
      .map((f) => f.slice(0, -".ts".length));

// Chunk file names carry content hashes: start from an empty directory so no stale chunk is packaged. The
// declarations too: a source removed from the query API must not leave its old declaration behind.
if (!args.package) rmSync(join(dist, "handlers"), { recursive: true, force: true });
rmSync(join(dist, "types"), { recursive: true, force: true });

/**
 * The query API's declarations, from its sources (lib/build/tsconfig.query.json). tsc keeps the sources' `.ts`
 * import specifiers in declarations (rewriteRelativeImportExtensions rewrites only JavaScript), which TypeScript
 * resolves only from 5.0 on: `.js` ones resolve to the `.d.ts` beside them in every version and resolution mode.
 */
async function declarations() {
  const out = join(dist, "types");
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  const config = join(root, "lib", "build", "tsconfig.query.json");
  const code = await new Promise((done, fail) =>
    spawn(process.execPath, [tsc, "-p", config, "--outDir", out], { stdio: "inherit" })
      .on("error", fail)
      .on("exit", done),
  );
  if (code !== 0) throw new Error(`tsc -p ${config} failed (exit ${code})`);
  for (const entry of readdirSync(out, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith(".d.ts")) continue;
    const file = join(entry.parentPath, entry.name);
    const text = readFileSync(file, "utf8");
    writeFileSync(file, text.replace(/((?:from|import\()\s*"\.{1,2}\/[^"]*)\.ts"/g, '$1.js"'));
  }
  pruneDeclarations(out, join(out, "query", "index.d.ts"));
}

/**
 * Removes the declarations the query API's never reach (tsc emits one for every module its program loads, such
 * as lib/schema.ts, whose types name valibot): the package ships only what a consumer's compiler can open.
 */
function pruneDeclarations(out, entry) {
  const reached = new Set();
  const visit = (file) => {
    if (reached.has(file) || !existsSync(file)) return;
    reached.add(file);
    for (const m of readFileSync(file, "utf8").matchAll(/(?:from|import\()\s*"(\.{1,2}\/[^"]*)\.js"/g))
      visit(join(dirname(file), `${m[1]}.d.ts`));
  };
  visit(entry);
  for (const e of readdirSync(out, { recursive: true, withFileTypes: true })) {
    const file = join(e.parentPath, e.name);
    if (e.isFile() && e.name.endsWith(".d.ts") && !reached.has(file)) rmSync(file);
  }
}

await Promise.all([
  declarations(),
  build({
    ...common,
    entryPoints: [join(root, "lib", "cli.ts")],
    outfile: join(dist, "cli.mjs"),
    // dynalite and its LevelDB bindings are an optional peer dependency: the CLI imports it only to run the
    // embedded store, and says how to install it when it is missing (lib/store/local.ts).
    external: ["dynalite"],
    banner: { js: `#!/usr/bin/env node\n${cjsShim}` },
  }),
  // The query API for downstream Lambdas (`image-sync/query`): their own AWS SDK is used, not a bundled copy.
  // valibot (the query events' schema) is bundled: the declarations write the types out and never name it.
  build({
    ...common,
    entryPoints: [join(root, "lib", "query", "index.ts")],
    outfile: join(dist, "query.mjs"),
    external: peers,
  }),
  // One build per handler, with code splitting: what the handler imports statically stays in its entry
  // (and chunks it shares with its lazy imports), while every dynamic import() becomes a chunk loaded only
  // when called: the AWS SDK's credential providers other than the environment's (SSO, INI files, process,
  // web identity, STS: never used in Lambda), the SSM client and the fan-out code. Chunks go to
  // dist/handlers/chunks/<handler>/ so each function packages exactly its own files (serverless.yml);
  // not to dist/handlers/<handler>/, which the Lambda runtime would try to load in place of <handler>.mjs.
  ...handlers.map((name) =>
    build({
      ...common,
      // The functions run on nodejs22.x (serverless.yml); the CLI and the library keep Node 20.
      target: "node22",
      entryPoints: [join(root, "handlers", `${name}.ts`)],
      outdir: join(dist, "handlers"),
      outExtension: { ".js": ".mjs" },
      splitting: true,
      chunkNames: `chunks/${name}/[name]-[hash]`,
      minify: true,
      // The AWS SDK's ES module builds tree-shake far better than its CommonJS ones (smaller, faster cold start).
      mainFields: ["module", "main"],
      // Maps keep line numbers for stack traces; the sources themselves would triple the zip.
      sourcesContent: false,
      external: ["dynalite"],
      banner: { js: cjsShim },
    }),
  ),
]);
