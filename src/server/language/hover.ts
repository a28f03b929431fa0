// Hover on prompt text: how it tokenises (index, id, text), the token under the cursor marked,
// and after a probe the values recorded at that token. Hover on keywords, keys and sites: docs.
import { MarkupKind, type Hover, type Position } from "vscode-languageserver";
import {
  BLOCK_DOCS,
  blockAt,
  KEYS_BY_BLOCK,
  lookupKey,
  OPTION_KEYS,
  positionToTextOffset,
  rangeContains,
  SITE_DOCS,
  textAt,
  textSpanToRange,
  type PromptFile,
} from "../../engine";
import type { LanguageModelFacade } from "./facade";

/** Tokens listed around the one under the cursor; long prompts would make huge hovers. */
const WINDOW = 24;

export function computeHover(file: PromptFile, pos: Position, facade: LanguageModelFacade | undefined): Hover | undefined {
  const t = textAt(file, pos);
  if (t) return textHover(t.value, t.role, pos, facade);
  return wordHover(file, pos);
}

function textHover(
  value: NonNullable<ReturnType<typeof textAt>>["value"],
  role: string,
  pos: Position,
  facade: LanguageModelFacade | undefined,
): Hover | undefined {
  const tokens = facade?.tokenize(value.text);
  if (!tokens) {
    return {
      contents: { kind: MarkupKind.Markdown, value: `${role} · ${value.text.length} characters · tokens appear once a model is loaded` },
      range: value.range,
    };
  }
  const offset = positionToTextOffset(value, pos) ?? value.text.length;
  // The token covering the cursor; at the very end, the last one.
  let at = tokens.findIndex((tk) => tk.span.start <= offset && offset < tk.span.end);
  if (at < 0) at = findLastIndex(tokens, (tk) => tk.span.end > tk.span.start && tk.span.start <= offset);
  const model = facade?.info()?.id;
  const lines: string[] = [`**${role}** · ${tokens.length} tokens${model ? ` · ${model}` : ""}`];
  const from = Math.max(0, (at < 0 ? 0 : at) - WINDOW / 2);
  const to = Math.min(tokens.length, from + WINDOW);
  const rows: string[] = [];
  if (from > 0) rows.push(`   ... ${from} tokens before`);
  const idWidth = Math.max(...tokens.slice(from, to).map((tk) => String(tk.id).length));
  for (let i = from; i < to; i++) {
    const tk = tokens[i];
    rows.push(`${i === at ? "▶" : " "}${String(i).padStart(4)}  ${String(tk.id).padStart(idWidth)}  ${JSON.stringify(tk.text)}`);
  }
  if (to < tokens.length) rows.push(`   ... ${tokens.length - to} tokens after`);
  // Probe values first: the token table can be long enough to push them out of the hover's view.
  const probed = at >= 0 ? facade?.probeValues?.(value.text, at) : undefined;
  if (probed && probed.rows.length > 0) {
    lines.push(`After the last probe, at token ${at}:`);
    lines.push(fence(probed.rows.map((r) => `${r.label}: ${r.value}`).join("\n")));
  }
  lines.push(fence(rows.join("\n")));
  const tk = at >= 0 ? tokens[at] : undefined;
  const range = tk && tk.span.end > tk.span.start ? textSpanToRange(value, tk.span.start, tk.span.end) : value.range;
  return { contents: { kind: MarkupKind.Markdown, value: lines.join("\n\n") }, range };
}

function wordHover(file: PromptFile, pos: Position): Hover | undefined {
  const block = blockAt(file, pos);
  if (block && rangeContains(block.keyword.range, pos)) return doc(BLOCK_DOCS[block.kind], block.keyword.range);
  const entries = block ? block.entries : file.options.entries;
  const keys = block ? KEYS_BY_BLOCK[block.kind] : OPTION_KEYS;
  for (const e of entries) {
    if (rangeContains(e.key.range, pos)) {
      const marker = e.key.value === "+" ? "A positive prompt." : e.key.value === "-" ? "A negative prompt." : undefined;
      const spec = lookupKey(keys, e.key.value)?.spec;
      const text = marker ?? spec?.doc;
      return text ? doc(text, e.key.range) : undefined;
    }
  }
  const sites = block?.kind === "patch" ? block.sites : block?.kind === "contrast" && block.site ? [block.site] : [];
  for (const s of sites) if (rangeContains(s.range, pos) && SITE_DOCS[s.value]) return doc(SITE_DOCS[s.value], s.range);
  return undefined;
}

function doc(text: string, range: Hover["range"]): Hover {
  return { contents: { kind: MarkupKind.Markdown, value: text }, range };
}

/** A fenced code block that its content cannot close (token text may hold backticks). */
function fence(body: string): string {
  const longest = Math.max(2, ...(body.match(/`+/g) ?? []).map((s) => s.length));
  const f = "`".repeat(longest + 1);
  return `${f}text\n${body}\n${f}`;
}

function findLastIndex<T>(xs: T[], pred: (x: T) => boolean): number {
  for (let i = xs.length - 1; i >= 0; i--) if (pred(xs[i])) return i;
  return -1;
}
