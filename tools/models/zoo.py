"""Architecture zoo: tiny random models of real Hugging Face *ForCausalLM classes, built with
default settings (SDPA attention; experts_implementation="batched_mm" for mixture-of-experts
models) and exported the ways users export them, with PyTorch reference tensors on the same
weights.

python3 zoo.py OUT_ROOT [--jobs N] [--only TYPE,TYPE]

Writes OUT_ROOT/zoo/<type>-<exporter>/ (config.json, tokenizer files, onnx/model*.onnx),
OUT_ROOT/reference/<type>/ (manifest.json + tensors.safetensors, shared by every export of that
type), OUT_ROOT/zoo/index.json (what each folder is and what its reference is) and
OUT_ROOT/metrics/zoo.json (what exported, what failed and why, for every candidate).

The references are computed from the PyTorch modules alone, never from the exported graphs:
- hook_resid_pre / hook_resid_post: the decoder layer's input and output;
- hook_attn_out / hook_mlp_out: the attention / MLP module's output (before post-norms);
- hook_resid_mid: found by value: the tensor inside the layer (a norm's or the MLP's input) that,
  added to the MLP branch, gives resid_post; parallel blocks have none. Every branch is then
  checked by arithmetic (pre + attn = mid, mid + mlp = post, or pre + attn + mlp = post) and a site
  that cannot be confirmed is left out and listed in the manifest's "unconfirmed";
- mlp.hook_post: input of the MLP's projection back to the residual width (dense layers);
- moe.hook_router_logits: x @ W_router^T (+ bias) at the module that owns the [experts, d] weight;
- attn.hook_pattern: the same weights run with eager attention (output_attentions), used only
  where eager and SDPA give the same logits;
- ln_final.hook_normalized: the input of the output embedding;
- steering: a vector added to decoder layer 1's output; patching: a full hook_resid_pre grid
  (every layer x position), the raw logit difference of two tokens at the last position.
For quantised / fp16 variants the site references are that variant graph's own tensors at the
tensors the float32 graph holds the reference values in (found by value, exposed in onnxruntime).
"""
import argparse
import inspect
import json
import multiprocessing as mp
import os
import shutil
import sys
import time
import traceback

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

# Dense decoder-only families (pure attention stacks).
DENSE = ["llama", "mistral", "ministral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3_text", "phi", "phi3",
         "gpt2", "gpt_neox", "gptj", "gpt_neo", "gpt_bigcode", "codegen", "opt", "bloom", "falcon", "stablelm",
         "starcoder2", "olmo", "olmo2", "olmo3", "cohere", "cohere2", "granite", "glm", "glm4", "helium",
         "smollm3", "nemotron", "arcee", "ernie4_5", "seed_oss", "hunyuan_v1_dense", "exaone4", "apertus",
         "persimmon", "biogpt", "xglm", "mpt", "bitnet", "doge", "vaultgemma"]
MOE = ["mixtral", "olmoe", "qwen2_moe", "qwen3_moe", "granitemoe", "phimoe", "jetmoe", "dbrx", "deepseek_v2",
       "deepseek_v3", "glm4_moe", "dots1", "gpt_oss", "ernie4_5_moe", "hunyuan_v1_moe", "flex_olmo",
       "granitemoeshared", "minimax_m2", "bailing_moe"]
# Not attention stacks: exported (when they export) so that the refusal is tested.
OTHER = ["mamba", "mamba2", "falcon_mamba", "rwkv", "xlstm"]
# Families added later (after the lists above, so earlier families keep their seeds): newer dense and
# MoE decoders, and hybrids that mix attention with recurrent, convolution or linear-attention layers
# (the map must either map them right or refuse them with a sentence).
LATER = ["afmoe", "cohere2_moe", "cwm", "deepseek_v32", "diffllama", "exaone_moe", "gemma3n_text", "gemma4_text",
         "glm4_moe_lite", "granite_swa", "granitemoe_swa", "hy_v3", "hyperclovax", "jais2", "laguna", "llama4_text",
         "longcat_flash", "mellum", "minicpm3", "ministral3", "modernbert-decoder", "nanochat", "openai-gpt",
         "qwen3_5_text", "qwen3_5_moe_text", "solar_open", "youtu", "zaya", "ctrl", "gpt-sw3", "gpt_neox_japanese",
         "aria_text", "cohere_compass_text", "inkling_text", "qwen4_exp_text", "hy_v4", "mimo_v2_flash",
         "deepseek_v4", "glm_moe_dsa", "minimax_m3_vl_text", "hrm_text",
         # hybrids
         "qwen3_next", "lfm2", "lfm2_moe", "jamba", "falcon_h1", "nemotron_h", "granitemoehybrid", "zamba",
         "zamba2", "bamba", "olmo_hybrid", "kimi_linear", "minimax", "recurrent_gemma"]
# Variants users download, made for one llama-like, one parallel-block and one MoE family; more
# families with ZOO_VARIANT_TYPES=type,type (the child processes read it too).
VARIANT_TYPES = {"llama", "phi", "qwen3_moe"} | {t for t in os.environ.get("ZOO_VARIANT_TYPES", "").split(",") if t}
# The first three are made for every variant family; the rest only when ZOO_MORE_VARIANTS=1 (the
# committed zoo was made without them): uint8 (quantize_dynamic QUInt8, Transformers.js "uint8"),
# q4f16 (float16 weights, inputs and outputs, then MatMulNBits; the key/value cache in float16 as
# Transformers.js q4f16 files have it) and bnb4 (MatMulBnb4, NF4, block 64).
MORE_VARIANTS = os.environ.get("ZOO_MORE_VARIANTS") == "1"

LAYERS = 3
D = 32
VOCAB = 384
EOS = 0
# Canonical settings; each is set under whichever name the config class uses, when it has it.
COMMON = dict(hidden_size=D, intermediate_size=64, num_hidden_layers=LAYERS, num_attention_heads=4,
              num_key_value_heads=2, head_dim=8, max_position_embeddings=64, initializer_range=0.1,
              vocab_size=VOCAB, bos_token_id=EOS, eos_token_id=EOS, pad_token_id=EOS,
              # other spellings
              n_embd=D, n_layer=LAYERS, n_head=4, n_inner=64, n_positions=64, n_ctx=64, ffn_dim=64,
              d_model=D, n_heads=4, n_layers=LAYERS, num_layers=LAYERS, attention_heads=4, num_heads=4,
              ffn_hidden_size=64, word_embed_proj_dim=D, max_seq_len=64, expansion_ratio=2,
              num_kv_heads=2, rotary_dim=4, sliding_window=4,
              # mixture of experts
              num_experts=4, num_local_experts=4, n_routed_experts=4, moe_num_experts=4, num_experts_per_tok=2,
              moe_k=2, top_k=2, moe_intermediate_size=32, shared_expert_intermediate_size=32, n_shared_experts=1,
              first_k_dense_replace=1, n_group=1, topk_group=1, decoder_sparse_step=1, moe_layer_freq=1,
              # multi-head latent attention (DeepSeek)
              kv_lora_rank=16, q_lora_rank=16, qk_rope_head_dim=4, qk_nope_head_dim=4, v_head_dim=8)
