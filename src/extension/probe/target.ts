// What a probe sends to the model: the text (the selection in its context) and the selection's
// range inside that text, plus a way back from text offsets to document positions for the tint.
// Pure (no vscode): the command passes the document's text and a positionAt function, and, in a
// prompt file, the host's answer for the text value the selection is in (PromptTargetRequest).
import type { ExpertLine } from "../../protocol/expertLines";
import type { Position, PromptTextTarget, Range } from "../../protocol/promptQueries";

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
  /** The prompt file's `experts` lines, applied to the probed pass. */
  experts?: ExpertLine[];
}

export interface DocumentLike {
  text: string;
  languageId: string;
  positionAt(offset: number): Position;
}

/**
 * `start`/`end` are document offsets of the selection (already widened to the current line when
 * empty). In a prompt file (language `introspect`), a selection inside a block's text is probed
 * in that text alone (`inBlock`, the host's answer): the model never sees the file's keywords.
 * Elsewhere `context` decides.
 */
export function probeTarget(
  doc: DocumentLike,
  start: number,
  end: number,
  context: ProbeContext,
  inBlock?: PromptTextTarget | null,
): ProbeTarget {
  if (doc.languageId === "introspect" && inBlock) return promptTextTarget(inBlock);
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

/** A prompt-file text value as the host located it, mapped back through its positions. */
export function promptTextTarget(t: PromptTextTarget): ProbeTarget {
  const at = (i: number) => t.positions[Math.max(0, Math.min(t.positions.length - 1, i))];
  return {
    text: t.text,
    selection: t.selection,
    toDocument: (s, e) => ({ start: at(s), end: at(e) }),
    source: "prompt block",
    ...(t.experts?.length ? { experts: t.experts } : {}),
  };
}
