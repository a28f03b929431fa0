// ARCHITECTURE.md is a map, docs/*.md its detail: every file or folder they name must exist.
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
  it("is one page: a map, not the detail (that is in docs/)", () => {
    const lines = fs.readFileSync(path.join(ROOT, "ARCHITECTURE.md"), "utf8").split("\n").length;
    assert.ok(lines <= 160, `ARCHITECTURE.md has ${lines} lines`);
  });
  it("the check can fail: a made-up path is reported", () => {
    const names = namedPaths("see `src/engine/nothing-here.ts` and `src/engine/index.ts`");
    assert.deepStrictEqual(
      names.filter((p) => !fs.existsSync(path.join(ROOT, p))),
      ["src/engine/nothing-here.ts"],
    );
  });
});

describe("docs/*.md", () => {
  const files = fs.readdirSync(path.join(ROOT, "docs")).filter((f) => f.endsWith(".md"));
  it("exist, and ARCHITECTURE.md links every one", () => {
    assert.ok(files.length >= 8, `docs: ${files.join(", ")}`);
    const map = fs.readFileSync(path.join(ROOT, "ARCHITECTURE.md"), "utf8");
    assert.deepStrictEqual(
      files.filter((f) => !map.includes(`(docs/${f})`)),
      [],
    );
  });
  for (const f of files)
    it(`${f} names only paths that exist, and its links resolve`, () => {
      const text = fs.readFileSync(path.join(ROOT, "docs", f), "utf8");
      const missing = namedPaths(text).filter((p) => !fs.existsSync(path.join(ROOT, p)));
      assert.deepStrictEqual(missing, []);
      const links = [...text.matchAll(/\]\(([^)#\s]+\.md)\)/g)].map((m) => m[1]);
      assert.deepStrictEqual(
        links.filter((l) => !fs.existsSync(path.join(ROOT, "docs", l))),
        [],
      );
    });
});
