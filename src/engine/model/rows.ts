// Batch rows of forward-pass tensors: one row out of an onnxruntime tensor, rows joined back, a
// batch axis of one dropped.
import * as ort from "onnxruntime-node";
import type { ActivationTensor } from "../types";

/** Row `b` of a tensor's batch axis (axis 0), same element type. */
export function batchRow(t: ort.Tensor, b: number): ort.Tensor {
  const per = t.dims.slice(1).reduce((a, c) => a * c, 1);
  const data = t.data as Float32Array;
  return new ort.Tensor(t.type as "float32", data.slice(b * per, (b + 1) * per), [1, ...t.dims.slice(1)]);
}

/** Tensors of one row each, joined on axis 0 (typed arrays of the first one's kind). */
export function joinRows(parts: ActivationTensor[]): ActivationTensor {
  const total = parts.reduce((a, p) => a + p.data.length, 0);
  const data = new (parts[0].data.constructor as Float32ArrayConstructor)(total);
  let o = 0;
  for (const p of parts) {
    data.set(p.data, o);
    o += p.data.length;
  }
  return { dims: [parts.reduce((a, p) => a + p.dims[0], 0), ...parts[0].dims.slice(1)], data };
}

export function squeeze(t: ActivationTensor): ActivationTensor {
  return t.dims[0] === 1 ? { dims: t.dims.slice(1), data: t.data } : t;
}
