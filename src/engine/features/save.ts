// Writing a dictionary in the SAELens folder layout (cfg.json, sae_weights.safetensors, and
// sparsity.safetensors when densities are known), so SAELens and other tools can read what was
// made here.

import * as fs from "node:fs";
import * as path from "node:path";
import { outputTempName, writeFileAtomic } from "../model/tempFiles";
import { writeSafetensors, type WritableTensor } from "../safetensors";
import { IntrospectError } from "../types";
import type { Dictionary } from "./dictionary";

export interface SaveExtras {
  /** Extra keys for cfg.json's metadata (training settings, measured quality). */
  metadata?: Record<string, unknown>;
}

export function saveSaeLens(d: Dictionary, folder: string, extras: SaveExtras = {}): void {
  try {
    fs.mkdirSync(folder, { recursive: true });
  } catch (e) {
    throw new IntrospectError("bad-input", `${folder} could not be created (${(e as Error).message}).`);
  }
  const tensors: Record<string, WritableTensor> = {
    W_enc: { shape: [d.dIn, d.dSae], data: d.wEnc },
    W_dec: { shape: [d.dSae, d.dOut], data: d.wDec },
    b_enc: { shape: [d.dSae], data: d.bEnc },
    b_dec: { shape: [d.dOut], data: d.bDec },
  };
  if (d.threshold) tensors.threshold = { shape: [d.dSae], data: d.threshold };
  if (d.bMag && d.rMag) {
    tensors.b_gate = tensors.b_enc;
    delete tensors.b_enc;
    tensors.b_mag = { shape: [d.dSae], data: d.bMag };
    tensors.r_mag = { shape: [d.dSae], data: d.rMag };
  }
  if (d.wSkip) tensors.W_skip = { shape: [d.dIn, d.dOut], data: d.wSkip };
  writeSafetensors(path.join(folder, "sae_weights.safetensors"), tensors);
  if (d.logSparsity) writeSafetensors(path.join(folder, "sparsity.safetensors"), { sparsity: { shape: [d.dSae], data: d.logSparsity } });
  const cfg: Record<string, unknown> = {
    architecture: d.architecture,
    d_in: d.dIn,
    d_sae: d.dSae,
    ...(d.dOut !== d.dIn ? { d_out: d.dOut } : {}),
    dtype: "float32",
    device: "cpu",
    apply_b_dec_to_input: d.applyBDecToInput,
    normalize_activations: d.normalization,
    ...(d.k !== undefined ? { k: d.k } : {}),
    metadata: {
      model_name: d.modelName ?? "",
      hook_name: d.hookIn,
      ...(d.hookOut ? { hook_name_out: d.hookOut } : {}),
      hook_head_index: null,
      prepend_bos: false,
      context_size: 128,
      sae_lens_training_version: null,
      ...extras.metadata,
    },
  };
  const file = path.join(folder, "cfg.json");
  writeFileAtomic(file, [Buffer.from(JSON.stringify(cfg, null, 2) + "\n")], { temp: outputTempName(file), durable: true });
}
