// What a probe sends to the model: the text (the selection in its context) and the selection's
// range inside that text, plus a way back from text offsets to document positions for the tint.
// Pure (no vscode): the command passes the document's text and a positionAt function.
import {
  parsePromptFile,
  positionToTextOffset,
  textSpanToRange,
  type Position,
  type PromptText,
  type Range,
} from "../../engine/promptfile";

/** How much text before the selection the model sees (setting introspect.probe.context). */
export type ProbeContext = "file" | "selection";

export interface ProbeTarget {
  text: string;
  /** UTF-16 range of the selected part of `text`. */
  selection: { start: number; end: number };
  /** Document range of text offsets [start, end) (for editor tints and hovers). */
  toDocument(start: number, end: number): Range;
  /** Where the context came from, for the panel's status line. */
  source: "file" | "selection" | "prompt block";
}

export interface DocumentLike {
  text: string;
  languageId: string;
  positionAt(offset: number): Position;
}

/**
 * `start`/`end` are document offsets of the selection (already widened to the current line when
 * empty). In a prompt file (language `introspect`), a selection inside a block's text is probed
 * in that text alone: the model never sees the file's keywords. Elsewhere `context` decides.
 */
export function probeTarget(doc: DocumentLike, start: number, end: number, context: ProbeContext): ProbeTarget {
  if (doc.languageId === "introspect") {
    const inBlock = promptBlockTarget(doc, start, end);
    if (inBlock) return inBlock;
  }
  if (context === "selection") {
    return {
      text: doc.text.slice(start, end),
      selection: { start: 0, end: end - start },
      toDocument: (s, e) => ({ start: doc.positionAt(start + s), end: doc.positionAt(start + e) }),
      source: "selection",
    };
  }
  return {
    text: doc.text.slice(0, end),
    selection: { start, end },
    toDocument: (s, e) => ({ start: doc.positionAt(s), end: doc.positionAt(e) }),
    source: "file",
  };
}

/** A prompt text value probed as a whole (the "Probe" code lens of a prompt block). */
export function wholeTextTarget(value: PromptText): ProbeTarget {
  return {
    text: value.text,
    selection: { start: 0, end: value.text.length },
    toDocument: (s, e) => textSpanToRange(value, s, e),
    source: "prompt block",
  };
}

/** Every text value of a prompt file (prompt texts, patch prompts, contrast items). */
export function promptTexts(source: string): PromptText[] {
  const out: PromptText[] = [];
  for (const b of parsePromptFile(source).blocks) {
    if (b.kind === "prompt" && b.text) out.push(b.text);
    else if (b.kind === "patch") out.push(...[b.clean, b.corrupt].filter((t): t is PromptText => !!t));
    else if (b.kind === "contrast") out.push(...b.positive, ...b.negative);
  }
  return out;
}

function promptBlockTarget(doc: DocumentLike, start: number, end: number): ProbeTarget | undefined {
  const a = doc.positionAt(start);
  const b = doc.positionAt(end);
  for (const value of promptTexts(doc.text)) {
    const s = positionToTextOffset(value, a);
    if (s === undefined) continue;
    // A selection that runs past the text's end is clipped to it.
    const e = positionToTextOffset(value, b) ?? value.text.length;
    const selEnd = Math.max(e, Math.min(value.text.length, s + 1));
    return {
      text: value.text.slice(0, selEnd),
      selection: { start: s, end: selEnd },
      toDocument: (x, y) => textSpanToRange(value, x, y),
      source: "prompt block",
    };
  }
  return undefined;
}
