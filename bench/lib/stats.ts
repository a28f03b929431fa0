// Timing statistics: every figure is a median over repeats, shown with its spread.

export interface Stat {
  median: number;
  min: number;
  max: number;
  samples: number[];
}

export function statOf(samples: number[]): Stat {
  if (samples.length === 0) throw new Error("statOf: no samples");
  const s = [...samples].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { median, min: s[0], max: s[s.length - 1], samples };
}

/** Half the range relative to the median: "±x" as a fraction. */
export function relSpread(s: Stat): number {
  return s.median === 0 ? 0 : (s.max - s.min) / 2 / Math.abs(s.median);
}

/** Runs fn `warmup` times untimed, then `repeats` times; seconds per call. */
export async function time(fn: () => Promise<unknown> | unknown, repeats: number, warmup = 1): Promise<Stat> {
  for (let i = 0; i < warmup; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t = process.hrtime.bigint();
    await fn();
    samples.push(Number(process.hrtime.bigint() - t) / 1e9);
  }
  return statOf(samples);
}

/** Maps each sample (e.g. seconds -> tokens/s). */
export function mapStat(s: Stat, f: (x: number) => number): Stat {
  return statOf(s.samples.map(f));
}

export function scaleStat(s: Stat, k: number): Stat {
  return mapStat(s, (x) => x * k);
}

export function fromPython(p: { samples: number[] }): Stat {
  return statOf(p.samples);
}

export function fmtSeconds(x: number): string {
  if (x >= 10) return `${x.toFixed(1)} s`;
  if (x >= 1) return `${x.toFixed(2)} s`;
  return `${(x * 1000).toFixed(x >= 0.1 ? 0 : 1)} ms`;
}

export function fmtBytes(x: number): string {
  return `${(x / 2 ** 20).toFixed(0)} MiB`;
}
