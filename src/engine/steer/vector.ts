// Steering vectors: the data type, combinations, and the translation into the per-site
// additions that a forward pass takes. Building from activations is in build.ts, files in
// ivec.ts and controlvector.ts.

import { HookName, IntrospectError, LayerIndex, ModelInfo, hookName, parseHookName } from "../types";

export type VectorMethod = "mean-diff" | "pca" | "pair" | "combined" | "gguf" | "manual";
export type Pooling = "last" | "mean";

export interface VectorMeta {
  method: VectorMethod;
  /** How each prompt's activations were reduced to one vector. */
  pooling?: Pooling;
  /** True when `data` has unit L2 norm. */
  normalised: boolean;
  /** L2 norm before normalisation (for showing a sensible slider range). */
  rawNorm?: number;
  nPositive?: number;
  nNegative?: number;
  /** ISO time of creation. */
  created: string;
  /** Free text: the prompt file, the GGUF file, the combination formula ... */
  source?: string;
}

/** One layer of the "Guiding Giants" form: the vector is added at `blocks.{layer}.<kind of site>` times `weight`. */
export interface LayerWeight {
  layer: LayerIndex;
  weight: number;
}

export interface SteeringVector {
  name: string;
  /** ModelInfo.id of the model the vector was built on. */
  modelId: string;
  /** Where it is added, e.g. `blocks.2.hook_resid_post`. */
  site: HookName;
  dim: number;
  data: Float32Array;
  /**
   * When present the vector is applied over a layer range instead of at `site` alone: at each
   * listed layer (same site kind as `site`) with its weight; the global strength multiplies all.
   */
  layerWeights?: LayerWeight[];
  meta: VectorMeta;
}

/** A vector with the strength to apply it at (the slider value). */
export interface ActiveVector {
  vector: SteeringVector;
  alpha: number;
}

/** What a forward pass adds: one dModel-sized vector per site. Sites absent add nothing. */
export type SteerAdditions = Map<HookName, Float32Array>;

