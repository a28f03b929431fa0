// Finding the .onnx file in a model folder, and the checks that turn unsupported files into sentences.
import type { VariantFile } from "./candidateShapes";
import * as fs from "fs";
import * as path from "path";
import { IntrospectError } from "../types";
import type { ScannedModel } from "../onnx/modelFile";
import { readModelText } from "./modelFiles";

/** Variant names as Transformers.js uses them, mapped to file suffixes. */
export const VARIANTS: Record<string, string> = {
  fp32: "",
  fp16: "_fp16",
  quantized: "_quantized",
  q8: "_quantized",
  int8: "_int8",
  uint8: "_uint8",
  q4: "_q4",
  q4f16: "_q4f16",
  bnb4: "_bnb4",
};

export interface ResolvedModel {
  onnxPath: string;
  /** Folder holding tokenizer.json / config.json (the model folder, not its onnx/ subfolder). */
  folder: string;
  tokenizerPath?: string;
  config: Record<string, unknown>;
  /** onnxruntime-genai's genai_config.json, when the folder has one: the decoder's counts as the builder wrote them. */
  genai?: GenaiDecoder;
  variant: string;
}

/** The numbers genai_config.json states about its decoder (model.decoder.* and model.vocab_size). */
export interface GenaiDecoder {
  filename?: string;
  num_hidden_layers?: number;
  hidden_size?: number;
  num_attention_heads?: number;
  num_key_value_heads?: number;
  head_size?: number;
  vocab_size?: number;
  context_length?: number;
}

function readGenaiConfig(file: string): GenaiDecoder {
  let j: { model?: { vocab_size?: unknown; context_length?: unknown; decoder?: Record<string, unknown> } };
  try {
    j = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch {
    throw new IntrospectError("corrupt-model", `${file} is not valid JSON. Fix or remove it.`);
  }
  const d = j.model?.decoder ?? {};
  const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
  return {
    filename: typeof d.filename === "string" ? d.filename : undefined,
    num_hidden_layers: num(d.num_hidden_layers),
    hidden_size: num(d.hidden_size),
    num_attention_heads: num(d.num_attention_heads),
    num_key_value_heads: num(d.num_key_value_heads),
    head_size: num(d.head_size),
    vocab_size: num(j.model?.vocab_size),
    context_length: num(j.model?.context_length),
  };
}

/** Model file stems, in order of preference: a plain decoder, a merged one (both branches), one without past. */
const STEMS = ["model", "decoder_model_merged", "decoder_model"];
const VARIANT_FILE = /^(model|decoder_model_merged|decoder_model)((?:_\w+)?)\.onnx$/;

/** The variant name of a model file (decoder_model_merged_q4.onnx -> q4), undefined for other files. */
export function variantOf(file: string): string | undefined {
  const m = VARIANT_FILE.exec(file);
  if (!m) return undefined;
  const suffix = m[2];
  if (m[1] === "decoder_model" && suffix.startsWith("_merged")) return undefined;
  if (suffix === "") return "fp32";
  return Object.keys(VARIANTS).find((k) => VARIANTS[k] === suffix) ?? suffix.slice(1);
}

/** The file of one variant among `names`: the preferred stem that has it. */
function variantFile(names: string[], variant: string): string | undefined {
  const suffix = VARIANTS[variant] ?? `_${variant}`;
  return STEMS.map((s) => `${s}${suffix}.onnx`).find((f) => names.includes(f));
}

/** A stat that follows links, undefined for what does not exist. */
function statOf(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(p);
  } catch {
    return undefined;
  }
}

/**
 * The variants a model folder holds (onnx/model.onnx -> fp32, model_fp16.onnx -> fp16, ...), fp32 first.
 * `stat` decides which files count (the model picker's leaves out links it must not follow).
 */
export function listVariants(folder: string, stat: (p: string) => fs.Stats | undefined = statOf): VariantFile[] {
  const dir = stat(path.join(folder, "onnx"))?.isDirectory() ? path.join(folder, "onnx") : folder;
  if (!stat(dir)?.isDirectory()) return [];
  const out: VariantFile[] = [];
  let names: string[];
  try {
    names = fs.readdirSync(dir).sort();
  } catch {
    return [];
  }
  const sizes = new Map(names.map((n) => [n, stat(path.join(dir, n))] as const));
  names = names.filter((n) => sizes.get(n)?.isFile());
  for (const f of names) {
    const v = variantOf(f);
    if (!v || out.some((x) => x.variant === v) || variantFile(names, v) !== f) continue;
    const data = names.filter((n) => n === `${f}_data` || n.startsWith(`${f}_data_`) || n === `${f}.data`);
    const bytes = [f, ...data].reduce((s, n) => s + sizes.get(n)!.size, 0);
    out.push({ variant: v, file: path.join(dir, f), bytes });
  }
  return out.sort((a, b) => Number(b.variant === "fp32") - Number(a.variant === "fp32"));
}

