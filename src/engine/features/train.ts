// A small sparse-autoencoder trainer for models of the demo's size: TopK (keep the k largest
// pre-activations) or ReLU with an L1 penalty weighted by decoder norms, Adam, decoder rows kept at
// unit norm, features that stop firing re-seeded from badly reconstructed tokens. The result is a
// SAELens-layout Dictionary (apply_b_dec_to_input, no normalisation).

import { CancelToken, IntrospectError, throwIfCancelled } from "../types";
import type { Dictionary } from "./dictionary";
import type { DictionaryQuality } from "./shapes";
import { encode, decode } from "./dictionary";
import { mulberry32 } from "../generate/sample";

export interface TrainOptions {
  dSae: number;
  kind: "topk" | "relu-l1";
  /** TopK: features per token (default 16). */
  k?: number;
  /** ReLU+L1: penalty weight (default 1e-3 of the data's mean squared norm). */
  l1?: number;
  steps?: number;
  batchSize?: number;
  lr?: number;
  seed?: number;
  /** Called every `progressEvery` steps (default 50) with the mean squared error of that batch. */
  onProgress?: (p: { step: number; steps: number; mse: number; dead: number }) => void;
  progressEvery?: number;
  cancel?: CancelToken;
}

export type Quality = DictionaryQuality;

/** Deterministic uniform [0, 1) generator (the sampler's mulberry32). */
export const seededRandom = mulberry32;

