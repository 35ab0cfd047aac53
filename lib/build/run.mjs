// Runs a TypeScript entry point of the project (a benchmark, the soak): bundles it with esbuild into
// dist/run/ and executes it with the remaining arguments. Plain JavaScript, like build.mjs.
import { spawnSync } from "node:child_process";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { parserDefine } from "./parser-hash.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error("usage: node lib/build/run.mjs <entry.ts> [args...]");
  process.exit(2);
}
const outfile = join(root, "dist", "run", `${basename(entry, ".ts")}.mjs`);
await build({
  entryPoints: [join(root, entry)],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: true,
  logLevel: "warning",
  define: parserDefine(root),
  external: ["dynalite", "@aws-sdk/*", "undici", "esbuild"],
  banner: {
    js: "import { createRequire as __isCreateRequire } from 'node:module'; const require = __isCreateRequire(import.meta.url);",
  },
});
const result = spawnSync(process.execPath, ["--enable-source-maps", outfile, ...args], { stdio: "inherit" });
process.exit(result.status ?? 1);
