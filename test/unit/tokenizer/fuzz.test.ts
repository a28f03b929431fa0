// Seeded random texts mixing every kind of character the mapping has to survive.

import * as assert from "node:assert/strict";
import * as path from "node:path";
import { loadTokenizer, tokensInRange, type TextTokenizer } from "../../../src/engine";
import { FIXTURES, assertExactTiling, assertMonotone, q, uncovered } from "./helpers";

const PIECES = [
  "the",
  " cat",
  "Hello",
  " wörld",
  "naïve",
  "e\u0301",
  "a\u0308\u0323",
  "日本",
  "語",
  "한국어",
  "😀",
  "👍🏽",
  "👨‍👩‍👧",
  "🇯🇵",
  "𝔘",
  " ",
  "  ",
  "\t",
  "\n",
  "\r\n",
  "\u00a0",
  "!",
  "?!",
  "'s",
  "123",
  "4567",
  "—",
  "“x”",
  "<|im_end|>",
  "[UNK]",
  "<s>",
  "ﬁ",
  "Ω",
  "ß",
  "İ",
  "\u200b",
  "#",
  "##",
  "▁",
  "Ġ",
  "\u0000",
  "\ufffd",
  "\u0301",
  "ｆｕｌｌ",
  "①",
  "™",
  "\u3000",
];

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomTexts(n: number, seed: number): string[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => {
    let s = "";
    const len = 1 + Math.floor(r() * 12);
    for (let i = 0; i < len; i++) s += PIECES[Math.floor(r() * PIECES.length)];
    return s;
  });
}

describe("tokenizer offsets: random texts", () => {
  const texts = randomTexts(150, 42);
  const load = (name: string): Promise<TextTokenizer> => loadTokenizer(path.join(FIXTURES, name));

  it("byte-level BPE tiles every NFC text exactly", async () => {
    const tok = await load("qwen3-small");
    for (const text of texts) {
      const tokens = tok.encode(text, { addSpecialTokens: false });
      if (text.normalize("NFC") === text) assertExactTiling(tok, text, tokens);
      else {
        assertMonotone(text, tokens);
        assert.equal(uncovered(text, tokens, /$^/u), "", q(text));
      }
      // Every single character selects at least one token, and those tokens cover it.
      for (let i = 0; i < text.length; i++) {
        const idx = tokensInRange(tokens, { start: i, end: i + 1 });
        assert.ok(idx.length > 0, `char ${i} of ${q(text)}`);
        assert.ok(tokens[idx[0]].span.start <= i && tokens[idx[idx.length - 1]].span.end > i);
      }
    }
  });

  it("SentencePiece covers every character, monotonically", async () => {
    const tok = await load("mistral");
    for (const text of texts) {
      const tokens = tok.encode(text);
      assertMonotone(text, tokens);
      assert.equal(uncovered(text, tokens, /$^/u), "", q(text));
    }
  });

  it("WordPiece covers every character the normaliser keeps, monotonically", async () => {
    const tok = await load("bert-base-uncased");
    for (const text of texts) {
      const tokens = tok.encode(text);
      assertMonotone(text, tokens);
      // BERT's normaliser drops controls, format characters and stray marks: no token covers those.
      assert.equal(uncovered(text, tokens, /\s|\p{M}|\p{C}|\ufffd/u), "", q(text));
    }
  });
});
