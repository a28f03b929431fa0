// Conversions between onnxruntime tensors and the engine's float32 ActivationTensor.
import * as ort from "onnxruntime-node";
import type { ActivationTensor } from "../types";
import { halvesToF32 } from "../half";

/** Any float ORT tensor (float32, float16, bfloat16) as a float32 ActivationTensor. */
export function toActivation(t: ort.Tensor): ActivationTensor {
  const dims = [...t.dims];
  if (t.type === "float32") return { dims, data: t.data as Float32Array };
  if (t.type === "float16" || (t.type as string) === "bfloat16") {
    const src = t.data as Uint16Array;
    return { dims, data: halvesToF32(src.length, (i) => src[i], t.type === "float16" ? "f16" : "bf16") };
  }
  if (t.type === "float64" || t.type === "int64" || t.type === "int32") {
    const d = t.data as ArrayLike<number | bigint>;
    const out = new Float32Array(d.length);
    for (let i = 0; i < d.length; i++) out[i] = Number(d[i]);
    return { dims, data: out };
  }
  throw new Error(`unsupported tensor type ${t.type}`);
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
