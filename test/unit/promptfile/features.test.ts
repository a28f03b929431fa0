import * as assert from "assert";
import { TextDocument } from "vscode-languageserver-textdocument";
import { CompletionItemKind, DiagnosticSeverity, SymbolKind, type Diagnostic } from "vscode-languageserver";
import { parsePromptFile, type PromptFile, type Range } from "../../../src/engine";
import { PromptFileCommands, type BuildVectorArgs, type ProbeTextArgs, type RunPatchingArgs } from "../../../src/protocol/promptFile";
import { computeCodeLenses } from "../../../src/server/language/codeLens";
import { computeCompletions } from "../../../src/server/language/completion";
import { computeDiagnostics } from "../../../src/server/language/diagnostics";
import { DEFAULT_SETTINGS } from "../../../src/server/language/facade";
import { computeHover } from "../../../src/server/language/hover";
import { computeInlayHints, formatProb } from "../../../src/server/language/inlayHints";
import { computeFoldingRanges, computeSymbols } from "../../../src/server/language/symbols";
import { makeFacade, type TestFacade } from "./facades";

const URI = "file:///work/demo/t.introspect";
function open(text: string): { doc: TextDocument; file: PromptFile } {
  const doc = TextDocument.create(URI, "introspect", 1, text);
  return { doc, file: parsePromptFile(doc.getText()) };
}
const textOf = (doc: TextDocument, r: Range) => doc.getText(r);
const NEVER = { isCancellationRequested: false };
const msg = (d: Diagnostic) => (typeof d.message === "string" ? d.message : d.message.value);

const IOI = `model demo-llama
prompt store
  When Mary and John went to the store, John gave a drink to
patch swap
  clean    When Mary and John went to the store, John gave a drink to
  corrupt  When Mary and John went to the store, Mary gave a drink to
  answer   " Mary"
  wrong    " John"
  sites    resid_pre attn_out router_logits
  layers   0 2-5
contrast mood
  layer 9
  + I loved it
  - I hated it
`;

let facade: TestFacade;
before(async () => {
  facade = await makeFacade();
  console.log(`      (language features tested with: ${facade.source})`);
});

describe("prompt-file diagnostics", () => {
  const diags = (text: string, settings = DEFAULT_SETTINGS): { doc: TextDocument; d: Diagnostic[] } => {
    const { doc, file } = open(text);
    return { doc, d: computeDiagnostics(file, facade, settings) };
  };

  it("accepts single-token answers and flags layers and sites the model lacks", () => {
    const { doc, d } = diags(IOI);
    const byCode = (c: string) => d.filter((x) => x.code === c);
    assert.deepStrictEqual(byCode("answer-not-one-token"), []);
    assert.deepStrictEqual(
      byCode("layer-out-of-range").map((x) => textOf(doc, x.range)),
      ["2-5", "9"],
    );
    assert.match(msg(byCode("layer-out-of-range")[0]), /layers 0-3/);
    assert.deepStrictEqual(
      byCode("site-unavailable").map((x) => textOf(doc, x.range)),
      ["router_logits"],
    );
    assert.ok(d.every((x) => x.source === "introspect"));
  });

  it("shows how a multi-token answer tokenises, at the answer's exact range", () => {
    const { doc, d } = diags(IOI.replace('" Mary"', '" Mary and the tall John"'));
    const bad = d.filter((x) => x.code === "answer-not-one-token");
    assert.strictEqual(bad.length, 1);
    assert.strictEqual(bad[0].severity, DiagnosticSeverity.Error);
    assert.strictEqual(textOf(doc, bad[0].range), '" Mary and the tall John"');
    assert.match(msg(bad[0]), /is \d+ tokens after the prompt: ".*" · ".*"/);
    assert.match(msg(bad[0]), /must be a single token/);
  });

  it("says when an answer lacks its leading space or merges with the prompt", () => {
    const { doc, d } = diags(IOI.replace('" Mary"', "Mary"));
    const found = d.filter((x) => ["answer-no-space", "answer-merges", "answer-not-one-token"].includes(String(x.code)));
    assert.strictEqual(found.length, 1, JSON.stringify(d));
    assert.strictEqual(textOf(doc, found[0].range), "Mary");
  });

  it("warns about prompts over the token budget, from the file or the setting", () => {
    const file = diags("max-tokens 3\nprompt p\n  one two three four five six\n");
    const over = file.d.filter((x) => x.code === "over-budget");
    assert.strictEqual(over.length, 1);
    assert.strictEqual(textOf(file.doc, over[0].range), "one two three four five six");
    assert.match(msg(over[0]), /over the budget of 3 \(max-tokens in this file\)/);
    const setting = diags("prompt p\n  one two three four five six\n", { ...DEFAULT_SETTINGS, maxPromptTokens: 2 });
    assert.match(msg(setting.d.find((x) => x.code === "over-budget")!), /introspect\.promptFile\.maxTokens/);
    assert.deepStrictEqual(diags("prompt p\n  one two\n").d, []);
  });

  it("notes clean and corrupted prompts of different token counts", () => {
    const { doc, d } = diags(
      "patch p\n  clean When Mary and John went to the store, John gave a drink to\n  corrupt When Mary went out, she gave a drink to\n",
    );
    const m = d.filter((x) => x.code === "length-mismatch");
    assert.strictEqual(m.length, 1);
    assert.strictEqual(m[0].severity, DiagnosticSeverity.Information);
    assert.strictEqual(textOf(doc, m[0].range), "When Mary went out, she gave a drink to");
  });

  it("keeps parser errors and notes a file that names another model", () => {
    const { doc, d } = diags("model demo-moe\nprompt\n  x\n");
    assert.deepStrictEqual(d.map((x) => x.code).sort(), ["missing-name", "other-model"]);
    assert.strictEqual(textOf(doc, d.find((x) => x.code === "other-model")!.range), "demo-moe");
    assert.deepStrictEqual(
      computeDiagnostics(open("prompt\n  x\n").file, undefined, DEFAULT_SETTINGS).map((x) => x.code),
      ["missing-name"],
    );
  });
});

