// Bundles the CLI, the library entry, the query API and each Lambda handler with esbuild (ESM, Node 20+).
// Plain JavaScript so that `npm install` (prepare) can run it before anything is compiled.
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

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
};

const handlers = readdirSync(join(root, "handlers"))
  .filter((f) => f.endsWith(".ts"))
  .map((f) => join(root, "handlers", f));

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
  build({
    ...common,
    entryPoints: handlers,
    outdir: join(root, "dist", "handlers"),
    outExtension: { ".js": ".mjs" },
    minify: true,
    // The AWS SDK's ES module builds tree-shake far better than its CommonJS ones (smaller, faster cold start).
    mainFields: ["module", "main"],
    // Maps keep line numbers for stack traces; the sources themselves would triple the zip.
    sourcesContent: false,
    external: ["dynalite"],
    banner: { js: cjsShim },
  }),
]);
