// Tokenises prompt files with the TextMate grammar through vscode-textmate (the engine VS Code
// uses) and checks the scopes that highlighting depends on.
import * as assert from "assert";
import { readFileSync } from "fs";
import * as path from "path";
import * as oniguruma from "vscode-oniguruma";
import { INITIAL, Registry, parseRawGrammar, type IGrammar } from "vscode-textmate";

const ROOT = path.join(__dirname, "../../..");

async function loadGrammar(): Promise<IGrammar> {
  const wasm = readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm"));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (p) => new oniguruma.OnigScanner(p),
      createOnigString: (s) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async (scope) => {
      if (scope !== "source.introspect") return null;
      const file = path.join(ROOT, "syntaxes/introspect.tmLanguage.json");
      return parseRawGrammar(readFileSync(file, "utf8"), file);
    },
  });
  const g = await registry.loadGrammar("source.introspect");
  if (!g) throw new Error("grammar not loaded");
  return g;
}

/** [text, innermost scope] for every token of every line. */
function scopes(grammar: IGrammar, src: string): [string, string][][] {
  let stack = INITIAL;
  return src.split("\n").map((line) => {
    const r = grammar.tokenizeLine(line, stack);
    stack = r.ruleStack;
    return r.tokens.map((t) => [line.slice(t.startIndex, t.endIndex), t.scopes[t.scopes.length - 1]] as [string, string]);
  });
}

const scopeOf = (lines: [string, string][][], line: number, text: string) => lines[line].find(([t]) => t === text)?.[1];

describe("prompt-file TextMate grammar", () => {
  let grammar: IGrammar;
  before(async () => {
    grammar = await loadGrammar();
  });

  it("scopes headers, keys, answers, sites, numbers and comments", () => {
    const src = [
      "# a comment",
      "model demo-llama",
      "patch ioi # trailing",
      "  clean    When Mary and John went to the store, John gave a drink to",
      '  answer   " M\\u{61}ry"  # note',
      "  sites    resid_pre attn_out",
      "contrast s",
      "  layer 2-3",
      "  method pca",
      "  + I loved it",
      '  - "# not a comment"',
      "prompt p",
      "  # a comment inside a block",
      '  She said "hi" # and this is text',
      '  "# quoted line"',
      "  - bread",
      "  clean the kitchen",
      "# a column-0 comment does not end the prompt",
      "  sites are text here",
      "patch q",
      "  sites resid_pre",
    ].join("\n");
    const s = scopes(grammar, src);
    assert.strictEqual(scopeOf(s, 0, "# a comment"), "comment.line.number-sign.introspect");
    assert.strictEqual(scopeOf(s, 1, "model"), "keyword.other.option.introspect");
    assert.strictEqual(scopeOf(s, 2, "patch"), "keyword.control.block.introspect");
    assert.strictEqual(scopeOf(s, 2, "ioi"), "entity.name.function.introspect");
    assert.strictEqual(scopeOf(s, 2, "# trailing"), "comment.line.number-sign.introspect");
    assert.strictEqual(scopeOf(s, 3, "clean"), "variable.other.key.introspect");
    assert.strictEqual(scopeOf(s, 4, "\\u{61}"), "constant.character.escape.introspect");
    assert.strictEqual(scopeOf(s, 4, " M"), "string.quoted.double.introspect");
    assert.strictEqual(scopeOf(s, 4, "# note"), "comment.line.number-sign.introspect");
    assert.strictEqual(scopeOf(s, 5, "attn_out"), "entity.name.type.site.introspect");
    assert.strictEqual(scopeOf(s, 7, "2-3"), "constant.numeric.introspect");
    assert.strictEqual(scopeOf(s, 8, "pca"), "constant.language.introspect");
    assert.strictEqual(scopeOf(s, 9, "+"), "keyword.operator.contrast.introspect");
    assert.strictEqual(scopeOf(s, 10, "# not a comment"), "string.quoted.double.introspect");
    assert.strictEqual(scopeOf(s, 12, "  "), "source.introspect");
    assert.strictEqual(scopeOf(s, 12, "# a comment inside a block"), "comment.line.number-sign.introspect");
    // Prompt text is plain: a # or quotes in the middle of a prompt line are text.
    assert.ok(
      s[13].every(([, scope]) => scope === "source.introspect"),
      JSON.stringify(s[13]),
    );
    assert.strictEqual(scopeOf(s, 14, "# quoted line"), "string.quoted.double.introspect");
    // Inside a prompt block, lines that look like keys or contrast items are text.
    for (const line of [15, 16, 18])
      assert.ok(
        s[line].every(([, scope]) => scope === "source.introspect"),
        JSON.stringify(s[line]),
      );
    assert.strictEqual(scopeOf(s, 11, "prompt"), "keyword.control.block.introspect");
    assert.strictEqual(scopeOf(s, 19, "patch"), "keyword.control.block.introspect");
    assert.strictEqual(scopeOf(s, 20, "resid_pre"), "entity.name.type.site.introspect");
  });

  it("scopes experts lines and the contrast count", () => {
    const lines = scopes(grammar, "experts off L3:E5 L4:E1 # two\nexperts bias L2:E0=1.5\ncontrast c\n  count top1");
    assert.strictEqual(scopeOf(lines, 0, "experts"), "keyword.other.option.introspect");
    assert.strictEqual(scopeOf(lines, 0, "off"), "keyword.other.expert-action.introspect");
    assert.strictEqual(scopeOf(lines, 0, "L3:E5"), "constant.numeric.expert.introspect");
    assert.strictEqual(scopeOf(lines, 1, "L2:E0=1.5"), "constant.numeric.expert.introspect");
    assert.strictEqual(scopeOf(lines, 3, "top1"), "constant.language.introspect");
  });

  it("highlights every demo file without invalid escapes", () => {
    for (const f of ["ioi", "sentiment", "moe-topics"]) {
      const s = scopes(grammar, readFileSync(path.join(ROOT, `demo/${f}.introspect`), "utf8"));
      const flat = s.flat();
      assert.ok(!flat.some(([, scope]) => scope.startsWith("invalid")), f);
      assert.ok(
        flat.some(([, scope]) => scope === "keyword.control.block.introspect"),
        f,
      );
    }
  });
});
