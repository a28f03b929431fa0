// introspect shift: fit the activation-shift detector on benign prompts, report AUROC per layer on
// a labelled set, and score texts.

import * as fs from "node:fs";
import { parsePromptFile } from "../engine";
import { evaluateDetectors, fitDetectors, layerFeatures, mahalanobis } from "../engine";
import { IntrospectError } from "../engine";
import { type Command, UsageError, intOption, required, table, threadsOption } from "./common";
import { MODEL_HELP, modelOptions, openFromOptions } from "./model";

export interface LabelledPrompt {
  text: string;
  injection: boolean;
}

/** Prompts of a file: `prompt` blocks of a .introspect file, or JSON lines {text, label} (label benign / injection). */
export function readPrompts(file: string, flag: string): LabelledPrompt[] {
  let text: string;
  try {
    if (!fs.statSync(file).isFile()) throw new Error("not a regular file");
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new IntrospectError("bad-input", `${flag} ${file} could not be read (${(e as Error).message}).`);
  }
  if (file.endsWith(".introspect"))
    return parsePromptFile(text).blocks.flatMap((b) => (b.kind === "prompt" && b.text ? [{ text: b.text.text, injection: false }] : []));
  return text
    .split("\n")
    .map((l, i) => [l.trim(), i + 1] as const)
    .filter(([l]) => l)
    .map(([l, n]) => {
      let row: { text?: unknown; label?: unknown };
      try {
        row = JSON.parse(l) as typeof row;
      } catch {
        throw new IntrospectError(
          "bad-input",
          `${flag} ${file} line ${n} is not JSON: write one {"text": ..., "label": "benign" | "injection"} per line.`,
        );
      }
      if (typeof row.text !== "string" || (row.label !== "benign" && row.label !== "injection"))
        throw new IntrospectError("bad-input", `${flag} ${file} line ${n} needs a "text" string and a "label" of "benign" or "injection".`);
      return { text: row.text, injection: row.label === "injection" };
    });
}

export const shiftCommand: Command = {
  name: "shift",
  summary: "activation-shift detector: fit on benign prompts, AUROC per layer, score texts",
  help: `introspect shift --model PATH --reference FILE [--labelled FILE.jsonl] [--text TEXT] [--json]

Fits, at every layer, the mean and a Ledoit-Wolf shrunk covariance of the benign prompts'
activations (each prompt's hook_resid_post averaged over its tokens), and scores prompts by
their Mahalanobis distance to it. The threshold of a layer is the 95th percentile of the benign
prompts' own distances, each measured with that prompt left out of the fit.

${MODEL_HELP}
  --reference FILE  benign prompts: the prompt blocks of a .introspect file, or JSON lines
                    {"text": ..., "label": "benign"} (rows labelled injection are skipped)
  --labelled FILE   JSON lines {"text": ..., "label": "benign" | "injection"}: AUROC per layer
                    (injection against benign) and the best layer
  --text TEXT       a text to score at every layer (or at --layer)
  --layer N         the layer for --text (default: the best layer with --labelled, else the last)
  --json            print JSON: layers [{layer, threshold, shrinkage, auroc}], best, scores`,
  options: modelOptions(["reference", "labelled", "text", "layer"], ["json"]),
  async run(values, io) {
    const modelPath = required(values, "model", "shift");
    const benign = readPrompts(required(values, "reference", "shift"), "--reference").filter((p) => !p.injection);
    const labelled = typeof values.labelled === "string" ? readPrompts(values.labelled, "--labelled") : undefined;
    if (labelled && (!labelled.some((p) => p.injection) || labelled.every((p) => p.injection)))
      throw new IntrospectError("bad-input", "--labelled needs both benign and injection rows for an AUROC.");
    if (!labelled && typeof values.text !== "string") throw new UsageError("give --labelled FILE, --text TEXT or both", "shift");
    const { model, tok } = await openFromOptions(modelPath, values, threadsOption(values, "shift"), io.err);
    try {
      const L = model.info.numLayers;
      const detectors = await fitDetectors(
        model,
        tok,
        benign.map((p) => p.text),
        io.cancel,
      );
      const ev = labelled ? await evaluateDetectors(model, tok, detectors, labelled, io.cancel) : undefined;
      const layer = intOption(values, "layer", "shift", ev?.best ?? L - 1, 0, L - 1, `${model.info.id} has ${L} layers`);
      let scored: { text: string; layer: number; score: number; threshold: number; above: boolean } | undefined;
      if (typeof values.text === "string") {
        const f = await layerFeatures(model, tok, [values.text], io.cancel);
        const score = mahalanobis(detectors[layer].reference, f[layer][0]);
        scored = { text: values.text, layer, score, threshold: detectors[layer].threshold, above: score > detectors[layer].threshold };
      }
      const layers = detectors.map((d) => ({
        layer: d.layer,
        threshold: d.threshold,
        shrinkage: d.reference.shrinkage,
        ...(ev ? { auroc: ev.auroc[d.layer] } : {}),
      }));
      if (values.json) {
        io.out(
          JSON.stringify({
            model: model.info.id,
            reference: benign.length,
            labelled: labelled?.length,
            layers,
            best: ev?.best,
            text: scored,
          }) + "\n",
        );
        return 0;
      }
      const rows = [["layer", "threshold", "shrinkage", ...(ev ? ["AUROC"] : [])]];
      for (const l of layers)
        rows.push([
          String(l.layer),
          l.threshold.toFixed(2),
          l.shrinkage.toFixed(3),
          ...(l.auroc !== undefined ? [l.auroc.toFixed(3)] : []),
        ]);
      const lines = [`${model.info.id}: reference of ${benign.length} benign prompts`, table(rows, [0, 1, 2, 3])];
      if (ev && labelled)
        lines.push(
          `best layer ${ev.best}: AUROC ${ev.auroc[ev.best].toFixed(3)} on ${labelled.filter((p) => p.injection).length} injection-style against ${labelled.filter((p) => !p.injection).length} benign prompts`,
        );
      if (scored)
        lines.push(
          `score ${scored.score.toFixed(2)} at layer ${scored.layer} (threshold ${scored.threshold.toFixed(2)}): ${scored.above ? "above: unlike the benign prompts" : "within the benign range"}`,
        );
      io.out(lines.join("\n") + "\n");
      return 0;
    } finally {
      await model.dispose();
    }
  },
};
