// introspect dictionary: make a feature dictionary from a corpus on this machine (SNMF of one
// layer's MLP activations, or a TopK / ReLU+L1 sparse autoencoder on its residual stream), saved
// as a SAELens folder that the probe panel, SAELens and other tools read.

import * as path from "node:path";
import { BUILD_METHODS, type DictionaryMethod, buildDictionary, checkOutputFolder, readCorpus } from "../engine";
import { type Command, UsageError, intOption, required, threadsOption } from "./common";
import { MODEL_HELP, modelOptions, openFromOptions } from "./model";

const METHODS = Object.keys(BUILD_METHODS) as DictionaryMethod[];

export const dictionaryCommand: Command = {
  name: "dictionary",
  summary: "make a feature dictionary (SNMF or a sparse autoencoder) from a corpus",
  help: `introspect dictionary --model PATH --corpus PATH --out FOLDER [--method snmf|topk|relu-l1]
                     [--layer N] [--features N] [--texts N] [--iterations N] [--json]

Collects one layer's activations over the corpus's texts, makes a dictionary of features from
them, and writes it to FOLDER in the SAELens layout (cfg.json, sae_weights.safetensors, and
sparsity.safetensors with each feature's firing density). The last tenth of the texts is held out:
the explained variance and L0 printed (and kept in cfg.json) are measured on them. FOLDER must be
new or empty; nothing is written until the dictionary is made.

${MODEL_HELP}
  --corpus PATH     a .jsonl file ({"text": ...} per line), a .txt file (texts separated by blank
                    lines), or a folder of .txt/.md/.jsonl files
  --out FOLDER      where the dictionary goes (new or empty)
  --method M        snmf: semi-nonnegative factorisation of the MLP neurons (mlp.hook_post), as in
                    "Decomposing MLP Activations into Interpretable Features via SNMF";
                    topk (default) or relu-l1: a sparse autoencoder on hook_resid_post
  --layer N         the layer (default: the middle one)
  --features N      features in the dictionary (default 32 for snmf, 256 for an autoencoder)
  --texts N         texts used at most (default 400)
  --tokens N        tokens per text at most (default 64)
  --iterations N    SNMF iterations (default 60) or autoencoder steps (default 1500)
  --k N             topk: features kept per token (default 16)
  --json            print the result as JSON`,
  options: modelOptions(["corpus", "out", "method", "layer", "features", "texts", "tokens", "iterations", "k"], ["json"]),
  async run(values, io) {
    const modelPath = required(values, "model", "dictionary");
    const corpus = required(values, "corpus", "dictionary");
    const out = required(values, "out", "dictionary");
    const method = ((values.method as string | undefined) ?? "topk") as DictionaryMethod;
    if (!METHODS.includes(method)) throw new UsageError(`--method must be one of ${METHODS.join(", ")} (got "${method}")`, "dictionary");
    const features = intOption(values, "features", "dictionary", BUILD_METHODS[method].features, 2, 16384);
    const maxTexts = intOption(values, "texts", "dictionary", 400, 1, 20000);
    const maxTokens = intOption(values, "tokens", "dictionary", 64, 2, 4096);
    const iterations = values.iterations === undefined ? undefined : intOption(values, "iterations", "dictionary", 0, 1, 100000);
    const k = values.k === undefined ? undefined : intOption(values, "k", "dictionary", 16, 1, features);
    // Before the model opens: a bad corpus or output folder costs nothing.
    checkOutputFolder(out);
    const texts = readCorpus(corpus);
    const { model, tok } = await openFromOptions(modelPath, values, threadsOption(values, "dictionary"), io.err);
    try {
      const layer = intOption(values, "layer", "dictionary", Math.floor(model.info.numLayers / 2), 0, model.info.numLayers - 1);
      let last = "";
      const r = await buildDictionary(model, tok, {
        method,
        layer,
        features,
        texts,
        corpus: path.resolve(corpus),
        out,
        maxTexts,
        maxTokens,
        iterations,
        k,
        cancel: io.cancel,
        onProgress: (p) => {
          const line = `${p.phase}: ${p.detail}`;
          // Every text would flood the terminal: a line per tenth, and the last.
          if (p.done === p.total || p.done % Math.max(1, Math.ceil(p.total / 10)) === 0) {
            if (line !== last) io.err(line + "\n");
            last = line;
          }
        },
      });
      if (values.json) {
        io.out(JSON.stringify({ model: model.info.id, ...r }) + "\n");
        return 0;
      }
      io.out(
        [
          `${r.folder}: ${BUILD_METHODS[method].label}, ${r.dSae} features at ${r.site} (width ${r.dIn})`,
          `made from ${r.rows} tokens of ${r.texts - r.heldOutTexts} texts in ${r.seconds.toFixed(1)} s`,
          `on ${r.heldOutRows ? `${r.heldOutRows} tokens of ` : ""}${r.qualityOn}: explained variance ${r.quality.explainedVariance.toFixed(3)}, L0 ${r.quality.l0.toFixed(1)}, ${r.quality.dead} features never fired`,
        ].join("\n") + "\n",
      );
      return 0;
    } finally {
      await model.dispose();
    }
  },
};