function findBeside(dirs: string[], name: string): string | undefined {
  for (const d of dirs) {
    const p = path.join(d, name);
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

/** Resolves a folder (Optimum / Transformers.js layout) or a single .onnx path. */
export function resolveModelPath(p: string, variant?: string): ResolvedModel {
  const abs = path.resolve(p);
  if (!fs.existsSync(abs)) {
    throw new IntrospectError(
      "model-not-found",
      `No model at ${abs}: the path does not exist. Point introspect.model at a model folder (with onnx/model.onnx) or at a .onnx file.`,
    );
  }
  let onnxPath: string;
  if (fs.statSync(abs).isDirectory()) {
    const dirs = [path.join(abs, "onnx"), abs].filter((d) => fs.existsSync(d) && fs.statSync(d).isDirectory());
    const files = dirs.flatMap((d) =>
      fs
        .readdirSync(d)
        .filter((f) => f.endsWith(".onnx") && !f.includes(".introspect-"))
        .map((f) => path.join(d, f)),
    );
    if (files.length === 0) {
      throw new IntrospectError(
        "model-not-found",
        `No .onnx file in ${abs} or ${path.join(abs, "onnx")}. Export the model with Optimum (optimum-cli export onnx) or torch.onnx first.`,
      );
    }
    const byName = (n: string) => files.find((f) => path.basename(f) === n);
    let pick: string | undefined;
    // An onnxruntime-genai folder names its decoder file (often not model.onnx).
    const genaiFile = findBeside([abs], "genai_config.json");
    const genaiName =
      genaiFile && (!variant || (variant === "fp32" && !byName("model.onnx"))) ? readGenaiConfig(genaiFile).filename : undefined;
    const genaiPick = genaiName ? byName(genaiName) : undefined;
    if (genaiPick) pick = genaiPick;
    else if (variant) {
      const suffix = VARIANTS[variant] ?? `_${variant}`;
      for (const d of dirs) pick ??= byName(variantFile(fs.readdirSync(d), variant) ?? "");
      if (!pick) {
        throw new IntrospectError(
          "model-not-found",
          `No ${variant} variant (model${suffix}.onnx) in ${abs}. Files found: ${files.map((f) => path.basename(f)).join(", ")}.`,
        );
      }
    } else {
      const order = ["fp32", "fp16", "quantized", "int8", "uint8", "q4", "q4f16", "bnb4"];
      const all = files.map((f) => path.basename(f));
      pick = order.map((v) => byName(variantFile(all, v) ?? "")).find(Boolean) ?? files.sort()[0];
    }
    onnxPath = pick;
  } else {
    if (!abs.endsWith(".onnx")) {
      throw new IntrospectError(
        "unsupported-model",
        `${path.basename(abs)} is not an .onnx file. Point at a model folder or at a .onnx file with tokenizer.json beside it.`,
      );
    }
    onnxPath = abs;
  }
  const onnxDir = path.dirname(onnxPath);
  const dirs = path.basename(onnxDir) === "onnx" ? [onnxDir, path.dirname(onnxDir)] : [onnxDir];
  const configPath = findBeside(dirs, "config.json");
  let config: Record<string, unknown> = {};
  if (configPath) {
    const text = readModelText(configPath, "The model's config.json");
    try {
      config = JSON.parse(text);
    } catch {
      throw new IntrospectError("corrupt-model", `${configPath} is not valid JSON. Fix or remove it.`);
    }
    if (config === null || typeof config !== "object" || Array.isArray(config)) {
      throw new IntrospectError("corrupt-model", `${configPath} does not hold a JSON object. Fix or remove it.`);
    }
  }
  const genaiPath = findBeside(dirs, "genai_config.json");
  const genai = genaiPath ? readGenaiConfig(genaiPath) : undefined;
  const tokenizerPath = findBeside(dirs, "tokenizer.json");
  const v = variantOf(path.basename(onnxPath)) ?? "fp32";
  return {
    onnxPath,
    folder: tokenizerPath ? path.dirname(tokenizerPath) : dirs[dirs.length - 1],
    tokenizerPath,
    config,
    ...(genai ? { genai } : {}),
    variant: v,
  };
}

/** Rejects graphs Introspect cannot handle yet, saying what was found and what is supported. */
export function checkSupported(m: ScannedModel, file: string): void {
  const names = new Set(m.inputs.map((i) => i.name));
  const outs = m.outputs.map((o) => o.name);
  const base = path.basename(file);
  // A merged decoder's If on use_cache_branch is flattened per branch (onnx/merged.ts); other If nodes
  // (onnxruntime-genai's long-context rotary caches, say) are ordinary nodes to the map.
  if (names.has("use_cache_branch") && !m.nodes.some((n) => n.opType === "If")) {
    throw new IntrospectError(
      "unsupported-model",
      `${base} has a use_cache_branch input but no If node choosing a branch by it, so it is neither a merged decoder nor a plain one. Use model.onnx or decoder_model.onnx from the same export.`,
    );
  }
  if (m.nodes.some((n) => n.opType === "Loop")) {
    throw new IntrospectError(
      "unsupported-model",
      `${base} runs part of its graph in a Loop node, whose inner steps Introspect cannot map. Export the model without a Loop (torch.onnx with a fixed number of layers does).`,
    );
  }
  if (!names.has("input_ids")) {
    const found = [...names].slice(0, 4).join(", ") || "none";
    const kind = names.has("pixel_values")
      ? "an image model"
      : names.has("input_features") || names.has("input_values")
        ? "an audio model"
        : "not a language model";
    throw new IntrospectError(
      "unsupported-model",
      `${base} looks like ${kind} (inputs: ${found}). Introspect supports decoder-only language models with an input_ids input and a logits output.`,
    );
  }
  if (names.has("encoder_hidden_states") || names.has("encoder_outputs")) {
    throw new IntrospectError(
      "unsupported-model",
      `${base} is the decoder of an encoder-decoder model (it takes encoder_hidden_states). Introspect supports decoder-only language models (GPT-2, Llama, Qwen, Mistral, Phi, Mixtral-style).`,
    );
  }
  if (!outs.includes("logits")) {
    const enc = outs.some((o) => /last_hidden_state|pooler_output|hidden_states/.test(o));
    throw new IntrospectError(
      "unsupported-model",
      `${base} has no logits output (outputs: ${outs.slice(0, 4).join(", ")})${enc ? ": it looks like an encoder-only model" : ""}. Introspect supports decoder-only language models exported with a language-model head (e.g. optimum-cli export onnx --task text-generation).`,
    );
  }
}

export type { VariantFile } from "./candidateShapes";
