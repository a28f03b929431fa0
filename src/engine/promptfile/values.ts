// Parsers for the small values after a key: layer lists, site names, enums, booleans,
// integers. Each returns located values and pushes diagnostics; none throws.
import type { Located, ParseDiagnostic, Range } from "./model";
import { rng } from "./text";
import { BOOL_WORDS, closest, isFullHookName, SITE_NAMES } from "./vocabulary";

/** Most layers a list may expand to; guards against `0-999999999`. */
export const MAX_LAYER_LIST = 4096;

export interface Word {
  text: string;
  start: number;
  end: number;
}

/** Splits a value into words (on spaces and commas), stopping at a ` #` comment. */
export function words(lineText: string, start: number): Word[] {
  const out: Word[] = [];
  const re = /[^\s,]+/g;
  re.lastIndex = start;
  for (let m = re.exec(lineText); m; m = re.exec(lineText)) {
    if (m[0].startsWith("#")) break;
    out.push({ text: m[0], start: m.index, end: m.index + m[0].length });
  }
  return out;
}

export function parseLayers(ws: Word[], line: number, diags: ParseDiagnostic[]): Located<number>[] {
  const out: Located<number>[] = [];
  for (const w of ws) {
    const range = rng(line, w.start, w.end);
    const m = /^(\d{1,9})(?:(?:-|\.\.)(\d{1,9}))?$/.exec(w.text);
    if (!m) {
      diags.push(err(range, `'${w.text}' is not a layer: write a number such as 2, a list 2 4 6, or a range 2-5.`, "bad-layer"));
      continue;
    }
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) {
      diags.push(err(range, `Layer range ${w.text} runs backwards: write ${b}-${a}.`, "bad-layer"));
      continue;
    }
    if (out.length + (b - a + 1) > MAX_LAYER_LIST) {
      diags.push(err(range, `Too many layers (more than ${MAX_LAYER_LIST}).`, "bad-layer"));
      continue;
    }
    for (let L = a; L <= b; L++) out.push({ value: L, range });
  }
  return out;
}

export function parseSites(ws: Word[], line: number, diags: ParseDiagnostic[]): Located<string>[] {
  const out: Located<string>[] = [];
  for (const w of ws) {
    const range = rng(line, w.start, w.end);
    if (!SITE_NAMES.includes(w.text) && !isFullHookName(w.text)) {
      const guess = closest(w.text, SITE_NAMES);
      diags.push({
        range,
        message: `Unknown site '${w.text}'${guess ? ` (did you mean '${guess}'?)` : ""}: use ${SITE_NAMES.join(", ")} or a hook name such as blocks.3.hook_resid_post.`,
        severity: "warning",
        code: "unknown-site",
      });
    }
    out.push({ value: w.text, range });
  }
  return out;
}

/** One word out of a fixed set; extra words are an error. */
export function parseOneWord(
  ws: Word[],
  line: number,
  key: string,
  keyRange: Range,
  allowed: readonly string[] | undefined,
  diags: ParseDiagnostic[],
): Located<string> | undefined {
  if (ws.length === 0) {
    const hint = allowed ? `: ${allowed.join(" or ")}` : "";
    diags.push(err(keyRange, `'${key}' needs a value${hint}.`, "missing-value"));
    return undefined;
  }
  if (ws.length > 1) {
    const extra = rng(line, ws[1].start, ws[ws.length - 1].end);
    diags.push(err(extra, `'${key}' takes one value; remove the rest (comments start with #).`, "extra-value"));
  }
  const w = ws[0];
  const range = rng(line, w.start, w.end);
  if (allowed && !allowed.includes(w.text)) {
    const guess = closest(w.text, allowed);
    diags.push(
      err(
        range,
        `'${w.text}' is not a valid ${key}${guess ? ` (did you mean '${guess}'?)` : ""}: use ${allowed.join(" or ")}.`,
        "bad-value",
      ),
    );
    return undefined;
  }
  return { value: w.text, range };
}

export function parseBool(ws: Word[], line: number, key: string, keyRange: Range, diags: ParseDiagnostic[]): Located<boolean> | undefined {
  const w = parseOneWord(ws, line, key, keyRange, Object.keys(BOOL_WORDS), diags);
  return w && { value: BOOL_WORDS[w.value], range: w.range };
}

export function parseInt_(ws: Word[], line: number, key: string, keyRange: Range, diags: ParseDiagnostic[]): Located<number> | undefined {
  const w = parseOneWord(ws, line, key, keyRange, undefined, diags);
  if (!w) return undefined;
  if (!/^\d{1,9}$/.test(w.value)) {
    diags.push(err(w.range, `'${key}' needs a whole number, not '${w.value}'.`, "bad-value"));
    return undefined;
  }
  return { value: Number(w.value), range: w.range };
}

export function err(range: Range, message: string, code: string): ParseDiagnostic {
  return { range, message, severity: "error", code };
}