PER_TYPE = {
    "gpt_neo": dict(attention_types=[[["global", "local"], 1], [["global"], 1]], window_size=4),
    "mpt": dict(attn_config={"attn_impl": "torch", "alibi": True}),
    "dbrx": dict(ffn_config={"ffn_hidden_size": 32, "moe_num_experts": 4, "moe_top_k": 2},
                 attn_config={"kv_n_heads": 2, "rope_theta": 10000.0}),
    "deepseek_v2": dict(head_dim=4, num_key_value_heads=4),
    "deepseek_v3": dict(head_dim=4, num_key_value_heads=4),
    "falcon": dict(new_decoder_architecture=False, parallel_attn=True, multi_query=True, alibi=False),
    "phi3": dict(original_max_position_embeddings=64),
    "gemma2": dict(query_pre_attn_scalar=8),
    "gemma3_text": dict(query_pre_attn_scalar=8, layer_types=["sliding_attention", "full_attention",
                                                             "sliding_attention"]),
    "cohere2": dict(layer_types=["sliding_attention", "sliding_attention", "full_attention"]),
    "gpt_oss": dict(layer_types=["sliding_attention", "full_attention", "sliding_attention"]),
    "gemma3n_text": dict(vocab_size_per_layer_input=VOCAB, hidden_size_per_layer_input=8, laurel_rank=4,
                         num_kv_shared_layers=0, activation_sparsity_pattern=[0.0] * LAYERS,
                         layer_types=["sliding_attention", "full_attention", "sliding_attention"]),
    "mamba": dict(hidden_size=D, state_size=4, num_hidden_layers=LAYERS, intermediate_size=64, expand=2,
                  conv_kernel=4, time_step_rank=4),
}
# Keys that must not be set even when the config class has them (they mean something else there).
SKIP_KEYS = {
    "mamba": {"num_heads", "head_dim", "n_groups"},
}

KEEP_LOGITS = 8
PROMPTS = [
    "When Mary and John went to the store, John gave a drink to",
    "The movie was wonderful. I loved it and",
]


def log(*a):
    print(*a, flush=True)


def make_tokenizer(out_dir):
    import tok
    tok.VOCAB = VOCAB
    t, _ = tok.train(out_dir, 3000)
    return t


def small_config(mtype):
    import transformers
    default = transformers.AutoConfig.for_model(mtype)
    amap = getattr(default, "attribute_map", {}) or {}
    kw = {}
    want = dict(COMMON)
    want.update(PER_TYPE.get(mtype, {}))
    for k, v in want.items():
        if k in SKIP_KEYS.get(mtype, set()):
            continue
        real = amap.get(k, k)
        if k in PER_TYPE.get(mtype, {}) or hasattr(default, real):
            cur = getattr(default, real, None)
            if k == "sliding_window" and cur is None and mtype not in ("gemma3_text", "cohere2", "gpt_oss"):
                continue  # the family does not use a window by default: keep it off
            if k in ("q_lora_rank",) and cur is None:
                continue
            if real in kw and k not in PER_TYPE.get(mtype, {}):
                continue
            kw[real] = v
    # A list of per-layer settings must have one entry per layer.
    for lk in ("layer_types", "mlp_only_layers"):
        cur = getattr(default, lk, None)
        if lk in kw:
            continue
        if lk == "mlp_only_layers" and cur is not None:
            kw[lk] = []
        elif lk == "layer_types" and isinstance(cur, list) and cur:
            kinds = set(cur)
            if kinds <= {"full_attention", "sliding_attention"} and len(kinds) == 2:
                kw[lk] = ["sliding_attention", "full_attention", "sliding_attention"]
            elif kinds <= {"full_attention", "sliding_attention"}:
                kw[lk] = [cur[0]] * LAYERS
            else:
                # A hybrid (attention beside convolution, SSM or linear-attention layers): keep both
                # kinds in the 3 layers, or the tiny model is a plain transformer and the hybrid is
                # never exercised.
                other = [k for k in cur if "attention" not in k or "linear" in k]
                attn = [k for k in cur if k not in other]
                kw[lk] = [other[0], attn[0], other[0]] if attn and other else None
    kw = {k: v for k, v in kw.items() if v is not None or k == "layer_types"}
    if kw.get("layer_types") is None:
        kw.pop("layer_types", None)
    # A key the class cannot take (a read-only property, say) is dropped and the config made again.
    for _ in range(8):
        try:
            return transformers.AutoConfig.for_model(mtype, **kw)
        except (AttributeError, TypeError) as e:
            bad = [k for k in kw if f"'{k}'" in str(e)]
            if not bad:
                raise
            for k in bad:
                kw.pop(k)
    return transformers.AutoConfig.for_model(mtype, **kw)


def is_moe(cfg):
    for k in ("num_local_experts", "num_experts", "n_routed_experts", "moe_num_experts"):
        v = getattr(cfg, k, None)
        if isinstance(v, int) and v > 1:
            return True
    return getattr(cfg, "ffn_config", None) is not None and "moe" in str(getattr(cfg, "ffn_config", ""))


def n_experts(cfg):
    for k in ("num_local_experts", "num_experts", "n_routed_experts", "moe_num_experts"):
        v = getattr(cfg, k, None)
        if isinstance(v, int) and v > 1:
            return v
    fc = getattr(cfg, "ffn_config", None)
    if fc is not None:
        return getattr(fc, "moe_num_experts", None) or (fc.get("moe_num_experts") if isinstance(fc, dict) else None)
    return None


def build(mtype, seed):
    import torch
    import transformers
    cfg = small_config(mtype)
    torch.manual_seed(seed)
    kwargs = {}
    if is_moe(cfg):
        kwargs["experts_implementation"] = "batched_mm"
    try:
        model = transformers.AutoModelForCausalLM.from_config(cfg, **kwargs)
    except TypeError:
        model = transformers.AutoModelForCausalLM.from_config(cfg)
    model = model.float().eval()
    # Random routers with init 0.1 are nearly uniform: make routing decisive so top-k means something.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "bias" in name and ("e_score_correction" in name):
                p.normal_(0, 0.5)
    return cfg, model


