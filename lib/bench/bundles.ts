// Bundle figures for the Lambda handlers (`npm run bench:bundles`): zipped size and cold import time, with
// the AWS SDK bundled (what ships) and excluded (what relying on the runtime's SDK would give), so the
// choice recorded in the README is a measured one. Run `npm run build` first.
//
// Each handler is an entry file plus its chunks (lib/build/build.mjs splits out what is imported lazily).
// The zip holds every file the function ships (serverless.yml: entry, map, dist/handlers/chunks/<handler>/),
// lazily loaded chunks included; "at import" is the part a cold start evaluates: the entry and the chunks it
// imports statically, followed transitively.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { build } from "esbuild";
import { renderTable } from "../sync/summary.ts";

const root = process.cwd();
const handlers = readdirSync(join(root, "handlers")).filter((f) => f.endsWith(".ts"));
const env = {
  ...process.env,
  TABLE_NAME: "images",
  EVENT_BUS_NAME: "bus",
  AWS_REGION: "eu-central-1",
  IMAGE_SYNC_CONFIG: JSON.stringify({ accounts: [{ name: "a", api: "zenlayer-bmc", credentials: { token: "t" } }] }),
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
};

/** The files one function ships: the entry, its map and everything under its chunk directory. */
function shippedFiles(entry: string, chunkDir: string): string[] {
  const chunks = existsSync(chunkDir)
    ? readdirSync(chunkDir, { recursive: true, encoding: "utf8" })
        .map((f) => join(chunkDir, f))
        .filter((f) => statSync(f).isFile())
    : [];
  return [entry, `${entry}.map`, ...chunks.sort()];
}

function zipSize(files: string[], base: string, dir: string): number {
  const out = join(dir, `${Date.now()}-${Math.random()}.zip`);
  execFileSync("python3", [
    "-c",
    "import sys,zipfile;z=zipfile.ZipFile(sys.argv[1],'w',zipfile.ZIP_DEFLATED)\nfor f in sys.argv[3:]: z.write(f,__import__('os').path.relpath(f,sys.argv[2]))\nz.close()",
    out,
    base,
    ...files,
  ]);
  return statSync(out).size;
}

// Static imports in esbuild's output (`import{a as b}from"./x.mjs"`, `import"./x.mjs"`, `export{…}from"./x.mjs"`);
// dynamic ones (`import("./x.mjs")`) do not match, as they are not evaluated at import.
const STATIC_IMPORT = /\b(?:import|export)\s*(?:[\w$\s{},*]*?\bfrom\s*)?["'](\.{1,2}\/[^"']+)["']/g;

/** Bytes of the entry and every chunk it imports statically (transitively): what a cold import evaluates. */
function staticBytes(entry: string): number {
  const seen = new Set<string>();
  const todo = [resolve(entry)];
  let bytes = 0;
  for (let file = todo.pop(); file !== undefined; file = todo.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(file, "utf8");
    bytes += Buffer.byteLength(text);
    for (const m of text.matchAll(STATIC_IMPORT)) todo.push(resolve(dirname(file), m[1] as string));
  }
  return bytes;
}

// The functions run with the NODE_OPTIONS serverless.yml gives them (source maps on for stack traces, which
// costs import time: the maps are read at load), so the import is measured with them too.
const deployedNodeOptions = /^\s*NODE_OPTIONS:\s*(.+)$/m.exec(readFileSync(join(root, "serverless.yml"), "utf8"))?.[1];
const nodeOptions = (deployedNodeOptions ?? "").trim().split(/\s+/).filter(Boolean);

/** Median milliseconds to import the bundle in a fresh Node process (module evaluation included). */
function importMs(file: string, runs = 7): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(
      process.execPath,
      [
        ...nodeOptions,
        "--input-type=module",
        "-e",
        `const t=performance.now();await import(${JSON.stringify(file)});console.log(performance.now()-t)`,
      ],
      { env, encoding: "utf8" },
    );
    if (r.status !== 0) throw new Error(`import of ${file} failed: ${r.stderr}`);
    times.push(Number(r.stdout.trim()));
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;

// Inside the project, so the SDK-excluded variant resolves @aws-sdk/* from node_modules as the runtime would.
mkdirSync(join(root, "dist"), { recursive: true });
const dir = mkdtempSync(join(root, "dist", "bundles-"));
const rows: string[][] = [];
for (const h of handlers) {
  const name = h.replace(/\.ts$/, "");
  const shippedDir = join(root, "dist", "handlers");
  const externalDir = join(dir, `${name}-external`);
  // The same options as the shipped build (lib/build/build.mjs), with the AWS SDK left to the runtime.
  await build({
    entryPoints: [join(root, "handlers", h)],
    outdir: externalDir,
    outExtension: { ".js": ".mjs" },
    splitting: true,
    chunkNames: `chunks/${name}/[name]-[hash]`,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    legalComments: "none",
    external: ["@aws-sdk/*", "dynalite"],
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    logLevel: "error",
  });
  for (const [variant, base] of [
    ["SDK bundled (shipped)", shippedDir],
    ["SDK excluded", externalDir],
  ] as const) {
    const entry = join(base, `${name}.mjs`);
    if (!existsSync(entry)) throw new Error(`${relative(root, entry)} is missing: run npm run build first`);
    const files = shippedFiles(entry, join(base, "chunks", name));
    const code = files.filter((f) => f.endsWith(".mjs"));
    rows.push([
      name,
      variant,
      String(code.length),
      kib(code.reduce((n, f) => n + statSync(f).size, 0)),
      kib(staticBytes(entry)),
      kib(zipSize(files, base, dir)),
      `${importMs(entry).toFixed(0)} ms`,
    ]);
  }
}
rmSync(dir, { recursive: true, force: true });
process.stdout.write(
  `${renderTable(["handler", "variant", "files", "bundle", "at import", "zip", "import (median of 7)"], rows)}\n` +
    `(imported with the functions' NODE_OPTIONS from serverless.yml: ${nodeOptions.join(" ") || "none"})\n`,
);
