"""Quantised variants of a demo model, made with onnxruntime's own quantizers.

python3 quantize_demo.py SRC_ONNX DST_DIR
Writes DST_DIR/model_q4.onnx (MatMulNBitsQuantizer, 4 bits, block 32, symmetric) and
DST_DIR/model_int8.onnx (quantize_dynamic, QInt8 weights), the same recipes as zoo.py, and prints
each variant's size and its logits against the float32 graph on three prompts.
"""
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort

IDS = [[5, 17, 200, 33, 90, 7, 64, 300, 41, 12], [100, 101, 102, 103, 104, 105], [9, 8, 7, 6, 5, 4, 3, 2, 1, 600, 700]]


def session(path):
    so = ort.SessionOptions()
    so.log_severity_level = 3
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def feeds(sess, ids):
    x = np.asarray(ids, dtype=np.int64)[None]
    f = {}
    for i in sess.get_inputs():
        if i.name == "input_ids":
            f[i.name] = x
        elif i.name == "attention_mask":
            f[i.name] = np.ones_like(x)
        elif i.name == "position_ids":
            f[i.name] = np.arange(x.shape[1], dtype=np.int64)[None]
        elif i.name.startswith("past_key_values"):
            shape = [1 if not isinstance(d, int) else d for d in i.shape]
            shape[0], shape[2] = 1, 0
            f[i.name] = np.zeros(shape, dtype=np.float32)
    return f


def logits(path):
    s = session(path)
    return [s.run(["logits"], feeds(s, ids))[0][0] for ids in IDS]


def main():
    src, dst = sys.argv[1], sys.argv[2]
    os.makedirs(dst, exist_ok=True)
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    q = MatMulNBitsQuantizer(onnx.load(src), block_size=32, is_symmetric=True)
    q.process()
    q.model.save_model_to_file(os.path.join(dst, "model_q4.onnx"), use_external_data_format=False)
    quantize_dynamic(src, os.path.join(dst, "model_int8.onnx"), weight_type=QuantType.QInt8)
    ref = logits(src)
    report = {}
    for v in ("q4", "int8"):
        path = os.path.join(dst, f"model_{v}.onnx")
        got = logits(path)
        ops = sorted({n.op_type for n in onnx.load(path).graph.node if n.domain == "com.microsoft" or "Integer" in n.op_type or "Quantize" in n.op_type})
        report[v] = {
            "mb": round(os.path.getsize(path) / 2**20, 2),
            "ops": ops,
            "max_abs_logit_diff": float(max(np.abs(a - b).max() for a, b in zip(ref, got))),
            "top1_agreement": float(np.mean(np.concatenate([a.argmax(-1) == b.argmax(-1) for a, b in zip(ref, got)]))),
        }
        print(v, json.dumps(report[v]), flush=True)
    with open(os.path.join(dst, "quantize_report.json"), "w") as f:
        json.dump({"onnxruntime": ort.__version__, "onnx": onnx.__version__, "variants": report}, f, indent=1)


if __name__ == "__main__":
    main()
