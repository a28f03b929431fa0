// Seeded token ids: the same prompts on both sides and on every run.
import { mulberry32 } from "../../src/engine";

/** The engine's seeded PRNG (mulberry32), so prompts are the same on every run. */
export const rng = mulberry32;

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