export function l2norm(v: Float32Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

export function makeVector(fields: Omit<SteeringVector, "dim" | "meta"> & { meta?: Partial<VectorMeta> }): SteeringVector {
  if (!parseHookName(fields.site)) {
    throw new IntrospectError("bad-input", `"${fields.site}" is not a per-layer site name: use a name like blocks.2.hook_resid_post.`);
  }
  for (let i = 0; i < fields.data.length; i++) {
    if (!Number.isFinite(fields.data[i])) {
      throw new IntrospectError("bad-input", `Vector "${fields.name}" has a non-finite value at index ${i}.`);
    }
  }
  return {
    ...fields,
    dim: fields.data.length,
    meta: {
      method: "manual",
      normalised: false,
      created: new Date().toISOString(),
      ...fields.meta,
    },
  };
}

function assertCompatible(a: SteeringVector, b: SteeringVector): void {
  if (a.modelId !== b.modelId) {
    throw new IntrospectError(
      "bad-input",
      `Cannot combine "${a.name}" (model ${a.modelId}) with "${b.name}" (model ${b.modelId}): vectors of different models do not share a space.`,
    );
  }
  if (a.dim !== b.dim) {
    throw new IntrospectError(
      "bad-input",
      `Cannot combine "${a.name}" (${a.dim} values) with "${b.name}" (${b.dim} values): the dimensions differ.`,
    );
  }
  if (a.site !== b.site) {
    throw new IntrospectError(
      "bad-input",
      `Cannot combine "${a.name}" at ${a.site} with "${b.name}" at ${b.site}: build both at one site, or apply them side by side.`,
    );
  }
}

/** Weighted sum of vectors at one site: sum_i coef_i * v_i (coefficients default to 1). */
export function combine(parts: { vector: SteeringVector; coef?: number }[], name?: string): SteeringVector {
  if (parts.length === 0) throw new IntrospectError("bad-input", "Nothing to combine: choose at least one vector.");
  const first = parts[0].vector;
  const data = new Float32Array(first.dim);
  for (const p of parts) {
    assertCompatible(first, p.vector);
    const c = p.coef ?? 1;
    for (let i = 0; i < data.length; i++) data[i] += c * p.vector.data[i];
  }
  const formula = parts.map((p) => `${p.coef ?? 1}*${p.vector.name}`).join(" + ");
  return {
    name: name ?? formula,
    modelId: first.modelId,
    site: first.site,
    dim: first.dim,
    data,
    layerWeights: first.layerWeights,
    meta: { method: "combined", normalised: false, created: new Date().toISOString(), source: formula },
  };
}

export const sum = (a: SteeringVector, b: SteeringVector, name?: string): SteeringVector => combine([{ vector: a }, { vector: b }], name);
export const scale = (a: SteeringVector, k: number, name?: string): SteeringVector =>
  combine([{ vector: a, coef: k }], name ?? `${k}*${a.name}`);
export const negate = (a: SteeringVector, name?: string): SteeringVector => scale(a, -1, name ?? `-${a.name}`);

export function normalise(a: SteeringVector): SteeringVector {
  const n = l2norm(a.data);
  if (n === 0) throw new IntrospectError("bad-input", `Vector "${a.name}" is all zeros and cannot be normalised.`);
  const data = a.data.map((x) => x / n);
  return { ...a, data, meta: { ...a.meta, normalised: true, rawNorm: a.meta.rawNorm ?? n } };
}

/** Applies one vector over a layer range with per-layer weights (the "Guiding Giants" form). */
export function withLayerWeights(a: SteeringVector, weights: LayerWeight[]): SteeringVector {
  return { ...a, layerWeights: weights.length ? weights.map((w) => ({ ...w })) : undefined };
}

/** The (site, weight) pairs a vector is added at. */
export function vectorSites(a: SteeringVector): { site: HookName; weight: number }[] {
  if (!a.layerWeights) return [{ site: a.site, weight: 1 }];
  const kind = parseHookName(a.site)!.kind;
  return a.layerWeights.map((w) => ({ site: hookName(w.layer, kind), weight: w.weight }));
}

/**
 * Checks that a vector can be applied to a model. A different model id with the same width is
 * refused unless `allowOtherModel` (a fine-tune of the same base may share the space, but the
 * user should say so).
 */
export function checkVectorFits(a: SteeringVector, info: ModelInfo, allowOtherModel = false): void {
  if (a.dim !== info.dModel) {
    throw new IntrospectError(
      "bad-input",
      `Vector "${a.name}" has ${a.dim} values but model ${info.id} has a residual width of ${info.dModel}: it was built on another model (${a.modelId}). Rebuild it on this model.`,
    );
  }
  if (a.modelId !== info.id && !allowOtherModel) {
    throw new IntrospectError(
      "bad-input",
      `Vector "${a.name}" was built on model ${a.modelId}, but the loaded model is ${info.id}. Rebuild it on this model, or apply it anyway if both share a base.`,
    );
  }
  for (const { site } of vectorSites(a)) {
    const p = parseHookName(site)!;
    if (p.layer >= info.numLayers) {
      throw new IntrospectError(
        "bad-input",
        `Vector "${a.name}" is applied at ${site}, but model ${info.id} has only ${info.numLayers} layers (0-${info.numLayers - 1}).`,
      );
    }
    if (info.sites.length > 0 && !info.sites.includes(site)) {
      throw new IntrospectError(
        "bad-input",
        `Vector "${a.name}" is applied at ${site}, which this model's graph does not expose. Available kinds: ${[
          ...new Set(info.sites.map((s) => parseHookName(s)?.kind).filter(Boolean)),
        ].join(", ")}.`,
      );
    }
  }
}

/** Sums the active vectors (times their strengths and layer weights) into one addition per site. */
export function steerAdditions(active: ActiveVector[]): SteerAdditions {
  const out: SteerAdditions = new Map();
  for (const { vector, alpha } of active) {
    if (alpha === 0) continue;
    for (const { site, weight } of vectorSites(vector)) {
      const k = alpha * weight;
      if (k === 0) continue;
      let acc = out.get(site);
      if (!acc) {
        acc = new Float32Array(vector.dim);
        out.set(site, acc);
      } else if (acc.length !== vector.dim) {
        throw new IntrospectError("bad-input", `Vectors applied at ${site} have different sizes (${acc.length} and ${vector.dim}).`);
      }
      for (let i = 0; i < acc.length; i++) acc[i] += k * vector.data[i];
    }
  }
  return out;
}

/** Moves a vector to another layer of the same site kind (for sweeps over layers). */
export function atLayer(a: SteeringVector, layer: LayerIndex): SteeringVector {
  const p = parseHookName(a.site)!;
  return { ...a, site: hookName(layer, p.kind), layerWeights: undefined };
}
