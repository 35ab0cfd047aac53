// Bundles the CLI, the library entry, the query API (ESM, Node 20+) and each Lambda handler (Node 22) with esbuild.
// Plain JavaScript so that `npm install` (prepare) can run it before anything is compiled.
import { readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { parserDefine } from "./parser-hash.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
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

const handlers = readdirSync(join(root, "handlers"))
  .filter((f) => f.endsWith(".ts"))
  .map((f) => f.slice(0, -".ts".length));

// Chunk file names carry content hashes: start from an empty directory so no stale chunk is packaged.
rmSync(join(root, "dist", "handlers"), { recursive: true, force: true });

await Promise.all([
  build({
    ...common,
    entryPoints: [join(root, "lib", "cli.ts")],
    outfile: join(root, "dist", "cli.mjs"),
    // dynalite and its LevelDB bindings stay in node_modules: the embedded store is a runtime dependency.
    external: ["dynalite"],
    banner: { js: `#!/usr/bin/env node\n${cjsShim}` },
  }),
  build({
    ...common,
    entryPoints: [join(root, "lib", "index.ts")],
    outfile: join(root, "dist", "index.mjs"),
    external: ["dynalite", "@aws-sdk/*", "undici"],
    banner: { js: cjsShim },
  }),
  // The query API for downstream Lambdas (`image-sync/query`): their own AWS SDK is used, not a bundled copy.
  build({
    ...common,
    entryPoints: [join(root, "lib", "query", "index.ts")],
    outfile: join(root, "dist", "query.mjs"),
    external: ["@aws-sdk/*"],
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
      outdir: join(root, "dist", "handlers"),
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
