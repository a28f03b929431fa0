// Import and export of llama.cpp / repeng control vectors (GGUF).
//
// Such a file has `general.architecture` = "controlvector", `controlvector.model_hint` (the
// model type, e.g. "llama"), `controlvector.layer_count`, and one F32 tensor `direction.N` of
// n_embd values per steered layer. llama.cpp adds `direction.N` to the output of its layer N,
// counting layers from 0, and never steers layer 0 (its buffer starts at layer 1). In our
// names: direction.N <-> blocks.N.hook_resid_post (= blocks.{N+1}.hook_resid_pre), N >= 1.

import { HookName, IntrospectError, ModelInfo, hookName, parseHookName } from "../types";
import { GgufType, GgufValue, readGguf, writeGguf } from "./gguf";
import { ActiveVector, SteeringVector, vectorSites } from "./vector";

export interface ControlVectorFile {
  modelHint?: string;
  layerCount?: number;
  /** One vector per `direction.N`, at blocks.N.hook_resid_post, in layer order. */
  vectors: SteeringVector[];
  /** Things the user should know, e.g. a model hint that differs from the loaded model. */
  warnings: string[];
}

/** The llama.cpp layer whose output a residual site is (or undefined for other site kinds). */
export function controlLayerOf(site: HookName): number | undefined {
  const p = parseHookName(site);
  if (!p) return undefined;
  if (p.kind === "hook_resid_post") return p.layer;
  if (p.kind === "hook_resid_pre") return p.layer - 1;
  return undefined;
}

export function importControlVector(
  buf: Uint8Array,
  opts: { name: string; modelId: string; model?: ModelInfo; label?: string },
): ControlVectorFile {
  const label = opts.label ?? "control vector file";
  const g = readGguf(buf, label);
  const arch = g.metadata.get("general.architecture");
  if (arch !== "controlvector") {
    throw new IntrospectError(
      "bad-input",
      `${label} is a GGUF file but not a control vector (general.architecture is ${JSON.stringify(arch ?? null)}, expected "controlvector").`,
    );
  }
  const hint = g.metadata.get("controlvector.model_hint");
  const countV: GgufValue | undefined = g.metadata.get("controlvector.layer_count");
  const warnings: string[] = [];
  const vectors: SteeringVector[] = [];
  let dim: number | undefined;
  for (const t of g.tensors) {
    const m = /^direction\.(\d+)$/.exec(t.name);
    if (!m) {
      warnings.push(`Ignored tensor ${t.name}: control vectors hold only direction.N tensors.`);
      continue;
    }
    const n = Number(m[1]);
    if (n === 0) {
      throw new IntrospectError(
        "bad-input",
        `${label} has a direction.0 tensor; llama.cpp counts steered layers from 1, so the file is invalid.`,
      );
    }
    const bad = t.data.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) {
      throw new IntrospectError(
        "bad-input",
        `${label}: direction.${n} holds a non-finite value (${t.data[bad]}) at index ${bad}; the file is damaged.`,
      );
    }
    if (dim === undefined) dim = t.data.length;
    if (t.data.length !== dim) {
      throw new IntrospectError(
        "bad-input",
        `${label}: direction.${n} has ${t.data.length} values but others have ${dim}; the file is inconsistent.`,
      );
    }
    if (opts.model) {
      if (t.data.length !== opts.model.dModel) {
        throw new IntrospectError(
          "bad-input",
          `${label} has directions of ${t.data.length} values but model ${opts.model.id} has a residual width of ${opts.model.dModel}: it was made for another model${typeof hint === "string" ? ` (${hint})` : ""}.`,
        );
      }
      if (n >= opts.model.numLayers) {
        throw new IntrospectError(
          "bad-input",
          `${label} steers layer ${n}, but model ${opts.model.id} has ${opts.model.numLayers} layers (0-${opts.model.numLayers - 1}): it was made for a deeper model.`,
        );
      }
    }
    vectors.push({
      name: `${opts.name}@${n}`,
      modelId: opts.modelId,
      site: hookName(n, "hook_resid_post"),
      dim: t.data.length,
      data: t.data,
      meta: { method: "gguf", normalised: false, created: new Date().toISOString(), source: label },
    });
  }
  if (vectors.length === 0) throw new IntrospectError("bad-input", `${label} holds no direction.N tensors.`);
  vectors.sort((a, b) => parseHookName(a.site)!.layer - parseHookName(b.site)!.layer);
  const layerCount = typeof countV === "number" ? countV : typeof countV === "bigint" ? Number(countV) : undefined;
  if (layerCount !== undefined && layerCount !== vectors.length) {
    warnings.push(`The file says it has ${layerCount} layers but holds ${vectors.length} directions; the directions were used.`);
  }
  if (opts.model && typeof hint === "string" && hint && !opts.model.architecture.toLowerCase().includes(hint.toLowerCase())) {
    warnings.push(`The file was made for a "${hint}" model; the loaded model is ${opts.model.architecture}.`);
  }
  return { modelHint: typeof hint === "string" ? hint : undefined, layerCount, vectors, warnings };
}

/**
 * Writes vectors as a control vector. Each active vector (with its strength and layer weights)
 * is added into direction.N of the layers it touches. Only residual-stream sites can be written.
 */
export function exportControlVector(active: ActiveVector[], modelHint: string): Buffer {
  const byLayer = new Map<number, Float32Array>();
  for (const { vector, alpha } of active) {
    for (const { site, weight } of vectorSites(vector)) {
      const n = controlLayerOf(site);
      if (n === undefined) {
        throw new IntrospectError(
          "bad-input",
          `"${vector.name}" acts at ${site}; GGUF control vectors steer only the residual stream (hook_resid_post / hook_resid_pre).`,
        );
      }
      if (n < 1) {
        throw new IntrospectError(
          "bad-input",
          `"${vector.name}" acts at ${site}, the output of layer ${n}; llama.cpp never steers layer 0 or the embeddings. Move it to a later layer to export it.`,
        );
      }
      let acc = byLayer.get(n);
      if (!acc) byLayer.set(n, (acc = new Float32Array(vector.dim)));
      if (acc.length !== vector.dim) throw new IntrospectError("bad-input", "The vectors to export have different widths.");
      for (let i = 0; i < acc.length; i++) acc[i] += alpha * weight * vector.data[i];
    }
  }
  if (byLayer.size === 0) throw new IntrospectError("bad-input", "Nothing to export: no vector with a non-zero strength.");
  const layers = [...byLayer.keys()].sort((a, b) => a - b);
  return writeGguf(
    [
      ["general.architecture", { type: GgufType.STRING, value: "controlvector" }],
      ["controlvector.model_hint", { type: GgufType.STRING, value: modelHint }],
      ["controlvector.layer_count", { type: GgufType.UINT32, value: layers.length }],
    ],
    layers.map((n) => ({ name: `direction.${n}`, dims: [byLayer.get(n)!.length], data: byLayer.get(n)! })),
  );
}
