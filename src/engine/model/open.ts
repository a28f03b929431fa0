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
import { flattenBranch, mergedIf } from "../onnx/merged";
import type { ScannedModel } from "../onnx/modelFile";
import { MergedDecoder, branchFingerprint, type BranchModel } from "./merged";
import { checkExternalData, openOnnxFile } from "./modelFiles";
import { disableOrtTelemetry } from "../../launch/ortTelemetry";
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
    let scanned: ScannedModel;
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
    // A merged decoder is mapped as its branch without past; the with-past branch is mapped below.
    const ifIndex = mergedIf(scanned);
    const whole = scanned;
    if (ifIndex !== undefined) scanned = flattenGraph(whole, src, ifIndex, "else_branch", resolved.onnxPath);
    const g = new GraphIndex(scanned);
    if (opts.config) {
      checkOverrides(opts.config, resolved.config, resolved.genai as Record<string, unknown> | undefined);
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
    const fp = fingerprint(src, scanned.mtimeMs);
    let model: LoadedModel;
    if (ifIndex === undefined) model = new LoadedModel(info, map, resolved, scanned, g, src, fp, opts);
    else {
      info.notes.push("merged decoder: passes without past run its else_branch, passes after a past its then_branch (both mapped)");
      const past = withPastBranch(whole, ifIndex, resolved.onnxPath, cfg, resolved.genai, fp, opts.allowUnconfirmed);
      try {
        model = new MergedDecoder(info, map, resolved, scanned, g, src, branchFingerprint(fp, "else_branch"), opts, past);
      } catch (e) {
        past.src.close();
        throw e;
      }
    }
    if (opts.warm !== false) await model.session();
    return model;
  } catch (e) {
    src.close();
    throw e;
  }
}

/**
 * A config override must keep the kind of value it replaces: `num_hidden_layers=abc` would turn a
 * count into a string that every later comparison reads as "no value", so the self-check would
 * silently skip it. Keys the file holds as numbers (and the counts the map checks) take finite numbers.
 */
function checkOverrides(
  overrides: Record<string, number | string>,
  config: Record<string, unknown>,
  genai: Record<string, unknown> | undefined,
): void {
  const counted = /^(num_|n_)|_(size|layers|heads|experts|dim|positions|embeddings)$|^vocab_size$/;
  for (const [k, v] of Object.entries(overrides)) {
    const numericBefore = typeof config[k] === "number" || typeof genai?.[k] === "number" || counted.test(k);
    if (numericBefore && (typeof v !== "number" || !Number.isFinite(v)))
      throw new IntrospectError(
        "bad-input",
        `--config ${k}=${String(v)}: ${k} is a number in config.json, so the override must be one (for example ${k}=${typeof config[k] === "number" ? String(config[k]) : "6"}).`,
      );
  }
}

/** One branch of a merged decoder as a plain graph; a branch that cannot be read is a corrupt file. */
function flattenGraph(m: ScannedModel, src: FileBytes, ifIndex: number, branch: "then_branch" | "else_branch", file: string): ScannedModel {
  try {
    return flattenBranch(m, src, ifIndex, branch);
  } catch (e) {
    throw new IntrospectError(
      "corrupt-model",
      `${path.basename(file)} is a merged decoder whose ${branch} could not be read (${(e as Error).message}): re-export or re-download it.`,
    );
  }
}

/** The with-past branch of a merged decoder, mapped and self-checked, over its own handle on the file. */
function withPastBranch(
  whole: ScannedModel,
  ifIndex: number,
  file: string,
  cfg: Record<string, unknown>,
  genai: Parameters<typeof checkMap>[3],
  fp: string,
  allowUnconfirmed?: boolean,
): BranchModel {
  const src = openOnnxFile(file);
  try {
    const scanned = flattenGraph(whole, src, ifIndex, "then_branch", file);
    const graph = new GraphIndex(scanned);
    const map = buildArchMap(graph, cfg);
    const refused = refusal(checkMap(graph, map, cfg, genai), `${path.basename(file)} (then_branch, with past)`);
    if (refused && !allowUnconfirmed) throw refused;
    return { map, scanned, graph, src, fp: branchFingerprint(fp, "then_branch") };
  } catch (e) {
    src.close();
    throw e;
  }
}
