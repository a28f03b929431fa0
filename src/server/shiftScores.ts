// The host's activation-shift scores for prompt files with a `shift-reference` option: the benign
// reference file is read (a regular file beside the prompt file, at most 1 MB), one detector per
// layer is fitted on its prompts (src/engine/shift/detector.ts; kept per model and file
// version), and every prompt of the open file is scored at the chosen layer. Work runs in the
// background; `onChange` asks the features to redraw when scores arrive.
import * as fs from "fs";
import * as path from "path";
import { fileURLToPath } from "url";
import type { LoadedModel } from "../engine";
import { parsePromptFile, type PromptFile } from "../engine";
import { fitDetectors, layerFeatures, mahalanobis, type LayerDetector } from "../engine";
import type { TextTokenizer } from "../engine";
import type { ShiftScore, ShiftScores } from "./language/shift";

const MAX_REFERENCE_BYTES = 1 << 20;

export interface ShiftEngine {
  current(): LoadedModel | undefined;
  tokenizer(model: LoadedModel): Promise<TextTokenizer>;
}

export class ShiftScoreStore {
  private readonly fits = new Map<string, Promise<{ detectors: LayerDetector[]; n: number }>>();
  private readonly scores = new Map<string, ShiftScore | { error: string }>();
  private readonly pending = new Set<string>();

  constructor(
    private readonly engine: ShiftEngine,
    private readonly onChange: () => void,
    private readonly log: (m: string) => void,
  ) {}

  /** Scores of `file`'s prompts known now; starts what is missing. Undefined until the model is open. */
  get(uri: string, file: PromptFile): ShiftScores | undefined {
    const opt = file.options.shiftReference;
    const model = this.engine.current();
    if (!opt || !model) return undefined;
    let ref: { path: string; mtime: number };
    try {
      ref = referencePath(uri, opt.value);
    } catch (e) {
      return { error: (e as Error).message };
    }
    const L = model.info.numLayers;
    const layer = file.options.shiftLayer?.value ?? L - 1;
    if (layer < 0 || layer >= L) return { error: `shift-layer ${layer} is outside ${model.info.id}'s layers 0..${L - 1}.` };
    const fitKey = `${model.info.id}\n${ref.path}\n${ref.mtime}`;
    const failed = this.scores.get(`${fitKey}\nerror`);
    if (failed && "error" in failed) return { error: failed.error };
    const out = new Map<string, ShiftScore>();
    const missing: Array<{ name: string; text: string }> = [];
    for (const b of file.blocks) {
      if (b.kind !== "prompt" || !b.name || !b.text) continue;
      const s = this.scores.get(`${fitKey}\n${layer}\n${b.text.text}`);
      if (s && !("error" in s)) out.set(b.name.value, s);
      else missing.push({ name: b.name.value, text: b.text.text });
    }
    if (missing.length)
      void this.fill(
        model,
        fitKey,
        ref.path,
        opt.value,
        layer,
        missing.map((m) => m.text),
      );
    return out;
  }

  private async fill(model: LoadedModel, fitKey: string, file: string, shown: string, layer: number, texts: string[]): Promise<void> {
    const job = `${fitKey}\n${layer}\n${texts.join("\n")}`;
    if (this.pending.has(job)) return;
    this.pending.add(job);
    try {
      const tok = await this.engine.tokenizer(model);
      let fit = this.fits.get(fitKey);
      if (!fit) {
        fit = (async () => {
          const bytes = fs.readFileSync(file, "utf8");
          const benign = parsePromptFile(bytes)
            .blocks.filter((b) => b.kind === "prompt" && b.text)
            .map((b) => (b.kind === "prompt" ? b.text!.text : ""));
          if (benign.length < 2)
            throw new Error(`${shown} has ${benign.length} prompt blocks; the shift reference needs at least 2 benign prompts.`);
          return { detectors: await fitDetectors(model, tok, benign), n: benign.length };
        })();
        this.fits.set(fitKey, fit);
      }
      const { detectors, n } = await fit;
      const det = detectors[layer];
      const feats = await layerFeatures(model, tok, texts);
      texts.forEach((t, i) =>
        this.scores.set(`${fitKey}\n${layer}\n${t}`, {
          score: mahalanobis(det.reference, feats[layer][i]),
          threshold: det.threshold,
          layer,
          references: n,
          file: shown,
        }),
      );
      while (this.scores.size > 4096) this.scores.delete(this.scores.keys().next().value as string);
    } catch (e) {
      this.log(`Activation-shift scores failed: ${(e as Error).message}`);
      this.fits.delete(fitKey);
      this.scores.set(`${fitKey}\nerror`, { error: (e as Error).message });
    } finally {
      this.pending.delete(job);
    }
    this.onChange();
  }
}

/** The reference file named by the option, beside the prompt file; refused with a sentence otherwise. */
function referencePath(uri: string, value: string): { path: string; mtime: number } {
  if (!uri.startsWith("file:")) throw new Error("shift-reference works for prompt files saved on disk.");
  const p = path.resolve(path.dirname(fileURLToPath(uri)), value);
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch {
    throw new Error(`shift-reference ${value}: no such file beside this prompt file.`);
  }
  if (!st.isFile()) throw new Error(`shift-reference ${value} is not a regular file.`);
  if (st.size > MAX_REFERENCE_BYTES) throw new Error(`shift-reference ${value} is over 1 MB; use a smaller set of benign prompts.`);
  return { path: p, mtime: st.mtimeMs };
}
