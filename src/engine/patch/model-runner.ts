// The patching sweep's runner over the engine's LoadedModel. Batched patched runs feed the
// edited session directly: every batch row carries its own position mask (the cell it patches)
// while the replacement values are one [1, T, d] tensor shared by all rows.

import * as ort from "onnxruntime-node";
import type { LoadedModel } from "../model/loaded";
import { int64Tensor, zerosTensor, float32Tensor, toActivation } from "../model/tensors";
import { patchMaskInput, patchValueInput } from "../surgery/surgery";
import { HookName, IntrospectError } from "../types";
import type { BatchPatch, PatchRunner } from "./sweep";

export function modelPatchRunner(model: LoadedModel, sites: HookName[]): PatchRunner {
  const info = model.info;
  const prepared = [...new Set(sites)].sort();
  return {
    numLayers: info.numLayers,
    dModel: info.dModel,
    vocabSize: info.vocabSize,
    async capture(ids, capture) {
      // The same edited session as the patched runs (all-false masks are no-ops), so one session serves the sweep.
      const r = await model.run({ ids, capture, prepare: { patch: prepared } });
      const V = r.logits.dims[r.logits.dims.length - 1];
      const acts = new Map<HookName, Float32Array>();
      for (const [k, v] of r.captures) acts.set(k, v.data);
      return { logits: r.logits.data.slice(r.logits.data.length - V), acts };
    },
    async runPatched(ids, rows, patches) {
      const { session } = await model.session([], prepared);
      const S = ids.length;
      const feeds: Record<string, ort.Tensor> = {};
      const names = new Set(session.inputNames);
      const flat: number[] = [];
      for (let b = 0; b < rows; b++) flat.push(...ids);
      feeds.input_ids = int64Tensor(flat, [rows, S]);
      if (names.has("attention_mask")) feeds.attention_mask = int64Tensor(new Array(rows * S).fill(1), [rows, S]);
      if (names.has("position_ids")) feeds.position_ids = int64Tensor(Array.from({ length: rows * S }, (_, i) => i % S), [rows, S]);
      for (const p of model.pastInputs) feeds[p.name] = zerosTensor(p.elemType, [rows, p.heads, 0, p.headDim]);
      for (const site of prepared) {
        const p: BatchPatch | undefined = patches.get(site);
        if (!p) {
          feeds[patchMaskInput(site)] = new ort.Tensor("bool", new Uint8Array(1), [1]);
          feeds[patchValueInput(site)] = float32Tensor(new Float32Array(1), [1]);
          continue;
        }
        if (p.mask.length !== rows * S || p.values.length !== S * info.dModel) {
          throw new IntrospectError("internal", `Patch inputs for ${site} have the wrong size.`);
        }
        feeds[patchMaskInput(site)] = new ort.Tensor("bool", p.mask, [rows, S, 1]);
        feeds[patchValueInput(site)] = float32Tensor(p.values, [1, S, info.dModel]);
      }
      for (const site of patches.keys()) {
        if (!prepared.includes(site)) throw new IntrospectError("internal", `The site ${site} was not prepared for patching.`);
      }
      let raw: ort.InferenceSession.OnnxValueMapType;
      try {
        raw = await session.run(feeds, [model.map.logitsOutput]);
      } catch (e) {
        throw new IntrospectError("internal", `A patched forward pass failed in onnxruntime: ${(e as Error).message.split("\n")[0]}`);
      }
      const t = raw[model.map.logitsOutput] as ort.Tensor;
      const V = t.dims[t.dims.length - 1];
      const data = toActivation(t).data;
      // Each row's last V values are its last position, whether the graph returns every position or only the last.
      const stride = data.length / rows;
      const out = new Float32Array(rows * V);
      for (let b = 0; b < rows; b++) out.set(data.subarray((b + 1) * stride - V, (b + 1) * stride), b * V);
      return out;
    },
  };
}
