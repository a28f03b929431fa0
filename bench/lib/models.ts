// The benchmark models: the GPT-2-small-shaped one made on the spot (never committed) and demo-llama.

import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { KvShape } from "./ort";

export const ROOT = path.resolve(__dirname, "..", "..");
export const CACHE = path.join(ROOT, ".cache", "bench");
export const PYTHON = process.env.INTROSPECT_BENCH_PYTHON ?? "/usr/bin/python3";

export interface BenchModel {
  name: string;
  dir: string;
  onnx: string;
  /** The same weights 4-bit (MatMulNBits), for the 1B figures. */
  q4Onnx?: string;
  /** The same weights in one file, for the memory figure (GPT-2 only). */
  inlineOnnx?: string;
  layers: number;
  vocab: number;
  dModel: number;
  kv: KvShape;
  eosId?: number;
  /** Longest sequence the model takes (the "512-token" figures use min(512, this)). */
  maxPositions: number;
}

export function readModel(name: string, dir: string, inlineDir?: string): BenchModel {
  const cfgPath = path.join(dir, "config.json");
  if (!fs.existsSync(cfgPath)) throw new Error(`${cfgPath} not found`);
  const c = JSON.parse(fs.readFileSync(cfgPath, "utf8"));
  const layers = c.n_layer ?? c.num_hidden_layers;
  const dModel = c.n_embd ?? c.hidden_size;
  const heads = c.n_head ?? c.num_attention_heads;
  const kvHeads = c.num_key_value_heads ?? heads;
  const headDim = c.head_dim ?? dModel / heads;
  const inline = inlineDir ? path.join(inlineDir, "onnx", "model.onnx") : undefined;
  return {
    name,
    dir,
    onnx: path.join(dir, "onnx", "model.onnx"),
    inlineOnnx: inline && fs.existsSync(inline) ? inline : undefined,
    layers,
    vocab: c.vocab_size,
    dModel,
    kv: { layers, kvHeads, headDim },
    eosId: typeof c.eos_token_id === "number" ? c.eos_token_id : undefined,
    maxPositions: c.n_positions ?? c.max_position_embeddings ?? 512,
  };
}

/** Makes .cache/bench/gpt2-small{,-inline} with bench/models/make_gpt2_small.py when missing. */
export function ensureGpt2(tiny = false, log: (s: string) => void = console.error): BenchModel {
  const name = tiny ? "gpt2-tiny" : "gpt2-small";
  const dir = path.join(CACHE, name);
  const inlineDir = path.join(CACHE, `${name}-inline`);
  const have = (d: string) => fs.existsSync(path.join(d, "onnx", "model.onnx")) && fs.existsSync(path.join(d, "config.json"));
  if (!have(dir) || !have(inlineDir)) {
    log(`making ${name} in ${CACHE} (seeded random weights, about a minute)...`);
    const args = [path.join(ROOT, "bench", "models", "make_gpt2_small.py"), "--out", CACHE, ...(tiny ? ["--tiny"] : [])];
    const r = spawnSync(PYTHON, args, { stdio: ["ignore", "inherit", "inherit"] });
    if (r.status !== 0) {
      throw new Error(`making ${name} failed (${PYTHON} ${args.join(" ")}). It needs Debian's python3-torch and python3-onnx.`);
    }
  }
  return readModel(name, dir, inlineDir);
}

/**
 * Makes .cache/bench/llama-1b (Llama-3.2-1B's shape, fp32 and q4) with bench/models/make_llama_1b.py
 * when missing; `tiny`: the same graph at 2 layers x 128 (llama-1b-tiny) for checks.
 */
export function ensureLlama1b(tiny = false, log: (s: string) => void = console.error): BenchModel {
  const name = tiny ? "llama-1b-tiny" : "llama-1b";
  const dir = path.join(CACHE, name);
  const need = [
    "config.json",
    "tokenizer.json",
    "onnx/model.onnx",
    "onnx/model.onnx_data",
    "onnx/model_q4.onnx",
    "onnx/model_q4.onnx_data",
  ];
  if (!need.every((f) => fs.existsSync(path.join(dir, f)))) {
    log(`making ${name} in ${CACHE} (seeded random weights, fp32 and q4${tiny ? "" : "; about 8 GB on disk, a few minutes"})...`);
    const args = [path.join(ROOT, "bench", "models", "make_llama_1b.py"), "--out", CACHE, ...(tiny ? ["--tiny"] : [])];
    const r = spawnSync(PYTHON, args, { stdio: ["ignore", "inherit", "inherit"] });
    if (r.status !== 0) throw new Error(`making ${name} failed (${PYTHON} ${args.join(" ")}). It needs numpy and python3-onnx.`);
  }
  const m = readModel(name, dir);
  return { ...m, q4Onnx: path.join(dir, "onnx", "model_q4.onnx") };
}

export function demoLlama(): BenchModel | undefined {
  const dir = path.join(ROOT, "models", "demo-llama");
  return fs.existsSync(path.join(dir, "onnx", "model.onnx")) ? readModel("demo-llama", dir) : undefined;
}
