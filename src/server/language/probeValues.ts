// What a prompt-file hover shows at a token after a probe: a few rows per selected token,
// taken from the ProbeResult the probe handler sends to the panel. The probe handler records
// them in the ProbeValueStore (keyed by the probed text); the hover reads them by token index.
import type { ProbeResult } from "../../protocol/probeData";
import type { TokenProbeValues } from "./facade";

/** One entry per ProbeResult.tokens entry; tokens outside the selection get no rows. */
export function probeValueRows(r: ProbeResult): TokenProbeValues[] {
  const out: TokenProbeValues[] = r.tokens.map(() => ({ rows: [] }));
  const n = r.selection.end - r.selection.start;
  const L = r.layerCount;
  if (n <= 0 || L <= 0) return out;
  const lens = r.logitLens;
  const k = lens.k;
  const word = (id: number) => JSON.stringify(lens.vocab[id] ?? r.tokens.find((t) => t.id === id)?.text ?? `#${id}`);
  const at = (m: keyof ProbeResult["metrics"], l: number, j: number) => r.metrics[m].data[l * n + j];
  const lensTop = (l: number, j: number) => lens.ids.data[(l * n + j) * k];
  for (let j = 0; j < n; j++) {
    const rows = out[r.selection.start + j].rows;
    const last = L - 1;
    if (k > 0 && lens.ids.data.length >= L * n * k) {
      const top = lensTop(last, j);
      rows.push({ label: "predicted next", value: `${word(top)} ${pct(lens.probs.data[(last * n + j) * k])}` });
      // The earliest layer from which the logit lens already names the final top-1 at every layer.
      let from = last;
      while (from > 0 && lensTop(from - 1, j) === top) from--;
      rows.push({ label: "logit lens", value: `settles on ${word(top)} at layer ${from} of ${L}` });
    }
    const next = r.nextTokenIds[j];
    if (next >= 0) rows.push({ label: "actual next", value: `${word(next)} ${pct(at("nextTokenProb", last, j))}` });
    const h = at("entropy", last, j);
    if (Number.isFinite(h)) rows.push({ label: "entropy", value: `${h.toFixed(2)} nats` });
    const norm = at("residNorm", last, j);
    if (Number.isFinite(norm)) rows.push({ label: `resid norm L${last}`, value: norm.toFixed(1) });
    if (r.moe) {
      const e = r.moe.k;
      const base = (last * n + j) * e;
      const experts = Array.from({ length: e }, (_, x) => `E${r.moe!.experts.data[base + x]} ${pct(r.moe!.probs.data[base + x])}`);
      rows.push({ label: `experts L${last}`, value: experts.join(", ") });
    }
    const massive = r.massive.filter((m) => m.tokens.includes(r.selection.start + j));
    if (massive.length) rows.push({ label: "massive activations", value: massive.map((m) => `L${m.layer} dim ${m.dim}`).join(", ") });
  }
  return out;
}

function pct(p: number): string {
  if (!Number.isFinite(p)) return "n/a";
  return p >= 0.001 ? `${(p * 100).toFixed(1)}%` : "<0.1%";
}
