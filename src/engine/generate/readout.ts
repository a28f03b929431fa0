// Next-token distribution read-outs used by steering (RESEARCH.md: KL between steered and
// unsteered next-token distributions, and the entropy of each). Natural logarithms (nats).

/** log-softmax in float64 for stability; `logits` is one position's row. */
export function logSoftmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let s = 0;
  for (let i = 0; i < logits.length; i++) s += Math.exp(logits[i] - max);
  const lse = max + Math.log(s);
  const out = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i++) out[i] = logits[i] - lse;
  return out;
}

export function softmax(logits: ArrayLike<number>): Float64Array {
  return logSoftmax(logits).map(Math.exp);
}

/** KL(p || q) from two log-probability rows, in nats. */
export function klFromLog(logP: Float64Array, logQ: Float64Array): number {
  let kl = 0;
  for (let i = 0; i < logP.length; i++) {
    const p = Math.exp(logP[i]);
    if (p > 0) kl += p * (logP[i] - logQ[i]);
  }
  return Math.max(0, kl);
}

/** KL(softmax(a) || softmax(b)): with a = steered, b = unsteered, the divergence the steering panel plots. */
export function klDivergence(logitsP: ArrayLike<number>, logitsQ: ArrayLike<number>): number {
  return klFromLog(logSoftmax(logitsP), logSoftmax(logitsQ));
}

export function entropyFromLog(logP: Float64Array): number {
  let h = 0;
  for (let i = 0; i < logP.length; i++) {
    const p = Math.exp(logP[i]);
    if (p > 0) h -= p * logP[i];
  }
  return h;
}

export function entropy(logits: ArrayLike<number>): number {
  return entropyFromLog(logSoftmax(logits));
}

/** Total probability of a set of token ids (duplicates counted once). */
export function probabilityMass(logits: ArrayLike<number>, ids: Iterable<number>): number {
  const lp = logSoftmax(logits);
  let s = 0;
  for (const id of new Set(ids)) if (id >= 0 && id < lp.length) s += Math.exp(lp[id]);
  return s;
}

export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

/** The k most likely ids with their probabilities, best first. */
export function topK(logits: ArrayLike<number>, k: number): { id: number; p: number; logit: number }[] {
  const lp = logSoftmax(logits);
  const idx = Array.from({ length: logits.length }, (_, i) => i);
  idx.sort((a, b) => logits[b] - logits[a] || a - b);
  return idx.slice(0, k).map((id) => ({ id, p: Math.exp(lp[id]), logit: logits[id] }));
}