describe("prompt-file code lenses", () => {
  it("offers Probe, Run patching and Build steering vector with the block's content", () => {
    const { file } = open(IOI.replace("0 2-5", "0 2-3").replace("layer 9", "layer 1"));
    const lenses = computeCodeLenses(URI, file, facade);
    const titles = lenses.map((l) => `${l.range.start.line}:${l.command?.title}`);
    assert.deepStrictEqual(titles, [
      "1:$(search) Probe",
      "3:$(debug-alt) Run patching",
      "3:Probe clean",
      "10:$(symbol-event) Build steering vector",
    ]);
    const probe = lenses[0].command!;
    assert.strictEqual(probe.command, PromptFileCommands.probeText);
    const pa = probe.arguments![0] as ProbeTextArgs;
    assert.deepStrictEqual(
      { uri: pa.uri, blockName: pa.blockName, model: pa.model, text: pa.text },
      {
        uri: URI,
        blockName: "store",
        model: "demo-llama",
        text: "When Mary and John went to the store, John gave a drink to",
      },
    );
    const run = lenses[1].command!.arguments![0] as RunPatchingArgs;
    assert.strictEqual(lenses[1].command!.command, "introspect.runPatching");
    assert.deepStrictEqual(
      [run.spec.answer, run.spec.wrong, run.spec.sites, run.spec.layers],
      [" Mary", " John", ["resid_pre", "attn_out", "router_logits"], [0, 2, 3]],
    );
    const build = lenses[3].command!.arguments![0] as BuildVectorArgs;
    assert.strictEqual(lenses[3].command!.command, "introspect.buildVector");
    assert.deepStrictEqual(
      [build.blockName, build.spec.layers, build.spec.positive, build.spec.negative],
      ["mood", [1], ["I loved it"], ["I hated it"]],
    );
  });

  it("adds Open in steering panel once a vector is built, and disables lenses of broken blocks", async () => {
    const f = await makeFacade({ builtVector: (uri, name) => (uri === URI && name === "mood" ? { id: "vec-1" } : undefined) });
    const lenses = computeCodeLenses(URI, open(IOI.replace("layer 9", "layer 1")).file, f);
    const openLens = lenses.find((l) => l.command?.command === PromptFileCommands.openVector)!;
    assert.deepStrictEqual(openLens.command!.arguments, [{ uri: URI, blockName: "mood", model: "demo-llama", vectorId: "vec-1" }]);
    const broken = computeCodeLenses(URI, open("patch p\n  clean a\n  corrupt b\n  metric nope\n").file, f);
    assert.deepStrictEqual(
      broken.map((l) => [l.command!.title, l.command!.command]),
      [
        ["$(debug-alt) Run patching (fix the errors first)", ""],
        ["Probe clean (fix the errors first)", ""],
      ],
    );
    // Model checks count too: a layer the model lacks disables the patching lens of that block.
    const titles = computeCodeLenses(URI, open(IOI).file, f).map((l) => l.command!.title);
    assert.ok(
      titles.includes("$(debug-alt) Run patching (fix the errors first)") && titles.includes("$(search) Probe"),
      JSON.stringify(titles),
    );
  });
});

