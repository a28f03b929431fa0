// The prompt-file parser's first step: the source cut into lines, each classified by what the
// line-based format cares about (indentation, column 0, blank, comment).
import type { Range } from "./model";
import { rng, type LinePiece } from "./text";

export interface Line {
  text: string;
  /** Leading whitespace, in UTF-16 code units. */
  indent: number;
  /** At column 0: starts a block or sets an option. */
  top: boolean;
  blank: boolean;
  comment: boolean;
}

/** Splits on every line ending (\r\n, \r, \n), as editors count lines. */
export function splitLines(source: string): Line[] {
  return source.split(/\r\n|\r|\n/).map((text, i) => {
    const indentText = /^\s*/.exec(text)![0];
    const rest = text.slice(indentText.length);
    // A byte-order mark before the first line does not make it indented.
    const top = indentText.length === 0 || (i === 0 && indentText === "\uFEFF");
    return { text, indent: indentText.length, top, blank: rest === "", comment: rest.startsWith("#") };
  });
}

/** The line's text from its indentation to its last non-space character (line number `i`). */
export function contentRange(line: Line, i: number): Range {
  return rng(i, line.indent, line.text.trimEnd().length);
}

/** A blank line inside a text value, kept so that the value's lines join with it. */
export function emptyPiece(i: number): LinePiece {
  return { text: "", segment: { line: i, startCharacter: 0 }, range: rng(i, 0, 0), quoted: false };
}
