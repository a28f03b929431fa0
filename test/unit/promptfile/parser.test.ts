import * as assert from "assert";
import { readFileSync } from "fs";
import * as path from "path";
import {
  parsePromptFile,
  positionToTextOffset,
  textAt,
  textOffsetToPosition,
  toContrastSpec,
  toPatchSpec,
  type ContrastBlock,
  type PatchBlock,
  type PromptBlock,
  type Range,
} from "../../../src/engine";

const r = (l: number, a: number, b: number, l2 = l): Range => ({ start: { line: l, character: a }, end: { line: l2, character: b } });
const codes = (src: string) => parsePromptFile(src).diagnostics.map((d) => d.code);

const IOI = `# Indirect object identification
model demo-llama

prompt greeting
  When Mary and John went to the store, John gave a drink to

patch ioi
  clean    When Mary and John went to the store, John gave a drink to
  corrupt  When Mary and John went to the store, Mary gave a drink to
  answer   " Mary"
  wrong    " John"   # the subject
  sites    resid_pre attn_out mlp_out

contrast sentiment
  layer 2
  position mean
  method diffmeans
  + I loved this film, it was wonderful
  - I hated this film, it was awful
`;

describe("prompt-file parser", () => {
  it("reads a well-formed file without diagnostics", () => {
    const f = parsePromptFile(IOI);
    assert.deepStrictEqual(f.diagnostics, []);
    assert.deepStrictEqual(
      f.blocks.map((b) => `${b.kind}:${b.name?.value}`),
      ["prompt:greeting", "patch:ioi", "contrast:sentiment"],
    );
    assert.strictEqual(f.options.model?.value, "demo-llama");
    assert.deepStrictEqual(f.options.model?.range, r(1, 6, 16));
    const p = f.blocks[0] as PromptBlock;
    assert.strictEqual(p.text?.text, "When Mary and John went to the store, John gave a drink to");
    assert.deepStrictEqual(p.text?.range, r(4, 2, 60));
    assert.deepStrictEqual(p.range, r(3, 0, 60, 4));
    assert.deepStrictEqual(p.name?.range, r(3, 7, 15));
  });

  it("keeps the leading space of quoted answers and allows a comment after them", () => {
    const b = parsePromptFile(IOI).blocks[1] as PatchBlock;
    assert.strictEqual(b.answer?.text, " Mary");
    assert.strictEqual(b.wrong?.text, " John");
    assert.deepStrictEqual(b.answer?.range, r(9, 11, 18));
    assert.deepStrictEqual(toPatchSpec(b), {
      name: "ioi",
      clean: "When Mary and John went to the store, John gave a drink to",
      corrupt: "When Mary and John went to the store, Mary gave a drink to",
      answer: " Mary",
      wrong: " John",
      sites: ["resid_pre", "attn_out", "mlp_out"],
      layers: [],
      metric: "logit-diff",
    });
    assert.deepStrictEqual(
      b.sites.map((s) => s.range),
      [r(11, 11, 20), r(11, 21, 29), r(11, 30, 37)],
    );
  });

  it("fills contrast defaults and pairs by order", () => {
    const c = parsePromptFile(IOI).blocks[2] as ContrastBlock;
    assert.deepStrictEqual(toContrastSpec(c), {
      name: "sentiment",
      layers: [2],
      position: "mean",
      method: "diffmeans",
      paired: false,
      normalize: false,
      site: undefined,
      positive: ["I loved this film, it was wonderful"],
      negative: ["I hated this film, it was awful"],
    });
    const pca = parsePromptFile("contrast c\n  method pca\n  + a\n  - b\n").blocks[0] as ContrastBlock;
    assert.strictEqual(toContrastSpec(pca).paired, true);
  });

  it("reads multi-line prompts: relative indentation, blank lines, comments, quoted lines", () => {
    const src = 'prompt code\n  def add(a, b):\n      return a + b\n\n  # a comment, skipped\n  "# kept"\n\n\nprompt next\n  x\n';
    const f = parsePromptFile(src);
    assert.deepStrictEqual(f.diagnostics, []);
    const p = f.blocks[0] as PromptBlock;
    assert.strictEqual(p.text?.text, "def add(a, b):\n    return a + b\n\n# kept");
    assert.deepStrictEqual(p.range, r(0, 0, 10, 5));
    assert.strictEqual(p.text?.quoted, true);
  });

  it("continues clean, corrupt and contrast items on deeper-indented lines", () => {
    const f = parsePromptFile("patch p\n  clean\n    one\n    two\n  corrupt three\n    four\ncontrast c\n  + pos\n    more\n  - neg\n");
    assert.deepStrictEqual(f.diagnostics, []);
    const p = f.blocks[0] as PatchBlock;
    assert.strictEqual(p.clean?.text, "one\ntwo");
    assert.deepStrictEqual(p.clean?.range, r(2, 4, 7, 3));
    assert.strictEqual(p.corrupt?.text, "three\nfour");
    assert.deepStrictEqual(
      (f.blocks[1] as ContrastBlock).positive.map((t) => t.text),
      ["pos\nmore"],
    );
  });

  it("resolves escapes and maps text offsets back to the document", () => {
    const f = parsePromptFile('patch p\n  clean a\n  corrupt b\n  answer "\\tx\\u{1F600}\\"y"\n');
    const a = (f.blocks[0] as PatchBlock).answer!;
    assert.strictEqual(a.text, '\tx\u{1F600}"y');
    // text offsets: \t=0 x=1 emoji=2,3 "=4 y=5, end=6; document: opening quote at 9
    assert.deepStrictEqual(textOffsetToPosition(a, 0), { line: 3, character: 10 });
    assert.deepStrictEqual(textOffsetToPosition(a, 2), { line: 3, character: 13 });
    assert.deepStrictEqual(textOffsetToPosition(a, 5), { line: 3, character: 24 });
    assert.deepStrictEqual(textOffsetToPosition(a, 6), { line: 3, character: 25 });
    assert.strictEqual(positionToTextOffset(a, { line: 3, character: 14 }), 2);
    assert.strictEqual(positionToTextOffset(a, { line: 3, character: 24 }), 5);
    assert.strictEqual(positionToTextOffset(a, { line: 2, character: 4 }), undefined);
  });

  it("counts UTF-16 code units in ranges", () => {
    const f = parsePromptFile("prompt p\n  😀 x\n  y\n");
    const t = (f.blocks[0] as PromptBlock).text!;
    assert.deepStrictEqual(t.range, r(1, 2, 3, 2));
    assert.deepStrictEqual(textOffsetToPosition(t, 3), { line: 1, character: 5 });
    assert.deepStrictEqual(textAt(f, { line: 2, character: 3 })?.role, "prompt");
  });

  it("handles CRLF, a byte-order mark and tabs", () => {
    const f = parsePromptFile("\uFEFFmodel demo-llama\r\nprompt p\r\n\tHello\r\n");
    assert.deepStrictEqual(f.diagnostics, []);
    assert.strictEqual((f.blocks[0] as PromptBlock).text?.text, "Hello");
    assert.deepStrictEqual((f.blocks[0] as PromptBlock).text?.range, r(2, 1, 6));
  });

  it("reports several errors at once with exact ranges", () => {
    const src = [
      "promt oops", // 0 unknown block
      "  ignored body", // 1 skipped silently
      "patch p extra words", // 2 extra after name
      "  clean c", // 3
      "  metrc x", // 4 unknown key
      '  answer " Mary', // 5 unterminated
      '  wrong "a" b', // 6 text after quote
      "contrast c", // 7
      "  layer 3-1 x", // 8 backwards, not a layer
      "  method pcaa", // 9 bad enum
      "  + a", // 10
    ].join("\n");
    const d = parsePromptFile(src).diagnostics;
    const got = d.map((x) => [x.code, x.range.start.line, x.range.start.character, x.range.end.character]);
    assert.deepStrictEqual(got, [
      ["unknown-block", 0, 0, 5],
      ["extra-after-name", 2, 8, 19],
      ["unknown-key", 4, 2, 7],
      ["unterminated-string", 5, 9, 15],
      ["text-after-quote", 6, 11, 13],
      ["missing-corrupt", 2, 6, 7],
      ["bad-layer", 8, 8, 11],
      ["bad-layer", 8, 12, 13],
      ["bad-value", 9, 9, 13],
      ["no-negative", 7, 9, 10],
    ]);
    assert.match(d[2].message, /did you mean 'metric'/);
    assert.match(d[8].message, /did you mean 'pca'/);
  });

  it("checks contrast sets: empty, unbalanced when paired, pca without pairs", () => {
    assert.deepStrictEqual(codes("contrast c\n  layer 1\n"), ["no-positive", "no-negative"]);
    const src = "contrast c\n  paired yes\n  + a\n  + b\n  - c\n";
    const d = parsePromptFile(src).diagnostics;
    assert.deepStrictEqual(
      d.map((x) => x.code),
      ["unbalanced"],
    );
    assert.deepStrictEqual(d[0].range, r(3, 4, 5));
    assert.deepStrictEqual(codes("contrast c\n  + a\n  + b\n  - c\n"), []);
    assert.deepStrictEqual(codes("contrast c\n  method pca\n  paired no\n  + a\n  - c\n"), ["pca-unpaired"]);
    assert.deepStrictEqual(codes("contrast c\n  +\n  - c\n"), ["empty-text", "no-positive"]);
  });

  it("reports names, duplicates, misplaced lines and orphans", () => {
    assert.deepStrictEqual(codes("prompt\n  x\n"), ["missing-name"]);
    assert.deepStrictEqual(codes("prompt a\n  x\nprompt a\n  y\n"), ["duplicate-name"]);
    assert.deepStrictEqual(codes("contrast c\n  layer 1\n  layer 2\n  + a\n  - b\n"), ["duplicate-key"]);
    assert.deepStrictEqual(codes("model a\noptions\n  model b\n"), ["duplicate-key"]);
    assert.deepStrictEqual(codes("clean x\n+ y\n"), ["not-in-block", "not-in-block"]);
    assert.deepStrictEqual(codes("  floating\n  text\n"), ["orphan-line"]);
    assert.deepStrictEqual(codes("prompt p\n"), ["empty-prompt"]);
    assert.deepStrictEqual(codes("patch p\n  clean a\n  corrupt b\n  answer\n  layers\n  sites blocks.3.hook_resid_post\n"), [
      "missing-value",
      "missing-value",
    ]);
    assert.deepStrictEqual(codes("options\n  max-tokens many\n  seed 3\n"), ["bad-value"]);
    assert.deepStrictEqual(codes('patch p\n  clean a\n  corrupt b\n  answer " x"\n  wrong " x"\n'), ["same-answers"]);
  });

  it("expands layer ranges and reads options", () => {
    const f = parsePromptFile("max-tokens 64\noptions\n  seed 7\ncontrast c\n  layers 1..3, 5\n  + a\n  - b\n");
    assert.deepStrictEqual(f.diagnostics, []);
    assert.strictEqual(f.options.maxTokens?.value, 64);
    assert.strictEqual(f.options.seed?.value, 7);
    assert.deepStrictEqual(toContrastSpec(f.blocks[1] as ContrastBlock).layers, [1, 2, 3, 5]);
    assert.deepStrictEqual(codes("contrast c\n  layers 0-99999\n  + a\n  - b\n"), ["bad-layer"]);
  });
});

describe("prompt-file documentation", () => {
  it("the README's example parses without diagnostics", () => {
    const readme = readFileSync(path.join(__dirname, "../../../README.md"), "utf8");
    const example = /## Prompt files[\s\S]*?```\n([\s\S]*?)```/.exec(readme)?.[1];
    assert.ok(example, "README has a Prompt files section with an example");
    const f = parsePromptFile(example);
    assert.deepStrictEqual(f.diagnostics, []);
    assert.deepStrictEqual(
      f.blocks.map((b) => b.kind),
      ["prompt", "patch", "contrast"],
    );
  });
});
