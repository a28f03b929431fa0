// `experts` lines of a prompt file: expert interventions kept with the experiment, e.g.
//   experts off L3:E5 L4:E1
//   experts force L1:E2@4 L1:E2@7-9     (expert 2 of layer 1 forced on at positions 4 and 7..9)
//   experts bias L2:E0=1.5 L2:E3=-2     (added to those experts' router logits)
//   experts topk L1=1                   (layer 1 routes each token to one expert)
import type { ExpertLine, Located, ParseDiagnostic, Range } from "./model";
import { rng } from "./text";
import { err, type Word } from "./values";

export type { ExpertLine };

export const EXPERT_ACTIONS = ["off", "force", "bias", "topk"] as const;
const MAX_POSITIONS = 4096;

const EXAMPLE: Record<string, string> = {
  off: "L3:E5",
  force: "L1:E2 or L1:E2@4 or L1:E2@7-9",
  bias: "L2:E0=1.5",
  topk: "L1=1",
};

/** Parses the words after `experts`; pushes a diagnostic for each word it cannot read. */
export function parseExpertsValue(ws: Word[], line: number, keyRange: Range, diags: ParseDiagnostic[]): Located<ExpertLine>[] {
  if (ws.length === 0) {
    diags.push(err(keyRange, "'experts' needs an action and experts, e.g. `experts off L3:E5`.", "missing-value"));
    return [];
  }
  const action = ws[0].text;
  if (!(EXPERT_ACTIONS as readonly string[]).includes(action)) {
    diags.push(err(rng(line, ws[0].start, ws[0].end), `Unknown expert action '${action}': use off, force, bias or topk.`, "bad-value"));
    return [];
  }
  if (ws.length === 1)
    diags.push(err(rng(line, ws[0].start, ws[0].end), `'experts ${action}' needs experts, e.g. ${EXAMPLE[action]}.`, "missing-value"));
  const out: Located<ExpertLine>[] = [];
  for (const w of ws.slice(1)) {
    const range = rng(line, w.start, w.end);
    const bad = () => diags.push(err(range, `'${w.text}' is not an expert for '${action}': write it as ${EXAMPLE[action]}.`, "bad-value"));
    if (action === "topk") {
      const m = /^L(\d+)=(\d+)$/i.exec(w.text);
      if (!m || Number(m[2]) < 1) bad();
      else out.push({ value: { kind: "topk", layer: Number(m[1]), k: Number(m[2]) }, range });
      continue;
    }
    if (action === "bias") {
      const m = /^L(\d+):E(\d+)=([-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)$/i.exec(w.text);
      if (!m) bad();
      else out.push({ value: { kind: "bias", layer: Number(m[1]), expert: Number(m[2]), value: Number(m[3]) }, range });
      continue;
    }
    const m = /^L(\d+):E(\d+)(?:@(\d+)(?:-(\d+))?)?$/i.exec(w.text);
    if (!m || (action === "off" && m[3] !== undefined)) {
      bad();
      continue;
    }
    const layer = Number(m[1]);
    const expert = Number(m[2]);
    if (action === "off") {
      out.push({ value: { kind: "off", layer, expert }, range });
      continue;
    }
    if (m[3] === undefined) {
      out.push({ value: { kind: "force", layer, expert }, range });
      continue;
    }
    const a = Number(m[3]);
    const b = m[4] === undefined ? a : Number(m[4]);
    if (b < a || b - a >= MAX_POSITIONS) {
      diags.push(err(range, `Positions ${a}-${b} are not a range from low to high (at most ${MAX_POSITIONS}).`, "bad-value"));
      continue;
    }
    out.push({ value: { kind: "force", layer, expert, positions: Array.from({ length: b - a + 1 }, (_, i) => a + i) }, range });
  }
  return out;
}