def attn_impl(model):
    return getattr(model.config, "_attn_implementation", None)


def set_attn(model, impl):
    if hasattr(model, "set_attn_implementation"):
        try:
            model.set_attn_implementation(impl)
            return
        except Exception:
            pass
    model.config._attn_implementation = impl
    for m in model.modules():
        if hasattr(m, "config") and hasattr(m.config, "_attn_implementation"):
            m.config._attn_implementation = impl


def first(o):
    if isinstance(o, (tuple, list)):
        return o[0]
    if hasattr(o, "last_hidden_state"):
        return o.last_hidden_state
    return o


def decoder_layers(model, n):
    import torch
    best = None
    for name, m in model.named_modules():
        if isinstance(m, torch.nn.ModuleList) and len(m) == n and "expert" not in name:
            if best is None or name.count(".") < best[0].count("."):
                best = (name, m)
    if best is None:
        raise RuntimeError(f"no ModuleList of {n} decoder layers")
    return best


def children_of(layer):
    attn, mlp, norms = None, None, []
    for name, m in layer.named_children():
        low = name.lower()
        if "norm" in low or low.startswith("ln") or low.endswith("_ln"):
            norms.append((name, m))
        elif attn is None and ("attn" in low or "attention" in low or low in ("mixer",)):
            attn = (name, m)
        elif mlp is None and ("mlp" in low or "ffn" in low or "feed_forward" in low or "moe" in low
                              or low in ("block_sparse_moe", "experts")):
            mlp = (name, m)
    return attn, mlp, norms


def router_module(block, E, d):
    """The module owning a [E, d] weight whose name says gate/router (not an expert's)."""
    for name, m in block.named_modules():
        low = name.lower()
        if "expert" in low and "shared_expert_gate" not in low:
            continue
        w = getattr(m, "weight", None)
        if w is None or not hasattr(w, "shape") or len(w.shape) != 2:
            continue
        if tuple(w.shape) == (E, d) and ("gate" in low or "router" in low or low == "" or "gating" in low):
            if "shared" in low:
                continue
            return name, m
    return None


def down_projection(mlp, d):
    """The one linear map of a dense MLP whose output has the residual width."""
    import torch
    found = []
    for name, m in mlp.named_modules():
        if isinstance(m, torch.nn.Linear) and m.out_features == d and m.in_features != d:
            found.append((name, m))
        elif type(m).__name__ == "Conv1D" and getattr(m, "nf", None) == d and m.weight.shape[0] != d:
            found.append((name, m))
    return found[0] if len(found) == 1 else None


def close(a, b, tol=2e-5):
    import torch
    if a is None or b is None or a.shape != b.shape:
        return False
    scale = max(1.0, float(b.abs().max()))
    return float((a - b).abs().max()) <= tol * scale


def model_inputs(model, ids):
    import torch
    t = torch.tensor([ids])
    kw = dict(input_ids=t, attention_mask=torch.ones_like(t), use_cache=False)
    if "position_ids" in inspect.signature(model.forward).parameters:
        kw["position_ids"] = torch.arange(len(ids))[None]
    return kw


