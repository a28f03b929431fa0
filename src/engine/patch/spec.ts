// What an activation-patching sweep is asked to do, and the rule that pairs clean and
// corrupted positions.

import { HookName, IntrospectError, LayerIndex, SiteKind } from "../types";

/** Site kinds that can be patched layer by layer (heads come when the graph exposes them). */
export type PatchSiteKind = Extract<
  SiteKind,
  "hook_resid_pre" | "hook_resid_mid" | "hook_resid_post" | "hook_attn_out" | "hook_mlp_out" | "moe.hook_router_logits"
>;

export const DEFAULT_PATCH_SITE_KINDS: PatchSiteKind[] = ["hook_resid_pre", "hook_attn_out", "hook_mlp_out"];
/** Same list, earlier name (used by the CLI). */
export const DEFAULT_PATCH_SITES = DEFAULT_PATCH_SITE_KINDS;

export interface PatchSweepSpec {
  cleanIds: number[];
  corruptIds: number[];
  /** Token id of the clean answer and of the corrupted (wrong) answer. */
  correct: number;
  wrong: number;
  sites?: PatchSiteKind[];
  /** Layers to sweep; default all. */
  layers?: LayerIndex[];
  /**
   * Corrupted-prompt positions to sweep; default every aligned position (see alignPositions).
   * Negative numbers count from the end (-1 = last token).
   */
  positions?: number[];
}

export interface Alignment {
  /** For each swept corrupted position, the clean position its activation comes from. */
  corruptPositions: number[];
  cleanPositions: number[];
  /** A sentence for the user when the prompts' token counts differ; undefined when they match. */
  note?: string;
}

/**
 * Positions are paired from the end: the last token with the last token, and so on. With equal
 * token counts that is every position, one to one. With different counts, the leading tokens of
 * the longer prompt have no partner and are not patched; the note says so. (Aligning from the
 * end keeps the final position, where the answer is read, paired with its counterpart.)
 */
export function alignPositions(cleanLen: number, corruptLen: number, requested?: number[]): Alignment {
  if (cleanLen === 0 || corruptLen === 0) {
    throw new IntrospectError("bad-input", "Both the clean and the corrupted prompt need at least one token.");
  }
  const shared = Math.min(cleanLen, corruptLen);
  const offset = cleanLen - corruptLen; // clean position = corrupt position + offset
  const firstCorrupt = corruptLen - shared;
  let corruptPositions: number[];
  if (requested && requested.length > 0) {
    corruptPositions = requested.map((p) => (p < 0 ? corruptLen + p : p));
    for (const [k, p] of corruptPositions.entries()) {
      if (!Number.isInteger(p) || p < firstCorrupt || p >= corruptLen) {
        throw new IntrospectError(
          "bad-input",
          cleanLen === corruptLen
            ? `Position ${requested[k]} is outside the prompt (0-${corruptLen - 1}).`
            : `Position ${requested[k]} has no partner: the clean prompt has ${cleanLen} tokens and the corrupted one ${corruptLen}, so only corrupted positions ${firstCorrupt}-${corruptLen - 1} (aligned from the end) can be patched.`,
        );
      }
    }
  } else {
    corruptPositions = Array.from({ length: shared }, (_, i) => firstCorrupt + i);
  }
  const note =
    cleanLen === corruptLen
      ? undefined
      : `The clean prompt has ${cleanLen} tokens and the corrupted one ${corruptLen}: positions are paired from the end (last with last), and the first ${Math.abs(offset)} tokens of the ${offset > 0 ? "clean" : "corrupted"} prompt are not patched. Make both prompts the same length in tokens to compare every position.`;
  return { corruptPositions, cleanPositions: corruptPositions.map((p) => p + offset), note };
}

export function checkSpec(spec: PatchSweepSpec, numLayers: number, vocabSize: number): void {
  for (const [label, id] of [
    ["correct", spec.correct],
    ["wrong", spec.wrong],
  ] as const) {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new IntrospectError("bad-input", `The ${label} answer token id ${id} is not in the vocabulary (0-${vocabSize - 1}).`);
    }
  }
  if (spec.correct === spec.wrong) {
    throw new IntrospectError(
      "bad-input",
      "The correct and the wrong answer are the same token, so their logit difference is always 0: choose two different answers.",
    );
  }
  for (const l of spec.layers ?? []) {
    if (!Number.isInteger(l) || l < 0 || l >= numLayers) {
      throw new IntrospectError("bad-input", `Layer ${l} does not exist; the model has layers 0-${numLayers - 1}.`);
    }
  }
}

export function siteName(layer: LayerIndex, kind: PatchSiteKind): HookName {
  return `blocks.${layer}.${kind}`;
}
