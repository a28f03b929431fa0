// The document model of a prompt file (`*.introspect`). Every block, key, value and piece of
// prompt text carries its range in the source, so diagnostics, hovers and code lenses can
// point at exactly what they talk about. Positions count UTF-16 code units, as LSP does.

/** Zero-based line and UTF-16 character, as in LSP. */
export interface Position {
  line: number;
  character: number;
}

export interface Range {
  start: Position;
  end: Position;
}

export interface Located<T> {
  value: T;
  range: Range;
}

/**
 * One source line's contribution to a text value. `columns` is present when the line was a
 * quoted string whose escapes make text offsets and document characters differ: it holds the
 * document character of each text character, plus one entry for the end.
 */
export interface TextSegment {
  /** Offset of this segment's first character in `PromptText.text`. */
  textStart: number;
  textEnd: number;
  line: number;
  /** Document character where the segment's text begins (after an opening quote, if any). */
  startCharacter: number;
  columns?: number[];
}

/** A prompt, answer or contrast item: the text the model sees, and where it came from. */
export interface PromptText {
  /** Exactly what is sent to the tokenizer (lines joined by "\n", escapes resolved). */
  text: string;
  /** From the first character of the value to the end of its last line in the source. */
  range: Range;
  /** Whether any line of it was written as a quoted string. */
  quoted: boolean;
  segments: TextSegment[];
}

export type BlockKind = "prompt" | "contrast" | "patch" | "options";

/** A `key value` line inside a block (or a top-level option), kept for hovers and completion. */
export interface Entry {
  key: Located<string>;
  /** The value as written (after the key), trimmed; undefined when the line has no value. */
  raw?: Located<string>;
  /** From the key to the end of the value, continuation lines included. */
  range: Range;
}

interface BlockBase {
  name?: Located<string>;
  /** The block keyword (`prompt`, `contrast`, ...). */
  keyword: Located<BlockKind>;
  /** Header line through the last non-blank line of the body. */
  range: Range;
  /** The header line only. */
  headerRange: Range;
  entries: Entry[];
}

export interface PromptBlock extends BlockBase {
  kind: "prompt";
  text?: PromptText;
}

export type TokenPosition = "last" | "mean";
export type ContrastMethod = "diffmeans" | "pca";

export interface ContrastBlock extends BlockBase {
  kind: "contrast";
  layers: Located<number>[];
  position?: Located<TokenPosition>;
  method?: Located<ContrastMethod>;
  paired?: Located<boolean>;
  normalize?: Located<boolean>;
  /** A site kind (short form) to read, e.g. `resid_post`; undefined = the steering default. */
  site?: Located<string>;
  /** Expert ranking: what counts as routed (`topk` or `top1`). */
  count?: Located<"topk" | "top1">;
  positive: PromptText[];
  negative: PromptText[];
}

export type PatchMetric = "logit-diff" | "raw-logit-diff" | "prob";

export interface PatchBlock extends BlockBase {
  kind: "patch";
  clean?: PromptText;
  corrupt?: PromptText;
  answer?: PromptText;
  wrong?: PromptText;
  sites: Located<string>[];
  layers: Located<number>[];
  metric?: Located<PatchMetric>;
}

export interface OptionsBlock extends BlockBase {
  kind: "options";
}

export type Block = PromptBlock | ContrastBlock | PatchBlock | OptionsBlock;

/** File-wide options, from top-level lines (`model demo-llama`) or `options` blocks. */
export interface FileOptions {
  /** A model folder (relative to the file or absolute) or a name such as `demo-llama`. */
  model?: Located<string>;
  /** Token budget for each prompt; longer prompts get a diagnostic. */
  maxTokens?: Located<number>;
  /** Tokens to generate when steering or predicting. */
  maxNewTokens?: Located<number>;
  seed?: Located<number>;
  /** Expert interventions from `experts ...` lines, in file order (src/engine/promptfile/experts.ts). */
  experts?: Located<ExpertLine>[];
  /** A prompt file of benign prompts (relative to this file): the activation-shift detector's reference. */
  shiftReference?: Located<string>;
  /** The layer the shift detector reads (default: the last). */
  shiftLayer?: Located<number>;
  /** Top-level option lines (blocks keep their own `entries`). */
  entries: Entry[];
}

export type Severity = "error" | "warning" | "information" | "hint";

export interface ParseDiagnostic {
  range: Range;
  message: string;
  severity: Severity;
  /** Stable id for tests and quick fixes, e.g. "unknown-key". */
  code: string;
}

export interface PromptFile {
  blocks: Block[];
  options: FileOptions;
  diagnostics: ParseDiagnostic[];
  lineCount: number;
}

/** One expert intervention of an `experts ...` line (parsed in src/engine/promptfile/experts.ts). */
export type ExpertLine =
  | { kind: "off"; layer: number; expert: number }
  | { kind: "force"; layer: number; expert: number; positions?: number[] }
  | { kind: "bias"; layer: number; expert: number; value: number }
  | { kind: "topk"; layer: number; k: number };
