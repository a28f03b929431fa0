// Building vectors by running the model: capture one site for sets of prompts (batched), pool,
// and reduce by difference of means or PCA of paired differences.

import type { LoadedModel } from "../model/loaded";
import type { TextTokenizer } from "../tokenizer";
import { CancelToken, HookName, IntrospectError, throwIfCancelled } from "../types";
import { diffOfMeans, pcaOfPairs, pool } from "./build";
import { Pooling, SteeringVector } from "./vector";

/** Runs prompts (token ids) in batches and returns each prompt's pooled activation at `site`. */
export async function capturePooled(
  model: LoadedModel,
  prompts: number[][],
  site: HookName,
  pooling: Pooling,
  opts: { batchSize?: number; cancel?: CancelToken } = {},
): Promise<Float32Array[]> {
  if (!model.info.sites.includes(site)) {
    throw new IntrospectError(
      "bad-input",
      `This model has no site ${site}; vectors can be built at: ${model.info.sites
        .filter((s) => /hook_resid/.test(s))
        .slice(0, 4)
        .join(", ")}, ...`,
    );
  }
  const bs = Math.max(1, opts.batchSize ?? 8);
  const out: Float32Array[] = [];
  for (let i = 0; i < prompts.length; i += bs) {
    throwIfCancelled(opts.cancel);
    const rows = prompts.slice(i, i + bs);
    // Right-padded rows: with causal attention a row's real positions do not see the padding.
    const r = await model.run({ ids: rows, capture: [site], cancel: opts.cancel });
    const t = r.captures.get(site)!;
    const [, S, d] = t.dims;
    rows.forEach((ids, b) => {
      const row = { dims: [S, d], data: t.data.subarray(b * S * d, (b + 1) * S * d) };
      const n = ids.length;
      out.push(
        pooling === "last"
          ? row.data.slice((n - 1) * d, n * d)
          : pool(
              row,
              "mean",
              Array.from({ length: n }, (_, k) => k),
            ),
      );
    });
  }
  return out;
}

export interface ContrastBuild {
  name: string;
  site: HookName;
  positive: number[][];
  negative: number[][];
  method?: "mean-diff" | "pca";
  pooling?: Pooling;
  normalise?: boolean;
  source?: string;
  cancel?: CancelToken;
}

export async function buildFromContrast(model: LoadedModel, b: ContrastBuild): Promise<SteeringVector> {
  const pooling = b.pooling ?? "last";
  const pos = await capturePooled(model, b.positive, b.site, pooling, { cancel: b.cancel });
  const neg = await capturePooled(model, b.negative, b.site, pooling, { cancel: b.cancel });
  const opts = { name: b.name, modelId: model.info.id, site: b.site, pooling, normalise: b.normalise, source: b.source };
  return (b.method ?? "mean-diff") === "pca" ? pcaOfPairs(pos, neg, opts) : diffOfMeans(pos, neg, opts);
}

/**
 * Token ids for a word list, for the "probability of these words" score: the first token of
 * each word as it follows a space (the usual case mid-sentence), as given and capitalised. A
 * first token that is only a fragment (shorter than 3 characters, unless the word is) is left
 * out, since fragments such as " A" or "w" would count unrelated continuations.
 */
export function wordTokenIds(tok: TextTokenizer, words: string[]): number[] {
  const ids = new Set<number>();
  for (const w of words.map((x) => x.trim()).filter(Boolean)) {
    for (const form of new Set([w, w[0].toUpperCase() + w.slice(1)])) {
      const first = tok.encode(` ${form}`, { addSpecialTokens: false }).find((t) => !tok.isSpecial(t.id) && t.text.trim().length > 0);
      if (first && first.text.trim().length >= Math.min(3, form.length)) ids.add(first.id);
    }
  }
  return [...ids];
}
