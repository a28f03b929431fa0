// The workspace file format for steering vectors (`.ivec`).
//
// Layout (all little-endian):
//   bytes 0-3   magic "IVEC"
//   bytes 4-7   uint32 format version (1)
//   bytes 8-11  uint32 N, length of the JSON header in bytes
//   12 .. 12+N  UTF-8 JSON header, padded with spaces so that the data starts at a multiple of 4
//   then        dim float32 values
// Header fields: name, modelId, site, dim, method, created, plus optional pooling, normalised,
// rawNorm, nPositive, nNegative, source, layerWeights [{layer, weight}].
// A header is plain JSON so a user can read it with `head -c 600 file.ivec`.

import * as fs from "fs";
import { IntrospectError, ModelInfo } from "../types";
import { SteeringVector, VectorMeta, checkVectorFits, makeVector } from "./vector";

const MAGIC = "IVEC";
const VERSION = 1;

interface IvecHeader extends VectorMeta {
  name: string;
  modelId: string;
  site: string;
  dim: number;
  layerWeights?: { layer: number; weight: number }[];
}

export function encodeIvec(v: SteeringVector): Buffer {
  const header: IvecHeader = {
    name: v.name,
    modelId: v.modelId,
    site: v.site,
    dim: v.dim,
    ...v.meta,
    ...(v.layerWeights ? { layerWeights: v.layerWeights } : {}),
  };
  let json = Buffer.from(JSON.stringify(header), "utf8");
  const pad = (4 - ((12 + json.length) % 4)) % 4;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const out = Buffer.alloc(12 + json.length + 4 * v.dim);
  out.write(MAGIC, 0, "latin1");
  out.writeUInt32LE(VERSION, 4);
  out.writeUInt32LE(json.length, 8);
  json.copy(out, 12);
  const base = 12 + json.length;
  for (let i = 0; i < v.dim; i++) out.writeFloatLE(v.data[i], base + 4 * i);
  return out;
}

export function decodeIvec(buf: Uint8Array, fileLabel = "vector file"): SteeringVector {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < 12 || b.toString("latin1", 0, 4) !== MAGIC) {
    throw new IntrospectError("bad-input", `${fileLabel} is not an Introspect vector file (.ivec): it does not start with "IVEC".`);
  }
  const version = b.readUInt32LE(4);
  if (version !== VERSION) {
    throw new IntrospectError(
      "bad-input",
      `${fileLabel} has .ivec version ${version}; this Introspect reads version ${VERSION}. Update Introspect.`,
    );
  }
  const n = b.readUInt32LE(8);
  if (12 + n > b.length) throw new IntrospectError("bad-input", `${fileLabel} is truncated: its header runs past the end of the file.`);
  let h: IvecHeader;
  try {
    h = JSON.parse(b.toString("utf8", 12, 12 + n));
  } catch {
    throw new IntrospectError("bad-input", `${fileLabel} has a damaged header (not valid JSON).`);
  }
  for (const k of ["name", "modelId", "site"] as const) {
    if (typeof h[k] !== "string") throw new IntrospectError("bad-input", `${fileLabel} has no "${k}" in its header.`);
  }
  if (!Number.isInteger(h.dim) || h.dim <= 0) throw new IntrospectError("bad-input", `${fileLabel} has no valid "dim" in its header.`);
  const base = 12 + n;
  if (b.length - base !== 4 * h.dim) {
    throw new IntrospectError(
      "bad-input",
      `${fileLabel} says it holds ${h.dim} values but has ${Math.floor((b.length - base) / 4)}: the file is truncated or damaged.`,
    );
  }
  const data = new Float32Array(h.dim);
  for (let i = 0; i < h.dim; i++) data[i] = b.readFloatLE(base + 4 * i);
  const { name, modelId, site, dim: _dim, layerWeights, ...meta } = h;
  void _dim;
  const v = makeVector({ name, modelId, site, data, meta: { ...meta, method: meta.method ?? "manual" } });
  if (layerWeights !== undefined && layerWeights !== null) v.layerWeights = checkLayerWeights(layerWeights, fileLabel);
  return v;
}

/** The most layers a vector can be spread over (far beyond any real model's depth). */
const MAX_LAYER_WEIGHTS = 4096;

/** A header's layerWeights: a list of {layer: whole number >= 0, weight: finite number}, each layer once. */
function checkLayerWeights(raw: unknown, fileLabel: string): { layer: number; weight: number }[] {
  const bad = (why: string) =>
    new IntrospectError(
      "bad-input",
      `${fileLabel} has a damaged "layerWeights" in its header: ${why}. Save the vector again, or remove the field.`,
    );
  if (!Array.isArray(raw)) throw bad(`expected a list of {layer, weight}, found ${raw === null ? "null" : typeof raw}`);
  if (raw.length > MAX_LAYER_WEIGHTS) throw bad(`${raw.length} entries, more than ${MAX_LAYER_WEIGHTS}`);
  const seen = new Set<number>();
  return raw.map((e: unknown, i) => {
    const { layer, weight } = (e && typeof e === "object" ? e : {}) as { layer?: unknown; weight?: unknown };
    if (typeof layer !== "number" || !Number.isInteger(layer) || layer < 0) throw bad(`entry ${i} has no whole-number "layer"`);
    if (typeof weight !== "number" || !Number.isFinite(weight)) throw bad(`entry ${i} has no finite "weight"`);
    if (seen.has(layer)) throw bad(`layer ${layer} is listed twice`);
    seen.add(layer);
    return { layer, weight };
  });
}

export function saveVector(path: string, v: SteeringVector): void {
  fs.writeFileSync(path, encodeIvec(v));
}

/** Loads a vector; with `model`, also checks that it fits (width, model id, layers) with a clear message. */
export function loadVector(path: string, model?: ModelInfo, allowOtherModel = false): SteeringVector {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(path);
  } catch (e) {
    throw new IntrospectError("bad-input", `Cannot read vector file ${path}: ${(e as Error).message}`);
  }
  const v = decodeIvec(buf, path);
  if (model) checkVectorFits(v, model, allowOtherModel);
  return v;
}
