// Seeded token ids: the same prompts on both sides and on every run.

export function rng(seed: number): () => number {
  // mulberry32
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` ids in [0, vocab), avoiding `avoid` (e.g. the end-of-text id). */
export function randomIds(n: number, vocab: number, seed: number, avoid: number[] = []): number[] {
  const r = rng(seed);
  const out: number[] = [];
  while (out.length < n) {
    const id = Math.floor(r() * vocab);
    if (!avoid.includes(id)) out.push(id);
  }
  return out;
}

/** A corrupted copy of `clean`: the ids at `positions` replaced by other seeded ids. */
export function corrupt(clean: number[], positions: number[], vocab: number, seed: number): number[] {
  const r = rng(seed);
  const out = [...clean];
  for (const p of positions) {
    let id = clean[p];
    while (id === clean[p]) id = Math.floor(r() * vocab);
    out[p] = id;
  }
  return out;
}
