// Feeds the parser thousands of random and mutated files (seeded, so failures reproduce) and
// checks that it never throws, never reports an internal error, and that every range it
// returns lies inside the document.
import * as assert from "assert";
import { readFileSync, readdirSync, existsSync } from "fs";
import * as path from "path";
import { TextDocument } from "vscode-languageserver-textdocument";
import {
  parsePromptFile,
  positionToTextOffset,
  textOffsetToPosition,
  textsOf,
  type Position,
  type PromptFile,
  type Range,
} from "../../../src/engine";

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEEDS = [
  "model demo-llama\n",
  "prompt p\n  When Mary and John went to the store, John gave a drink to\n",
  'patch ioi\n  clean a b c\n  corrupt d e f\n  answer " Mary"\n  wrong " John" # x\n  sites resid_pre attn_out\n  layers 0-3\n  metric prob\n',
  "contrast s\n  layer 2\n  position last\n  method pca\n  paired yes\n  + good\n    more\n  - bad\n",
  "options\n  max-tokens 12\n  seed 1\n",
];
const demoDir = path.join(__dirname, "../../../demo");
const demoFiles = existsSync(demoDir)
  ? readdirSync(demoDir)
      .filter((f) => f.endsWith(".introspect"))
      .map((f) => readFileSync(path.join(demoDir, f), "utf8"))
  : [];

const ATOMS = [
  "prompt",
  "patch",
  "contrast",
  "options",
  "model",
  "clean",
  "corrupt",
  "answer",
  "wrong",
  "sites",
  "layer",
  "layers",
  "position",
  "method",
  "paired",
  "metric",
  "+",
  "-",
  "#",
  '"',
  "\\",
  "\\u{",
  "\\u12",
  "\\n",
  "\n",
  "\r\n",
  "\r",
  "\t",
  " ",
  "  ",
  "    ",
  "0",
  "3-1",
  "2..5",
  "999999999",
  "-",
  ",",
  "yes",
  "pca",
  "last",
  "resid_pre",
  "blocks.3.hook_resid_post",
  "😀",
  "\ud800",
  "\udc00",
  "\uFEFF",
  "\u00a0",
  "\u2028",
  "é",
  "名前",
  "\0",
  "max-tokens",
  "x",
];

function randomFile(rnd: () => number): string {
  let s = "";
  const n = Math.floor(rnd() * 60);
  for (let i = 0; i < n; i++) {
    const r = rnd();
    if (r < 0.7) s += ATOMS[Math.floor(rnd() * ATOMS.length)];
    else if (r < 0.9) s += String.fromCharCode(32 + Math.floor(rnd() * 95));
    else s += String.fromCharCode(Math.floor(rnd() * 0x10000));
  }
  return s;
}

function mutate(src: string, rnd: () => number): string {
  let s = src;
  const edits = 1 + Math.floor(rnd() * 6);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(rnd() * (s.length + 1));
    const r = rnd();
    if (r < 0.3)
      s = s.slice(0, at) + s.slice(at + 1 + Math.floor(rnd() * 8)); // delete
    else if (r < 0.6)
      s = s.slice(0, at) + ATOMS[Math.floor(rnd() * ATOMS.length)] + s.slice(at); // insert atom
    else if (r < 0.8) {
      const from = Math.floor(rnd() * s.length); // duplicate a slice elsewhere
      s = s.slice(0, at) + s.slice(from, from + Math.floor(rnd() * 40)) + s.slice(at);
    } else s = s.slice(0, at) + String.fromCharCode(Math.floor(rnd() * 0x10000)) + s.slice(at);
  }
  return s;
}

