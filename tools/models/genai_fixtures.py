"""onnxruntime-genai builder-style graphs of a tiny llama-like model, and their PyTorch references.

Run with Debian's PyTorch and onnx (no onnxruntime needed):

    /usr/bin/python3 tools/models/genai_fixtures.py [OUT]     # default OUT: test/fixtures/genai

The model builder of onnxruntime-genai cannot be installed here, so the graphs are written with
`onnx.helper` following what the builder writes for a llama model (node and tensor names, op
choices, attributes, inputs and outputs), and from the contrib ops' documented semantics:

- inputs `input_ids`, `attention_mask` [batch, total_sequence_length] (int64), `position_ids` only
  where rotary runs outside the attention op, `past_key_values.{i}.key/value`
  [batch, kv_heads, past_sequence_length, kv_cache_dim]; outputs `logits`, `present.{i}.key/value`;
- `seqlens_k` = Cast<int32>(ReduceSum(attention_mask, axis 1, keepdims 0) - 1) and
  `total_sequence_length` = Cast<int32>(Shape(attention_mask)[1]), computed inside the graph
  (`/model/attn_mask_reformat/attn_mask_subgraph/...`);
- token embedding `Gather` (or `Gather(Transpose(lm_head weight))` when tied in float32, or
  `GatherBlockQuantized` over a `Reshape` of the lm_head's 4-bit weight when tied and quantised);
- layer 0's input norm `SimplifiedLayerNormalization`, every later norm (including the final one,
  `/model/layers.{L}/final_norm_layernorm/SkipLayerNorm`, which has no sum output)
  `SkipSimplifiedLayerNormalization` with outputs (normed, "", "", input_skip_bias_sum);
- attention `com.microsoft.GroupQueryAttention` (query, key, value, past_key, past_value, seqlens_k,
  total_sequence_length, cos_cache, sin_cache; num_heads, kv_num_heads, scale, local_window_size -1,
  softcap 0, do_rotary, rotary_interleaved 0), with separate q/k/v projections or one packed QKV
  projection (key and value inputs empty), rotary inside (do_rotary=1, cos/sin caches
  [context_length, head_dim / 2]) or as `com.microsoft.RotaryEmbedding` nodes before it;
- MLP gate/up projections, SiLU as gate * Sigmoid(gate), times up, down projection;
- projections as float32 `MatMul` or `com.microsoft.MatMulNBits` (bits 4, block 32 or 128, with or
  without zero points, accuracy_level when asked): B [N, k_blocks, block/2] uint8 (two values a
  byte, low nibble first, K in order inside a column), scales [N * k_blocks], zero points
  [N * ceil(k_blocks / 2)] packed the same way (absent: 8).

The reference is an independent PyTorch implementation of the same model (RMSNorm, rotate-half
RoPE, grouped-query causal attention, SwiGLU) on the same weights; for 4-bit graphs on the weights
dequantised from the packed bytes the graph holds, so it checks the graph's arithmetic, not the
quantisation error. Each fixture folder holds genai_config.json, config.json, model.onnx +
model.onnx.data (external data), the shared zoo tokenizer, and reference/manifest.json +
reference/tensors.safetensors (keys `<prompt>/<site>`, TransformerLens names, no batch dimension).
"""
import json
import math
import os
import shutil
import struct
import sys

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOKENIZER_DIR = os.path.join(ROOT, "test", "fixtures", "zoo", "llama-torchscript")
VOCAB = 384
CONTEXT = 128
THETA = 10000.0
EPS = 1e-5
PROMPTS = [
    [17, 45, 102, 7, 230, 88, 301, 12, 64, 150, 9, 377],
    [5, 260, 33, 91, 140, 2, 58],
]

