// What "Probe Selection" sends: the selection in its context (file / selection setting, prompt
// blocks in .introspect files, located by the host's PromptTargetRequest answer) and the way back
// from text offsets to document positions.
import * as assert from "assert";
import { parsePromptFile } from "../../../src/engine";
import { probeTarget, promptTextTarget, type DocumentLike } from "../../../src/extension/probe/target";
import { promptTarget, promptTexts } from "../../../src/server/language/promptQueries";

/** probeTarget as the command calls it: in a prompt file, with the host's answer for the selection. */
function target(d: DocumentLike, start: number, end: number, mode: "file" | "selection") {
  const inBlock =
    d.languageId === "introspect"
      ? promptTarget({ source: d.text, find: { selection: { start: d.positionAt(start), end: d.positionAt(end) } } })
      : null;
  return probeTarget(d, start, end, mode, inBlock);
}

function doc(text: string, languageId = "plaintext"): DocumentLike {
  return {
    text,
    languageId,
    positionAt(offset) {
      const before = text.slice(0, offset).split("\n");
      return { line: before.length - 1, character: before[before.length - 1].length };
    },
  };
}

const FILE = "line one\nWhen Mary and John went to the store, John gave\nrest of file\n";

describe("probe target", () => {
  it("file context: the text up to the selection's end, the selection at its document offsets", () => {
    const start = FILE.indexOf("John gave");
    const end = start + "John gave".length;
    const t = target(doc(FILE), start, end, "file");
    assert.strictEqual(t.text, FILE.slice(0, end));
    assert.deepStrictEqual(t.selection, { start, end });
    assert.deepStrictEqual(t.toDocument(start, start + 4), { start: { line: 1, character: 38 }, end: { line: 1, character: 42 } });
  });

  it("selection context: the selected text alone, mapped back by its start", () => {
    const start = FILE.indexOf("Mary");
    const t = target(doc(FILE), start, start + 4, "selection");
    assert.strictEqual(t.text, "Mary");
    assert.deepStrictEqual(t.selection, { start: 0, end: 4 });
    assert.deepStrictEqual(t.toDocument(0, 4).start, { line: 1, character: 5 });
  });

  const PROMPT_FILE =
    'model demo-llama\n\nprompt store\n  When Mary and John went to the store, John gave a drink to\n\nprompt q\n  "say \\"hi\\" now"\n';

  it("a selection inside a prompt block is probed in the block's text only", () => {
    const start = PROMPT_FILE.indexOf("John gave");
    const t = target(doc(PROMPT_FILE, "introspect"), start, start + "John gave".length, "file");
    assert.strictEqual(t.source, "prompt block");
    assert.strictEqual(t.text, "When Mary and John went to the store, John gave");
    assert.strictEqual(t.text.slice(t.selection.start, t.selection.end), "John gave");
    // Back to the document: line 3, after the two-space indent.
    const r = t.toDocument(t.selection.start, t.selection.end);
    assert.deepStrictEqual(r, {
      start: { line: 3, character: start - PROMPT_FILE.indexOf("When") + 2 },
      end: { line: 3, character: start - PROMPT_FILE.indexOf("When") + 2 + 9 },
    });
  });

  it("quoted prompt text: escapes resolved, positions mapped through them", () => {
    const values = promptTexts(parsePromptFile(PROMPT_FILE));
    const q = values.find((v) => v.text.startsWith("say"));
    assert.ok(q, `prompt texts: ${values.map((v) => v.text).join(" | ")}`);
    assert.strictEqual(q.text, 'say "hi" now');
    // The "Probe" lens names the value by its text and start; the host finds it.
    const found = promptTarget({ source: PROMPT_FILE, find: { value: { text: q.text, start: q.range.start } } });
    assert.ok(found);
    const t = promptTextTarget(found);
    const hi = q.text.indexOf("hi");
    const r = t.toDocument(hi, hi + 2);
    const line = PROMPT_FILE.split("\n")[r.start.line];
    assert.strictEqual(line.slice(r.start.character, r.end.character), "hi");
  });

  it("outside any prompt text, a prompt file falls back to the setting", () => {
    const start = PROMPT_FILE.indexOf("demo-llama");
    const t = target(doc(PROMPT_FILE, "introspect"), start, start + 4, "selection");
    assert.strictEqual(t.source, "selection");
    assert.strictEqual(t.text, "demo");
  });
});
