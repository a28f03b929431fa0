// Opening a model and its tokenizer for a CLI command, plus small read-outs shared by commands.

import { openModel, type LoadedModel } from "../engine";
import { checkTokenizerFits } from "../engine";
import { loadTokenizer, type TextTokenizer } from "../engine";
import { parseHookName } from "../engine";
import { UsageError, optionTable, type Options } from "./common";

/** --model, --variant, --threads, --config and --provider (MODEL_HELP). */
export const MODEL_OPTIONS: Options = optionTable(["model", "variant", "threads", "config", "provider"]);

/** The option table of a command that opens a model: MODEL_OPTIONS and its own (optionTable). */
export function modelOptions(values: string[], flags: string[] = []): Options {
  return { ...MODEL_OPTIONS, ...optionTable(values, flags) };
}

export const MODEL_HELP = `  --model PATH      model folder (Transformers.js / Optimum layout) or a .onnx file with
                    tokenizer.json beside it
  --variant NAME    fp32 (default), fp16, quantized, q4, ... (which onnx/model_*.onnx to use)
  --threads N       onnxruntime intra-op threads (default: onnxruntime's choice)
  --config K=V,...  replace config.json values (e.g. num_hidden_layers=6) when config.json is
                    wrong for the graph: the architecture map checks itself against it
  --provider NAME   onnxruntime execution provider: cpu (default), cuda, coreml, dml, webgpu
                    where this onnxruntime-node build has it; otherwise CPU, with the reason`;

export interface Opened {
  model: LoadedModel;
  tok: TextTokenizer;
}

/**
 * Opens a command's --model with its --variant, --config and --provider (every command that runs a
 * model comes through here). With `warn` (stderr), a provider that fell back to CPU is said there,
 * in the sentence probe prints in its "execution provider" line.
 */
export async function openFromOptions(
  modelPath: string,
  values: Record<string, unknown>,
  threads?: number,
  warn?: (line: string) => void,
): Promise<Opened> {
  const opened = await openWithTokenizer(
    modelPath,
    values.variant as string | undefined,
    threads,
    values.config as string | undefined,
    values.provider as string | undefined,
  );
  const fallback = opened.model.provider.fallback;
  if (warn && fallback) warn(`introspect: ${fallback}\n`);
  return opened;
}

/**
 * Opens the model and its tokenizer. The graph is scanned and mapped and the tokenizer loaded and
 * checked before the first session is created, because creating it writes the edited graph (to the
 * edit cache, editCache.ts): a model whose tokenizer or graph is unusable leaves nothing behind.
 */
async function openWithTokenizer(
  modelPath: string,
  variant?: string,
  threads?: number,
  config?: string,
  provider?: string,
): Promise<Opened> {
  const model = await openModel(modelPath, {
    variant,
    executionProvider: provider,
    warm: false,
    ...(threads ? { intraOpThreads: threads } : {}),
    config: parseConfigOverrides(config),
  });
  try {
    const tok = await loadTokenizer(model.resolved.tokenizerPath ?? model.resolved.onnxPath);
    checkTokenizerFits(model, tok);
    await model.session();
    return { model, tok };
  } catch (e) {
    await model.dispose();
    throw e;
  }
}

/** Sites the architecture map found, grouped per layer, plus the ones outside layers. */
export function layerMap(sites: string[], numLayers: number): { layers: { layer: number; sites: string[] }[]; other: string[] } {
  const layers = Array.from({ length: numLayers }, (_, layer) => ({ layer, sites: [] as string[] }));
  const other: string[] = [];
  for (const s of sites) {
    const p = parseHookName(s);
    if (p && p.layer < numLayers) layers[p.layer].sites.push(s);
    else other.push(s);
  }
  return { layers, other };
}

/** Index and softmax probability of the largest entry of each row of a [rows, V] matrix. */
export function rowTop1(data: Float32Array, V: number): { id: number; p: number }[] {
  const out: { id: number; p: number }[] = [];
  for (let r = 0; r * V < data.length; r++) {
    const row = data.subarray(r * V, (r + 1) * V);
    let best = 0;
    for (let i = 1; i < V; i++) if (row[i] > row[best]) best = i;
    let z = 0;
    for (let i = 0; i < V; i++) z += Math.exp(row[i] - row[best]);
    out.push({ id: best, p: 1 / z });
  }
  return out;
}

/** `--config a=1,b=x` as config.json overrides (numbers where they parse as numbers). */
export function parseConfigOverrides(s: string | undefined): Record<string, number | string> | undefined {
  if (!s) return undefined;
  const out: Record<string, number | string> = {};
  for (const part of s.split(",")) {
    const m = /^\s*([A-Za-z_][\w.]*)\s*=\s*(.+?)\s*$/.exec(part);
    if (!m) throw new UsageError(`--config: "${part}" is not KEY=VALUE (for example num_hidden_layers=6)`);
    out[m[1]] = /^-?\d+(\.\d+)?$/.test(m[2]) ? Number(m[2]) : m[2];
  }
  return out;
}