# name -> what the builder would have been asked for
SPECS = {
    # float32, separate q/k/v MatMuls, rotary inside GroupQueryAttention, untied embedding.
    "llama-fp32": dict(layers=3, hidden=64, heads=4, kv_heads=2, inter=128, packed=False, rope="gqa", quant=None, embed="gather"),
    # float32, rotary as RotaryEmbedding nodes (position_ids input), embedding tied to the lm_head.
    "llama-fp32-rotemb": dict(layers=2, hidden=64, heads=4, kv_heads=2, inter=128, packed=False, rope="op", quant=None, embed="tied"),
    # 4-bit, block 32, zero points, packed QKV, GatherBlockQuantized embedding tied to the lm_head.
    "llama-q4-b32": dict(
        layers=3, hidden=64, heads=4, kv_heads=2, inter=128, packed=True, rope="gqa", quant=dict(block=32, zp=True, acc=0), embed="tied"
    ),
    # 4-bit, block 128, zero points, packed QKV, wider model, GatherBlockQuantized tied embedding.
    "llama-q4-b128-zp": dict(
        layers=2, hidden=128, heads=4, kv_heads=2, inter=256, packed=True, rope="gqa", quant=dict(block=128, zp=True, acc=0), embed="tied"
    ),
    # 4-bit, block 128, symmetric (no zero points), accuracy_level 4, separate q/k/v, wider model.
    "llama-q4-b128": dict(
        layers=2, hidden=128, heads=4, kv_heads=2, inter=256, packed=False, rope="gqa", quant=dict(block=128, zp=False, acc=4), embed="gather"
    ),
}


# ---------------------------------------------------------------------------------------------
# 4-bit block quantisation (MatMulNBits layout) and its inverse


def quantize_nbits(w, block, zp):
    """w: [K, N] float32 (x @ w). Returns (B [N, kb, block/2] uint8, scales [N*kb] f32, zeros or None)."""
    K, N = w.shape
    kb = (K + block - 1) // block
    padded = np.zeros((kb * block, N), dtype=np.float32)
    padded[:K] = w
    cols = padded.T.reshape(N, kb, block)  # per output column, K in order
    q = np.zeros((N, kb, block), dtype=np.uint8)
    scales = np.zeros((N, kb), dtype=np.float32)
    zeros = np.zeros((N, kb), dtype=np.uint8)
    for n in range(N):
        for b in range(kb):
            v = cols[n, b]
            if zp:
                lo, hi = min(v.min(), 0.0), max(v.max(), 0.0)
                s = (hi - lo) / 15.0 or 1.0
                z = int(np.clip(np.round(-lo / s), 0, 15))
            else:
                m = v[np.argmax(np.abs(v))]
                s = m / -8.0 or 1.0
                z = 8
            q[n, b] = np.clip(np.round(v / s) + z, 0, 15).astype(np.uint8)
            scales[n, b] = s
            zeros[n, b] = z
    packed = (q[:, :, 0::2] | (q[:, :, 1::2] << 4)).astype(np.uint8)
    zp_packed = None
    if zp:
        zpad = np.zeros((N, kb + (kb % 2)), dtype=np.uint8)
        zpad[:, :kb] = zeros
        zp_packed = (zpad[:, 0::2] | (zpad[:, 1::2] << 4)).astype(np.uint8).reshape(-1)
    return packed, scales.reshape(-1), zp_packed


def dequantize_nbits(packed, scales, zp_packed, K):
    """The float weight [K, N] that MatMulNBits multiplies by, read back from the stored bytes."""
    N, kb, half = packed.shape
    block = half * 2
    q = np.zeros((N, kb, block), dtype=np.float32)
    q[:, :, 0::2] = packed & 0x0F
    q[:, :, 1::2] = packed >> 4
    if zp_packed is None:
        z = np.full((N, kb), 8.0, dtype=np.float32)
    else:
        zb = zp_packed.reshape(N, -1)
        z = np.zeros((N, zb.shape[1] * 2), dtype=np.float32)
        z[:, 0::2] = zb & 0x0F
        z[:, 1::2] = zb >> 4
        z = z[:, :kb]
    w = (q - z[:, :, None]) * scales.reshape(N, kb)[:, :, None]
    return np.ascontiguousarray(w.reshape(N, kb * block)[:, :K].T)


# ---------------------------------------------------------------------------------------------
# Graph writing


class Graph:
    def __init__(self):
        self.nodes, self.inits, self.inputs, self.outputs, self.values = [], [], [], [], []
        self.consts = set()

    def init(self, name, arr):
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def const(self, dtype, value):
        """The builder's `/model/constants/{DTYPE}/{value}` Constant nodes."""
        name = f"/model/constants/{dtype}/{value}"
        if name not in self.consts:
            self.consts.add(name)
            np_dtype = {"INT64": np.int64, "INT32": np.int32}[dtype]
            t = numpy_helper.from_array(np.array(value, dtype=np_dtype), name)
            self.nodes.append(helper.make_node("Constant", [], [name], name=name.replace("constants", "constant_nodes"), value=t))
        return name

    def node(self, op, inputs, name, outputs=None, domain=None, **attrs):
        outs = outputs if outputs is not None else [f"{name}/output_0"]
        kw = {"domain": domain} if domain else {}
        self.nodes.append(helper.make_node(op, inputs, outs, name=name, **kw, **attrs))
        return outs[0] if len(outs) == 1 else outs

    def value(self, name, elem, shape):
        self.values.append(helper.make_tensor_value_info(name, elem, shape))


