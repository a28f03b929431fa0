// One pass of a dictionary over a corpus, for feature cards: each feature's top-activating
// snippets, its activation density (fraction of tokens where it fires) and its mean activation
// when it fires (the "typical" value a steering vector is scaled to).

import type { LoadedModel } from "../model/loaded";
import type { TextTokenizer } from "../tokenizer";
import { CancelToken, throwIfCancelled } from "../types";
import { encode, type Dictionary } from "./dictionary";
import type { Snippet } from "./shapes";

export type { Snippet } from "./shapes";

export interface FeatureStats {
  density: number;
  meanActive: number;
  maxActive: number;
  top: Snippet[];
}

export interface CorpusScan {
  texts: number;
  tokens: number;
  features: FeatureStats[];
}

export interface ScanOptions {
  topN?: number;
  /** Tokens of context each side of a snippet (default 8). */
  context?: number;
  maxTokens?: number;
  onProgress?: (done: number, total: number) => void;
  cancel?: CancelToken;
}

export async function scanCorpus(
  model: LoadedModel,
  tok: TextTokenizer,
  d: Dictionary,
  texts: string[],
  o: ScanOptions = {},
): Promise<CorpusScan> {
  const topN = o.topN ?? 8;
  const ctx = o.context ?? 8;
  const count = new Float64Array(d.dSae);
  const sum = new Float64Array(d.dSae);
  const max = new Float32Array(d.dSae);
  // Per feature: best (value, text, position) so far, largest first.
  const best: Array<Array<{ value: number; text: number; pos: number }>> = Array.from({ length: d.dSae }, () => []);
  const encoded: Array<{ texts: string[] }> = [];
  let tokens = 0;
  for (let t = 0; t < texts.length; t++) {
    throwIfCancelled(o.cancel);
    const toks = tok.encode(texts[t]).slice(0, o.maxTokens ?? 128);
    encoded.push({ texts: toks.map((x) => x.text) });
    if (toks.length === 0) continue;
    const x = (await model.run({ ids: toks.map((x) => x.id), capture: [d.site], cancel: o.cancel })).captures.get(d.site)!;
    const f = encode(d, x.data);
    tokens += toks.length;
    for (let p = 0; p < toks.length; p++) {
      for (let j = 0; j < d.dSae; j++) {
        const v = f[p * d.dSae + j];
        if (v <= 0) continue;
        count[j]++;
        sum[j] += v;
        if (v > max[j]) max[j] = v;
        const list = best[j];
        if (list.length === topN && v <= list[topN - 1].value) continue;
        let at = list.length;
        while (at > 0 && list[at - 1].value < v) at--;
        list.splice(at, 0, { value: v, text: t, pos: p });
        if (list.length > topN) list.pop();
      }
    }
    o.onProgress?.(t + 1, texts.length);
  }
  const features = Array.from({ length: d.dSae }, (_, j) => ({
    density: tokens ? count[j] / tokens : 0,
    meanActive: count[j] ? sum[j] / count[j] : 0,
    maxActive: max[j],
    top: best[j].map((b) => {
      const pieces = encoded[b.text].texts;
      return {
        value: b.value,
        before: pieces.slice(Math.max(0, b.pos - ctx), b.pos).join(""),
        token: pieces[b.pos],
        after: pieces.slice(b.pos + 1, b.pos + 1 + ctx).join(""),
      };
    }),
  }));
  return { texts: texts.length, tokens, features };
}
