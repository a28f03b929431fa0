// What the prompt-file features need from a model, as an interface: the host implements it
// with the engine (hostFacade.ts for the tokenizer-only default); tests implement it with a
// tokenizer or a fake, so every feature is testable without onnxruntime.
import type { CancelToken, ModelInfo, Token } from "../../engine";

export interface NextTokenPrediction {
  /** Display text of the predicted token (leading space kept). */
  text: string;
  id: number;
  prob: number;
}

/** Values recorded by the last probe at one token, shown in the hover. */
export interface TokenProbeValues {
  /** Short label/value rows, e.g. { label: "top next", value: "\" Mary\" 0.62" }. */
  rows: { label: string; value: string }[];
}

export interface LanguageModelFacade {
  /** The loaded model; undefined while loading (layer checks are then skipped). */
  info(): ModelInfo | undefined;
  /**
   * Tokens of `text` as the model sees them (special tokens included, with empty spans);
   * undefined while the tokenizer is not ready.
   */
  tokenize(text: string): Token[] | undefined;
  /** The model's most likely next token after `text`. Used by inlay hints. */
  predictNext?(text: string, cancel: CancelToken): Promise<NextTokenPrediction | undefined>;
  /** After a probe of `text`, the values at token `tokenIndex` (index into tokenize(text)). */
  probeValues?(text: string, tokenIndex: number): TokenProbeValues | undefined;
  /** The vector built from contrast block `blockName` of `uri`, if one has been built. */
  builtVector?(uri: string, blockName: string): { id: string } | undefined;
  /** Model names to offer for the `model` option. */
  knownModels?(): string[];
}

export interface LanguageSettings {
  /** introspect.inlayHints.nextToken */
  inlayNextToken: boolean;
  /** introspect.promptFile.maxTokens: token budget per prompt unless the file sets max-tokens. */
  maxPromptTokens: number;
}

export const DEFAULT_SETTINGS: LanguageSettings = { inlayNextToken: false, maxPromptTokens: 512 };

/** Whether a file's `model` option names the loaded model (by folder name). */
export function modelMatches(option: string, modelId: string): boolean {
  const name =
    option
      .replace(/[\\/]+$/, "")
      .split(/[\\/]/)
      .pop() ?? option;
  return modelId === name || modelId.split(/[\\/:@ ]/)[0] === name;
}
