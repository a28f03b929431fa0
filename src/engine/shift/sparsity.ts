// Activation sparsity per layer of the MLP activations (mlp.hook_post, the input of the down
// projection): the exact-zero share (ReLU models), the share below a magnitude threshold, and
// PPL-p% sparsity: the largest share of the smallest activations that can be zeroed, with one
// magnitude threshold for every layer, while perplexity over a text set rises at most p%. The
// threshold is found by binary search over the pooled magnitude quantiles (1% steps by default),
// each step a forward pass of an edited graph that zeroes |x| < threshold at every layer.
import type { LoadedModel } from "../model/loaded";
import type { TextTokenizer } from "../tokenizer";
import type { CancelToken, HookName } from "../types";
import { IntrospectError, hookName, throwIfCancelled } from "../types";

export interface LayerSparsity {
  layer: number;
  site: HookName;
  values: number;
  /** Share of entries exactly 0. */
  exactZero: number;
  /** Share with |x| < the magnitude threshold asked for. */
  belowThreshold: number;
}

export interface PplStep {
  /** Quantile index k of `steps`: threshold = the k/steps quantile of the pooled |x|. */
  k: number;
  threshold: number;
  ppl: number;
  /** Measured share of entries zeroed (|x| < threshold), pooled and per layer. */
  share: number;
  perLayer: number[];
}

export interface PplSparsity {
  p: number;
  baseline: number;
  /** The largest step whose perplexity stays within (1 + p/100) x baseline. */
  found: PplStep;
  /** The next step up (perplexity over the bound), absent when every step stays within it. */
  next?: PplStep;
  /** Every step evaluated, in the order run. */
  tried: PplStep[];
}

/** The MLP activation sites of a model; refused with a sentence when it has none (MoE blocks). */
export function mlpSites(model: LoadedModel): HookName[] {
  const sites = Array.from({ length: model.info.numLayers }, (_, l) => hookName(l, "mlp.hook_post")).filter((s) => model.map.sites.has(s));
  if (sites.length === 0)
    throw new IntrospectError(
      "bad-input",
      `${model.info.id} has no dense MLP activations (mlp.hook_post): sparsity is measured on dense MLP layers.`,
    );
  return sites;
}

function idsOf(tok: TextTokenizer, texts: string[]): number[][] {
  const rows = texts.map((t) => tok.encode(t).map((x) => x.id)).filter((r) => r.length >= 2);
  if (rows.length === 0) throw new IntrospectError("bad-input", "The text set has no text of two tokens or more to measure perplexity on.");
  return rows;
}

/** Perplexity over texts: exp of the mean negative log-likelihood of every next token. */
export async function perplexity(model: LoadedModel, rows: number[][], zero?: number, sites: HookName[] = [], cancel?: CancelToken) {
  let nll = 0;
  let n = 0;
  const V = model.info.vocabSize;
  for (const ids of rows) {
    throwIfCancelled(cancel);
    const r = await model.run({
      ids,
      zeroBelow: zero === undefined ? undefined : sites.map((site) => ({ site, threshold: zero })),
      cancel,
    });
    const L = r.logits.data;
    for (let t = 0; t + 1 < ids.length; t++) {
      let max = -Infinity;
      for (let i = t * V; i < (t + 1) * V; i++) if (L[i] > max) max = L[i];
      let z = 0;
      for (let i = t * V; i < (t + 1) * V; i++) z += Math.exp(L[i] - max);
      nll += max + Math.log(z) - L[t * V + ids[t + 1]];
      n++;
    }
  }
  return Math.exp(nll / n);
}

/** Magnitudes of every MLP activation over the texts, per layer. */
async function magnitudes(model: LoadedModel, rows: number[][], sites: HookName[], cancel?: CancelToken): Promise<Float32Array[]> {
  const parts: Float32Array[][] = sites.map(() => []);
  for (const ids of rows) {
    const r = await model.run({ ids, capture: sites, cancel });
    sites.forEach((s, l) => parts[l].push(r.captures.get(s)!.data.map(Math.abs)));
  }
  return parts.map((p) => {
    const out = new Float32Array(p.reduce((a, x) => a + x.length, 0));
    let o = 0;
    for (const x of p) out.set(x, (o += x.length) - x.length);
    return out;
  });
}

function shareBelow(mags: Float32Array, t: number): number {
  let c = 0;
  for (let i = 0; i < mags.length; i++) if (mags[i] < t) c++;
  return mags.length ? c / mags.length : 0;
}

/** Exact-zero and below-threshold shares per layer over the texts. */
export async function sparsityPerLayer(model: LoadedModel, tok: TextTokenizer, texts: string[], threshold: number, cancel?: CancelToken) {
  const sites = mlpSites(model);
  const mags = await magnitudes(model, idsOf(tok, texts), sites, cancel);
  return sites.map((site, i): LayerSparsity => ({
    layer: Number(site.split(".")[1]),
    site,
    values: mags[i].length,
    exactZero: shareBelow(mags[i], Number.MIN_VALUE),
    belowThreshold: shareBelow(mags[i], threshold),
  }));
}

/** PPL-p% sparsity (see the header). */
export async function pplSparsity(
  model: LoadedModel,
  tok: TextTokenizer,
  texts: string[],
  p: number,
  opts: { steps?: number; cancel?: CancelToken; onStep?: (s: PplStep) => void } = {},
): Promise<PplSparsity> {
  if (!(p > 0)) throw new IntrospectError("bad-input", `p must be a positive percentage (got ${p}).`);
  const steps = opts.steps ?? 100;
  const sites = mlpSites(model);
  const rows = idsOf(tok, texts);
  const mags = await magnitudes(model, rows, sites, opts.cancel);
  const pooled = new Float32Array(mags.reduce((a, m) => a + m.length, 0));
  let o = 0;
  for (const m of mags) pooled.set(m, (o += m.length) - m.length);
  pooled.sort();
  // Step k zeroes the k/steps smallest share: its threshold is the first magnitude above that share.
  const thresholdAt = (k: number) =>
    k >= steps ? Infinity : k <= 0 ? 0 : pooled[Math.min(pooled.length - 1, Math.floor((k / steps) * pooled.length))];
  const baseline = await perplexity(model, rows, undefined, sites, opts.cancel);
  const bound = baseline * (1 + p / 100);
  const tried: PplStep[] = [];
  const cache = new Map<number, PplStep>();
  const evalStep = async (k: number): Promise<PplStep> => {
    const hit = cache.get(k);
    if (hit) return hit;
    const threshold = thresholdAt(k);
    const ppl = await perplexity(model, rows, threshold, sites, opts.cancel);
    const perLayer = mags.map((m) => shareBelow(m, threshold));
    const step = { k, threshold, ppl, share: shareBelow(pooled, threshold), perLayer };
    cache.set(k, step);
    tried.push(step);
    opts.onStep?.(step);
    return step;
  };
  // Invariant: lo within the bound (k = 0 zeroes nothing), hi over it (checked first).
  let lo = 0;
  let hi = steps;
  const top = await evalStep(hi);
  if (top.ppl <= bound) return { p, baseline, found: top, tried };
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if ((await evalStep(mid)).ppl <= bound) lo = mid;
    else hi = mid;
  }
  return { p, baseline, found: await evalStep(lo), next: await evalStep(hi), tried };
}
