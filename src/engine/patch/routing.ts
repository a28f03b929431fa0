// Patching a routing decision: at a patched position the corrupted run's router logits of a layer
// (blocks.L.moe.hook_router_logits) are replaced by the clean run's, so the layer's experts are
// chosen and weighted as in the clean run (the top-k choice and the weights are a function of those
// logits alone, whatever the gate) while they still compute on the corrupted activations. The
// replacement goes through the expert inputs of the edited graph (experts/edit.ts): per token, the
// clean minus the corrupted logits is added, which needs no patch input shaped for the logits.
import type * as ort from "onnxruntime-node";
import { expertAddInput, expertKInput } from "../experts/edit";
import type { LayerRouting } from "../experts/routing";
import { float32Tensor, int64Tensor } from "../model/tensors";
import type { HookName } from "../types";
import type { BatchPatch } from "./sweep";

/** The layer of a router-logits site, or undefined for any other site. */
export function routerSiteLayer(site: HookName): number | undefined {
  const m = /^blocks\.(\d+)\.moe\.hook_router_logits$/.exec(site);
  return m ? Number(m[1]) : undefined;
}

/**
 * The expert inputs of one patched pass over batch rows `members` (of `S` tokens, fed from `from`):
 * a patched position of a row gets clean - corrupted logits added; everything else adds zero.
 * `corrupt` holds the corrupted run's [S x E] logits of each router site.
 */
export function routingFeeds(
  routings: LayerRouting[],
  patches: Map<HookName, BatchPatch>,
  corrupt: Map<HookName, Float32Array>,
  members: number[],
  S: number,
  from: number,
): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  const n = S - from;
  const R = members.length;
  for (const r of routings) {
    const E = r.experts;
    const site = `blocks.${r.layer}.moe.hook_router_logits`;
    const p = patches.get(site);
    let add: Float32Array;
    if (!p) add = new Float32Array(E);
    else {
      const base = corrupt.get(site)!;
      add = new Float32Array(R * n * E);
      members.forEach((b, k) => {
        for (let t = from; t < S; t++) {
          if (!p.mask[b * S + t]) continue;
          const o = (k * n + t - from) * E;
          for (let e = 0; e < E; e++) add[o + e] = p.values[t * E + e] - base[t * E + e];
        }
      });
    }
    feeds[expertAddInput(r.layer)] = float32Tensor(add, [add.length / E, E]);
    if (r.topK) feeds[expertKInput(r.layer)] = int64Tensor([r.topK.k], [1]);
  }
  return feeds;
}