/** Every range the model exposes. */
function allRanges(f: PromptFile): Range[] {
  const out: Range[] = f.diagnostics.map((d) => d.range);
  const o = f.options;
  for (const v of [o.model, o.maxTokens, o.maxNewTokens, o.seed]) if (v) out.push(v.range);
  for (const e of o.entries) out.push(e.key.range, e.range, ...(e.raw ? [e.raw.range] : []));
  for (const b of f.blocks) {
    out.push(b.range, b.headerRange, b.keyword.range, ...(b.name ? [b.name.range] : []));
    for (const e of b.entries) out.push(e.key.range, e.range, ...(e.raw ? [e.raw.range] : []));
    for (const t of textsOf(b)) out.push(t.value.range);
    if (b.kind === "contrast")
      out.push(
        ...b.layers.map((x) => x.range),
        ...[b.position, b.method, b.paired, b.normalize, b.site].flatMap((x) => (x ? [x.range] : [])),
      );
    if (b.kind === "patch")
      out.push(...b.layers.map((x) => x.range), ...b.sites.map((x) => x.range), ...(b.metric ? [b.metric.range] : []));
  }
  return out;
}

function checkInside(doc: TextDocument, f: PromptFile, src: string): void {
  const inside = (p: Position, what: string) => {
    const roundTrip = doc.positionAt(doc.offsetAt(p));
    assert.deepStrictEqual(roundTrip, p, `${what} ${JSON.stringify(p)} lies outside the document ${JSON.stringify(src)}`);
  };
  assert.strictEqual(f.lineCount, doc.lineCount);
  for (const r of allRanges(f)) {
    inside(r.start, "range start");
    inside(r.end, "range end");
    assert.ok(doc.offsetAt(r.start) <= doc.offsetAt(r.end), `range runs backwards: ${JSON.stringify(r)} in ${JSON.stringify(src)}`);
  }
  for (const b of f.blocks)
    for (const { value } of textsOf(b)) {
      // Every offset of short texts; about 64 spread over long ones (the demo files' prompts).
      const step = Math.max(1, Math.floor(value.text.length / 64));
      const offsets = new Set<number>([value.text.length]);
      for (let k = 0; k < value.text.length; k += step) offsets.add(k);
      for (const k of offsets) {
        const p = textOffsetToPosition(value, k);
        inside(p, "text offset");
        const back = positionToTextOffset(value, p);
        assert.ok(back !== undefined && back <= k, `offset ${k} -> ${JSON.stringify(p)} -> ${back} in ${JSON.stringify(src)}`);
      }
    }
}

describe("prompt-file parser fuzz", function () {
  this.timeout(60000);
  const CASES = 4000;
  const BUDGET_MS = 30000;

  it(`survives ${CASES} random and mutated files with ranges inside the document`, () => {
    const rnd = mulberry32(20261128);
    const bases = [...SEEDS, SEEDS.join("\n"), ...demoFiles];
    const t0 = Date.now();
    let n = 0;
    for (; n < CASES && Date.now() - t0 < BUDGET_MS; n++) {
      const src = n % 3 === 0 ? randomFile(rnd) : mutate(bases[n % bases.length], rnd);
      let f: PromptFile;
      try {
        f = parsePromptFile(src);
      } catch (e) {
        assert.fail(`parser threw on case ${n}: ${String(e)}\n${JSON.stringify(src)}`);
      }
      const internal = f.diagnostics.find((d) => d.code === "internal");
      assert.ok(!internal, `internal error on case ${n}: ${internal?.message}\n${JSON.stringify(src)}`);
      checkInside(TextDocument.create("file:///f.introspect", "introspect", 1, src), f, src);
    }
    // The time budget keeps a busy machine from timing out; an idle one runs all cases in a few
    // seconds, and at least a thousand must have run.
    assert.ok(n >= 1000, `only ${n} cases ran within ${BUDGET_MS} ms`);
  });

  it("parses a large file in linear time", () => {
    const big = SEEDS.join("\n")
      .replace(/(prompt|patch|contrast) (\w+)/g, "$1 $2_N")
      .repeat(1);
    const blocks = Array.from({ length: 2000 }, (_, i) => big.replace(/_N/g, `_${i}`)).join("\n");
    const t0 = Date.now();
    const f = parsePromptFile(blocks);
    assert.strictEqual(f.blocks.length, 2000 * 4);
    assert.ok(Date.now() - t0 < 15000, `took ${Date.now() - t0} ms`);
  });
});
