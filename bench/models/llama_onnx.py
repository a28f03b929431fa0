"""A Llama-shaped causal LM written straight to ONNX with onnx.helper and numpy (no export).

The graph is the one the TorchScript exporter makes of bench/reference/llama_torch.Llama, node for
node in kind (RMSNorm as Pow/ReduceMean/Add/Sqrt/Reciprocal/Mul, rotary embedding by halves,
grouped-query attention by Expand + Reshape of the keys and values, SwiGLU), with its scope names
(/model/layers.{i}/self_attn/q_proj/MatMul, ...), so the reference's weight lookup
(bench/reference/onnx_weights.py) finds every parameter. Inputs and outputs are Optimum's:
input_ids, attention_mask, position_ids, past_key_values.{i}.key/value -> logits, present.{i}.*.

Weights are seeded per tensor name (numpy's default_rng([seed, crc32(name)])), generated one
tensor at a time and appended to the external data file, so memory stays at the largest tensor
whatever the model's size. With q4=True every MatMul by a weight becomes MatMulNBits (q4.py); the
embedding Gather stays float32; the tied head is the embedding's transpose, quantized.
"""
import os
import zlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from q4 import quantize_blocks

ALIGN = 4096  # external tensors start on a page, so onnxruntime can map them


class ExternalData:
    """Appends tensors to one external data file and returns TensorProtos that point into it."""

    def __init__(self, path):
        self.path = path
        self.f = open(path, "wb")
        self.offset = 0

    def tensor(self, name, array):
        pad = (-self.offset) % ALIGN
        if pad:
            self.f.write(b"\0" * pad)
            self.offset += pad
        raw = np.ascontiguousarray(array)
        self.f.write(raw.tobytes())
        t = TensorProto()
        t.name = name
        t.data_type = helper.np_dtype_to_tensor_dtype(raw.dtype) if hasattr(helper, "np_dtype_to_tensor_dtype") else onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[raw.dtype]
        t.dims.extend(raw.shape)
        t.data_location = TensorProto.EXTERNAL
        for k, v in (("location", os.path.basename(self.path)), ("offset", str(self.offset)), ("length", str(raw.nbytes))):
            e = t.external_data.add()
            e.key, e.value = k, v
        self.offset += raw.nbytes
        return t

    def close(self):
        self.f.close()


class Builder:
    def __init__(self, cfg, data, seed, q4=None):
        self.cfg, self.data, self.seed, self.q4 = cfg, data, seed, q4
        self.nodes, self.inits, self.count = [], [], {}

    def rand(self, name, shape, std=0.02, mean=0.0):
        rng = np.random.default_rng([self.seed, zlib.crc32(name.encode())])
        a = rng.standard_normal(shape, dtype=np.float32)
        a *= np.float32(std)
        if mean:
            a += np.float32(mean)
        return a

    def const(self, name, array):
        """A small inline initializer (shapes, axes, scalars, inverse frequencies)."""
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def big(self, name, array):
        self.inits.append(self.data.tensor(name, array))
        return name

    def op(self, scope, op_type, inputs, n_out=1, domain=None, **attrs):
        base = f"{scope}/{op_type}"
        k = self.count.get(base, 0)
        self.count[base] = k + 1
        name = base if k == 0 else f"{base}_{k}"
        outs = [f"{name}_output_{i}" for i in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=name, domain=domain, **attrs))
        return outs[0] if n_out == 1 else outs

    def linear(self, x, scope, K, N, weight=None):
        """x @ W.T for a torch-layout weight W [N, K] (seeded by scope, or given)."""
        w = self.rand(scope.strip("/").replace("/", ".") + ".weight", (N, K)) if weight is None else weight
        key = scope.strip("/").replace("/", "_")
        if self.q4 is None:
            return self.op(scope, "MatMul", [x, self.big(f"onnx::MatMul_{key}", w.T)])
        bs, sym, acc = self.q4["block_size"], self.q4["symmetric"], self.q4.get("accuracy_level")
        ins = [x]
        # A slice of output features at a time (the head's 128 k columns at once would need GBs).
        parts = [quantize_blocks(np.ascontiguousarray(w[n : n + 16384].T), bs, sym) for n in range(0, N, 16384)]
        packed = np.concatenate([p[0] for p in parts])
        scales = np.concatenate([p[1] for p in parts])
        ins += [self.big(f"{key}_Q4", packed), self.big(f"{key}_scales", scales)]
        if not sym:
            ins.append(self.big(f"{key}_zero_points", np.concatenate([p[2] for p in parts])))
        attrs = dict(K=K, N=N, bits=4, block_size=bs)
        if acc is not None:
            attrs["accuracy_level"] = acc
        return self.op(scope, "MatMulNBits", ins, domain="com.microsoft", **attrs)

    def rmsnorm(self, x, scope, param):
        c = self.cfg
        w = self.big(param, self.rand(param, (c["hidden_size"],), std=0.02, mean=1.0))
        p = self.op(scope, "Pow", [x, self.const(f"{scope}/two", np.float32(2.0))])
        m = self.op(scope, "ReduceMean", [p], axes=[-1], keepdims=1)
        a = self.op(scope, "Add", [m, self.const(f"{scope}/eps", np.float32(c["rms_norm_eps"]))])
        r = self.op(scope, "Reciprocal", [self.op(scope, "Sqrt", [a])])
        return self.op(scope, "Mul", [w, self.op(scope, "Mul", [x, r])])


