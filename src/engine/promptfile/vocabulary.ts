// The words of the prompt-file language, with one-line docs. The parser, the completion
// provider, the hover provider and the TextMate grammar's tests all read this one list.
import type { BlockKind } from "./model";

export const FILE_EXTENSION = ".introspect";
export const LANGUAGE_ID = "introspect";

export const BLOCK_DOCS: Record<BlockKind, string> = {
  prompt: "A prompt to probe. The indented lines below are the prompt text, joined with newlines.",
  contrast: "A contrast set for a steering vector: `+` lines are positive prompts, `-` lines negative ones.",
  patch: "An activation-patching experiment: clean and corrupted prompts, the correct and wrong answers, the sites.",
  options: "File-wide options such as the model to use.",
};
export const BLOCK_KINDS = Object.keys(BLOCK_DOCS) as BlockKind[];

/** How a key's value is read. */
export type ValueKind =
  | "text" // prompt text, may continue on deeper-indented lines
  | "token" // one token, usually quoted to show its leading space: " Mary"
  | "layers" // 2, 2 4 6, 2-5
  | "sites" // resid_pre attn_out ...
  | "enum"
  | "bool"
  | "int"
  | "word"
  | "experts"; // off L3:E5, force L1:E2@4, bias L2:E0=1.5, topk L1=1

export interface KeySpec {
  kind: ValueKind;
  doc: string;
  values?: readonly string[];
  /** Other spellings accepted for this key. */
  aliases?: readonly string[];
}

export const CONTRAST_KEYS: Record<string, KeySpec> = {
  layer: {
    kind: "layers",
    doc: "Layer(s) to read the residual stream at: `2`, `2 4 6` or `2-5`.",
    aliases: ["layers"],
  },
  position: {
    kind: "enum",
    values: ["last", "mean"],
    doc: "Token position: `last` token (default) or `mean` over all tokens.",
  },
  method: {
    kind: "enum",
    values: ["diffmeans", "pca"],
    doc: "`diffmeans`: mean of positives minus mean of negatives (default). `pca`: first principal component of paired differences.",
  },
  paired: {
    kind: "bool",
    doc: "`yes`: the n-th `+` line pairs with the n-th `-` line (default for `pca`). `no`: two independent sets.",
  },
  normalize: { kind: "bool", doc: "`yes`: scale the vector to unit length. `no`: keep its raw size (default)." },
  site: {
    kind: "sites",
    doc: "Residual site to read, e.g. `resid_post`; the steering default when absent.",
  },
  count: {
    kind: "enum",
    values: ["topk", "top1"],
    doc: "Expert ranking on mixture-of-experts models: a token counts for every expert it is routed to (`topk`, default) or only its first choice (`top1`).",
  },
};

export const PATCH_KEYS: Record<string, KeySpec> = {
  clean: { kind: "text", doc: "The clean prompt, whose activations are patched in." },
  corrupt: { kind: "text", doc: "The corrupted prompt, run with clean activations patched in.", aliases: ["corrupted"] },
  answer: {
    kind: "token",
    doc: 'The correct answer token, e.g. `" Mary"` (quotes keep its leading space). Default: the clean prompt\'s top token.',
    aliases: ["correct"],
  },
  wrong: {
    kind: "token",
    doc: 'The wrong answer token, e.g. `" John"`. Default: the corrupted prompt\'s top token.',
  },
  sites: {
    kind: "sites",
    doc: "Sites to patch, e.g. `resid_pre attn_out mlp_out`; on mixture-of-experts models `router_logits` patches the routing decision (top-k choice and weights).",
    aliases: ["site"],
  },
  layers: { kind: "layers", doc: "Layers to sweep (default: all): `0-3` or `1 2 5`.", aliases: ["layer"] },
  metric: {
    kind: "enum",
    values: ["logit-diff", "raw-logit-diff", "prob"],
    doc: "`logit-diff`: normalised logit difference (default); `raw-logit-diff`; `prob`: probability of the answer.",
  },
};

export const OPTION_KEYS: Record<string, KeySpec> = {
  model: {
    kind: "word",
    doc: "Model to use: a folder relative to this file, an absolute path, or a name such as `demo-llama`.",
  },
  "max-tokens": { kind: "int", doc: "Token budget per prompt; longer prompts get a warning." },
  "max-new-tokens": { kind: "int", doc: "Tokens to generate when steering or predicting." },
  seed: { kind: "int", doc: "Seed for sampled generation, so steered and unsteered runs compare." },
  experts: {
    kind: "experts",
    doc: "Expert interventions on mixture-of-experts models, applied by the steering panel when it takes its prompt from this file: `experts off L3:E5 L4:E1`, `experts force L1:E2@4`, `experts bias L2:E0=1.5`, `experts topk L1=1`. One action per line; lines add up.",
  },
  "shift-reference": {
    kind: "word",
    doc: "A prompt file of benign prompts (relative to this file): every prompt here is scored by its activation shift from them.",
  },
  "shift-layer": { kind: "int", doc: "The layer the activation-shift score reads (default: the last)." },
};

export const KEYS_BY_BLOCK: Record<BlockKind, Record<string, KeySpec>> = {
  prompt: {},
  contrast: CONTRAST_KEYS,
  patch: PATCH_KEYS,
  options: OPTION_KEYS,
};

/** Short site names meaning every layer (TransformerLens hook kinds). */
export const SITE_DOCS: Record<string, string> = {
  resid_pre: "Residual stream entering each block (`blocks.L.hook_resid_pre`).",
  resid_mid: "Residual stream after attention (`blocks.L.hook_resid_mid`).",
  resid_post: "Residual stream leaving each block (`blocks.L.hook_resid_post`).",
  attn_out: "Attention output (`blocks.L.hook_attn_out`).",
  mlp_out: "MLP output (`blocks.L.hook_mlp_out`).",
  mlp_post: "MLP neuron activations (`blocks.L.mlp.hook_post`).",
  pattern: "Attention patterns (`blocks.L.attn.hook_pattern`).",
  router_logits: "Mixture-of-experts router logits (`blocks.L.moe.hook_router_logits`).",
};
export const SITE_NAMES = Object.keys(SITE_DOCS);

export const BOOL_WORDS: Record<string, boolean> = { yes: true, no: false, true: true, false: false, on: true, off: false };

/** Finds a key by name or alias; returns its canonical name. */
export function lookupKey(keys: Record<string, KeySpec>, word: string): { name: string; spec: KeySpec } | undefined {
  if (keys[word]) return { name: word, spec: keys[word] };
  for (const [name, spec] of Object.entries(keys)) if (spec.aliases?.includes(word)) return { name, spec };
  return undefined;
}

/** Whether `word` is a full hook name such as `blocks.3.hook_resid_post`. */
export function isFullHookName(word: string): boolean {
  return (
    /^blocks\.\d+\.(hook_resid_pre|hook_resid_mid|hook_resid_post|hook_attn_out|hook_mlp_out|mlp\.hook_post|attn\.hook_pattern|moe\.hook_router_logits)$/.test(
      word,
    ) || word === "ln_final.hook_normalized"
  );
}

/** The closest candidate within a small edit distance, for "did you mean" messages. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c);
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3) return 99;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}
