// Synthetic probe results for the webview harness and the assembly tests: deterministic random
// tensors pushed through the real analyses (assembleProbeResult), so the panel sees exactly the
// shapes the model host produces.
import { assembleProbeResult } from "../../src/engine/analysis/assemble";
import { logitLensLayer, nextTokenIds } from "../../src/engine/analysis/layerMetrics";
import type { ProbeResult } from "../../src/protocol/probeData";
import type { ActivationTensor } from "../../src/engine";

export interface FixtureOptions {
  texts: string[];
  /** Selected token range; default all tokens. */
  selection?: { start: number; end: number };
  layers?: number;
  dModel?: number;
  dMlp?: number;
  vocab?: number;
  heads?: number;
  experts?: number;
  attention?: "pattern" | "fused";
  seed?: number;
}

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) / 4294967296) * 2 - 1;
  };
}

function tensor(rows: number, cols: number, f: (r: number, c: number) => number): ActivationTensor {
  const data = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) data[r * cols + c] = f(r, c);
  return { dims: [1, rows, cols], data };
}

export function makeFixture(o: FixtureOptions): ProbeResult {
  const rand = rng(o.seed ?? 7);
  const T = o.texts.length;
  const L = o.layers ?? 6;
  const D = o.dModel ?? 32;
  const M = o.dMlp ?? 96;
  const V = Math.max(o.vocab ?? 64, T);
  const H = o.heads ?? 4;
  const sel = o.selection ?? { start: 0, end: T };
  // Vocabulary: the fixture's own texts first (so next-token ids decode to them), then fillers.
  const vocabTexts = [...o.texts];
  for (let i = vocabTexts.length; i < V; i++) vocabTexts.push(` w${i}`);
  const tokens = o.texts.map((text, i) => {
    const start = o.texts.slice(0, i).join("").length;
    return { id: i, text, piece: text.replace(/ /g, "Ġ"), span: { start, end: start + text.length } };
  });
  const unembed = Float32Array.from({ length: V * D }, () => rand());
  const embed = tensor(T, D, () => rand());
  const residPost: ActivationTensor[] = [];
  let prev = embed;
  for (let l = 0; l < L; l++) {
    // Each layer adds a growing update; dim 3 of token 0 becomes massive from layer 2 on, as in real models.
    const cur = tensor(T, D, (r, c) => prev.data[r * D + c] * 1.1 + rand() * (0.3 + l * 0.2) + (l >= 2 && r === 0 && c === 3 ? 400 : 0));
    residPost.push(cur);
    prev = cur;
  }
  const lensLogits = (l: number): ActivationTensor => {
    const r = residPost[l];
    // Later layers get sharper distributions, so the entropy row visibly falls with depth.
    const scale = 0.2 + (l / Math.max(1, L - 1)) * 1.5;
    return tensor(T, V, (t, v) => {
      let s = 0;
      for (let d = 0; d < D; d++) if (d !== 3) s += r.data[t * D + d] * unembed[v * D + d];
      return (s * scale) / Math.sqrt(D) + (v === (t + 1) % T ? l * 0.8 : 0);
    });
  };
  const mlp = tensor(T, M, (t, j) => (j % 17 === 0 ? 6 * Math.sin(t / 3 + j) : rand() * 2));
  let attention: Parameters<typeof assembleProbeResult>[0]["attention"];
  if (o.attention === "fused") {
    attention = { layer: 0, head: 0, reason: "This graph uses a fused attention operator, so attention patterns are not available." };
  } else {
    const data = new Float32Array(H * T * T);
    for (let h = 0; h < H; h++) {
      for (let q = 0; q < T; q++) {
        let sum = 0;
        for (let k = 0; k <= q; k++) {
          const w = Math.exp(2 * rand() + (k === 0 ? 2 : 0) + (h === 1 && k === q - 1 ? 3 : 0));
          data[(h * T + q) * T + k] = w;
          sum += w;
        }
        for (let k = 0; k <= q; k++) data[(h * T + q) * T + k] /= sum;
      }
    }
    attention = { layer: 0, head: 0, tensor: { dims: [1, H, T, T], data } };
  }
  const routerLogits = o.experts
    ? Array.from({ length: L }, (_, l) => tensor(T, o.experts!, (t, e) => 2 * rand() + (e === (t + l) % o.experts! ? 2 : 0)))
    : undefined;
  return assembleProbeResult({
    model: {
      id: o.experts ? "synthetic-moe" : "synthetic",
      architecture: o.experts ? "moe" : "llama",
      numLayers: L,
      dModel: D,
      numHeads: H,
      numExperts: o.experts,
    },
    tokens,
    selection: sel,
    embed,
    residPost,
    lens: Array.from({ length: L }, (_, l) =>
      logitLensLayer(
        lensLogits(l),
        sel,
        nextTokenIds(
          tokens.map((t) => t.id),
          sel,
        ),
        5,
      ),
    ),
    decode: (id) => vocabTexts[id] ?? `<${id}>`,
    mlpPost: { layer: 0, tensor: mlp },
    neuronCount: 16,
    attention,
    routerLogits,
    expertsPerToken: 2,
  });
}

/** Texts that look like a tokenised sentence, with spaces, newlines and byte-ish tokens. */
export function sampleTexts(n: number): string[] {
  const words = ["The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog", ".", "\n", " It", " was", " 42", "\t", "é"];
  return Array.from({ length: n }, (_, i) => words[i % words.length]);
}