def matmul(g, spec, weights, basename, x, w, logits=False):
    """A projection the way the builder writes it: float MatMul or MatMulNBits. `w` is [K, N]."""
    out = "logits" if logits else None
    q = spec["quant"]
    wname = basename[1:].replace("/", ".") + ".weight"
    if q is None:
        g.init(wname, w)
        weights[basename] = torch.from_numpy(w.copy())
        return g.node("MatMul", [x, wname], basename, outputs=[out] if out else None)
    packed, scales, zp = quantize_nbits(w, q["block"], q["zp"])
    ins = [x, g.init(wname + "_Q4", packed), g.init(wname + "_scales", scales)]
    if zp is not None:
        ins.append(g.init(wname + "_zero_points", zp))
    attrs = dict(K=w.shape[0], N=w.shape[1], bits=4, block_size=q["block"])
    if q["acc"]:
        attrs["accuracy_level"] = q["acc"]
    weights[basename] = torch.from_numpy(dequantize_nbits(packed, scales, zp, w.shape[0]))
    weights[basename + "/packed"] = (packed, scales, zp)
    return g.node("MatMulNBits", ins, basename + "_Q4", outputs=[out] if out else None, domain="com.microsoft", **attrs)


def rope_caches(head_dim):
    inv = 1.0 / (THETA ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim))
    freqs = np.outer(np.arange(CONTEXT, dtype=np.float64), inv)
    return np.cos(freqs).astype(np.float32), np.sin(freqs).astype(np.float32)


