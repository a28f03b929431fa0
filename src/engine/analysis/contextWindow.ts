// A probe of a prompt longer than the model's positions runs on a window of it that holds the
// selection, and says what was left out (ContextCut, shown as a warning in the panel). Tokens after
// the selection cannot change it (causal attention) and go first, keeping the one next token the
// metrics read; then tokens from the start, after a leading special token (BOS), which is kept.
import type { ContextCut } from "./result";
import { IntrospectError, type Token } from "../types";

export interface Windowed {
  tokens: Token[];
  selection: { start: number; end: number };
  cut?: ContextCut;
}

/** Quotes at most `n` characters of `s`, from its end when `tail` (with an ellipsis where cut). */
function excerpt(s: string, n: number, tail: boolean): string {
  const t = s.replace(/\s+/g, " ").trim();
  if (t.length <= n) return t;
  return tail ? `…${t.slice(t.length - n)}` : `${t.slice(0, n)}…`;
}

export function fitContext(
  text: string,
  tokens: Token[],
  sel: { start: number; end: number },
  positions: number | undefined,
  modelId: string,
): Windowed {
  const T = tokens.length;
  if (!positions || T <= positions) return { tokens, selection: sel };
  const bos = tokens[0].span.start === tokens[0].span.end && sel.start > 0 ? 1 : 0;
  const room = positions - bos;
  const n = sel.end - sel.start;
  if (n > room)
    throw new IntrospectError(
      "too-many-tokens",
      `The input has ${T} tokens${n < T ? `, ${n} of them selected,` : ""} but ${modelId} has ${positions} positions (config.json max_position_embeddings): select at most ${room} tokens.`,
    );
  let end = Math.min(T, sel.end + 1);
  if (end - sel.start > room) end = sel.end;
  const start = Math.max(bos, end - room);
  end = Math.min(T, start + room);
  const kept = [...tokens.slice(0, bos), ...tokens.slice(start, end)];
  const offset = start - bos;
  const beforeText = start > bos ? text.slice(tokens[bos].span.start, tokens[start - 1].span.end) : "";
  const afterText = end < T ? text.slice(tokens[end].span.start, tokens[T - 1].span.end) : "";
  const parts: string[] = [];
  if (start > bos) parts.push(`the first ${start - bos} tokens (“${excerpt(beforeText, 40, false)}”)`);
  if (end < T) parts.push(`the last ${T - end} tokens (“${excerpt(afterText, 40, true)}”)`);
  const cut: ContextCut = {
    totalTokens: T,
    positions,
    keptFrom: start,
    keptTo: end,
    droppedBefore: start - bos,
    droppedAfter: T - end,
    keptBos: bos === 1,
    message: `The prompt has ${T} tokens but ${modelId} has ${positions} positions: left out ${parts.join(" and ")}; the probe ran on tokens ${start}–${end - 1}${bos ? " after the start token" : ""}, which hold the selection.`,
  };
  return { tokens: kept, selection: { start: sel.start - offset, end: sel.end - offset }, cut };
}
