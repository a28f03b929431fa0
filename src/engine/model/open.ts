// openModel: path -> LoadedModel (scan, checks, architecture map). Sessions are created lazily.
import * as fs from "fs";
import * as path from "path";
import type { ModelInfo } from "../types";
import { IntrospectError } from "../types";
import { buildArchMap } from "../arch/archMap";
import { checkMap, refusal } from "../arch/selfCheck";
import { GraphIndex } from "../onnx/graph";
import { scanModel } from "../onnx/modelFile";
import type { FileBytes } from "../onnx/wire";
import { fingerprint } from "./editCache";
import { LoadedModel, type SessionOptions } from "./loaded";
import { checkExternalData, openOnnxFile } from "./modelFiles";
import { disableOrtTelemetry } from "./ortTelemetry";
import { checkSupported, resolveModelPath } from "./resolve";

export interface OpenOptions extends SessionOptions {
  /** Transformers.js variant: fp32 (model.onnx), fp16, quantized, q4, q4f16, int8, uint8, bnb4. */
  variant?: string;
  /** Create the plain session now (default true), so load errors surface at open time. */
  warm?: boolean;
  /** Values that replace config.json's (e.g. { num_hidden_layers: 6 }) when the user knows it is wrong. */
  config?: Record<string, number | string>;
  /** Open even when the map's self-check disagrees (for `introspect info`, which shows the checks). */
  allowUnconfirmed?: boolean;
}

export async function openModel(modelPath: string, opts: OpenOptions = {}): Promise<LoadedModel> {
  disableOrtTelemetry();
  const resolved = resolveModelPath(modelPath, opts.variant);
  let src: FileBytes;
  try {
    src = openOnnxFile(resolved.onnxPath);
  } catch (e) {
    if (e instanceof IntrospectError) throw e;
    throw new IntrospectError("model-not-found", `Cannot read ${resolved.onnxPath}: ${(e as Error).message}`);
  }
  try {
    let scanned;
    try {
      scanned = scanModel(resolved.onnxPath, src, fs.statSync(resolved.onnxPath).mtimeMs);
    } catch (e) {
      throw new IntrospectError(
        "corrupt-model",
        `${path.basename(resolved.onnxPath)} is not a readable ONNX model (${(e as Error).message}). The file may be truncated or not an ONNX protobuf: re-export or re-download it.`,
      );
    }
    checkSupported(scanned, resolved.onnxPath);
    // External data: regular files inside the model's folder, covering what the tensors declare.
    checkExternalData(scanned);
    const g = new GraphIndex(scanned);
    if (opts.config) {
      resolved.config = { ...resolved.config, ...opts.config };
      // genai_config.json uses the same key names: an override replaces both accounts.
      const gc = resolved.genai as Record<string, unknown> | undefined;
      if (gc) for (const k of Object.keys(gc)) if (k in opts.config && k !== "filename") gc[k] = Number(opts.config[k]);
    }
    const cfg = resolved.config;
    const map = buildArchMap(g, cfg);
    const checks = checkMap(g, map, cfg, resolved.genai);
    const refused = refusal(checks, path.basename(resolved.folder));
    if (refused && !opts.allowUnconfirmed) throw refused;
    const info: ModelInfo = {
      id: `${path.basename(resolved.folder)}${resolved.variant === "fp32" ? "" : `:${resolved.variant}`}`,
      architecture: String((cfg.architectures as string[] | undefined)?.[0] ?? cfg.model_type ?? "unknown"),
      numLayers: map.numLayers,
      dModel: map.dModel,
      dMlp: map.dMlp,
      numHeads: Number(cfg.num_attention_heads ?? cfg.n_head ?? resolved.genai?.num_attention_heads ?? 0) || undefined,
      vocabSize: map.vocabSize,
      numExperts: map.numExperts,
      expertsPerToken: map.expertsPerToken,
      sites: [...map.sites.keys()],
      hasKvCache: scanned.inputs.some((i) => i.name.startsWith("past_key")),
      exportStyle: map.exportStyle,
      notes: [...map.notes, ...(resolved.tokenizerPath ? [] : ["no tokenizer.json found beside the model"])],
      checks,
      ...(refused ? { unconfirmed: refused.message } : {}),
    };
    const model = new LoadedModel(info, map, resolved, scanned, g, src, fingerprint(src, scanned.mtimeMs), opts);
    info.executionProvider = model.provider;
    if (opts.warm !== false) await model.session();
    return model;
  } catch (e) {
    src.close();
    throw e;
  }
}
