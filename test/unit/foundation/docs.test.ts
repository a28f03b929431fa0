// ARCHITECTURE.md is a map: every file or folder it names must exist.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";

const ROOT = path.join(__dirname, "../../..");
const ROOTS = ["src/", "test/", "webview/", "scripts/", "tools/", "bench/", "media/", "models/", "demo/", "syntaxes/", "docs/", ".ci/"];

/** Paths in backticks that start with a top-level folder; placeholders (<app>, {L}, *) are not paths. */
export function namedPaths(markdown: string): string[] {
  const out = new Set<string>();
  for (const m of markdown.matchAll(/`([^`\s]+)`/g)) {
    let p = m[1].replace(/[),.:;]+$/, "");
    if (!ROOTS.some((r) => p.startsWith(r))) continue;
    if (/[<>{}*]|\.\.\./.test(p)) continue;
    p = p.split(/[#:]/)[0];
    out.add(p);
  }
  return [...out].sort();
}

describe("ARCHITECTURE.md", () => {
  it("names only paths that exist", () => {
    const names = namedPaths(fs.readFileSync(path.join(ROOT, "ARCHITECTURE.md"), "utf8"));
    assert.ok(names.length > 40, `only ${names.length} paths found: the extraction is broken`);
    const missing = names.filter((p) => !fs.existsSync(path.join(ROOT, p)));
    assert.deepStrictEqual(missing, []);
  });
  it("the check can fail: a made-up path is reported", () => {
    const names = namedPaths("see `src/engine/nothing-here.ts` and `src/engine/index.ts`");
    assert.deepStrictEqual(
      names.filter((p) => !fs.existsSync(path.join(ROOT, p))),
      ["src/engine/nothing-here.ts"],
    );
  });
});