export function gaussian(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

class Adam {
  private m: Float32Array;
  private v: Float32Array;
  constructor(
    readonly p: Float32Array,
    readonly lr: number,
  ) {
    this.m = new Float32Array(p.length);
    this.v = new Float32Array(p.length);
  }
  step(g: Float32Array, t: number): void {
    const b1 = 0.9;
    const b2 = 0.999;
    const c1 = 1 - b1 ** t;
    const c2 = 1 - b2 ** t;
    for (let i = 0; i < g.length; i++) {
      this.m[i] = b1 * this.m[i] + (1 - b1) * g[i];
      this.v[i] = b2 * this.v[i] + (1 - b2) * g[i] * g[i];
      this.p[i] -= (this.lr * (this.m[i] / c1)) / (Math.sqrt(this.v[i] / c2) + 1e-8);
    }
  }
  reset(from: number, to: number): void {
    this.m.fill(0, from, to);
    this.v.fill(0, from, to);
  }
}

function normaliseRow(w: Float32Array, row: number, d: number): void {
  let s = 0;
  for (let i = 0; i < d; i++) s += w[row * d + i] ** 2;
  const n = Math.sqrt(s) || 1;
  for (let i = 0; i < d; i++) w[row * d + i] /= n;
}

/** Indices of the k largest positive values (insertion into a small sorted list: k is small). */
function topIndices(v: Float32Array, k: number): number[] {
  const top: number[] = [];
  for (let j = 0; j < v.length; j++) {
    const x = v[j];
    if (x <= 0 || (top.length === k && x <= v[top[k - 1]])) continue;
    let at = top.length === k ? k - 1 : top.length;
    while (at > 0 && v[top[at - 1]] < x) at--;
    top.splice(at, 0, j);
    if (top.length > k) top.pop();
  }
  return top;
}

/** Starting weights: b_dec the data mean, unit decoder rows at random, the encoder their transpose over the data scale. */
function initialWeights(x: Float32Array, n: number, d: number, m: number, rand: () => number) {
  // Data statistics: mean (b_dec's start) and mean squared distance from it (the loss scale).
  const mean = new Float32Array(d);
  for (let r = 0; r < n; r++) for (let i = 0; i < d; i++) mean[i] += x[r * d + i] / n;
  let variance = 0;
  for (let r = 0; r < n; r++) for (let i = 0; i < d; i++) variance += (x[r * d + i] - mean[i]) ** 2 / n;
  const wDec = new Float32Array(m * d);
  for (let j = 0; j < m; j++) {
    for (let i = 0; i < d; i++) wDec[j * d + i] = gaussian(rand);
    normaliseRow(wDec, j, d);
  }
  const encScale = 1 / Math.sqrt(variance || 1);
  const wEnc = new Float32Array(d * m);
  for (let j = 0; j < m; j++) for (let i = 0; i < d; i++) wEnc[i * m + j] = wDec[j * d + i] * encScale;
  return { variance, wDec, encScale, wEnc, bEnc: new Float32Array(m), bDec: Float32Array.from(mean) };
}

/** Feature j's decoder row toward `row` (minus b_dec, plus noise), its encoder column to match, its optimiser state cleared. */
function reseed(
  w: { wDec: Float32Array; wEnc: Float32Array; bEnc: Float32Array; bDec: Float32Array; encScale: number; variance: number },
  opt: { wDec: Adam; bEnc: Adam },
  j: number,
  row: Float32Array,
  rand: () => number,
): void {
  const d = w.bDec.length;
  const m = w.bEnc.length;
  for (let i = 0; i < d; i++) w.wDec[j * d + i] = row[i] - w.bDec[i] + 0.2 * gaussian(rand) * Math.sqrt(w.variance / d);
  normaliseRow(w.wDec, j, d);
  for (let i = 0; i < d; i++) w.wEnc[i * m + j] = w.wDec[j * d + i] * w.encScale;
  w.bEnc[j] = 0;
  opt.wDec.reset(j * d, (j + 1) * d);
  opt.bEnc.reset(j, j + 1);
}

/** Trains on rows of x [n, d] (row-major). Yields to the event loop between steps so it can be cancelled. */
export async function trainSae(
  x: Float32Array,
  d: number,
  base: Omit<
    Dictionary,
    "wEnc" | "bEnc" | "wDec" | "bDec" | "dIn" | "dSae" | "dOut" | "architecture" | "applyBDecToInput" | "normalization" | "k"
  >,
  o: TrainOptions,
): Promise<{ dict: Dictionary; quality: Quality }> {
  const n = x.length / d;
  if (!Number.isInteger(n) || n < 2) throw new IntrospectError("bad-input", "Training a dictionary needs at least two activation rows.");
  const m = o.dSae;
  const k = o.kind === "topk" ? Math.min(o.k ?? 16, m) : m;
  const steps = o.steps ?? 2000;
  const B = Math.min(o.batchSize ?? 256, n);
  const rand = seededRandom(o.seed ?? 1);
  const { variance, wDec, encScale, wEnc, bEnc, bDec } = initialWeights(x, n, d, m, rand);
  const l1 = (o.l1 ?? 1e-3) * variance;
  const lr = o.lr ?? 1e-3;
  const opt = { wEnc: new Adam(wEnc, lr), bEnc: new Adam(bEnc, lr), wDec: new Adam(wDec, lr), bDec: new Adam(bDec, lr) };
  const g = { wEnc: new Float32Array(d * m), bEnc: new Float32Array(m), wDec: new Float32Array(m * d), bDec: new Float32Array(d) };
  const lastFired = new Int32Array(m);
  const xin = new Float32Array(d);
  const pre = new Float32Array(m);
  const f = new Float32Array(m);
  const err = new Float32Array(d);
  const dxin = new Float32Array(d);
  const every = o.progressEvery ?? 50;
  const resampleEvery = Math.max(200, Math.floor(steps / 8));
  let worst = { row: 0, err: -1 };
  for (let step = 1; step <= steps; step++) {
    throwIfCancelled(o.cancel);
    g.wEnc.fill(0);
    g.bEnc.fill(0);
    g.wDec.fill(0);
    g.bDec.fill(0);
    let mse = 0;
    for (let b = 0; b < B; b++) {
      const r = Math.floor(rand() * n);
      const row = x.subarray(r * d, (r + 1) * d);
      for (let i = 0; i < d; i++) xin[i] = row[i] - bDec[i];
      pre.set(bEnc);
      for (let i = 0; i < d; i++) {
        const xi = xin[i];
        for (let j = 0; j < m; j++) pre[j] += xi * wEnc[i * m + j];
      }
      f.fill(0);
      let active: number[];
      if (o.kind === "topk") {
        active = topIndices(pre, k);
      } else {
        active = [];
        for (let j = 0; j < m; j++) if (pre[j] > 0) active.push(j);
      }
      for (const j of active) {
        f[j] = pre[j];
        lastFired[j] = step;
      }
      // err = x̂ - x
      for (let i = 0; i < d; i++) err[i] = bDec[i] - row[i];
      for (const j of active) for (let i = 0; i < d; i++) err[i] += f[j] * wDec[j * d + i];
      let e2 = 0;
      for (let i = 0; i < d; i++) e2 += err[i] * err[i];
      mse += e2 / B;
      if (e2 > worst.err) worst = { row: r, err: e2 };
      const s = 2 / (B * (variance || 1));
      dxin.fill(0);
      for (let i = 0; i < d; i++) g.bDec[i] += s * err[i];
      for (const j of active) {
        let df = 0;
        for (let i = 0; i < d; i++) {
          df += err[i] * wDec[j * d + i];
          g.wDec[j * d + i] += s * f[j] * err[i];
        }
        df *= s;
        if (o.kind === "relu-l1") df += l1 / (B * (variance || 1));
        g.bEnc[j] += df;
        for (let i = 0; i < d; i++) {
          g.wEnc[i * m + j] += xin[i] * df;
          dxin[i] += df * wEnc[i * m + j];
        }
      }
      for (let i = 0; i < d; i++) g.bDec[i] -= dxin[i];
    }
    opt.wEnc.step(g.wEnc, step);
    opt.bEnc.step(g.bEnc, step);
    opt.wDec.step(g.wDec, step);
    opt.bDec.step(g.bDec, step);
    for (let j = 0; j < m; j++) normaliseRow(wDec, j, d);
    let dead = 0;
    for (let j = 0; j < m; j++) if (step - lastFired[j] > resampleEvery) dead++;
    if (step % resampleEvery === 0 && step < steps * 0.8 && dead > 0) {
      // Re-seed features silent for a whole period toward the worst-reconstructed token of the period.
      const row = x.subarray(worst.row * d, (worst.row + 1) * d);
      const w = { wDec, wEnc, bEnc, bDec, encScale, variance };
      for (let j = 0; j < m; j++) {
        if (step - lastFired[j] <= resampleEvery) continue;
        reseed(w, opt, j, row, rand);
        lastFired[j] = step;
      }
      worst = { row: 0, err: -1 };
    }
    if (step % every === 0 || step === steps) {
      o.onProgress?.({ step, steps, mse, dead });
      await new Promise((r) => setImmediate(r));
    }
  }
  const dict: Dictionary = {
    ...base,
    architecture: o.kind === "topk" ? "topk" : "standard",
    dIn: d,
    dSae: m,
    dOut: d,
    wEnc,
    bEnc,
    wDec,
    bDec,
    k: o.kind === "topk" ? k : undefined,
    applyBDecToInput: true,
    normalization: "none",
  };
  return { dict, quality: measureQuality(dict, x) };
}

/** Explained variance, mean L0 and dead features of a dictionary on rows x [n, d_in]. */
export function measureQuality(d: Dictionary, x: Float32Array, target: Float32Array = x): Quality {
  const n = x.length / d.dIn;
  const f = encode(d, x);
  const xhat = decode(d, f, x);
  const mean = new Float64Array(d.dOut);
  for (let r = 0; r < n; r++) for (let i = 0; i < d.dOut; i++) mean[i] += target[r * d.dOut + i] / n;
  let res = 0;
  let tot = 0;
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < d.dOut; i++) {
      res += (target[r * d.dOut + i] - xhat[r * d.dOut + i]) ** 2;
      tot += (target[r * d.dOut + i] - mean[i]) ** 2;
    }
  }
  let active = 0;
  const fired = new Uint8Array(d.dSae);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < d.dSae; j++) {
      if (f[r * d.dSae + j] !== 0) {
        active++;
        fired[j] = 1;
      }
    }
  }
  return { explainedVariance: 1 - res / (tot || 1), l0: active / n, dead: fired.reduce((a, v) => a + (v ? 0 : 1), 0) };
}
