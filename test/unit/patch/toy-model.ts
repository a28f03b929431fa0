// A tiny deterministic transformer-shaped model in plain TypeScript, so the patching sweep's
// bookkeeping (alignment, masks, batching, skipping) can be checked against brute force.

import { HookName } from "../../../src/engine";
import { BatchPatch, PatchRunner } from "../../../src/engine";

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296 - 0.5;
  };
}

export class ToyModel implements PatchRunner {
  readonly E: Float32Array;
  readonly Wa: Float32Array[];
  readonly Wm: Float32Array[];
  readonly U: Float32Array;
  patchedCalls = 0;
  rowsRun = 0;
  constructor(
    readonly numLayers = 3,
    readonly dModel = 6,
    readonly vocabSize = 11,
    seed = 7,
  ) {
    const r = rng(seed);
    const mat = (n: number, k = 1) => Float32Array.from({ length: n }, () => r() * k);
    this.E = mat(vocabSize * dModel, 2);
    this.Wa = Array.from({ length: numLayers }, () => mat(dModel * dModel, 1.2));
    this.Wm = Array.from({ length: numLayers }, () => mat(dModel * dModel, 1.2));
    this.U = mat(dModel * vocabSize, 2);
  }

  /** Forward over ids; `hook(site, x)` may replace x in place; returns last-position logits. */
  forward(ids: number[], hook: (site: HookName, x: Float32Array) => void): Float32Array {
    const d = this.dModel;
    const T = ids.length;
    const x = new Float32Array(T * d);
    ids.forEach((id, t) => x.set(this.E.subarray(id * d, (id + 1) * d), t * d));
    for (let l = 0; l < this.numLayers; l++) {
      hook(`blocks.${l}.hook_resid_pre`, x);
      // "attention": causal mean of x W_a
      const a = new Float32Array(T * d);
      const acc = new Float32Array(d);
      for (let t = 0; t < T; t++) {
        for (let j = 0; j < d; j++) {
          let s = 0;
          for (let i = 0; i < d; i++) s += x[t * d + i] * this.Wa[l][i * d + j];
          acc[j] += s;
          a[t * d + j] = acc[j] / (t + 1);
        }
      }
      hook(`blocks.${l}.hook_attn_out`, a);
      for (let k = 0; k < x.length; k++) x[k] += a[k];
      hook(`blocks.${l}.hook_resid_mid`, x);
      const m = new Float32Array(T * d);
      for (let t = 0; t < T; t++) {
        for (let j = 0; j < d; j++) {
          let s = 0;
          for (let i = 0; i < d; i++) s += x[t * d + i] * this.Wm[l][i * d + j];
          m[t * d + j] = Math.tanh(s);
        }
      }
      hook(`blocks.${l}.hook_mlp_out`, m);
      for (let k = 0; k < x.length; k++) x[k] += m[k];
      hook(`blocks.${l}.hook_resid_post`, x);
    }
    const V = this.vocabSize;
    const out = new Float32Array(V);
    for (let v = 0; v < V; v++) {
      let s = 0;
      for (let i = 0; i < d; i++) s += x[(T - 1) * d + i] * this.U[i * V + v];
      out[v] = s;
    }
    return out;
  }

  async capture(ids: number[], sites: HookName[]) {
    const acts = new Map<HookName, Float32Array>();
    const want = new Set(sites);
    const logits = this.forward(ids, (s, x) => {
      if (want.has(s)) acts.set(s, x.slice());
    });
    return { logits, acts };
  }

  async runPatched(ids: number[], rows: number, patches: Map<HookName, BatchPatch>) {
    this.patchedCalls++;
    this.rowsRun += rows;
    const T = ids.length;
    const d = this.dModel;
    const out = new Float32Array(rows * this.vocabSize);
    for (let r = 0; r < rows; r++) {
      const row = this.forward(ids, (s, x) => {
        const p = patches.get(s);
        if (!p) return;
        for (let t = 0; t < T; t++) if (p.mask[r * T + t]) x.set(p.values.subarray(t * d, (t + 1) * d), t * d);
      });
      out.set(row, r * this.vocabSize);
    }
    return out;
  }

  /** Brute force: one activation at (site, position) replaced by `value`. */
  single(ids: number[], site: HookName, pos: number, value: Float32Array): Float32Array {
    const d = this.dModel;
    return this.forward(ids, (s, x) => {
      if (s === site) x.set(value, pos * d);
    });
  }
}
