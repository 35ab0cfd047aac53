// The hash of the code that turns a provider's reply into images (lib/sync/pages.ts PAGE_FORMAT): a bundle
// built from other parsing code must not recognise pages recorded by this one. Plain JavaScript, for the builds.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

// A file listed here that is gone fails the build: the list must follow the code it names.
const PARSING = [
  "lib/providers",
  "lib/model.ts",
  "lib/sync/hash.ts",
  "lib/sync/engine.ts",
  "lib/sync/pages.ts",
  "lib/sync/sweep.ts",
];

function files(path) {
  try {
    return readdirSync(path, { withFileTypes: true })
      .flatMap((e) => files(join(path, e.name)))
      .sort();
  } catch {
    return path.endsWith(".ts") ? [path] : [];
  }
}

export function parserHash(root) {
  const hash = createHash("sha256");
  for (const file of PARSING.flatMap((p) => files(join(root, p))))
    hash.update(`${relative(root, file)}\n`).update(readFileSync(file));
  return hash.digest("hex").slice(0, 12);
}

/** esbuild's `define` for the bundles. */
export const parserDefine = (root) => ({ __IMAGE_SYNC_PARSER_HASH__: JSON.stringify(parserHash(root)) });
