"""Checks the bench's own 4-bit quantizer (q4.py) against onnxruntime's MatMulNBitsQuantizer.

    python3 bench/models/check_q4_vs_ort.py [OUT_JSON]

Needs onnxruntime with its quantization tools (the GPU machine has them; Debian's python does not).
For each configuration (block 32; asymmetric or symmetric; accuracy_level 4 or unset) it makes the
small llama-1b-tiny graph in fp32 and in q4 with make_llama_1b.py, quantizes the fp32 one with
onnxruntime's quantizer under the same configuration, and compares, node by node in graph order:
op type and domain, attributes, the packed weights, scales and zero points (bytes), then the
logits and presents of both models on the same prompt and on one cached step after it (max |diff|,
goal <= 1e-5). Also one lone MatMul whose K (80) is not a multiple of the block. Prints JSON.
"""
import inspect
import json
import os
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_llama_1b import TINY, make  # noqa: E402
from q4 import quantize_blocks  # noqa: E402


def ort_quantize(model, sym, acc):
    from onnxruntime.quantization import matmul_nbits_quantizer as mnq

    cls = getattr(mnq, "MatMulNBitsQuantizer", None) or getattr(mnq, "MatMul4BitsQuantizer")
    cfg_kw = dict(block_size=32, is_symmetric=sym, accuracy_level=acc)
    cfg_params = inspect.signature(mnq.DefaultWeightOnlyQuantConfig).parameters
    algo = mnq.DefaultWeightOnlyQuantConfig(**{k: v for k, v in cfg_kw.items() if k in cfg_params})
    params = inspect.signature(cls).parameters
    kw = dict(block_size=32, is_symmetric=sym, accuracy_level=acc, nodes_to_exclude=[], algo_config=algo)
    q = cls(model, **{k: v for k, v in kw.items() if k in params})
    q.process()
    return q.model.model, cls.__name__


def attrs(n):
    return {a.name: helper.get_attribute_value(a) for a in n.attribute}


def compare_graphs(ours, theirs):
    inits = lambda m: {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}  # noqa: E731
    io, it = inits(ours), inits(theirs)
    qo = [n for n in ours.graph.node if n.op_type == "MatMulNBits"]
    qt = [n for n in theirs.graph.node if n.op_type == "MatMulNBits"]
    rows = {"nodes_ours": len(qo), "nodes_ort": len(qt), "other_op_types_ort": sorted({n.op_type for n in theirs.graph.node} - {n.op_type for n in ours.graph.node})}
    mism = []
    for a, b in zip(qo, qt):
        item = {"node": a.name, "domain": [a.domain, b.domain], "attrs_ours": attrs(a), "attrs_ort": attrs(b), "inputs": [len(a.input), len(b.input)]}
        same_attrs = attrs(a) == attrs(b) and a.domain == b.domain
        same_bytes = []
        for k in range(1, max(len(a.input), len(b.input))):
            x = io.get(a.input[k]) if k < len(a.input) else None
            y = it.get(b.input[k]) if k < len(b.input) else None
            if x is None or y is None:
                same_bytes.append(f"input {k}: missing in {'ours' if x is None else 'ort'}")
                continue
            eq = x.dtype == y.dtype and x.size == y.size and np.array_equal(x.reshape(-1).view(np.uint8), y.reshape(-1).view(np.uint8))
            shape = [list(x.shape), list(y.shape)]
            differ = 0 if eq else int((x.reshape(-1) != y.reshape(-1)).sum()) if x.size == y.size else -1
            same_bytes.append({"input": k, "equal": bool(eq), "shapes": shape, "dtypes": [str(x.dtype), str(y.dtype)], "elements_differing": differ})
        item["tensors"] = same_bytes
        if not same_attrs or not all(isinstance(s, dict) and s["equal"] for s in same_bytes):
            mism.append(item)
    rows["first_node"] = {"attrs_ours": attrs(qo[0]), "attrs_ort": attrs(qt[0]), "domain": [qo[0].domain, qt[0].domain]} if qo and qt else None
    rows["nodes_differing"] = len(mism)
    rows["differences"] = mism[:4]
    return rows


def run_pair(a_path, b_bytes, cfg):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    sa = ort.InferenceSession(a_path, so, providers=["CPUExecutionProvider"])
    sb = ort.InferenceSession(b_bytes, so, providers=["CPUExecutionProvider"])
    L, KV, hd = cfg["num_hidden_layers"], cfg["num_key_value_heads"], cfg["head_dim"]
    rng = np.random.default_rng(3)
    ids = rng.integers(0, 1000, size=(1, 9), dtype=np.int64)

    def feeds(ids, past, plen):
        n = ids.shape[1]
        f = {"input_ids": ids, "attention_mask": np.ones((1, plen + n), np.int64), "position_ids": np.arange(plen, plen + n, dtype=np.int64)[None]}
        for i in range(L):
            for j, kind in enumerate(("key", "value")):
                f[f"past_key_values.{i}.{kind}"] = past[2 * i + j] if past else np.zeros((1, KV, 0, hd), np.float32)
        return f

    names = [o.name for o in sa.get_outputs()]
    diffs = {}
    ra = sa.run(names, feeds(ids, None, 0))
    rb = sb.run(names, feeds(ids, None, 0))
    diffs["prompt"] = max(float(np.abs(x - y).max()) for x, y in zip(ra, rb))
    nxt = np.array([[int(ra[0][0, -1].argmax())]], np.int64)
    ra2 = sa.run(names, feeds(nxt, ra[1:], 9))
    rb2 = sb.run(names, feeds(nxt, rb[1:], 9))
    diffs["cached_step"] = max(float(np.abs(x - y).max()) for x, y in zip(ra2, rb2))
    diffs["logits_scale"] = float(np.abs(ra[0]).max())
    return diffs, ra[0]


