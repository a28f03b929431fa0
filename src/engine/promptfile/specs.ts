// Plain, model-ready views of blocks: what the steering and patching code consume, with the
// defaults filled in. Also lookups by name and by position for the language features.
import type {
  Block,
  ContrastBlock,
  ContrastMethod,
  PatchBlock,
  PatchMetric,
  Position,
  PromptFile,
  PromptText,
  TokenPosition,
} from "./model";
import { rangeContains } from "./text";

export interface ContrastSpec {
  name: string;
  /** Empty when the file names no layer: the steering code picks its default. */
  layers: number[];
  position: TokenPosition;
  method: ContrastMethod;
  paired: boolean;
  normalize: boolean;
  /** Short site name such as `resid_post`, or undefined for the steering default. */
  site?: string;
  positive: string[];
  negative: string[];
}

export interface PatchSpec {
  name: string;
  clean: string;
  corrupt: string;
  /** Undefined: use the clean prompt's top-1 token. */
  answer?: string;
  /** Undefined: use the corrupted prompt's top-1 token. */
  wrong?: string;
  /** Short site names or hook names; default resid_pre attn_out mlp_out. */
  sites: string[];
  /** Empty: every layer. */
  layers: number[];
  metric: PatchMetric;
}

export const DEFAULT_PATCH_SITES = ["resid_pre", "attn_out", "mlp_out"];

export function toContrastSpec(b: ContrastBlock): ContrastSpec {
  const method = b.method?.value ?? "diffmeans";
  return {
    name: b.name?.value ?? "",
    layers: uniq(b.layers.map((l) => l.value)),
    position: b.position?.value ?? "last",
    method,
    paired: b.paired?.value ?? method === "pca",
    normalize: b.normalize?.value ?? false,
    site: b.site?.value,
    positive: b.positive.map((t) => t.text),
    negative: b.negative.map((t) => t.text),
  };
}

/** Undefined when the clean or corrupted prompt is missing. */
export function toPatchSpec(b: PatchBlock): PatchSpec | undefined {
  if (!b.clean || !b.corrupt) return undefined;
  return {
    name: b.name?.value ?? "",
    clean: b.clean.text,
    corrupt: b.corrupt.text,
    answer: b.answer?.text,
    wrong: b.wrong?.text,
    sites: b.sites.length ? uniq(b.sites.map((s) => s.value)) : DEFAULT_PATCH_SITES,
    layers: uniq(b.layers.map((l) => l.value)),
    metric: b.metric?.value ?? "logit-diff",
  };
}

export function findBlock(file: PromptFile, name: string): Block | undefined {
  return file.blocks.find((b) => b.name?.value === name);
}

/** The block whose lines contain `pos` (header through last body line). */
export function blockAt(file: PromptFile, pos: Position): Block | undefined {
  return file.blocks.find((b) => pos.line >= b.range.start.line && pos.line <= b.range.end.line);
}

export type TextRole = "prompt" | "clean" | "corrupt" | "answer" | "wrong" | "positive" | "negative";

export interface RoledText {
  block: Block;
  role: TextRole;
  value: PromptText;
}

/** Every text value of a block with what it is for. */
export function textsOf(block: Block): RoledText[] {
  const out: RoledText[] = [];
  const add = (role: TextRole, value: PromptText | undefined) => value && out.push({ block, role, value });
  switch (block.kind) {
    case "prompt":
      add("prompt", block.text);
      break;
    case "patch":
      add("clean", block.clean);
      add("corrupt", block.corrupt);
      add("answer", block.answer);
      add("wrong", block.wrong);
      break;
    case "contrast":
      block.positive.forEach((t) => add("positive", t));
      block.negative.forEach((t) => add("negative", t));
      break;
    case "options":
      break;
  }
  return out;
}

/** The text value under a position, if any. */
export function textAt(file: PromptFile, pos: Position): RoledText | undefined {
  const block = blockAt(file, pos);
  if (!block) return undefined;
  return textsOf(block).find((t) => rangeContains(t.value.range, pos));
}

function uniq<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}
