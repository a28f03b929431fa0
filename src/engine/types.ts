// Domain types shared by every part of the engine, the model host, the CLI and the benchmarks.
// Pure data: nothing here imports onnxruntime or vscode.

/** Zero-based index of a transformer block. */
export type LayerIndex = number;

/** TransformerLens-style activation site name, e.g. `blocks.3.hook_resid_post`. */
export type HookName = string;

/** Per-layer site kinds, named as in TransformerLens (`blocks.{L}.<kind>`). */
export type SiteKind =
  | "hook_resid_pre"
  | "hook_resid_mid"
  | "hook_resid_post"
  | "hook_attn_out"
  | "hook_mlp_out"
  | "mlp.hook_post"
  | "attn.hook_pattern"
  | "attn.hook_z"
  | "moe.hook_router_logits";

export const SITE_KINDS: readonly SiteKind[] = [
  "hook_resid_pre",
  "hook_resid_mid",
  "hook_resid_post",
  "hook_attn_out",
  "hook_mlp_out",
  "mlp.hook_post",
  "attn.hook_pattern",
  "attn.hook_z",
  "moe.hook_router_logits",
];

export function hookName(layer: LayerIndex, kind: SiteKind): HookName {
  return `blocks.${layer}.${kind}`;
}

/**
 * Short site names, as written in prompt files, settings and the CLI (`resid_post`), and the kind
 * each names. The one table of them: expandSites, steering's site parser and the patching UI
 * (src/protocol/patchData.ts, checked against this in test/unit/foundation/siteNames.test.ts).
 */
export const SITE_SHORT_NAMES = {
  resid_pre: "hook_resid_pre",
  resid_mid: "hook_resid_mid",
  resid_post: "hook_resid_post",
  attn_out: "hook_attn_out",
  mlp_out: "hook_mlp_out",
  mlp_post: "mlp.hook_post",
  pattern: "attn.hook_pattern",
  z: "attn.hook_z",
  router_logits: "moe.hook_router_logits",
} as const satisfies Record<string, SiteKind>;

/** Short names of the sites a vector can be added to or patched layer by layer (residual and branch outputs). */
export const RESIDUAL_SHORT_NAMES = ["resid_pre", "resid_mid", "resid_post", "attn_out", "mlp_out"] as const;

/** Parses `blocks.3.hook_resid_post`; returns undefined for anything else. */
export function parseHookName(name: string): { layer: LayerIndex; kind: SiteKind } | undefined {
  const m = /^blocks\.(\d+)\.(.+)$/.exec(name);
  if (!m) return undefined;
  const kind = m[2] as SiteKind;
  if (!SITE_KINDS.includes(kind)) return undefined;
  return { layer: Number(m[1]), kind };
}

/** A dense float tensor with its shape, row-major. */
export interface ActivationTensor {
  dims: number[];
  data: Float32Array;
}

/** Half-open range of UTF-16 code units in the source text, as editors count. */
export interface CharSpan {
  start: number;
  end: number;
}

/** One token of an encoded text. */
export interface Token {
  id: number;
  /** The vocabulary string (may hold byte-level markers such as `Ġ`). */
  piece: string;
  /** The decoded text of this token alone, as shown to a user. */
  text: string;
  /** Characters of the source text this token covers; empty span for added special tokens. */
  span: CharSpan;
}

/** Tagged state of a model, used by the host's status and the status bar. */
export type ModelState =
  | { kind: "none" }
  | { kind: "loading"; path: string; message?: string }
  | { kind: "ready"; path: string; info: ModelInfo }
  | { kind: "failed"; path: string; reason: string };

export interface ModelInfo {
  /** Stable id (folder name + variant), recorded in saved vectors and results. */
  id: string;
  architecture: string;
  numLayers: number;
  dModel: number;
  dMlp?: number;
  numHeads?: number;
  vocabSize: number;
  numExperts?: number;
  expertsPerToken?: number;
  /** Sites that the architecture map found, per kind (every layer unless stated). */
  sites: HookName[];
  /** Whether the graph takes past_key_values (incremental generation possible). */
  hasKvCache: boolean;
  /** The export style the map recognised, e.g. "torchscript", "dynamo", "ort-fused". */
  exportStyle: string;
  /** Human-readable notes, e.g. "attention fused: patterns not available". */
  notes: string[];
  /** The map's self-check: each count the graph gives against another account of the model. */
  checks?: Array<{ what: string; graph: number | string; other: number | string; source: string; verdict: "agree" | "disagree" }>;
  /** Where onnxruntime runs this model: the provider asked for, the one in use, and why they differ. */
  executionProvider?: { requested: string; used: string; fallback?: string };
  /** Set only when opened despite a failed self-check (`introspect info`): the refusal sentence. */
  unconfirmed?: string;
}

/** Errors a user can meet carry a sentence they understand; `code` is for scripts and tests. */
export class IntrospectError extends Error {
  constructor(
    readonly code:
      | "model-not-found"
      | "tokenizer-missing"
      | "corrupt-model"
      | "unsupported-model"
      | "no-layers-found"
      | "map-check-failed"
      | "bad-input"
      | "too-many-tokens"
      | "cancelled"
      | "internal",
    message: string,
  ) {
    super(message);
    this.name = "IntrospectError";
  }
}

/** Cooperative cancellation, checked between forward passes. */
export interface CancelToken {
  readonly isCancellationRequested: boolean;
}

export const NEVER_CANCELLED: CancelToken = { isCancellationRequested: false };

export function throwIfCancelled(token: CancelToken | undefined): void {
  if (token?.isCancellationRequested) throw new IntrospectError("cancelled", "Cancelled.");
}
