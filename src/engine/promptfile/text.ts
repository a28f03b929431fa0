// Reading text values: bare text (exactly what is written, trailing spaces trimmed) or a quoted
// string with JSON-like escapes, which is how a leading space (" Mary") or a line starting with
// `#` is written. Also maps between offsets in a value's text and document positions.
import type { ParseDiagnostic, Position, PromptText, Range, TextSegment } from "./model";

export type QuoteMode =
  /** Prompt text: a line is a quoted string only when it is one whole string, so prose such
   *  as `"Hello," she said` stays plain text. */
  | "text"
  /** A token: an opening quote must be closed and nothing but a comment may follow. */
  | "token";

export interface LinePiece {
  text: string;
  segment: Omit<TextSegment, "textStart" | "textEnd">;
  /** Range in the document, quotes included. */
  range: Range;
  quoted: boolean;
}

export function rng(line: number, start: number, end: number): Range {
  return { start: { line, character: start }, end: { line, character: end } };
}

/** Reads one line's value starting at `start` (the first non-space character). */
export function readLineValue(lineText: string, line: number, start: number, mode: QuoteMode, diags: ParseDiagnostic[]): LinePiece {
  const end = lineText.trimEnd().length;
  if (start < end && lineText[start] === '"') {
    const q = readQuoted(lineText, line, start);
    const after = lineText.slice(q.end).trim();
    const wholeString = q.closed && (after === "" || after.startsWith("#"));
    const quoted = (): LinePiece => {
      diags.push(...q.diags);
      return {
        text: q.text,
        segment: { line, startCharacter: start + 1, columns: q.columns },
        range: rng(line, start, q.end),
        quoted: true,
      };
    };
    if (wholeString) return quoted();
    if (mode === "token") {
      diags.push(
        q.closed
          ? {
              range: rng(line, q.end, end),
              message: 'Unexpected text after the closing quote; an answer is one quoted token such as " Mary".',
              severity: "error",
              code: "text-after-quote",
            }
          : {
              range: rng(line, start, end),
              message: 'Unterminated quoted string: add a closing ".',
              severity: "error",
              code: "unterminated-string",
            },
      );
      if (q.closed) return quoted();
    }
  }
  return {
    text: lineText.slice(start, Math.max(start, end)),
    segment: { line, startCharacter: start },
    range: rng(line, start, Math.max(start, end)),
    quoted: false,
  };
}

interface Quoted {
  text: string;
  closed: boolean;
  /** Character after the closing quote (or end of line). */
  end: number;
  columns: number[];
  diags: ParseDiagnostic[];
}

const SIMPLE_ESCAPES: Record<string, string> = { n: "\n", t: "\t", r: "\r", '"': '"', "\\": "\\", "'": "'", "0": "\0" };

function readQuoted(s: string, line: number, open: number): Quoted {
  let text = "";
  const columns: number[] = [];
  const diags: ParseDiagnostic[] = [];
  let i = open + 1;
  const push = (str: string, col: number) => {
    for (let k = 0; k < str.length; k++) columns.push(col);
    text += str;
  };
  while (i < s.length) {
    const c = s[i];
    if (c === '"') {
      columns.push(i);
      return { text, closed: true, end: i + 1, columns, diags };
    }
    if (c !== "\\") {
      push(c, i);
      i++;
      continue;
    }
    const e = s[i + 1];
    if (e !== undefined && SIMPLE_ESCAPES[e] !== undefined) {
      push(SIMPLE_ESCAPES[e], i);
      i += 2;
      continue;
    }
    const hex = e === "u" ? /^u(?:\{([0-9a-fA-F]{1,6})\}|([0-9a-fA-F]{4}))/.exec(s.slice(i + 1, i + 11)) : null;
    const code = hex ? parseInt(hex[1] ?? hex[2], 16) : NaN;
    if (hex && code <= 0x10ffff) {
      push(String.fromCodePoint(code), i);
      i += 1 + hex[0].length;
      continue;
    }
    const len = e === undefined ? 1 : 2;
    diags.push({
      range: rng(line, i, i + len),
      message:
        e === undefined
          ? "A backslash at the end of a quoted string escapes nothing: write \\\\ for a backslash."
          : `Unknown escape \\${e}: use \\n, \\t, \\", \\\\ or \\u{hex}; write \\\\ for a backslash.`,
      severity: "error",
      code: "bad-escape",
    });
    push(s.slice(i, i + len), i);
    i += len;
  }
  columns.push(s.length);
  return { text, closed: false, end: s.length, columns, diags };
}

/** Joins line pieces (and blank lines, as empty pieces) into one text value with newlines. */
export function joinPieces(pieces: LinePiece[]): PromptText | undefined {
  if (pieces.length === 0) return undefined;
  let text = "";
  const segments: TextSegment[] = [];
  for (let k = 0; k < pieces.length; k++) {
    if (k > 0) text += "\n";
    const p = pieces[k];
    segments.push({ ...p.segment, textStart: text.length, textEnd: text.length + p.text.length });
    text += p.text;
  }
  return {
    text,
    range: { start: pieces[0].range.start, end: pieces[pieces.length - 1].range.end },
    quoted: pieces.some((p) => p.quoted),
    segments,
  };
}

/** Document position of a character offset in a text value (offset == length gives its end). */
export function textOffsetToPosition(value: PromptText, offset: number): Position {
  const segs = value.segments;
  for (const s of segs) {
    if (offset >= s.textStart && offset <= s.textEnd) {
      const k = offset - s.textStart;
      return { line: s.line, character: s.columns ? s.columns[k] : s.startCharacter + k };
    }
  }
  const last = segs[segs.length - 1];
  return last
    ? {
        line: last.line,
        character: last.columns ? last.columns[last.columns.length - 1] : last.startCharacter + last.textEnd - last.textStart,
      }
    : value.range.end;
}

/** Range in the document covered by text offsets [start, end). May span lines. */
export function textSpanToRange(value: PromptText, start: number, end: number): Range {
  return { start: textOffsetToPosition(value, start), end: textOffsetToPosition(value, end) };
}

/** Offset in a text value of a document position, or undefined when the position is outside its text. */
export function positionToTextOffset(value: PromptText, pos: Position): number | undefined {
  for (const s of value.segments) {
    if (s.line !== pos.line) continue;
    const len = s.textEnd - s.textStart;
    if (s.columns) {
      if (pos.character === s.columns[len]) return s.textEnd;
      // The last text character starting at or before the position; an escape that yields two
      // code units (an astral \u{...}) maps to the first of them.
      let k = len - 1;
      while (k >= 0 && s.columns[k] > pos.character) k--;
      while (k > 0 && s.columns[k - 1] === s.columns[k]) k--;
      if (k >= 0 && pos.character >= s.startCharacter && pos.character < s.columns[len]) return s.textStart + k;
    } else if (pos.character >= s.startCharacter && pos.character <= s.startCharacter + len) {
      return s.textStart + pos.character - s.startCharacter;
    }
  }
  return undefined;
}

export function rangeContains(r: Range, p: Position): boolean {
  const afterStart = p.line > r.start.line || (p.line === r.start.line && p.character >= r.start.character);
  const beforeEnd = p.line < r.end.line || (p.line === r.end.line && p.character <= r.end.character);
  return afterStart && beforeEnd;
}
