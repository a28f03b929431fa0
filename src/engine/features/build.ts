// A dictionary made on the user's machine from a corpus, start to end: the texts' activations at
// one layer (MLP neurons for SNMF, the residual stream for an SAE), the factorisation or training,
// its quality on held-out texts, per-feature firing density, and the SAELens folder. The folder is
// checked before any work and written only at the end, so a cancel or a failure leaves nothing.

import * as fs from "node:fs";
import * as path from "node:path";
import type { LoadedModel } from "../model/loaded";
import type { TextTokenizer } from "../tokenizer";
import { CancelToken, HookName, IntrospectError, hookName, throwIfCancelled } from "../types";
import { collectActivations } from "./collect";
import { encode, type Dictionary } from "./dictionary";
import { saveSaeLens } from "./save";
import { snmf } from "./snmf";
import type { DictionaryBuildResult, DictionaryMethod } from "./shapes";
import { measureQuality, trainSae } from "./train";

export type { DictionaryBuildResult, DictionaryMethod } from "./shapes";

export const BUILD_METHODS: Record<DictionaryMethod, { label: string; site: "mlp.hook_post" | "hook_resid_post"; features: number }> = {
  snmf: { label: "SNMF of the MLP activations", site: "mlp.hook_post", features: 32 },
  topk: { label: "TopK sparse autoencoder on the residual stream", site: "hook_resid_post", features: 256 },
  "relu-l1": { label: "ReLU + L1 sparse autoencoder on the residual stream", site: "hook_resid_post", features: 256 },
};

export interface DictionaryBuildOptions {
  method: DictionaryMethod;
  layer: number;
  /** Features in the dictionary (SNMF's k, the SAE's d_sae). */
  features: number;
  texts: string[];
  /** Folder to create (or an empty one): cfg.json, sae_weights.safetensors, sparsity.safetensors. */
  out: string;
  /** Where the texts came from, recorded in cfg.json. */
  corpus?: string;
  /** Texts used at most (default 400); the last tenth is held out for the quality figures. */
  maxTexts?: number;
  /** Tokens per text at most (default 64). */
  maxTokens?: number;
  /** SNMF iterations (default 60) or SAE steps (default 1500). */
  iterations?: number;
  /** TopK: features kept per token (default 16). */
  k?: number;
  seed?: number;
  onProgress?: (p: { phase: "activations" | "fitting"; done: number; total: number; detail: string }) => void;
  cancel?: CancelToken;
}

/** Floats of activations held at most (256 MiB); more rows are thinned evenly, and the cfg says so. */
const MAX_FLOATS = 64 * 2 ** 20;

/** Refuses an output that exists and is not an empty folder, or lies under a file, before any work is done. */
export function checkOutputFolder(out: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(out);
  } catch {
    // A new folder (its missing parents are made too) under the nearest folder that exists.
    let up = path.dirname(path.resolve(out));
    while (!fs.existsSync(up) && path.dirname(up) !== up) up = path.dirname(up);
    if (!fs.statSync(up).isDirectory())
      throw new IntrospectError("bad-input", `${up} is a file: the dictionary's folder cannot go under it.`);
    return;
  }
  if (!st.isDirectory()) throw new IntrospectError("bad-input", `${out} is a file: the dictionary needs a new or empty folder.`);
  if (fs.readdirSync(out).length > 0)
    throw new IntrospectError("bad-input", `${out} is not empty: choose a new or empty folder, so nothing in it is overwritten.`);
}

function checkOptions(model: LoadedModel, o: DictionaryBuildOptions): HookName {
  const info = model.info;
  const method = BUILD_METHODS[o.method];
  if (!method) throw new IntrospectError("bad-input", `Unknown method "${o.method}": use ${Object.keys(BUILD_METHODS).join(", ")}.`);
  if (!Number.isInteger(o.layer) || o.layer < 0 || o.layer >= info.numLayers)
    throw new IntrospectError("bad-input", `Layer ${o.layer} does not exist: ${info.id} has layers 0-${info.numLayers - 1}.`);
  if (!Number.isInteger(o.features) || o.features < 2 || o.features > 16384)
    throw new IntrospectError("bad-input", `A dictionary needs 2 to 16,384 features; ${o.features} was asked for.`);
  const site = hookName(o.layer, method.site);
  if (!info.sites.includes(site))
    throw new IntrospectError(
      "bad-input",
      `${info.id} has no ${site}: ${o.method === "snmf" ? "SNMF reads MLP neurons, which this model's map did not find" : "the map did not find that site"}.`,
    );
  return site;
}

