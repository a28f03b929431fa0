// Shared checks for the tokenizer tests: each states a property the spans must have.

import * as assert from "node:assert/strict";
import * as path from "node:path";
import type { Token } from "../../../src/engine";
import type { TextTokenizer } from "../../../src/engine";

export const FIXTURES = path.join(__dirname, "..", "..", "fixtures", "tokenizers");
export const DEMO_LLAMA = path.join(__dirname, "..", "..", "..", "models", "demo-llama");

/** Texts that stress the mapping: multi-byte characters, emoji, CJK, accents, whitespace. */
export const HARD_TEXTS = [
  "Hello world",
  "  leading and trailing spaces  ",
  "tabs\tand\nnewlines\n\n\r\nend",
  "naïve café, Ünïcödé",
  "combining: e\u0301 a\u0308 o\u0302\u0323",
  "emoji 😀👍🏽 family 👨‍👩‍👧‍👦 flag 🇯🇵 end",
  "日本語のテキストと中文和한국어",
  "math ∑∫√ and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 and 🜁",
  "mixed😀日本e\u0301\n x",
  "€100 — “quotes” …",
  "\u00a0nbsp\u200bzero-width\u2028sep",
  "x",
  " ",
  "",
];

/** Short quoted form of a text for assertion messages. */
export function q(text: string): string {
  return JSON.stringify(text.length > 60 ? text.slice(0, 60) + "..." : text);
}

/**
 * Runs of consecutive tokens whose spans overlap: the tokens holding the bytes of one split
 * character share it (" \xC3" and "\x9C" both cover " Ü"), so they form one run.
 */
export function spanGroups(tokens: Token[]): { start: number; end: number; tokens: Token[] }[] {
  const groups: { start: number; end: number; tokens: Token[] }[] = [];
  for (const t of tokens) {
    const g = groups[groups.length - 1];
    if (g && t.span.start < g.end) {
      g.tokens.push(t);
      g.end = Math.max(g.end, t.span.end);
    } else groups.push({ start: t.span.start, end: t.span.end, tokens: [t] });
  }
  return groups;
}

/**
 * For a tokenizer that keeps every byte (byte-level BPE with no normaliser change on this text):
 * spans tile the text with no gap, and each run of overlapping tokens decodes to exactly its characters.
 */
export function assertExactTiling(tok: TextTokenizer, text: string, tokens: Token[]): void {
  const groups = spanGroups(tokens.filter((t) => !(t.span.start === t.span.end && tok.isSpecial(t.id))));
  let at = 0;
  for (const g of groups) {
    assert.equal(g.start, at, `gap before ${q(text.slice(g.start, g.end))} in ${q(text)}`);
    assert.ok(g.end > g.start, `empty span in ${q(text)}`);
    const decoded = tok.decode(
      g.tokens.map((t) => t.id),
      { cleanUpSpaces: false },
    );
    assert.equal(decoded, text.slice(g.start, g.end), `tokens ${g.tokens.map((t) => t.id)} in ${q(text)}`);
    at = g.end;
  }
  assert.equal(at, text.length, `text not covered to its end: ${q(text)}`);
}

/** Spans never go backwards and stay inside the text. */
export function assertMonotone(text: string, tokens: Token[]): void {
  let prevStart = 0;
  let prevEnd = 0;
  for (const t of tokens) {
    assert.ok(t.span.start >= 0 && t.span.end <= text.length && t.span.start <= t.span.end, JSON.stringify(t));
    assert.ok(t.span.start >= prevStart, `span goes back at ${JSON.stringify(t)} in ${q(text)}`);
    assert.ok(t.span.end >= prevEnd || t.span.start === t.span.end, `end goes back at ${JSON.stringify(t)}`);
    prevStart = t.span.start;
    if (t.span.end > t.span.start) prevEnd = t.span.end;
  }
}

/** Characters that no span covers, excluding whitespace, as a string (for error messages). */
export function uncovered(text: string, tokens: Token[], ignore: RegExp = /\s/u): string {
  const covered = new Uint8Array(text.length);
  for (const t of tokens) covered.fill(1, t.span.start, t.span.end);
  let out = "";
  for (let i = 0; i < text.length; i++) if (!covered[i] && !ignore.test(text[i])) out += text[i];
  return out;
}
