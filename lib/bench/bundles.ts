// Bundle figures for the Lambda handlers (`npm run bench:bundles`): zipped size and cold import time, with
// the AWS SDK bundled (what ships) and excluded (what relying on the runtime's SDK would give), so the
// choice recorded in the README is a measured one. Run `npm run build` first.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
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

function zipSize(file: string, dir: string): number {
  const out = join(dir, `${Date.now()}-${Math.random()}.zip`);
  execFileSync("python3", [
    "-c",
    "import sys,zipfile;z=zipfile.ZipFile(sys.argv[1],'w',zipfile.ZIP_DEFLATED);z.write(sys.argv[2],'h.mjs');z.write(sys.argv[2]+'.map','h.mjs.map');z.close()",
    out,
    file,
  ]);
  return statSync(out).size;
}

/** Median milliseconds to import the bundle in a fresh Node process (module evaluation included). */
function importMs(file: string, runs = 7): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(
      process.execPath,
      [
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

// Inside the project, so the SDK-excluded variant resolves @aws-sdk/* from node_modules as the runtime would.
mkdirSync(join(root, "dist"), { recursive: true });
const dir = mkdtempSync(join(root, "dist", "bundles-"));
const rows: string[][] = [];
for (const h of handlers) {
  const name = h.replace(/\.ts$/, "");
  const shipped = join(root, "dist", "handlers", `${name}.mjs`);
  const external = join(dir, `${name}-external.mjs`);
  await build({
    entryPoints: [join(root, "handlers", h)],
    outfile: external,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    external: ["@aws-sdk/*", "dynalite"],
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    logLevel: "error",
  });
  for (const [variant, file] of [
    ["SDK bundled (shipped)", shipped],
    ["SDK excluded", external],
  ] as const) {
    rows.push([
      name,
      variant,
      `${(statSync(file).size / 1024).toFixed(0)} KiB`,
      `${(zipSize(file, dir) / 1024).toFixed(0)} KiB`,
      `${importMs(file).toFixed(0)} ms`,
    ]);
  }
}
process.stdout.write(`${renderTable(["handler", "variant", "bundle", "zip", "import (median of 7)"], rows)}\n`);