/** `max` rows spread evenly over x, when it has more. */
function thin(x: Float32Array, d: number, max: number): Float32Array {
  const n = x.length / d;
  if (n <= max) return x;
  const out = new Float32Array(max * d);
  for (let i = 0; i < max; i++) {
    const row = Math.floor((i * n) / max);
    out.set(x.subarray(row * d, (row + 1) * d), i * d);
  }
  return out;
}

/** log10 of each feature's firing frequency over rows x (the SAELens sparsity file); -10 for dead ones. */
export function logDensity(d: Dictionary, x: Float32Array): Float32Array {
  const n = x.length / d.dIn;
  const f = encode(d, x);
  const count = new Float64Array(d.dSae);
  for (let r = 0; r < n; r++) for (let j = 0; j < d.dSae; j++) if (f[r * d.dSae + j] > 0) count[j]++;
  return Float32Array.from(count, (c) => (c > 0 ? Math.log10(c / n) : -10));
}

export async function buildDictionary(model: LoadedModel, tok: TextTokenizer, o: DictionaryBuildOptions): Promise<DictionaryBuildResult> {
  const started = Date.now();
  const site = checkOptions(model, o);
  checkOutputFolder(o.out);
  const texts = o.texts.slice(0, o.maxTexts ?? 400);
  const held = texts.length >= 10 ? Math.max(1, Math.floor(texts.length / 10)) : 0;
  const prompts = texts.map((t) => tok.encode(t).map((x) => x.id));
  const acts = await collectActivations(model, prompts, site, {
    maxTokens: o.maxTokens ?? 64,
    cancel: o.cancel,
    onProgress: (done, total) => o.onProgress?.({ phase: "activations", done, total, detail: `${done} of ${total} texts` }),
  });
  const d = acts.width;
  let cut = acts.text.findIndex((t) => t >= texts.length - held);
  if (cut < 0) cut = acts.text.length;
  const maxRows = Math.floor(MAX_FLOATS / d);
  const train = thin(acts.data.subarray(0, cut * d), d, maxRows);
  const test = held ? acts.data.subarray(cut * d) : train;
  const rows = train.length / d;
  if (rows < o.features)
    throw new IntrospectError(
      "bad-input",
      `${o.features} features need at least ${o.features} tokens to learn from; the corpus gave ${rows}. Use more texts or fewer features.`,
    );
  throwIfCancelled(o.cancel);
  const base = {
    name: path.basename(o.out),
    source: "",
    hookIn: site,
    site,
    modelName: model.info.id,
    format: "made-here" as const,
    notes: [],
  };
  const iterations = o.iterations ?? (o.method === "snmf" ? 60 : 1500);
  const fitting = (done: number, detail: string) => o.onProgress?.({ phase: "fitting", done, total: iterations, detail });
  let dict: Dictionary;
  if (o.method === "snmf") {
    dict = (
      await snmf(train, d, base, {
        k: o.features,
        iterations,
        seed: o.seed,
        cancel: o.cancel,
        onProgress: (p) => fitting(p.iteration, `iteration ${p.iteration} of ${p.iterations}, relative error ${p.relError.toFixed(3)}`),
      })
    ).dict;
  } else {
    dict = (
      await trainSae(train, d, base, {
        dSae: o.features,
        kind: o.method,
        k: o.k,
        steps: iterations,
        seed: o.seed,
        cancel: o.cancel,
        progressEvery: Math.max(1, Math.floor(iterations / 20)),
        onProgress: (p) => fitting(p.step, `step ${p.step} of ${p.steps}, error ${p.mse.toPrecision(3)}, ${p.dead} dead`),
      })
    ).dict;
  }
  throwIfCancelled(o.cancel);
  const quality = measureQuality(dict, test);
  dict.logSparsity = logDensity(dict, test);
  checkOutputFolder(o.out);
  saveSaeLens(dict, o.out, {
    metadata: {
      introspect: {
        method: o.method,
        corpus: o.corpus ?? null,
        texts: texts.length,
        held_out_texts: held,
        rows,
        held_out_rows: held ? test.length / d : 0,
        rows_thinned: cut > rows,
        max_tokens: o.maxTokens ?? 64,
        iterations,
        explained_variance: quality.explainedVariance,
        l0: quality.l0,
        dead: quality.dead,
        quality_on: held ? "held-out texts" : "training texts",
      },
    },
  });
  return {
    folder: o.out,
    site,
    method: o.method,
    dIn: d,
    dSae: dict.dSae,
    texts: texts.length,
    heldOutTexts: held,
    rows,
    heldOutRows: held ? test.length / d : 0,
    quality,
    qualityOn: held ? "held-out texts" : "training texts",
    seconds: (Date.now() - started) / 1000,
  };
}