def build(name, spec, seed):
    rng = np.random.default_rng(seed)
    L, D, H, KV, F = spec["layers"], spec["hidden"], spec["heads"], spec["kv_heads"], spec["inter"]
    hd = D // H
    std = 0.1

    def rand(*shape, s=std):
        return (rng.standard_normal(shape) * s).astype(np.float32)

    g = Graph()
    weights = {}
    io = TensorProto.FLOAT
    g.inputs.append(helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch_size", "sequence_length"]))
    g.inputs.append(helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch_size", "total_sequence_length"]))
    if spec["rope"] == "op":
        g.inputs.append(helper.make_tensor_value_info("position_ids", TensorProto.INT64, ["batch_size", "sequence_length"]))
    for i in range(L):
        for kv in ("key", "value"):
            g.inputs.append(
                helper.make_tensor_value_info(f"past_key_values.{i}.{kv}", io, ["batch_size", KV, "past_sequence_length", "kv_cache_dim"])
            )
    g.outputs.append(helper.make_tensor_value_info("logits", io, ["batch_size", "sequence_length", VOCAB]))
    for i in range(L):
        for kv in ("key", "value"):
            g.outputs.append(helper.make_tensor_value_info(f"present.{i}.{kv}", io, ["batch_size", KV, "total_sequence_length", "kv_cache_dim"]))

    # attention mask -> seqlens_k, total_sequence_length
    base = "/model/attn_mask_reformat/attn_mask_subgraph"
    rs = g.node("ReduceSum", ["attention_mask", g.const("INT64", [1])], f"{base}/ReduceSum", keepdims=0)
    sub = g.node("Sub", [rs, g.const("INT64", [1])], f"{base}/Sub")
    seqlens_k = g.node("Cast", [sub], f"{base}/Sub/Cast", to=TensorProto.INT32)
    shp = g.node("Shape", ["attention_mask"], f"{base}/Shape")
    gat = g.node("Gather", [shp, g.const("INT64", 1)], f"{base}/Gather", axis=0)
    total_len = g.node("Cast", [gat], f"{base}/Gather/Cast", to=TensorProto.INT32)

    # lm_head weight first: the tied embeddings read it.
    w_lm = rand(D, VOCAB)  # [K=hidden, N=vocab]
    lm_packed = None
    if spec["quant"] is not None:
        lm_packed = quantize_nbits(w_lm, spec["quant"]["block"], spec["quant"]["zp"])

    # token embedding
    if spec["embed"] == "gather":
        emb = rand(VOCAB, D, s=1.0)
        g.init("model.embed_tokens.weight", emb)
        x = g.node("Gather", ["model.embed_tokens.weight", "input_ids"], "/model/embed_tokens/Gather", axis=0)
        weights["embed"] = torch.from_numpy(emb)
    elif spec["quant"] is None:
        # float tied: Gather over Transpose(lm_head.MatMul.weight)
        t = g.node("Transpose", ["lm_head.MatMul.weight"], "/model/embed_tokens/Transpose", perm=[1, 0])
        x = g.node("Gather", [t, "input_ids"], "/model/embed_tokens/Gather", axis=0)
        weights["embed"] = torch.from_numpy(w_lm.T.copy())
    else:
        packed, scales, zp = lm_packed
        block = spec["quant"]["block"]
        kb = packed.shape[1]
        r = g.node("Reshape", ["lm_head.MatMul.weight_Q4", g.const("INT64", [VOCAB, D // 2])], "/model/embed_tokens/Reshape")
        ins = [r, "input_ids", "lm_head.MatMul.weight_scales"]
        if zp is not None:
            ins.append("lm_head.MatMul.weight_zero_points")
        x = g.node(
            "GatherBlockQuantized", ins, "/model/embed_tokens/GatherBlockQuantized", domain="com.microsoft", bits=4, block_size=block, gather_axis=0, quantize_axis=1
        )
        weights["embed"] = torch.from_numpy(dequantize_nbits(packed, scales, zp, D).T.copy())
        assert kb * block >= D

    cos, sin = rope_caches(hd)
    g.init("cos_cache", cos)
    g.init("sin_cache", sin)
    weights["cos"], weights["sin"] = torch.from_numpy(cos), torch.from_numpy(sin)

    layers = []
    root = x  # residual stream tensor
    skip = None  # branch output waiting to be added by the next Skip norm
    for i in range(L):
        lw = {}
        w_in = (1.0 + rand(D)).astype(np.float32)
        nm = f"model.layers.{i}.input_layernorm.weight"
        g.init(nm, w_in)
        lw["ln1"] = torch.from_numpy(w_in)
        if skip is None:
            h = g.node(
                "SimplifiedLayerNormalization",
                [root, nm],
                f"/model/layers.{i}/input_layernorm/LayerNorm",
                outputs=[f"/model/layers.{i}/input_layernorm/output_0"],
                epsilon=EPS,
                axis=-1,
                stash_type=1,
            )
        else:
            out0 = f"/model/layers.{i}/input_layernorm/output_0"
            out3 = f"/model/layers.{i}/input_layernorm/output_3"
            g.node(
                "SkipSimplifiedLayerNormalization",
                [root, skip, nm],
                f"/model/layers.{i}/input_layernorm/SkipLayerNorm",
                outputs=[out0, "", "", out3],
                domain="com.microsoft",
                epsilon=EPS,
            )
            h, root = out0, out3

        # attention
        wq, wk, wv, wo = rand(D, H * hd), rand(D, KV * hd), rand(D, KV * hd), rand(H * hd, D)
        pre = f"/model/layers.{i}/attn"
        if spec["packed"]:
            qkv = matmul(g, spec, lw, f"{pre}/qkv_proj/MatMul", h, np.concatenate([wq, wk, wv], axis=1))
            W = lw[f"{pre}/qkv_proj/MatMul"]
            lw["q"], lw["k"], lw["v"] = W[:, : H * hd], W[:, H * hd : (H + KV) * hd], W[:, (H + KV) * hd :]
            q_in, k_in, v_in = qkv, "", ""
        else:
            q_in = matmul(g, spec, lw, f"{pre}/q_proj/MatMul", h, wq)
            k_in = matmul(g, spec, lw, f"{pre}/k_proj/MatMul", h, wk)
            v_in = matmul(g, spec, lw, f"{pre}/v_proj/MatMul", h, wv)
            lw["q"], lw["k"], lw["v"] = lw[f"{pre}/q_proj/MatMul"], lw[f"{pre}/k_proj/MatMul"], lw[f"{pre}/v_proj/MatMul"]
        if spec["rope"] == "op":
            q_in = g.node(
                "RotaryEmbedding",
                [q_in, "position_ids", "cos_cache", "sin_cache"],
                f"{pre}/q_rotary/RotaryEmbedding",
                domain="com.microsoft",
                interleaved=0,
                num_heads=0,
                rotary_embedding_dim=0,
            )
            k_in = g.node(
                "RotaryEmbedding",
                [k_in, "position_ids", "cos_cache", "sin_cache"],
                f"{pre}/k_rotary/RotaryEmbedding",
                domain="com.microsoft",
                interleaved=0,
                num_heads=0,
                rotary_embedding_dim=0,
            )
        gqa_in = [q_in, k_in, v_in, f"past_key_values.{i}.key", f"past_key_values.{i}.value", seqlens_k, total_len]
        if spec["rope"] == "gqa":
            gqa_in += ["cos_cache", "sin_cache"]
        z = g.node(
            "GroupQueryAttention",
            gqa_in,
            f"{pre}/GroupQueryAttention",
            outputs=[f"{pre}/GroupQueryAttention/output_0", f"present.{i}.key", f"present.{i}.value"],
            domain="com.microsoft",
            num_heads=H,
            kv_num_heads=KV,
            scale=1.0 / math.sqrt(hd),
            local_window_size=-1,
            softcap=0.0,
            do_rotary=1 if spec["rope"] == "gqa" else 0,
            rotary_interleaved=0,
        )[0]
        attn_out = matmul(g, spec, lw, f"{pre}/o_proj/MatMul", z, wo)
        lw["o"] = lw[f"{pre}/o_proj/MatMul"]

        w_post = (1.0 + rand(D)).astype(np.float32)
        nm = f"model.layers.{i}.post_attention_layernorm.weight"
        g.init(nm, w_post)
        lw["ln2"] = torch.from_numpy(w_post)
        out0 = f"/model/layers.{i}/post_attention_layernorm/output_0"
        out3 = f"/model/layers.{i}/post_attention_layernorm/output_3"
        g.node(
            "SkipSimplifiedLayerNormalization",
            [root, attn_out, nm],
            f"/model/layers.{i}/post_attention_layernorm/SkipLayerNorm",
            outputs=[out0, "", "", out3],
            domain="com.microsoft",
            epsilon=EPS,
        )
        h2, root = out0, out3

        # MLP
        pre = f"/model/layers.{i}/mlp"
        wg, wu, wd = rand(D, F), rand(D, F), rand(F, D)
        gate = matmul(g, spec, lw, f"{pre}/gate_proj/MatMul", h2, wg)
        up = matmul(g, spec, lw, f"{pre}/up_proj/MatMul", h2, wu)
        sg = g.node("Sigmoid", [gate], f"{pre}/act_fn/Sigmoid")
        act = g.node("Mul", [gate, sg], f"{pre}/act_fn/Mul")
        prod = g.node("Mul", [act, up], f"{pre}/Mul")
        skip = matmul(g, spec, lw, f"{pre}/down_proj/MatMul", prod, wd)
        lw["gate"], lw["up"], lw["down"] = lw[f"{pre}/gate_proj/MatMul"], lw[f"{pre}/up_proj/MatMul"], lw[f"{pre}/down_proj/MatMul"]
        layers.append(lw)

    w_fin = (1.0 + rand(D)).astype(np.float32)
    nm = f"model.layers.{L}.final_norm_layernorm.weight"
    g.init(nm, w_fin)
    weights["ln_f"] = torch.from_numpy(w_fin)
    final = g.node(
        "SkipSimplifiedLayerNormalization",
        [root, skip, nm],
        f"/model/layers.{L}/final_norm_layernorm/SkipLayerNorm",
        outputs=[f"/model/layers.{L}/final_norm_layernorm/output_0"],
        domain="com.microsoft",
        epsilon=EPS,
    )
    lmw = {}
    if spec["quant"] is None:
        matmul(g, spec, lmw, "/lm_head/MatMul", final, w_lm, logits=True)
    else:
        packed, scales, zp = lm_packed
        ins = [final, g.init("lm_head.MatMul.weight_Q4", packed), g.init("lm_head.MatMul.weight_scales", scales.reshape(VOCAB, -1))]
        if zp is not None:
            ins.append(g.init("lm_head.MatMul.weight_zero_points", zp.reshape(VOCAB, -1)))
        q = spec["quant"]
        attrs = dict(K=D, N=VOCAB, bits=4, block_size=q["block"])
        if q["acc"]:
            attrs["accuracy_level"] = q["acc"]
        g.node("MatMulNBits", ins, "/lm_head/MatMul_Q4", outputs=["logits"], domain="com.microsoft", **attrs)
        lmw["/lm_head/MatMul"] = torch.from_numpy(dequantize_nbits(packed, scales, zp, D))
    weights["lm_head"] = lmw["/lm_head/MatMul"]
    weights["layers"] = layers

    graph = helper.make_graph(g.nodes, "main_graph", g.inputs, g.outputs, initializer=g.inits, value_info=g.values)
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 21), helper.make_opsetid("com.microsoft", 1)], producer_name="onnxruntime-genai"
    )
    model.ir_version = 10
    return model, weights


# ---------------------------------------------------------------------------------------------
# Independent PyTorch model on the same weights


def rms(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS) * w


def rotate(x, cos, sin):
    """x [S, heads, hd]; rotate-half RoPE (rotary_interleaved = 0)."""
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    c, s = cos[:, None, :], sin[:, None, :]
    return torch.cat([x1 * c - x2 * s, x2 * c + x1 * s], dim=-1)


def forward(spec, W, ids, steer=None, patch=None):
    """ids: list of ints. steer: {site: vector}; patch: {site: (position, value [d])}.
    Returns (logits [S, V], sites {name: tensor without batch})."""
    L, D, H, KV = spec["layers"], spec["hidden"], spec["heads"], spec["kv_heads"]
    hd = D // H
    steer, patch = steer or {}, patch or {}
    sites = {}

    def hook(name, t):
        if name in steer:
            t = t + steer[name]
        if name in patch:
            pos, val = patch[name]
            t = t.clone()
            t[pos] = val
        sites[name] = t
        return t

    S = len(ids)
    x = W["embed"][torch.tensor(ids)]
    cos, sin = W["cos"][:S], W["sin"][:S]
    causal = torch.full((S, S), float("-inf")).triu(1)
    for i in range(L):
        lw = W["layers"][i]
        x = hook(f"blocks.{i}.hook_resid_pre", x)
        h = rms(x, lw["ln1"])
        q = rotate((h @ lw["q"]).view(S, H, hd), cos, sin)
        k = rotate((h @ lw["k"]).view(S, KV, hd), cos, sin)
        v = (h @ lw["v"]).view(S, KV, hd)
        group = H // KV
        k = k.repeat_interleave(group, dim=1)
        v = v.repeat_interleave(group, dim=1)
        scores = torch.einsum("qhd,khd->hqk", q, k) / math.sqrt(hd) + causal
        probs = scores.softmax(-1)
        z = torch.einsum("hqk,khd->qhd", probs, v).reshape(S, H * hd)
        z = hook(f"blocks.{i}.attn.hook_z", z)
        a = hook(f"blocks.{i}.hook_attn_out", z @ lw["o"])
        x = hook(f"blocks.{i}.hook_resid_mid", x + a)
        h2 = rms(x, lw["ln2"])
        gt = h2 @ lw["gate"]
        post = hook(f"blocks.{i}.mlp.hook_post", gt * torch.sigmoid(gt) * (h2 @ lw["up"]))
        m = hook(f"blocks.{i}.hook_mlp_out", post @ lw["down"])
        x = hook(f"blocks.{i}.hook_resid_post", x + m)
    f = hook("ln_final.hook_normalized", rms(x, W["ln_f"]))
    return f @ W["lm_head"], sites


def greedy(spec, W, ids, n):
    out = list(ids)
    for _ in range(n):
        logits, _ = forward(spec, W, out)
        out.append(int(logits[-1].argmax()))
    return out[len(ids) :]


# ---------------------------------------------------------------------------------------------
# Files


def save_safetensors(path, tensors):
    """safetensors format: u64 little-endian header length, JSON header, raw little-endian data."""
    header, blobs, off = {}, [], 0
    for k, v in tensors.items():
        a = np.ascontiguousarray(v.detach().numpy() if torch.is_tensor(v) else v).astype("<f4")
        b = a.tobytes()
        header[k] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def configs(spec):
    L, D, H, KV, F = spec["layers"], spec["hidden"], spec["heads"], spec["kv_heads"], spec["inter"]
    hf = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": D,
        "intermediate_size": F,
        "num_hidden_layers": L,
        "num_attention_heads": H,
        "num_key_value_heads": KV,
        "head_dim": D // H,
        "hidden_act": "silu",
        "max_position_embeddings": CONTEXT,
        "rms_norm_eps": EPS,
        "rope_theta": THETA,
        "tie_word_embeddings": spec["embed"] == "tied",
        "vocab_size": VOCAB,
        "bos_token_id": 0,
        "eos_token_id": 0,
        "pad_token_id": 0,
        "torch_dtype": "float32",
    }
    inputs = {"input_ids": "input_ids", "attention_mask": "attention_mask"}
    if spec["rope"] == "op":
        inputs["position_ids"] = "position_ids"
    inputs.update(past_key_names="past_key_values.%d.key", past_value_names="past_key_values.%d.value")
    genai = {
        "model": {
            "bos_token_id": 0,
            "context_length": CONTEXT,
            "decoder": {
                "session_options": {"log_id": "onnxruntime-genai", "provider_options": []},
                "filename": "model.onnx",
                "head_size": D // H,
                "hidden_size": D,
                "inputs": inputs,
                "outputs": {"logits": "logits", "present_key_names": "present.%d.key", "present_value_names": "present.%d.value"},
                "num_attention_heads": H,
                "num_hidden_layers": L,
                "num_key_value_heads": KV,
            },
            "eos_token_id": 0,
            "pad_token_id": 0,
            "type": "llama",
            "vocab_size": VOCAB,
        },
        "search": {
            "diversity_penalty": 0.0,
            "do_sample": False,
            "early_stopping": True,
            "length_penalty": 1.0,
            "max_length": CONTEXT,
            "min_length": 0,
            "no_repeat_ngram_size": 0,
            "num_beams": 1,
            "num_return_sequences": 1,
            "past_present_share_buffer": True,
            "repetition_penalty": 1.0,
            "temperature": 1.0,
            "top_k": 50,
            "top_p": 1.0,
        },
    }
    return hf, genai


def write_fixture(out_root, name, spec, seed):
    d = os.path.join(out_root, name)
    if os.path.exists(d):
        shutil.rmtree(d)
    os.makedirs(os.path.join(d, "reference"))
    model, W = build(name, spec, seed)
    onnx.save_model(model, os.path.join(d, "model.onnx"), save_as_external_data=True, all_tensors_to_one_file=True, location="model.onnx.data", size_threshold=1024)
    hf, genai = configs(spec)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(hf, f, indent=2)
    with open(os.path.join(d, "genai_config.json"), "w") as f:
        json.dump(genai, f, indent=4)
    for t in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(TOKENIZER_DIR, t), os.path.join(d, t))

    tensors = {}
    site_names = None
    with torch.no_grad():
        for p, ids in enumerate(PROMPTS):
            logits, sites = forward(spec, W, ids)
            tensors[f"{p}/logits"] = logits
            for k, v in sites.items():
                tensors[f"{p}/{k}"] = v
            site_names = sorted(sites)
        # steering: a vector added at every position of blocks.1.hook_resid_post
        g = torch.Generator().manual_seed(seed + 1)
        vec = torch.randn(spec["hidden"], generator=g)
        vec = vec / vec.norm() * math.sqrt(spec["hidden"])
        alpha = 2.0
        steer_site = "blocks.1.hook_resid_post"
        st_logits, _ = forward(spec, W, PROMPTS[0], steer={steer_site: alpha * vec})
        tensors["steer/vector"] = vec
        tensors["steer/logits"] = st_logits
        # more steering cases: every kind of site (plain tensors, fused-norm sums, the final norm's sum)
        L = spec["layers"]
        steer_cases = []
        for k, site in enumerate(
            [
                "blocks.0.hook_resid_pre",
                "blocks.0.attn.hook_z",
                "blocks.0.hook_attn_out",
                "blocks.0.hook_resid_mid",
                "blocks.0.mlp.hook_post",
                "blocks.0.hook_mlp_out",
                f"blocks.{L - 1}.hook_resid_post",
                "ln_final.hook_normalized",
            ]
        ):
            width = spec["inter"] if site.endswith("mlp.hook_post") else spec["hidden"]
            v = torch.randn(width, generator=g)
            v = v / v.norm() * math.sqrt(width)
            lg, _ = forward(spec, W, PROMPTS[1], steer={site: 1.5 * v})
            tensors[f"steer/{k}/vector"] = v
            tensors[f"steer/{k}/logits"] = lg[-1:]  # last position only (size)
            steer_cases.append({"site": site, "alpha": 1.5, "prompt_ids": PROMPTS[1], "vector": f"steer/{k}/vector", "logits": f"steer/{k}/logits"})
        # patching: clean activation at one position into the corrupted run
        clean = [17, 45, 102, 7, 230, 88, 301, 12]
        corrupt = [17, 45, 102, 199, 230, 88, 301, 12]
        pos = 3
        patch_site = "blocks.1.hook_resid_pre"
        _, cs = forward(spec, W, clean)
        pl, _ = forward(spec, W, corrupt, patch={patch_site: (pos, cs[patch_site][pos])})
        tensors["patch/logits"] = pl
        patch_cases = []
        for k, site in enumerate(["blocks.0.hook_resid_mid", "blocks.0.hook_mlp_out", f"blocks.{L - 1}.hook_resid_post", "blocks.0.attn.hook_z"]):
            lg, _ = forward(spec, W, corrupt, patch={site: (pos, cs[site][pos])})
            tensors[f"patch/{k}/logits"] = lg[pos:]  # the positions the patch can change
            patch_cases.append({"site": site, "position": pos, "logits": f"patch/{k}/logits"})
        # patching grid: every layer's resid_pre at every position, raw logit difference at the end
        cl, _ = forward(spec, W, clean)
        kl, _ = forward(spec, W, corrupt)
        answer = int(cl[-1].argmax())
        wrong = int(kl[-1].argmax())
        if wrong == answer:
            wrong = int(kl[-1].topk(2).indices[1])
        grid = torch.zeros(spec["layers"], len(clean))
        for layer in range(spec["layers"]):
            s = f"blocks.{layer}.hook_resid_pre"
            for j in range(len(clean)):
                lg, _ = forward(spec, W, corrupt, patch={s: (j, cs[s][j])})
                grid[layer, j] = lg[-1, answer] - lg[-1, wrong]
        tensors["patch/grid"] = grid
        gen = greedy(spec, W, PROMPTS[0], 10)
    save_safetensors(os.path.join(d, "reference", "tensors.safetensors"), tensors)
    quant = spec["quant"]
    manifest = {
        "model": name,
        "builder_style": {
            "attention": "GroupQueryAttention" + (" + RotaryEmbedding" if spec["rope"] == "op" else " (do_rotary=1)"),
            "qkv": "packed" if spec["packed"] else "separate",
            "weights": "float32 MatMul"
            if quant is None
            else f"MatMulNBits 4-bit block {quant['block']}, {'zero points' if quant['zp'] else 'symmetric'}"
            + (f", accuracy_level {quant['acc']}" if quant["acc"] else ""),
            "embedding": {
                "gather": "Gather",
                "tied": "Gather(Transpose(lm_head))" if quant is None else "GatherBlockQuantized over the lm_head's 4-bit weight",
            }[spec["embed"]],
        },
        "prompts": [{"ids": ids} for ids in PROMPTS],
        "sites": site_names,
        "config": {"layers": spec["layers"], "d_model": spec["hidden"], "experts": None},
        "tolerance": tolerance_of(spec),
        "steering": {
            "prompt_ids": PROMPTS[0],
            "site": steer_site,
            "alpha": alpha,
            "vector": "steer/vector",
            "logits": "steer/logits",
        },
        "steering_cases": steer_cases,
        "patching": {"clean_ids": clean, "corrupt_ids": corrupt, "site": patch_site, "position": pos, "logits": "patch/logits"},
        "patching_cases": patch_cases,
        "patching_grid": {
            "clean_ids": clean,
            "corrupt_ids": corrupt,
            "site": "hook_resid_pre",
            "answer_id": answer,
            "wrong_id": wrong,
            "grid": "patch/grid",
        },
        "generation": {"prompt_ids": PROMPTS[0], "greedy_ids": gen, "note": "PyTorch, full recompute each step"},
    }
    with open(os.path.join(d, "reference", "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    size = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(d) for f in fs)
    print(f"{name}: {size / 1024:.0f} KiB, greedy {gen}")


def tolerance_of(spec):
    q = spec["quant"]
    if q is None:
        return {"abs": 1e-4, "graph_specific": True, "note": "float32 PyTorch (CPU) vs onnxruntime CPU, relative to max(1, max |ref|)"}
    if q["acc"]:
        return {
            "abs": 5e-2,
            "graph_specific": True,
            "note": "MatMulNBits accuracy_level 4 quantises the activations to int8 per block, so onnxruntime departs from float32 "
            "PyTorch on the dequantised weights by up to 3.2e-2 x max(1, max |ref|) measured (blocks.1.hook_attn_out; logits 2.7e-2); "
            "the same graph with accuracy_level 0 agrees within 4e-6",
        }
    return {"abs": 1e-4, "graph_specific": True, "note": "MatMulNBits (float compute) vs float32 PyTorch on the dequantised weights"}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "test", "fixtures", "genai")
    os.makedirs(out, exist_ok=True)
    for k, (name, spec) in enumerate(SPECS.items()):
        write_fixture(out, name, spec, seed=1000 + k)


if __name__ == "__main__":
    main()
