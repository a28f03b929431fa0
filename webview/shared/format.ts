// The one number format of the panels. Probabilities are percentages with digits that fit their
// size (42.3%, 4.23%, 0.42%, and "<0.01%" below that, never "2.66e-5%"); logits, norms and other
// magnitudes keep 3 significant digits, switching to exponents only far from 1.

/** A probability in [0, 1] (or a difference of two, signed) as a percentage: 3 significant digits, at most 2 decimals. */
export function pct(p: number): string {
  if (Number.isNaN(p)) return "n/a";
  if (p < 0) return `-${pct(-p)}`;
  if (p === 0) return "0%";
  if (p >= 1) return `${num(p * 100)}%`;
  const v = p * 100;
  if (v < 0.01) return "<0.01%";
  // Rounding must not claim certainty: 99.97% stays below 100%.
  if (v >= 99.95) return ">99.9%";
  const decimals = v >= 10 ? 1 : 2;
  return `${Number(v.toFixed(decimals)).toString()}%`;
}

/** A logit, norm or other real number with `digits` significant digits (3 by default). */
export function num(v: number, digits = 3): string {
  if (Number.isNaN(v)) return "n/a";
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  const a = Math.abs(v);
  if (a === 0) return "0";
  if (a >= 1e5 || a < 1e-3) return v.toExponential(Math.max(0, digits - 1));
  return Number(v.toPrecision(digits)).toString();
}

/** A signed difference: "+0.42", "-1.3", "0". */
export function signed(v: number, digits = 3): string {
  const s = num(v, digits);
  return v > 0 && Number.isFinite(v) ? `+${s}` : s;
}