def reference_capture(cfg, model, ids):
    """PyTorch reference for one prompt: {site: tensor without batch}, plus notes."""
    import torch
    L = cfg.num_hidden_layers
    d = cfg.hidden_size
    E = n_experts(cfg)
    _, layers = decoder_layers(model, L)
    raw, handles, notes = {}, [], []

    def grab(key, what):
        def pre(mod, args, kwargs):
            x = args[0] if args else (kwargs.get("hidden_states") if "hidden_states" in kwargs else next(iter(kwargs.values())))
            raw[key] = x.detach().clone().reshape(-1, x.shape[-1]) if what == "flat" else x.detach().clone()[0]

        return pre

    def out_hook(key):
        def h(mod, args, out):
            o = first(out)
            raw[key] = o.detach().clone().reshape(-1, o.shape[-1])
        return h

    per_layer = []
    for i, layer in enumerate(layers):
        attn, mlp, norms = children_of(layer)
        per_layer.append((attn, mlp, norms))
        handles.append(layer.register_forward_pre_hook(grab(f"{i}/pre", "flat"), with_kwargs=True))
        handles.append(layer.register_forward_hook(out_hook(f"{i}/post")))
        if attn:
            handles.append(attn[1].register_forward_hook(out_hook(f"{i}/attn")))
            # attn.hook_z: the input of the last linear map back to the residual width the attention calls
            # (its output projection), i.e. the per-head outputs [tokens, heads * head_dim].
            import torch as _t
            for n_, m_ in attn[1].named_modules():
                width = m_.out_features if isinstance(m_, _t.nn.Linear) else (
                    getattr(m_, "nf", None) if type(m_).__name__ == "Conv1D" else None)
                if width == d:
                    def zh(mod, args, kwargs, i=i):
                        x = args[0] if args else kwargs["input"]
                        raw[f"{i}/z"] = x.detach().clone().reshape(-1, x.shape[-1])
                    handles.append(m_.register_forward_pre_hook(zh, with_kwargs=True))
            handles.append(attn[1].register_forward_pre_hook(grab(f"{i}/attn_in", "flat"), with_kwargs=True))
        if mlp is None:
            import torch as _t
            outs = [(n, m) for n, m in layer.named_children()
                    if isinstance(m, _t.nn.Linear) and m.out_features == d and m.in_features != d]
            if len(outs) == 1:
                handles.append(outs[0][1].register_forward_hook(out_hook(f"{i}/mlp")))
                handles.append(outs[0][1].register_forward_pre_hook(grab(f"{i}/mlp_post", "flat"), with_kwargs=True))
        if mlp:
            handles.append(mlp[1].register_forward_hook(out_hook(f"{i}/mlp")))
            handles.append(mlp[1].register_forward_pre_hook(grab(f"{i}/mlp_in", "flat"), with_kwargs=True))
            dp = down_projection(mlp[1], d)
            if dp and E is None or (dp and not any("expert" in n for n, _ in mlp[1].named_modules())):
                handles.append(dp[1].register_forward_pre_hook(grab(f"{i}/mlp_post", "flat"), with_kwargs=True))
            if E:
                r = router_module(mlp[1], E, d)
                if r:
                    def rh(mod, args, kwargs, i=i):
                        x = args[0] if args else kwargs["hidden_states"]
                        x = x.reshape(-1, x.shape[-1]).float()
                        y = x @ mod.weight.float().t()
                        b = getattr(mod, "bias", None)
                        if b is not None and hasattr(b, "shape") and tuple(b.shape) == (E,):
                            y = y + b.float()
                        raw[f"{i}/router"] = y.detach().clone()
                    handles.append(r[1].register_forward_pre_hook(rh, with_kwargs=True))
        for name, nm in norms:
            handles.append(nm.register_forward_pre_hook(grab(f"{i}/norm_in/{name}", "flat"), with_kwargs=True))
            handles.append(nm.register_forward_hook(out_hook(f"{i}/norm_out/{name}")))
    head = model.get_output_embeddings()
    handles.append(head.register_forward_pre_hook(grab("final", "flat"), with_kwargs=True))
    try:
        with torch.no_grad():
            out = model(**model_inputs(model, ids))
    finally:
        for h in handles:
            h.remove()
    cap = {"logits": out.logits[0].detach().clone()}
    unconfirmed = []
    for i in range(L):
        b = f"blocks.{i}."
        pre, post = raw[f"{i}/pre"], raw[f"{i}/post"]
        cap[b + "hook_resid_pre"] = pre
        cap[b + "hook_resid_post"] = post
        attn_o, mlp_o = raw.get(f"{i}/attn"), raw.get(f"{i}/mlp")
        # Things that could be the MLP branch as added: the MLP output or a norm's output.
        addends = [("mlp", mlp_o)] + [(k, v) for k, v in raw.items() if k.startswith(f"{i}/norm_out/")]
        mids = [v for k, v in raw.items() if k.startswith(f"{i}/norm_in/") or k == f"{i}/mlp_in"]
        mid = None
        for m in mids:
            if close(m, pre):
                continue
            if any(close(post - m, a) for _, a in addends if a is not None):
                mid = m
                break
            if mlp_o is not None and close(mlp_o, post):  # MLP module adds the residual itself (BLOOM)
                mid = m
                break
        if mid is not None:
            cap[b + "hook_resid_mid"] = mid
            attn_branch = mid - pre
            if attn_o is not None and close(attn_o, mid):
                attn_o = attn_branch  # attention module returns the residual sum (BLOOM)
            if mlp_o is not None and close(mlp_o, post):
                mlp_o = post - mid
            post_attn = [v for k, v in raw.items() if k.startswith(f"{i}/norm_out/") and close(v, attn_branch)]
            if attn_o is not None and (close(attn_o, attn_branch) or post_attn):
                cap[b + "hook_attn_out"] = attn_o
            else:
                unconfirmed.append(b + "hook_attn_out")
            post_mlp = [v for k, v in raw.items() if k.startswith(f"{i}/norm_out/") and close(v, post - mid)]
            if mlp_o is not None and (close(mlp_o, post - mid) or post_mlp):
                cap[b + "hook_mlp_out"] = mlp_o
            else:
                unconfirmed.append(b + "hook_mlp_out")
        else:
            # Parallel block: post = pre + attn + mlp.
            if attn_o is not None and mlp_o is not None and close(pre + attn_o + mlp_o, post, 5e-5):
                cap[b + "hook_attn_out"] = attn_o
                cap[b + "hook_mlp_out"] = mlp_o
                notes.append(f"layer {i}: parallel block")
            else:
                unconfirmed += [b + "hook_resid_mid", b + "hook_attn_out", b + "hook_mlp_out"]
        if f"{i}/mlp_post" in raw:
            cap[b + "mlp.hook_post"] = raw[f"{i}/mlp_post"]
        if f"{i}/z" in raw and b + "hook_attn_out" in cap:
            cap[b + "attn.hook_z"] = raw[f"{i}/z"]
        if f"{i}/router" in raw:
            cap[b + "moe.hook_router_logits"] = raw[f"{i}/router"]
    cap["ln_final.hook_normalized"] = raw["final"]
    return cap, unconfirmed, notes


def patterns(cfg, model, ids, logits_sdpa):
    """Attention probabilities from an eager run on the same weights, if it agrees with SDPA."""
    import torch
    impl = attn_impl(model)
    try:
        set_attn(model, "eager")
        with torch.no_grad():
            out = model(**model_inputs(model, ids), output_attentions=True)
    finally:
        set_attn(model, impl)
    if out.attentions is None or any(a is None for a in out.attentions):
        return {}, "eager run returned no attention probabilities"
    if not close(out.logits[0], logits_sdpa, 1e-4):
        return {}, "eager and default attention disagree on the logits: patterns left out"
    return {f"blocks.{i}.attn.hook_pattern": a[0].detach().clone() for i, a in enumerate(out.attentions)}, None


def steering_reference(cfg, model, ids, layer, alpha, vec):
    import torch
    _, layers = decoder_layers(model, cfg.num_hidden_layers)

    def h(mod, args, out):
        if isinstance(out, tuple):
            return (out[0] + alpha * vec,) + tuple(out[1:])
        return out + alpha * vec

    hd = layers[layer].register_forward_hook(h)
    try:
        with torch.no_grad():
            return model(**model_inputs(model, ids)).logits[0].detach().clone()
    finally:
        hd.remove()


def patch_grid(cfg, model, clean, corrupt, clean_pre, a, b):
    """Raw logit(a) - logit(b) at the last position, patching each layer's resid_pre at each position."""
    import torch
    L = cfg.num_hidden_layers
    _, layers = decoder_layers(model, L)
    grid = torch.zeros(L, len(corrupt))
    for layer in range(L):
        for p in range(len(corrupt)):
            val = clean_pre[f"blocks.{layer}.hook_resid_pre"][p]

            def pre(mod, args, kwargs):
                if args:
                    x = args[0].clone()
                    x[0, p] = val
                    return (x,) + tuple(args[1:]), kwargs
                x = kwargs["hidden_states"].clone()
                x[0, p] = val
                kwargs = dict(kwargs)
                kwargs["hidden_states"] = x
                return args, kwargs

            hd = layers[layer].register_forward_pre_hook(pre, with_kwargs=True)
            try:
                with torch.no_grad():
                    lg = model(**model_inputs(model, corrupt)).logits[0, -1]
            finally:
                hd.remove()
            grid[layer, p] = lg[a] - lg[b]
    return grid


# ---------------------------------------------------------------- export


def sample_inputs(with_pos):
    import torch
    ids = torch.tensor([[5, 17, 200, 33, 90, 7], [8, 9, 10, 11, 12, 13]])
    args = [ids, torch.ones_like(ids)]
    if with_pos:
        args.append(torch.arange(6)[None].expand(2, 6).contiguous())
    return args