describe("prompt-file hover", () => {
  it("lists a prompt's tokens with ids and marks the one under the cursor", () => {
    const { doc, file } = open(IOI);
    const at = { line: 2, character: 9 }; // inside "Mary"
    const h = computeHover(file, at, facade)!;
    const md = (h.contents as { value: string }).value;
    const tokens = facade.tokenize("When Mary and John went to the store, John gave a drink to")!;
    assert.match(md, new RegExp(`\\*\\*prompt\\*\\* · ${tokens.length} tokens · demo-llama`));
    const marked = md.split("\n").filter((l) => l.startsWith("▶"));
    assert.strictEqual(marked.length, 1);
    const tok = tokens.find((t) => t.span.start <= 5 && 5 < t.span.end)!;
    assert.ok(marked[0].includes(String(tok.id)) && marked[0].includes(JSON.stringify(tok.text)), marked[0]);
    assert.ok(textOf(doc, h.range!).includes("Mary"), textOf(doc, h.range!));
  });

  it("shows probe values at the token and docs on keys and sites", async () => {
    const f = await makeFacade({ probeValues: (_t, i) => ({ rows: [{ label: "resid norm L3", value: `${i}.5` }] }) });
    const { file } = open(IOI);
    const md = (computeHover(file, { line: 2, character: 9 }, f)!.contents as { value: string }).value;
    assert.match(md, /After the last probe, at token \d+:/);
    assert.match(md, /resid norm L3: \d+\.5/);
    const key = computeHover(file, { line: 8, character: 4 }, f)!;
    assert.match((key.contents as { value: string }).value, /Sites to patch/);
    const site = computeHover(file, { line: 8, character: 22 }, f)!;
    assert.match((site.contents as { value: string }).value, /Attention output/);
    assert.match((computeHover(file, { line: 0, character: 0 }, f)!.contents as { value: string }).value, /Model to use/);
    assert.strictEqual(computeHover(file, { line: 0, character: 8 }, f), undefined);
  });

  it("maps tokens of a quoted answer back through its quotes", () => {
    const { doc, file } = open(IOI);
    const h = computeHover(file, { line: 6, character: 13 }, facade)!;
    assert.match((h.contents as { value: string }).value, /\*\*answer\*\*/);
    assert.strictEqual(textOf(doc, h.range!).trim(), "Mary");
  });
});

describe("prompt-file inlay hints", () => {
  const all: Range = { start: { line: 0, character: 0 }, end: { line: 99, character: 0 } };
  it("are off by default and put the next token at the end of each prompt when on", async () => {
    const f = await makeFacade({ predictNext: async (t) => ({ text: t.endsWith("to") ? " Mary" : " x", id: 42, prob: 0.625 }) });
    const { doc, file } = open(IOI);
    assert.deepStrictEqual(await computeInlayHints(file, all, f, DEFAULT_SETTINGS, NEVER), []);
    const hints = await computeInlayHints(file, all, f, { ...DEFAULT_SETTINGS, inlayNextToken: true }, NEVER);
    assert.deepStrictEqual(
      hints.map((h) => [h.position, h.label]),
      [
        [{ line: 2, character: 60 }, '→ " Mary" 63%'],
        [{ line: 4, character: 69 }, '→ " Mary" 63%'],
        [{ line: 5, character: 69 }, '→ " Mary" 63%'],
      ],
    );
    assert.strictEqual(doc.getText({ start: { line: 2, character: 58 }, end: hints[0].position }), "to");
    const some = await computeInlayHints(
      file,
      { start: { line: 3, character: 0 }, end: { line: 4, character: 0 } },
      f,
      { ...DEFAULT_SETTINGS, inlayNextToken: true },
      NEVER,
    );
    assert.strictEqual(some.length, 2);
    assert.deepStrictEqual(
      await computeInlayHints(file, all, f, { ...DEFAULT_SETTINGS, inlayNextToken: true }, { isCancellationRequested: true }),
      [],
    );
    assert.deepStrictEqual([formatProb(1), formatProb(0.05), formatProb(0.0001)], ["100%", "5.0%", "<0.1%"]);
  });
});