def lone_matmul(tmp, sym):
    """One MatMul with K = 80 (two full blocks and one padded): ours vs onnxruntime's, bytes and output."""
    K, N = 80, 48
    w = np.random.default_rng(5).standard_normal((K, N), dtype=np.float32)
    g = helper.make_graph(
        [helper.make_node("MatMul", ["a", "w"], ["y"], name="mm")], "g",
        [helper.make_tensor_value_info("a", onnx.TensorProto.FLOAT, [3, K])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [3, N])], [numpy_helper.from_array(w, "w")],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 14)])
    m.ir_version = 8
    theirs, _ = ort_quantize(m, sym, None)
    packed, scales, zps = quantize_blocks(w, 32, sym)
    ins = ["a", "wq", "ws"] + ([] if sym else ["wz"])
    inits = [numpy_helper.from_array(packed, "wq"), numpy_helper.from_array(scales, "ws")] + ([] if sym else [numpy_helper.from_array(zps, "wz")])
    node = helper.make_node("MatMulNBits", ins, ["y"], name="mm", domain="com.microsoft", K=K, N=N, bits=4, block_size=32)
    g2 = helper.make_graph([node], "g", list(g.input), list(g.output), inits)
    ours = helper.make_model(g2, opset_imports=[helper.make_opsetid("", 14), helper.make_opsetid("com.microsoft", 1)])
    ours.ir_version = 8
    cmp = compare_graphs(ours, theirs)
    a = np.random.default_rng(6).standard_normal((3, K), dtype=np.float32)
    so = ort.SessionOptions()
    ya = ort.InferenceSession(ours.SerializeToString(), so, providers=["CPUExecutionProvider"]).run(None, {"a": a})[0]
    yb = ort.InferenceSession(theirs.SerializeToString(), so, providers=["CPUExecutionProvider"]).run(None, {"a": a})[0]
    return {"symmetric": sym, "graph": cmp, "output_max_abs_diff": float(np.abs(ya - yb).max()), "vs_fp32": float(np.abs(ya - a @ w).max())}


def main():
    out = {"onnxruntime": ort.__version__, "onnx": onnx.__version__, "configs": [], "lone_matmul": []}
    with tempfile.TemporaryDirectory() as tmp:
        for sym, acc in ((False, 4), (True, 4), (False, None)):
            name = f"t-{'sym' if sym else 'asym'}-{acc}"
            folder, _ = make(tmp, tiny=True, variants=("fp32", "q4"), q4={"block_size": 32, "symmetric": sym, "accuracy_level": acc}, name=name)
            fp32 = os.path.join(folder, "onnx", "model.onnx")
            theirs, cls = ort_quantize(onnx.load(fp32), sym, acc)
            ours = onnx.load(os.path.join(folder, "onnx", "model_q4.onnx"))
            row = {"symmetric": sym, "accuracy_level": acc, "quantizer": cls, "graph": compare_graphs(ours, theirs)}
            diffs, q_logits = run_pair(os.path.join(folder, "onnx", "model_q4.onnx"), theirs.SerializeToString(), TINY)
            row["outputs_max_abs_diff"] = diffs
            f_logits = ort.InferenceSession(fp32, providers=["CPUExecutionProvider"]).run(["logits"], {
                "input_ids": np.random.default_rng(3).integers(0, 1000, size=(1, 9), dtype=np.int64),
                "attention_mask": np.ones((1, 9), np.int64), "position_ids": np.arange(9, dtype=np.int64)[None],
                **{f"past_key_values.{i}.{k}": np.zeros((1, 2, 0, 32), np.float32) for i in range(2) for k in ("key", "value")},
            })[0]
            row["q4_vs_fp32_logits_max_abs_diff"] = float(np.abs(q_logits - f_logits).max())
            row["within_1e-5"] = diffs["prompt"] <= 1e-5 and diffs["cached_step"] <= 1e-5
            out["configs"].append(row)
            print(json.dumps({"config": name, "nodes_differing": row["graph"]["nodes_differing"], **diffs}), flush=True)
        for sym in (False, True):
            r = lone_matmul(tmp, sym)
            out["lone_matmul"].append(r)
            print(json.dumps({"lone_matmul_symmetric": sym, "diff": r["output_max_abs_diff"], "nodes_differing": r["graph"]["nodes_differing"]}), flush=True)
    text = json.dumps(out, indent=1, default=str)
    print(text)
    if len(sys.argv) > 1:
        with open(sys.argv[1], "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