def make_wrapper(model, with_pos):
    import torch

    class W(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.m = model

        def forward(self, input_ids, attention_mask, position_ids=None):
            kw = dict(input_ids=input_ids, attention_mask=attention_mask, use_cache=False)
            if with_pos:
                kw["position_ids"] = position_ids
            return self.m(**kw).logits

    return W().eval()


def kv_shapes(model, ids):
    import torch
    with torch.no_grad():
        out = model(**dict(model_inputs(model, ids), use_cache=True))
    pk = out.past_key_values
    shapes = []
    if hasattr(pk, "layers"):
        for lay in pk.layers:
            shapes.append((tuple(lay.keys.shape), tuple(lay.values.shape)))
    else:
        for k, v in pk:
            shapes.append((tuple(k.shape), tuple(v.shape)))
    return shapes


def make_kv_wrapper(model, with_pos, n):
    import torch
    from transformers import DynamicCache

    class W(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.m = model

        def forward(self, input_ids, attention_mask, position_ids, *past):
            cache = DynamicCache()
            for i in range(n):
                cache.update(past[2 * i], past[2 * i + 1], i)
            kw = dict(input_ids=input_ids, attention_mask=attention_mask, past_key_values=cache, use_cache=True)
            if with_pos:
                kw["position_ids"] = position_ids
            out = self.m(**kw)
            pk = out.past_key_values
            pres = []
            for i in range(n):
                if hasattr(pk, "layers"):
                    pres += [pk.layers[i].keys, pk.layers[i].values]
                else:
                    pres += [pk[i][0], pk[i][1]]
            return (out.logits, *pres)

    return W().eval()


def export_torchscript(model, path, with_pos, kv):
    import torch
    names = ["input_ids", "attention_mask"] + (["position_ids"] if with_pos else [])
    dyn = {"input_ids": {0: "batch_size", 1: "sequence_length"},
           "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
           "logits": {0: "batch_size", 1: "sequence_length"}}
    if with_pos:
        dyn["position_ids"] = {0: "batch_size", 1: "sequence_length"}
    if not kv:
        torch.onnx.export(make_wrapper(model, with_pos), tuple(sample_inputs(with_pos)), path, input_names=names,
                          output_names=["logits"], dynamic_axes=dyn, opset_version=17, dynamo=False)
        return
    shapes = kv_shapes(model, [1, 2])
    n = len(shapes)
    past = []
    pnames, onames = [], ["logits"]
    for i, (ks, vs) in enumerate(shapes):
        past += [torch.randn(2, ks[1], 2, ks[3]) * 0.1, torch.randn(2, vs[1], 2, vs[3]) * 0.1]
        for kind in ("key", "value"):
            pnames.append(f"past_key_values.{i}.{kind}")
            onames.append(f"present.{i}.{kind}")
            dyn[f"past_key_values.{i}.{kind}"] = {0: "batch_size", 2: "past_sequence_length"}
            dyn[f"present.{i}.{kind}"] = {0: "batch_size", 2: "total_sequence_length"}
    ids = torch.tensor([[5, 17, 200], [8, 9, 10]])
    am = torch.ones(2, 5, dtype=torch.long)
    pos = torch.arange(2, 5)[None].expand(2, 3).contiguous()
    args = (ids, am, pos, *past) if with_pos else (ids, am, *past)
    names_all = names + pnames
    w = make_kv_wrapper(model, with_pos, n)
    if not with_pos:
        base = w.forward

        def fwd(input_ids, attention_mask, *past):
            return base(input_ids, attention_mask, None, *past)
        w.forward = fwd
    torch.onnx.export(w, args, path, input_names=names_all, output_names=onames, dynamic_axes=dyn,
                      opset_version=17, dynamo=False)


def export_dynamo(model, path, with_pos):
    import torch
    names = ["input_ids", "attention_mask"] + (["position_ids"] if with_pos else [])
    dyn = {n: {0: "batch_size", 1: "sequence_length"} for n in names}
    dyn["logits"] = {0: "batch_size", 1: "sequence_length"}
    torch.onnx.export(make_wrapper(model, with_pos), tuple(sample_inputs(with_pos)), path, input_names=names,
                      output_names=["logits"], dynamic_axes=dyn, dynamo=True, external_data=False)
    # Keep the module-path metadata (namespace, name scopes, class hierarchy); drop source stack traces.
    import onnx
    m = onnx.load(path)
    for n in m.graph.node:
        keep = [p for p in n.metadata_props if "stack_trace" not in p.key and "fx_node" not in p.key]
        del n.metadata_props[:]
        n.metadata_props.extend(keep)
    onnx.save(m, path)


def ort_session(path):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def ort_feeds(sess, ids, past=None, start=0):
    import common
    return common.ort_feeds(sess, ids, past, start)


def ort_logits(path, ids):
    s = ort_session(path)
    return s.run(["logits"], ort_feeds(s, ids))[0][0]


def check_kv(path, ids, ref_logits):
    """Incremental decoding: a pass over ids[:-3] then ids[-3:] with its present tensors."""
    s = ort_session(path)
    outs = [o.name for o in s.get_outputs()]
    r = s.run(outs, ort_feeds(s, ids[:-3]))
    past = {o.replace("present", "past_key_values"): v for o, v in zip(outs, r) if o.startswith("present")}
    r2 = s.run(["logits"], ort_feeds(s, ids[-3:], past, len(ids) - 3))[0][0]
    return float(np.abs(r2 - ref_logits[-3:].numpy()).max())


def all_tensor_values(path, ids):
    """Every intermediate tensor of a graph (as graph outputs) for one prompt."""
    import onnx
    m = onnx.load(path)
    have = {o.name for o in m.graph.output}
    for n in m.graph.node:
        for o in n.output:
            if o and o not in have:
                m.graph.output.append(onnx.ValueInfoProto(name=o))
                have.add(o)
    tmp = path + ".all.onnx"
    onnx.save(m, tmp)
    try:
        s = ort_session(tmp)
        names = [o.name for o in s.get_outputs()]
        vals = s.run(names, ort_feeds(s, ids))
    finally:
        os.remove(tmp)
    return dict(zip(names, vals))


def locate_sites(path, ids, cap):
    """Tensor names in the graph that hold each reference site's values (by value)."""
    vals = all_tensor_values(path, ids)
    found = {}
    for site, ref in cap.items():
        r = ref.numpy().astype(np.float32)
        scale = max(1.0, float(np.abs(r).max()))
        names = []
        for n, v in vals.items():
            if not isinstance(v, np.ndarray) or v.size != r.size or v.dtype.kind != "f":
                continue
            if float(np.abs(v.reshape(-1).astype(np.float32) - r.reshape(-1)).max()) <= 2e-5 * scale:
                names.append(n)
        found[site] = names
    return found


def variant_tensors(path, names_by_site, ids):
    import onnx
    m = onnx.load(path)
    produced = {o for n in m.graph.node for o in n.output}
    have = {o.name for o in m.graph.output}
    chosen = {}
    for site, names in names_by_site.items():
        for n in names:
            if n in produced:
                chosen[site] = n
                break
    for n in set(chosen.values()):
        if n not in have:
            m.graph.output.append(onnx.ValueInfoProto(name=n))
    tmp = path + ".sites.onnx"
    onnx.save(m, tmp)
    try:
        s = ort_session(tmp)
        names = ["logits"] + sorted(set(chosen.values()))
        vals = dict(zip(names, s.run(names, ort_feeds(s, ids))))
    finally:
        os.remove(tmp)
    return {site: vals[n] for site, n in chosen.items()}, vals["logits"]


def make_variants(src, dst_dir, fused_dir):
    import onnx
    made = {}
    try:
        from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer
        q = MatMulNBitsQuantizer(onnx.load(src), block_size=32, is_symmetric=True)
        q.process()
        q.model.save_model_to_file(os.path.join(dst_dir, "model_q4.onnx"), use_external_data_format=False)
        made["q4"] = "model_q4.onnx"
    except Exception as e:
        made["q4_error"] = f"{type(e).__name__}: {str(e)[:300]}"
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
        quantize_dynamic(src, os.path.join(dst_dir, "model_int8.onnx"), weight_type=QuantType.QInt8)
        made["int8"] = "model_int8.onnx"
    except Exception as e:
        made["int8_error"] = f"{type(e).__name__}: {str(e)[:300]}"
    try:
        from onnxruntime.transformers import float16
        m16 = float16.convert_float_to_float16(onnx.load(src), keep_io_types=True)
        onnx.save(m16, os.path.join(dst_dir, "model_fp16.onnx"))
        made["fp16"] = "model_fp16.onnx"
    except Exception as e:
        made["fp16_error"] = f"{type(e).__name__}: {str(e)[:300]}"
    if MORE_VARIANTS:
        more_variants(src, dst_dir, made)
    try:
        from onnxruntime.transformers import optimizer
        os.makedirs(os.path.join(fused_dir, "onnx"), exist_ok=True)
        opt = optimizer.optimize_model(src, model_type="gpt2", num_heads=4, hidden_size=D, opt_level=1, use_gpu=False)
        dst = os.path.join(fused_dir, "onnx", "model.onnx")
        opt.save_model_to_file(dst)
        ops = {}
        for n in onnx.load(dst).graph.node:
            if n.domain == "com.microsoft":
                ops[n.op_type] = ops.get(n.op_type, 0) + 1
        made["ortfused"] = ops
    except Exception as e:
        made["ortfused_error"] = f"{type(e).__name__}: {str(e)[:300]}"
    return made


def _variant(made, key, dst_dir, make):
    """made[key] = the file make(path) wrote, or made[key_error] = why it failed."""
    name = f"model_{key}.onnx"
    try:
        make(os.path.join(dst_dir, name))
        made[key] = name
    except Exception as e:
        made[f"{key}_error"] = f"{type(e).__name__}: {str(e)[:300]}"


def more_variants(src, dst_dir, made):
    import onnx

    def uint8(dst):
        from onnxruntime.quantization import QuantType, quantize_dynamic
        quantize_dynamic(src, dst, weight_type=QuantType.QUInt8)

    def q4f16(dst):
        from onnxruntime.transformers import float16
        from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer
        q = MatMulNBitsQuantizer(float16.convert_float_to_float16(onnx.load(src), keep_io_types=False),
                                 block_size=32, is_symmetric=True)
        q.process()
        q.model.save_model_to_file(dst, use_external_data_format=False)

    def bnb4(dst):
        from onnxruntime.quantization.matmul_bnb4_quantizer import MatMulBnb4Quantizer
        q = MatMulBnb4Quantizer(onnx.load(src), quant_type=1, block_size=64)
        q.process()
        q.model.save_model_to_file(dst, use_external_data_format=False)

    for key, make in (("uint8", uint8), ("q4f16", q4f16), ("bnb4", bnb4)):
        _variant(made, key, dst_dir, make)


# ---------------------------------------------------------------- one family


def save_safetensors(path, tensors):
    from safetensors.numpy import save_file
    save_file({k: np.ascontiguousarray(np.asarray(v, dtype=np.float32)) for k, v in tensors.items()}, path)


def folder_files(d, cfg, tok_dir):
    os.makedirs(os.path.join(d, "onnx"), exist_ok=True)
    cfg.save_pretrained(d)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(tok_dir, f), d)


def counts(cfg):
    return {"layers": cfg.num_hidden_layers, "d_model": cfg.hidden_size, "experts": n_experts(cfg)}


def one_type(args):
    mtype, out, tok_dir, seed = args
    import torch
    torch.set_num_threads(1)
    t0 = time.time()
    rep = {"type": mtype, "exports": {}}
    try:
        from tokenizers import Tokenizer
        tk = Tokenizer.from_file(os.path.join(tok_dir, "tokenizer.json"))
        prompts = [(t, tk.encode(t).ids) for t in PROMPTS]
        cfg, model = build(mtype, seed)
        rep["class"] = type(model).__name__
        if mtype in OTHER:
            d = os.path.join(out, "crafted", mtype)
            folder_files(d, cfg, tok_dir)
            export_torchscript(model, os.path.join(d, "onnx", "model.onnx"),
                               "position_ids" in inspect.signature(model.forward).parameters, False)
            rep["ok"] = True
            rep["seconds"] = round(time.time() - t0, 1)
            return rep
        rep["attn_implementation"] = attn_impl(model)
        rep["params"] = sum(p.numel() for p in model.parameters())
        rep["config"] = counts(cfg)
        if rep["params"] > 3_000_000:
            raise RuntimeError(f"too large for the zoo: {rep['params']} parameters")
        caps, unconfirmed, notes = [], set(), []
        for pi, (_, ids) in enumerate(prompts):
            c, u, n = reference_capture(cfg, model, ids)
            if pi == 0:
                pat, why = patterns(cfg, model, ids, c["logits"])
                if why and why not in notes:
                    notes.append(why)
                c.update(pat)
            caps.append(c)
            unconfirmed |= set(u)
            notes += [x for x in n if x not in notes]
        rep["unconfirmed"] = sorted(unconfirmed)
        rep["notes"] = notes
        # Steering at decoder layer 1's output; patching over hook_resid_pre.
        ids0 = prompts[0][1]
        g = torch.Generator().manual_seed(seed)
        v = torch.randn(cfg.hidden_size, generator=g)
        post1 = caps[0]["blocks.1.hook_resid_post"]
        v = v / v.norm() * float(post1.norm(dim=-1).mean())
        alpha = 2.0
        steer_logits = steering_reference(cfg, model, ids0, 1, alpha, v)
        corrupt = list(ids0)
        corrupt[-5] = corrupt[1] if corrupt[1] != corrupt[-5] else (corrupt[-5] + 1) % VOCAB
        with torch.no_grad():
            lc = model(**model_inputs(model, corrupt)).logits[0, -1]
        a = int(caps[0]["logits"][-1].argmax())
        order = torch.argsort(lc, descending=True).tolist()
        b = order[0] if order[0] != a else order[1]
        grid = patch_grid(cfg, model, ids0, corrupt, caps[0], a, b)
        tensors = {}
        for p, c in enumerate(caps):
            for site, t in c.items():
                tensors[f"{p}/{site}"] = (t[-KEEP_LOGITS:] if site == "logits" else t).float().numpy()
        tensors["steer/vector"] = v.numpy()
        tensors["steer/logits"] = steer_logits[-4:].numpy()
        tensors["patch/grid"] = grid.numpy()
        sites = sorted({s for c in caps for s in c})
        manifest = {
            "model": mtype, "class": rep["class"], "attn_implementation": rep["attn_implementation"],
            "prompts": [{"text": t, "ids": ids} for t, ids in prompts],
            "sites": sites, "shapes": {s: list(caps[0][s].shape) for s in sites},
            "unconfirmed": rep["unconfirmed"], "notes": notes,
            "logits_rows": f"logits: the last {KEEP_LOGITS} positions of each prompt (ln_final.hook_normalized has all); "
                           "steer/logits: the last 4",
            "config": rep["config"],
            "tolerance": {"abs": 1e-4, "note": "float32 PyTorch (CPU) vs onnxruntime CPU, relative to max(1, max|ref|)"},
            "steering": {"prompt_ids": ids0, "site": "blocks.1.hook_resid_post", "alpha": alpha,
                         "vector": "steer/vector", "logits": "steer/logits",
                         "note": "vector added to decoder layer 1's output with a forward hook"},
            "patching_grid": {"clean_ids": ids0, "corrupt_ids": corrupt, "site": "hook_resid_pre",
                              "answer_id": a, "wrong_id": b, "grid": "patch/grid",
                              "note": "raw logit(answer) - logit(wrong) at the last position; resid_pre of each "
                                      "layer and position replaced by the clean run's with a forward pre-hook"},
            "variants": {},
        }
        ref_dir = os.path.join(out, "reference", mtype)
        os.makedirs(ref_dir, exist_ok=True)
        with_pos = "position_ids" in inspect.signature(model.forward).parameters
        exports = []
        # TorchScript exporter, the Optimum way (with past_key_values); without past if that fails.
        d = os.path.join(out, "zoo", f"{mtype}-torchscript")
        path = os.path.join(d, "onnx", "model.onnx")
        for kv in (True, False):
            e = {"exporter": "torchscript", "kv": kv}
            try:
                folder_files(d, cfg, tok_dir)
                export_torchscript(model, path, with_pos, kv)
                diffs = [float(np.abs(ort_logits(path, ids) - caps[p]["logits"].numpy()).max())
                         for p, (_, ids) in enumerate(prompts)]
                e["ort_vs_torch"] = max(diffs)
                if kv:
                    e["kv_incremental_vs_torch"] = check_kv(path, ids0, caps[0]["logits"])
                    if e["kv_incremental_vs_torch"] > 1e-4 * max(1, float(caps[0]["logits"].abs().max())):
                        raise RuntimeError(f"incremental decoding differs by {e['kv_incremental_vs_torch']:.2e}")
                if e["ort_vs_torch"] > 1e-4 * max(1, float(caps[0]["logits"].abs().max())):
                    raise RuntimeError(f"onnxruntime logits differ from PyTorch by {e['ort_vs_torch']:.2e}")
                e["ok"] = True
                exports.append((f"{mtype}-torchscript", e, path))
                break
            except Exception as ex:
                e["ok"] = False
                e["error"] = f"{type(ex).__name__}: {str(ex)[:400]}"
                rep["exports"][f"torchscript{'-kv' if kv else ''}"] = e
                shutil.rmtree(d, ignore_errors=True)
        d = os.path.join(out, "zoo", f"{mtype}-dynamo")
        path = os.path.join(d, "onnx", "model.onnx")
        e = {"exporter": "dynamo", "kv": False}
        try:
            folder_files(d, cfg, tok_dir)
            export_dynamo(model, path, with_pos)
            diffs = [float(np.abs(ort_logits(path, ids) - caps[p]["logits"].numpy()).max())
                     for p, (_, ids) in enumerate(prompts)]
            e["ort_vs_torch"] = max(diffs)
            if e["ort_vs_torch"] > 1e-4 * max(1, float(caps[0]["logits"].abs().max())):
                raise RuntimeError(f"onnxruntime logits differ from PyTorch by {e['ort_vs_torch']:.2e}")
            e["ok"] = True
            exports.append((f"{mtype}-dynamo", e, path))
        except Exception as ex:
            e["ok"] = False
            e["error"] = f"{type(ex).__name__}: {str(ex)[:400]}"
            rep["exports"]["dynamo"] = e
            shutil.rmtree(d, ignore_errors=True)
        index = {}
        for folder, e, p in exports:
            e["mb"] = round(os.path.getsize(p) / 2 ** 20, 3)
            rep["exports"][folder] = e
            try:
                e["site_tensors"] = {s: n[:3] for s, n in locate_sites(p, ids0, caps[0]).items()}
            except Exception as ex:
                e["site_tensors_error"] = str(ex)[:200]
            index[folder] = {"type": mtype, "exporter": e["exporter"], "kv": e["kv"], "reference": mtype,
                             "variant": "fp32", "expect": rep["config"]}
        # Variants of the TorchScript export.
        ts = [x for x in exports if x[0].endswith("-torchscript")]
        if mtype in VARIANT_TYPES and ts:
            folder, e, p = ts[0]
            d = os.path.dirname(p)
            fused_dir = os.path.join(out, "zoo", f"{mtype}-ortfused")
            made = make_variants(p, d, fused_dir)
            rep["variants"] = made
            names = e.get("site_tensors") or locate_sites(p, ids0, caps[0])
            full_names = locate_sites(p, ids0, caps[0])
            for v in ("q4", "int8", "fp16", "uint8", "q4f16", "bnb4"):
                if v not in made:
                    continue
                vp = os.path.join(d, made[v])
                vinfo = {"file": made[v], "sites": []}
                try:
                    worst = 0.0
                    for pi, (_, ids) in enumerate(prompts):
                        vt, vl = variant_tensors(vp, full_names, ids)
                        for site, arr in vt.items():
                            # Own-graph sites for prompt 0 (logits for both), to keep the zoo small.
                            if site == "logits" or site not in caps[pi] or pi > 0:
                                continue
                            tensors[f"variant/{v}/{pi}/{site}"] = arr.reshape(caps[pi][site].shape)
                        tensors[f"variant/{v}/{pi}/logits"] = vl[0][-KEEP_LOGITS:]
                        if pi == 0:
                            vinfo["sites"] = sorted(vt)
                        worst = max(worst, float(np.abs(vl[0] - caps[pi]["logits"].numpy()).max()))
                    vinfo["logits_vs_torch"] = worst
                    vinfo["tolerance_vs_torch"] = float(f"{max(2 * worst, 1e-3):.1e}")
                    vinfo["tolerance_own"] = 2e-2 if v in ("fp16", "q4f16") else 1e-4
                    vinfo["note"] = ("sites: the variant graph's own tensors at the float32 graph's boundary tensors; "
                                     "logits vs float32 PyTorch within twice the difference measured at export")
                    index[f"{folder}:{v}"] = {"type": mtype, "exporter": "torchscript", "kv": e["kv"],
                                              "reference": mtype, "variant": v, "expect": rep["config"]}
                except Exception as ex:
                    vinfo["error"] = f"{type(ex).__name__}: {str(ex)[:300]}"
                    os.remove(vp)
                manifest["variants"][v] = vinfo
            if "ortfused" in made:
                fp = os.path.join(fused_dir, "onnx", "model.onnx")
                folder_files(fused_dir, cfg, tok_dir)
                try:
                    diff = max(float(np.abs(ort_logits(fp, ids) - caps[pi]["logits"].numpy()).max())
                               for pi, (_, ids) in enumerate(prompts))
                    manifest["variants"]["ortfused"] = {"folder": f"{mtype}-ortfused", "fused_ops": made["ortfused"],
                                                        "logits_vs_torch": diff, "tolerance": 1e-3}
                    index[f"{mtype}-ortfused"] = {"type": mtype, "exporter": "torchscript+ort-optimizer",
                                                  "kv": e["kv"], "reference": mtype, "variant": "ortfused",
                                                  "expect": rep["config"]}
                except Exception as ex:
                    shutil.rmtree(fused_dir, ignore_errors=True)
                    manifest["variants"]["ortfused"] = {"error": str(ex)[:300]}
        if exports:
            save_safetensors(os.path.join(ref_dir, "tensors.safetensors"), tensors)
            with open(os.path.join(ref_dir, "manifest.json"), "w") as f:
                json.dump(manifest, f, indent=1)
        else:
            shutil.rmtree(ref_dir, ignore_errors=True)
        rep["index"] = index
        rep["ok"] = bool(exports)
    except Exception as ex:
        rep["ok"] = False
        rep["error"] = f"{type(ex).__name__}: {str(ex)[:600]}"
        rep["trace"] = traceback.format_exc()[-1500:]
    rep["seconds"] = round(time.time() - t0, 1)
    return rep


def crafted(out, tok_dir, index):
    """Models that lie to the map: attention made unrecognisable (Softmax -> Sigmoid), kept for refusal tests."""
    import onnx
    src = os.path.join(out, "zoo", "llama-torchscript", "onnx", "model.onnx")
    if not os.path.exists(src):
        return {}
    d = os.path.join(out, "crafted", "llama-no-softmax")
    os.makedirs(os.path.join(d, "onnx"), exist_ok=True)
    for f in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(os.path.dirname(os.path.dirname(src)), f), d)
    m = onnx.load(src)
    n = 0
    for node in m.graph.node:
        if node.op_type == "Softmax":
            node.op_type = "Sigmoid"
            del node.attribute[:]
            n += 1
    onnx.save(m, os.path.join(d, "onnx", "model.onnx"))
    return {"llama-no-softmax": {"softmax_replaced": n}}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--jobs", type=int, default=max(1, (os.cpu_count() or 2) - 2))
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    out = os.path.abspath(a.out)
    tok_dir = os.path.join(out, "tokenizer")
    t = make_tokenizer(tok_dir)
    log("tokenizer vocab", t.get_vocab_size())
    import transformers
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES
    available = set(MODEL_FOR_CAUSAL_LM_MAPPING_NAMES)
    wanted = [x for x in (a.only.split(",") if a.only else DENSE + MOE + OTHER + LATER)]
    todo = [x for x in wanted if x in available]
    missing = [x for x in wanted if x not in available]
    log("transformers", transformers.__version__, "causal LM types:", len(available), "missing:", missing)
    # Seeds follow the full candidate list, so a partial run (--only) rebuilds the same weights.
    full = DENSE + MOE + OTHER + LATER
    jobs = [(m, out, tok_dir, 100 + full.index(m)) for m in todo]
    ctx = mp.get_context("spawn")
    reports = {}
    with ctx.Pool(a.jobs, maxtasksperchild=1) as pool:
        for rep in pool.imap_unordered(one_type, jobs):
            reports[rep["type"]] = rep
            ex = {k: (v.get("ok"), v.get("error", "")[:160]) for k, v in rep.get("exports", {}).items()}
            log(f"{rep['type']:20s} ok={rep.get('ok')} {rep.get('seconds')}s {rep.get('error', '')[:200]} {ex}")
            os.makedirs(os.path.join(out, "metrics"), exist_ok=True)
            with open(os.path.join(out, "metrics", "zoo.partial.json"), "w") as f:
                json.dump(reports, f, indent=1, default=str)
    index = {}
    for r in reports.values():
        index.update(r.get("index", {}))
    cr = crafted(out, tok_dir, index)
    os.makedirs(os.path.join(out, "zoo"), exist_ok=True)
    with open(os.path.join(out, "zoo", "index.json"), "w") as f:
        json.dump(dict(sorted(index.items())), f, indent=1)
    os.makedirs(os.path.join(out, "metrics"), exist_ok=True)
    with open(os.path.join(out, "metrics", "zoo.json"), "w") as f:
        json.dump({"transformers": transformers.__version__, "missing": missing, "crafted": cr,
                   "all_causal_lm_types": sorted(available), "reports": reports}, f, indent=1, default=str)
    ok = sorted(r["type"] for r in reports.values() if r.get("ok"))
    log(f"types exported: {len(ok)}; folders: {len(index)}")


if __name__ == "__main__":
    main()