def build(cfg, onnx_path, seed=0, q4=None):
    """Writes onnx_path and onnx_path + '_data'; returns their sizes in bytes."""
    D, H, KV = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd, F, V, L = D // H, cfg["intermediate_size"], cfg["vocab_size"], cfg["num_hidden_layers"]
    data = ExternalData(onnx_path + "_data")
    b = Builder(cfg, data, seed, q4)
    i64 = lambda name, v: b.const(name, np.array(v, dtype=np.int64))  # noqa: E731
    embed_w = b.rand("model.embed_tokens.weight", (V, D))
    embed = b.big("model.embed_tokens.weight", embed_w)
    x = b.op("/model/embed_tokens", "Gather", [embed, "input_ids"])
    # Causal mask over [past + new] keys, and the padding mask: 0 where allowed, -1e9 elsewhere.
    S = b.op("/model", "Gather", [b.op("/model", "Shape", ["input_ids"]), i64("/model/one", 1)], axis=0)
    T = b.op("/model", "Gather", [b.op("/model", "Shape", ["attention_mask"]), i64("/model/one_b", 1)], axis=0)
    q_pos = b.op("/model", "Range", [b.op("/model", "Sub", [T, S]), T, i64("/model/step", 1)])
    q_pos = b.op("/model", "Unsqueeze", [q_pos, i64("/model/ax1", [1])])
    k_pos = b.op("/model", "Range", [i64("/model/zero", 0), T, i64("/model/step_b", 1)])
    causal = b.op("/model", "LessOrEqual", [k_pos, q_pos])
    pad = b.op("/model", "Cast", ["attention_mask"], to=TensorProto.BOOL)
    pad = b.op("/model", "Unsqueeze", [pad, i64("/model/ax12", [1, 2])])
    allowed = b.op("/model", "And", [causal, pad])
    zero_f, neg = b.const("/model/zero_f", np.float32(0.0)), b.const("/model/neg", np.float32(-1e9))
    mask_bias = b.op("/model", "Where", [allowed, zero_f, neg])
    # Rotary embedding: cos/sin [batch, 1, seq, head_dim].
    inv_freq = 1.0 / (cfg["rope_theta"] ** (np.arange(0, hd, 2, dtype=np.float32) / hd))
    pos = b.op("/model", "Unsqueeze", [b.op("/model", "Cast", ["position_ids"], to=TensorProto.FLOAT), i64("/model/axm1", [-1])])
    freqs = b.op("/model", "Mul", [pos, b.const("/model/inv_freq", inv_freq.astype(np.float32))])
    emb = b.op("/model", "Concat", [freqs, freqs], axis=-1)
    cos = b.op("/model", "Unsqueeze", [b.op("/model", "Cos", [emb]), i64("/model/ax1_b", [1])])
    sin = b.op("/model", "Unsqueeze", [b.op("/model", "Sin", [emb]), i64("/model/ax1_c", [1])])
    half = [i64("/model/h0", [0]), i64("/model/h1", [hd // 2]), i64("/model/h2", [hd]), i64("/model/hax", [-1])]

    def rotate(t, scope):
        lo = b.op(scope, "Slice", [t, half[0], half[1], half[3]])
        hi = b.op(scope, "Slice", [t, half[1], half[2], half[3]])
        rot = b.op(scope, "Concat", [b.op(scope, "Neg", [hi]), lo], axis=-1)
        return b.op(scope, "Add", [b.op(scope, "Mul", [t, cos]), b.op(scope, "Mul", [rot, sin])])

    heads = lambda t, scope, n: b.op(  # noqa: E731
        scope, "Transpose", [b.op(scope, "Reshape", [t, i64(f"{scope}/shape", [0, 0, n, hd])])], perm=[0, 2, 1, 3]
    )
    rep = i64("/model/rep", [1, 1, H // KV, 1, 1])
    outputs = []
    for i in range(L):
        s = f"/model/layers.{i}"
        h = b.rmsnorm(x, f"{s}/input_layernorm", f"model.layers.{i}.input_layernorm.weight")
        a = f"{s}/self_attn"
        q = rotate(heads(b.linear(h, f"{a}/q_proj", D, H * hd), f"{a}/q", H), f"{a}/rq")
        k = rotate(heads(b.linear(h, f"{a}/k_proj", D, KV * hd), f"{a}/k", KV), f"{a}/rk")
        v = heads(b.linear(h, f"{a}/v_proj", D, KV * hd), f"{a}/v", KV)
        k = b.op(a, "Concat", [f"past_key_values.{i}.key", k], axis=2)
        v = b.op(a, "Concat", [f"past_key_values.{i}.value", v], axis=2)
        b.nodes.append(helper.make_node("Identity", [k], [f"present.{i}.key"], name=f"{a}/present_key"))
        b.nodes.append(helper.make_node("Identity", [v], [f"present.{i}.value"], name=f"{a}/present_value"))
        outputs += [f"present.{i}.key", f"present.{i}.value"]
        full = i64(f"{a}/full", [0, H, -1, hd])
        kk = b.op(a, "Reshape", [b.op(a, "Expand", [b.op(a, "Unsqueeze", [k, i64(f"{a}/ax2", [2])]), rep]), full])
        vv = b.op(a, "Reshape", [b.op(a, "Expand", [b.op(a, "Unsqueeze", [v, i64(f"{a}/ax2_b", [2])]), rep]), full])
        w = b.op(a, "MatMul", [q, b.op(a, "Transpose", [kk], perm=[0, 1, 3, 2])])
        w = b.op(a, "Add", [b.op(a, "Mul", [w, b.const(f"{a}/scale", np.float32(hd**-0.5))]), mask_bias])
        p = b.op(a, "Softmax", [w], axis=-1)
        o = b.op(a, "Transpose", [b.op(a, "MatMul", [p, vv])], perm=[0, 2, 1, 3])
        o = b.op(a, "Reshape", [o, i64(f"{a}/merge", [0, 0, H * hd])])
        x = b.op(s, "Add", [x, b.linear(o, f"{a}/o_proj", H * hd, D)])
        h = b.rmsnorm(x, f"{s}/post_attention_layernorm", f"model.layers.{i}.post_attention_layernorm.weight")
        m = f"{s}/mlp"
        g = b.linear(h, f"{m}/gate_proj", D, F)
        g = b.op(f"{m}/act_fn", "Mul", [g, b.op(f"{m}/act_fn", "Sigmoid", [g])])
        u = b.linear(h, f"{m}/up_proj", D, F)
        x = b.op(s, "Add", [x, b.linear(b.op(m, "Mul", [g, u]), f"{m}/down_proj", F, D)])
    x = b.rmsnorm(x, "/model/norm", "model.norm.weight")
    tied = cfg.get("tie_word_embeddings", False)
    logits = b.linear(x, "/lm_head", D, V, weight=embed_w if tied else None)
    b.nodes.append(helper.make_node("Identity", [logits], ["logits"], name="/lm_head/logits"))
    data.close()

    f32, i64t = TensorProto.FLOAT, TensorProto.INT64
    inputs = [
        helper.make_tensor_value_info("input_ids", i64t, ["batch_size", "sequence_length"]),
        helper.make_tensor_value_info("attention_mask", i64t, ["batch_size", "total_sequence_length"]),
        helper.make_tensor_value_info("position_ids", i64t, ["batch_size", "sequence_length"]),
    ]
    for i in range(L):
        for kind in ("key", "value"):
            inputs.append(helper.make_tensor_value_info(f"past_key_values.{i}.{kind}", f32, ["batch_size", KV, "past_sequence_length", hd]))
    outs = [helper.make_tensor_value_info("logits", f32, ["batch_size", "sequence_length", V])]
    outs += [helper.make_tensor_value_info(n, f32, ["batch_size", KV, "total_sequence_length", hd]) for n in outputs]
    graph = helper.make_graph(b.nodes, "llama", inputs, outs, initializer=b.inits)
    opsets = [helper.make_opsetid("", 14)] + ([helper.make_opsetid("com.microsoft", 1)] if q4 else [])
    model = helper.make_model(graph, opset_imports=opsets, producer_name="introspect-bench")
    model.ir_version = 8
    with open(onnx_path, "wb") as f:
        f.write(model.SerializeToString())
    return {os.path.basename(p): os.path.getsize(p) for p in (onnx_path, onnx_path + "_data")}
