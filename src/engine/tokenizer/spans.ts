// Editor range <-> token index helpers, shared by the model host, the CLI and the webviews' callers.

import type { CharSpan, Token } from "../types";

/**
 * Indices of the tokens that overlap a character range of the text, including tokens that only
 * partly fall inside it (a token spanning the selection's edge). An empty range (a cursor) gives
 * the token containing that position, or the token ending there at the end of a text.
 * Tokens without characters (added BOS/EOS) are never returned. Binary search: O(log n + k).
 */
export function tokensInRange(tokens: readonly Token[], range: CharSpan): number[] {
  const { start, end } = range;
  const out: number[] = [];
  // Spans are sorted by start and by end; find the first token ending after `start`.
  let lo = 0;
  let hi = tokens.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (tokens[mid].span.end <= start) lo = mid + 1;
    else hi = mid;
  }
  if (end <= start) {
    for (let i = lo; i < tokens.length && tokens[i].span.start <= start; i++) {
      const s = tokens[i].span;
      if (s.start < s.end && s.start <= start && start < s.end) out.push(i);
    }
    if (out.length === 0) {
      for (let i = Math.min(lo, tokens.length) - 1; i >= 0; i--) {
        const s = tokens[i].span;
        if (s.start < s.end) {
          if (s.end === start) out.push(i);
          break;
        }
      }
    }
    return out;
  }
  for (let i = lo; i < tokens.length; i++) {
    const s = tokens[i].span;
    if (s.start >= end) break;
    if (s.start < s.end && s.end > start) out.push(i);
  }
  return out;
}

/** The character range covered by tokens i..j (inclusive), e.g. to select them in the editor. */
export function spanOfTokens(tokens: readonly Token[], i: number, j: number = i): CharSpan {
  if (tokens.length === 0) return { start: 0, end: 0 };
  const a = Math.max(0, Math.min(i, j));
  const b = Math.min(tokens.length - 1, Math.max(i, j));
  let start = Infinity;
  let end = -Infinity;
  for (let k = a; k <= b; k++) {
    const s = tokens[k].span;
    if (s.start === s.end) continue;
    start = Math.min(start, s.start);
    end = Math.max(end, s.end);
  }
  if (start === Infinity) {
    const at = tokens[a].span.start;
    return { start: at, end: at };
  }
  return { start, end };
}
