// Issue 17's rule, kept: no function in lib/ or handlers/ is longer than MAX_LINES unless a comment right above it
// says why it is not split (it mentions "split"). Measured with the TypeScript parser, from a function's first
// line to its closing brace; a factory's length includes the methods it returns.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const MAX_LINES = 60;
const root = join(import.meta.dirname, "..", "..");

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.m?ts$/.test(name) && !name.endsWith(".d.ts") && !name.endsWith(".d.mts") ? [path] : [];
  });
}

/** The comments right above a function, or above the declaration or property that holds it. */
function leadingComments(node: ts.Node, text: string): string {
  const holders: ts.Node[] = [node];
  let up: ts.Node | undefined = node.parent;
  while (
    up &&
    (ts.isVariableDeclaration(up) ||
      ts.isVariableDeclarationList(up) ||
      ts.isVariableStatement(up) ||
      ts.isPropertyAssignment(up) ||
      ts.isExportAssignment(up))
  ) {
    holders.push(up);
    up = up.parent;
  }
  return holders
    .flatMap((n) => ts.getLeadingCommentRanges(text, n.getFullStart()) ?? [])
    .map((r) => text.slice(r.pos, r.end))
    .join("\n");
}

function nameOf(node: ts.FunctionLikeDeclaration): string {
  if (node.name) return node.name.getText();
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent)) return parent.name.getText();
  return "(anonymous)";
}

function longFunctions(files: readonly string[]): string[] {
  const found: string[] = [];
  for (const file of files) {
    const text = readFileSync(file, "utf8");
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node): void => {
      if (ts.isFunctionLike(node) && "body" in node && node.body) {
        const first = source.getLineAndCharacterOfPosition(node.getStart()).line;
        const last = source.getLineAndCharacterOfPosition(node.end).line;
        const lines = last - first + 1;
        if (lines > MAX_LINES && !/split/i.test(leadingComments(node, text)))
          found.push(
            `${relative(root, file)}:${first + 1} ${nameOf(node as ts.FunctionLikeDeclaration)} (${lines} lines)`,
          );
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return found;
}

describe("function length", () => {
  it(`no function in lib/ or handlers/ is longer than ${MAX_LINES} lines without saying why`, () => {
    const files = [...sources(join(root, "lib")), ...sources(join(root, "handlers"))];
    expect(files.length).toBeGreaterThan(50);
    expect(longFunctions(files)).toEqual([]);
  });

  it("finds a long function, and accepts one whose comment says why it is not split", () => {
    const dir = mkdtempSync(join(tmpdir(), "function-length-"));
    const body = Array.from({ length: MAX_LINES }, (_, i) => `  const v${i} = ${i};`).join("\n");
    const probe = (comment: string) => `${comment}\nexport function long(): void {\n${body}\n}\n`;
    const file = join(dir, "probe.ts");
    try {
      writeFileSync(file, probe("// A long function."));
      expect(longFunctions([file])).toHaveLength(1);
      writeFileSync(file, probe("// One table of cases: splitting it would scatter it."));
      expect(longFunctions([file])).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
