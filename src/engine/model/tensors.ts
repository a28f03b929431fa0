// Conversions between onnxruntime tensors and the engine's float32 ActivationTensor.
import * as ort from "onnxruntime-node";
import type { ActivationTensor } from "../types";

export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
export function floatToHalf(v: number): number {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const e = ((x >>> 23) & 0xff) - 127 + 15;
  let m = x & 0x7fffff;
  if (e >= 31) return sign | 0x7c00 | (((x >>> 23) & 0xff) === 0xff && m ? 0x200 : 0);
  if (e <= 0) {
    if (e < -10) return sign;
    m = (m | 0x800000) >> (1 - e);
    return sign | ((m + 0x1000) >> 13);
  }
  const r = sign | (e << 10) | (m >> 13);
  return (m & 0x1fff) > 0x1000 || ((m & 0x1fff) === 0x1000 && r & 1) ? r + 1 : r;
}

/** Any float ORT tensor (float32, float16, bfloat16) as a float32 ActivationTensor. */
export function toActivation(t: ort.Tensor): ActivationTensor {
  const dims = [...t.dims];
  if (t.type === "float32") return { dims, data: t.data as Float32Array };
  const src = t.data as Uint16Array;
  const out = new Float32Array(src.length);
  if (t.type === "float16") for (let i = 0; i < src.length; i++) out[i] = halfToFloat(src[i]);
  else if ((t.type as string) === "bfloat16") {
    const u = new Uint32Array(out.buffer);
    for (let i = 0; i < src.length; i++) u[i] = src[i] << 16;
  } else if (t.type === "float64" || t.type === "int64" || t.type === "int32") {
    const d = t.data as ArrayLike<number | bigint>;
    for (let i = 0; i < d.length; i++) out[i] = Number(d[i]);
  } else throw new Error(`unsupported tensor type ${t.type}`);
  return { dims, data: out };
}

/** TensorProto elem type -> ORT tensor type for the float types we feed. */
export function ortFloatType(elemType: number): "float32" | "float16" {
  if (elemType === 16) throw new Error("bfloat16 inputs are not supported by onnxruntime-node");
  return elemType === 10 ? "float16" : "float32";
}

export function zerosTensor(elemType: number, dims: number[]): ort.Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  const type = ortFloatType(elemType);
  return new ort.Tensor(type, type === "float32" ? new Float32Array(n) : new Uint16Array(n), dims);
}

export function int64Tensor(values: ArrayLike<number>, dims: number[]): ort.Tensor {
  const d = new BigInt64Array(values.length);
  for (let i = 0; i < values.length; i++) d[i] = BigInt(values[i]);
  return new ort.Tensor("int64", d, dims);
}

export function float32Tensor(data: Float32Array, dims: number[]): ort.Tensor {
  return new ort.Tensor("float32", data, dims);
}
