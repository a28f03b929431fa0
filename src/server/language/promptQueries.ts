// The host's answers to the extension's questions about a prompt file (src/protocol/promptQueries.ts):
// which text value a selection is in, which value a code lens names, and which prompt and patch
// blocks are under the cursor. Pure: text in, plain data out.
import {
  blockAt,
  parsePromptFile,
  positionToTextOffset,
  textOffsetToPosition,
  toPatchSpec,
  type ExpertLine,
  type PromptFile,
  type PromptText,
} from "../../engine";
import type { PromptBlocksParams, PromptBlocksResult, PromptTargetParams, PromptTextTarget } from "../../protocol/promptQueries";

/** Every text value of a prompt file (prompt texts, patch prompts, contrast items). */
export function promptTexts(file: PromptFile): PromptText[] {
  const out: PromptText[] = [];
  for (const b of file.blocks) {
    if (b.kind === "prompt" && b.text) out.push(b.text);
    else if (b.kind === "patch") out.push(...[b.clean, b.corrupt].filter((t): t is PromptText => !!t));
    else if (b.kind === "contrast") out.push(...b.positive, ...b.negative);
  }
  return out;
}

function targetOf(file: PromptFile, value: PromptText, start: number, end: number): PromptTextTarget {
  const text = value.text.slice(0, end);
  return {
    text,
    selection: { start, end },
    positions: Array.from({ length: text.length + 1 }, (_, i) => textOffsetToPosition(value, i)),
    ...expertLines(file),
  };
}

/** The file's `experts` lines, in file order, without their ranges. */
function expertLines(file: PromptFile): { experts?: ExpertLine[] } {
  const lines = file.options.experts?.map((x) => x.value);
  return lines?.length ? { experts: lines } : {};
}

export function promptTarget(p: PromptTargetParams): PromptTextTarget | null {
  const file = parsePromptFile(p.source);
  const values = promptTexts(file);
  if ("value" in p.find) {
    const { text, start } = p.find.value;
    const v = values.find((x) => x.text === text && x.range.start.line === start.line && x.range.start.character === start.character);
    return v ? targetOf(file, v, 0, v.text.length) : null;
  }
  const { start: a, end: b } = p.find.selection;
  for (const value of values) {
    const s = positionToTextOffset(value, a);
    if (s === undefined) continue;
    // A selection that runs past the text's end is clipped to it.
    const e = positionToTextOffset(value, b) ?? value.text.length;
    return targetOf(file, value, s, Math.max(e, Math.min(value.text.length, s + 1)));
  }
  return null;
}

export function promptBlocks(p: PromptBlocksParams): PromptBlocksResult {
  const file = parsePromptFile(p.source);
  const line = p.position.line;
  const out: PromptBlocksResult = {};
  const prompts = file.blocks.filter((b) => b.kind === "prompt" && b.text && b.text.text.trim());
  const under = prompts.find((b) => b.range.start.line <= line && line <= b.range.end.line) ?? prompts[0];
  if (under && under.kind === "prompt" && under.text) out.prompt = { text: under.text.text, name: under.name?.value };
  const block = line >= 0 ? blockAt(file, p.position) : undefined;
  const spec = block && block.kind === "patch" ? toPatchSpec(block) : undefined;
  if (spec) out.patch = spec;
  return { ...out, ...expertLines(file) };
}