describe("prompt-file completion and outline", () => {
  const labels = (text: string, line: number, character: number) => {
    const { doc, file } = open(text);
    const lineText = doc.getText({ start: { line, character: 0 }, end: { line, character: 999 } }).replace(/\n$/, "");
    return computeCompletions(file, lineText, { line, character }, facade).map((c) => c.label);
  };

  it("completes block keywords and option keys at column 0, keys inside blocks", () => {
    assert.deepStrictEqual(labels("pr", 0, 2), [
      "prompt",
      "contrast",
      "patch",
      "options",
      "model",
      "max-tokens",
      "max-new-tokens",
      "seed",
      "experts",
      "shift-reference",
      "shift-layer",
    ]);
    assert.deepStrictEqual(labels("patch p\n  cl", 1, 4), ["clean", "corrupt", "answer", "wrong", "sites", "layers", "metric"]);
    assert.deepStrictEqual(labels("contrast c\n  \n", 1, 2), [
      "layer",
      "position",
      "method",
      "paired",
      "normalize",
      "site",
      "count",
      "+",
      "-",
    ]);
    assert.deepStrictEqual(labels("prompt p\n  text", 1, 6), []);
  });

  it("completes sites the model has, layer numbers, enum words and models", () => {
    assert.deepStrictEqual(labels("patch p\n  sites resid_pre ", 1, 18), ["resid_post", "attn_out", "mlp_out"]);
    assert.deepStrictEqual(labels("contrast c\n  layer 1 ", 1, 10), ["0", "2", "3"]);
    assert.deepStrictEqual(labels("contrast c\n  method ", 1, 9), ["diffmeans", "pca"]);
    assert.deepStrictEqual(labels("contrast c\n  paired ", 1, 9), ["yes", "no"]);
    assert.deepStrictEqual(labels("model ", 0, 6), ["demo-llama", "demo-moe", "demo-gpt2"]);
    const { file } = open("pa");
    const patch = computeCompletions(file, "pa", { line: 0, character: 2 }, facade).find((c) => c.label === "patch")!;
    assert.strictEqual(patch.kind, CompletionItemKind.Keyword);
    assert.match(String(patch.insertText), /answer {3}"\$4"/);
  });

  it("folds each block from its header to its last line", () => {
    assert.deepStrictEqual(computeFoldingRanges(open(IOI).file), [
      { startLine: 1, endLine: 2 },
      { startLine: 3, endLine: 9 },
      { startLine: 10, endLine: 13 },
    ]);
    assert.deepStrictEqual(computeFoldingRanges(open("prompt\n").file), []);
  });

  it("outlines blocks with their prompts", () => {
    const symbols = computeSymbols(open(IOI).file);
    assert.deepStrictEqual(
      symbols.map((s) => [s.name, s.kind, s.range.start.line, s.range.end.line]),
      [
        ["store", SymbolKind.String, 1, 2],
        ["swap", SymbolKind.Function, 3, 9],
        ["mood", SymbolKind.Class, 10, 13],
      ],
    );
    assert.deepStrictEqual(
      symbols[1].children!.map((c) => [c.name, c.detail]),
      [
        ["clean", "When Mary and John went to the store, John gave a drink to"],
        ["corrupt", "When Mary and John went to the store, Mary gave a drink to"],
        ["answer", " Mary"],
        ["wrong", " John"],
      ],
    );
  });
});
