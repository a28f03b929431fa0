// A prompt past the model's positions: the probe runs on a window that holds the selection and
// says what it left out (src/engine/analysis/contextWindow.ts); on demo-llama (256 positions) a
// 300-token prompt is probed, and the window's numbers are those of probing the kept text alone.
import * as assert from "assert";
import { buildProbeResult } from "../../../src/engine";
import { fitContext } from "../../../src/engine/analysis/contextWindow";
import type { Token } from "../../../src/engine/types";
import { useDemoModel } from "../helpers/demoModel";

/** Word tokens of `words` joined by spaces, after an empty-span start token. */
function tokensOf(words: string[]): { text: string; tokens: Token[] } {
  const tokens: Token[] = [{ id: 0, piece: "<s>", text: "", span: { start: 0, end: 0 } }];
  let at = 0;
  words.forEach((w, i) => {
    const start = at + (i ? 1 : 0);
    tokens.push({ id: i + 1, piece: w, text: w, span: { start, end: start + w.length } });
    at = start + w.length;
  });
  return { text: words.join(" "), tokens };
}

describe("ux/a prompt longer than the model's positions", function () {
  this.timeout(120000);

  it("keeps a short prompt whole", () => {
    const { text, tokens } = tokensOf(["a", "b", "c"]);
    const w = fitContext(text, tokens, { start: 1, end: 3 }, 8, "m");
    assert.strictEqual(w.cut, undefined);
    assert.strictEqual(w.tokens.length, 4);
  });

  it("drops tokens after the selection (but the next one), then from the start after the start token, and says so", () => {
    const words = Array.from({ length: 20 }, (_, i) => `w${i}`);
    const { text, tokens } = tokensOf(words);
    // Selection: w10..w12 (token indices 11..13); 8 positions.
    const w = fitContext(text, tokens, { start: 11, end: 14 }, 8, "m");
    assert.deepStrictEqual(
      w.tokens.map((t) => t.piece),
      ["<s>", "w7", "w8", "w9", "w10", "w11", "w12", "w13"],
    );
    assert.deepStrictEqual(w.selection, { start: 4, end: 7 });
    assert.deepStrictEqual(
      { ...w.cut, message: undefined },
      { totalTokens: 21, positions: 8, keptFrom: 8, keptTo: 15, droppedBefore: 7, droppedAfter: 6, keptBos: true, message: undefined },
    );
    assert.match(
      w.cut!.message,
      /^The prompt has 21 tokens but m has 8 positions: left out the first 7 tokens \(“w0 w1 w2 w3 w4 w5 w6”\) and the last 6 tokens \(“w14 w15 w16 w17 w18 w19”\)/,
    );
  });

  it("refuses, with a sentence, a selection longer than the positions", () => {
    const { text, tokens } = tokensOf(Array.from({ length: 20 }, (_, i) => `w${i}`));
    assert.throws(
      () => fitContext(text, tokens, { start: 1, end: 15 }, 8, "m"),
      /The input has 21 tokens, 14 of them selected, but m has 8 positions.*select at most 7 tokens/,
    );
  });

  describe("on demo-llama", () => {
    const demo = useDemoModel();

    it("probes a 300-token prompt: a warning, and the window's metrics equal probing the kept text", async () => {
      const words = Array.from({ length: 300 }, (_, i) => ["the", "cat", "sat", "on", "a", "mat"][i % 6]).join(" ");
      const { tok, model } = demo;
      const all = tok.encode(words);
      assert.ok(all.length > 256, `${all.length} tokens`);
      const last = all[all.length - 1];
      const selStart = all[all.length - 5].span.start;
      const r = await buildProbeResult(model, words, { start: selStart, end: last.span.end });
      assert.ok(r.cut, "the result says what was cut");
      assert.strictEqual(r.tokens.length, 256);
      assert.strictEqual(r.cut!.droppedAfter, 0);
      assert.strictEqual(r.cut!.droppedBefore, all.length - 256);
      console.log(`      ${r.cut!.message}`);
      // The same window as its own prompt (the start token is added again by the tokenizer).
      const keptText = words.slice(all[r.cut!.keptFrom].span.start);
      const alone = await buildProbeResult(model, keptText, { start: selStart - all[r.cut!.keptFrom].span.start, end: keptText.length });
      assert.strictEqual(alone.cut, undefined);
      assert.deepStrictEqual(
        alone.tokens.map((t) => t.id),
        r.tokens.map((t) => t.id),
      );
      const a = r.metrics.residNorm.data;
      const b = alone.metrics.residNorm.data;
      for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= 1e-4 * Math.abs(b[i]), `residNorm ${i}: ${a[i]} vs ${b[i]}`);
    });
  });
});
