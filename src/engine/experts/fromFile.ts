// A prompt file's `experts` lines as engine interventions: bias entries of one layer become one
// vector over that layer's experts; every line is checked against the model with a sentence.
import type { ExpertLine } from "../promptfile/experts";
import type { ExpertIntervention } from "./interventions";

export function interventionsFromFile(lines: readonly ExpertLine[], numExperts: number): ExpertIntervention[] {
  const out: ExpertIntervention[] = [];
  const bias = new Map<number, number[]>();
  for (const l of lines) {
    if (l.kind === "bias") {
      let v = bias.get(l.layer);
      if (!v) {
        v = new Array<number>(numExperts).fill(0);
        bias.set(l.layer, v);
        out.push({ kind: "bias", layer: l.layer, values: v });
      }
      // An expert past the count is reported by checkInterventions through the off form.
      if (l.expert >= numExperts) out.push({ kind: "off", layer: l.layer, expert: l.expert });
      else v[l.expert] += l.value;
    } else out.push({ ...l });
  }
  return out;
}
