// The activation cache at the centre of a probe: every captured site of one forward pass, by its
// TransformerLens-style name (`blocks.3.hook_resid_post`), with its shape, plus what the probe
// derived from the model beside it (the logit lens per layer). Analyses (registry.ts) read only
// this, so an analysis can be tested on synthetic tensors and a new one needs no model code.
import { hookName, type ActivationTensor, type SiteKind } from "../types";

/** Token rows [start, end) of a [T, D] tensor. */
export interface RowRange {
  start: number;
  end: number;
}

/** What the logit lens says at one layer for a run of tokens. */
export interface LensLayer {
  k: number;
  /** [tokens, k] ids, most probable first. */
  ids: Int32Array;
  /** [tokens, k] their probabilities. */
  probs: Float32Array;
  /** Probability of the token that actually comes next; NaN where none follows. */
  nextProb: Float32Array;
  /** Entropy (nats) of the full next-token distribution. */
  entropy: Float32Array;
}

/** A zero-filled lens layer for `n` tokens and `k` candidates each. */
export function emptyLensLayer(n: number, k: number): LensLayer {
  return { k, ids: new Int32Array(n * k), probs: new Float32Array(n * k), nextProb: new Float32Array(n), entropy: new Float32Array(n) };
}

/** A site held by the cache and its shape (one prompt: [seq, ...], as the graph gives it). */
export interface CachedSite {
  site: string;
  dims: number[];
}

export class ActivationCache {
  private readonly tensors = new Map<string, ActivationTensor>();

  /**
   * @param numLayers layers of the model the captures come from
   * @param selection the selected token rows (the columns of every per-token analysis)
   * @param tokenIds every probed token id, context included
   * @param lens the logit lens over the selected tokens, one entry per layer; absent when it could not be built
   */
  constructor(
    readonly numLayers: number,
    readonly selection: RowRange,
    readonly tokenIds: readonly number[],
    readonly lens?: readonly LensLayer[],
  ) {
    if (selection.end - selection.start <= 0) throw new Error("the selection holds no tokens");
    if (selection.start < 0 || selection.end > tokenIds.length) throw new Error("the selection is outside the probed tokens");
  }

  /** Builds a cache from a forward pass's captures (a Map from site name to tensor). */
  static of(
    numLayers: number,
    selection: RowRange,
    tokenIds: readonly number[],
    captures: Iterable<[string, ActivationTensor]>,
    lens?: readonly LensLayer[],
  ): ActivationCache {
    const c = new ActivationCache(numLayers, selection, tokenIds, lens);
    for (const [site, t] of captures) c.set(site, t);
    return c;
  }

  set(site: string, tensor: ActivationTensor): this {
    this.tensors.set(site, tensor);
    return this;
  }

  has(site: string): boolean {
    return this.tensors.has(site);
  }

  /** The tensor of a site; throws naming the site when it was not captured. */
  get(site: string): ActivationTensor {
    const t = this.tensors.get(site);
    if (!t) throw new Error(`${site} is not in the activation cache`);
    return t;
  }

  /** `blocks.{layer}.{kind}`, or undefined when it was not captured. */
  at(layer: number, kind: SiteKind): ActivationTensor | undefined {
    return this.tensors.get(hookName(layer, kind));
  }

  shape(site: string): number[] {
    return this.get(site).dims.slice();
  }

  /** Every cached site with its shape, in capture order. */
  sites(): CachedSite[] {
    return [...this.tensors].map(([site, t]) => ({ site, dims: t.dims.slice() }));
  }

  /** Number of selected tokens (the columns of the per-layer metrics). */
  get selected(): number {
    return this.selection.end - this.selection.start;
  }
}
