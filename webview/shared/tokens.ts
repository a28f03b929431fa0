// How a token is shown: boundaries visible, whitespace made visible (leading space as ·,
// newline as ↵, tab as ⇥), byte tokens (<0x0A>, partial UTF-8) marked. Always as text.
import { el } from "./dom";

export interface TokenLike {
  id: number;
  text: string;
  piece: string;
}

const BYTE_PIECE = /^<0x[0-9A-Fa-f]{2}>$/;

export function isByteToken(t: TokenLike): boolean {
  return BYTE_PIECE.test(t.piece) || t.text.includes("\uFFFD");
}

/** A visible rendering of a token string: spaces, tabs and newlines become glyphs. */
export function visibleText(text: string): string {
  if (text === "") return "∅";
  return text.replace(/ /g, "·").replace(/\n/g, "↵").replace(/\r/g, "␍").replace(/\t/g, "⇥");
}

export function tokenLabel(t: TokenLike): string {
  if (isByteToken(t)) return BYTE_PIECE.test(t.piece) ? t.piece : visibleText(t.text);
  if (t.text === "" && t.piece) return t.piece;
  return visibleText(t.text);
}

/** JSON-quoted text for tooltips: shows exactly what the token holds. */
export function quoted(text: string): string {
  return JSON.stringify(text);
}

export interface StripOptions {
  label: string;
  /** Index of the first token, for titles ("token 12"). */
  offset?: number;
  onClick?(index: number): void;
  /** Extra line in each token's title, e.g. its metric value. */
  detail?(index: number): string | undefined;
}

/** A wrapped row of token chips, each a focusable button when clickable. */
export function tokenStrip(tokens: TokenLike[], o: StripOptions): HTMLElement {
  const strip = el("div", { class: "token-strip", attrs: { role: "list", "aria-label": o.label }, data: { tokens: tokens.length } });
  const frag = document.createDocumentFragment();
  tokens.forEach((t, i) => {
    const idx = (o.offset ?? 0) + i;
    const chip = el(o.onClick ? "button" : "span", {
      class: "token" + (isByteToken(t) ? " byte" : "") + (t.text.trim() === "" ? " blank" : ""),
      text: tokenLabel(t),
      attrs: { role: "listitem" },
      data: { index: idx },
    });
    const extra = o.detail?.(i);
    chip.title = `token ${idx} · id ${t.id} · ${quoted(t.text)}${extra ? "\n" + extra : ""}`;
    if (o.onClick) chip.addEventListener("click", () => o.onClick!(i));
    frag.append(chip);
  });
  strip.append(frag);
  return strip;
}
