// The feeds of an edited session's intervention inputs: a steering site's summed vector, a
// patched site's position mask and values. Sites named in a session but not used by this pass get
// the inputs' neutral values (a zero vector, an empty mask).
import * as ort from "onnxruntime-node";
import type { HookName } from "../types";
import { IntrospectError } from "../types";
import { steerInput, patchMaskInput, patchValueInput } from "../surgery/surgery";
import { float32Tensor } from "./tensors";
import type { PatchSpec, SteerSpec } from "./runTypes";

/** Each steered site's vectors summed with their scales; `dModel` checks a residual site's width. */
export function steerFeeds(sites: Iterable<HookName>, steer: SteerSpec[], dModel: number): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const site of new Set(sites)) {
    const sp = steer.filter((s) => s.site === site);
    if (sp.length === 0) {
      feeds[steerInput(site)] = float32Tensor(new Float32Array(1), [1]);
      continue;
    }
    const first = sp[0].vector instanceof Float32Array ? { dims: [sp[0].vector.length], data: sp[0].vector } : sp[0].vector;
    const sum = new Float32Array(first.data.length);
    for (const s of sp) {
      const v = s.vector instanceof Float32Array ? s.vector : s.vector.data;
      if (v.length !== sum.length) throw new IntrospectError("bad-input", `Steering vectors for ${site} have different sizes.`);
      const k = s.scale ?? 1;
      for (let i = 0; i < v.length; i++) sum[i] += k * v[i];
    }
    if (first.dims.length === 1 && first.dims[0] !== dModel && !site.includes("mlp.hook_post")) {
      throw new IntrospectError(
        "bad-input",
        `The steering vector for ${site} has ${first.dims[0]} values; this model's residual stream has ${dModel}.`,
      );
    }
    feeds[steerInput(site)] = float32Tensor(sum, first.dims);
  }
  return feeds;
}

/** Each patched site's mask (true at the patched positions of each row) and replacement values. */
export function patchFeeds(sites: Iterable<HookName>, patch: PatchSpec[]): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const site of new Set(sites)) {
    const p = patch.find((x) => x.site === site);
    if (!p) {
      feeds[patchMaskInput(site)] = new ort.Tensor("bool", new Uint8Array(1), [1]);
      feeds[patchValueInput(site)] = float32Tensor(new Float32Array(1), [1]);
      continue;
    }
    const vdims =
      p.values.dims.length === 2 || (p.values.dims.length === 3 && site.includes("pattern")) ? [1, ...p.values.dims] : p.values.dims;
    const posAxis = vdims.length === 4 ? 2 : 1;
    const mdims = vdims.map((d, i) => (i === 0 || i === posAxis ? d : 1));
    const m = new Uint8Array(mdims.reduce((a, b) => a * b, 1));
    const Sm = mdims[posAxis];
    for (let b = 0; b < mdims[0]; b++)
      for (const pos of p.positions) {
        if (pos < 0 || pos >= Sm) throw new IntrospectError("bad-input", `Patch position ${pos} is outside the prompt (0..${Sm - 1}).`);
        m[b * Sm + pos] = 1;
      }
    feeds[patchMaskInput(site)] = new ort.Tensor("bool", m, mdims);
    feeds[patchValueInput(site)] = float32Tensor(p.values.data, vdims);
  }
  return feeds;
}
