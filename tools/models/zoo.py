"""Architecture zoo: tiny random models of real Hugging Face classes, exported the ways
users' models are exported, with PyTorch reference tensors on the same weights.

python3 zoo.py OUT_ROOT TOKENIZER_DIR
Writes OUT_ROOT/test/fixtures/zoo/<name>/ and OUT_ROOT/test/fixtures/reference/<name>/,
and OUT_ROOT/metrics/zoo.json (what exported, what failed and why).
"""
import json
import os
import shutil
import sys
import traceback

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

SMALL = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
             num_key_value_heads=2, max_position_embeddings=128, initializer_range=0.1)
ARCHS = {
    "gpt2": ("gpt2", dict(n_embd=32, n_layer=2, n_head=4, n_inner=64, n_positions=128, activation_function="gelu_new",
                          resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, initializer_range=0.1)),
    "llama": ("llama", dict(SMALL)),
    "qwen2": ("qwen2", dict(SMALL)),
    "qwen3": ("qwen3", dict(SMALL, head_dim=8)),
    "mistral": ("mistral", dict(SMALL)),
    "phi3": ("phi3", dict(SMALL)),
    "gemma2": ("gemma2", dict(SMALL, head_dim=8, query_pre_attn_scalar=8, sliding_window=64)),
    "gptneox": ("gpt_neox", dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                                 max_position_embeddings=128, rotary_pct=0.5, initializer_range=0.1)),
    "qwen2moe": ("qwen2_moe", dict(SMALL, num_experts=4, num_experts_per_tok=2, moe_intermediate_size=32,
                                   shared_expert_intermediate_size=64, decoder_sparse_step=1)),
}
# Module paths for the hooks: layers, attention, mlp, input of the down projection,
# input of the norm that sees resid_mid (None: parallel residual), final norm.
PATHS = {
    "gpt2": ("transformer.h", "attn", "mlp", "mlp.c_proj", "ln_2", "transformer.ln_f"),
    "gptneox": ("gpt_neox.layers", "attention", "mlp", "mlp.dense_4h_to_h", None, "gpt_neox.final_layer_norm"),
    "gemma2": ("model.layers", "self_attn", "mlp", "mlp.down_proj", "pre_feedforward_layernorm", "model.norm"),
    "qwen2moe": ("model.layers", "self_attn", "mlp", None, "post_attention_layernorm", "model.norm"),
}
DEFAULT_PATHS = ("model.layers", "self_attn", "mlp", "mlp.down_proj", "post_attention_layernorm", "model.norm")


def patch_qwen2_moe():
    """Dense expert computation (every expert on every token, weighted by the top-k
    routing weights scattered to [tokens, experts]): the same output, and it traces,
    unlike the data-dependent loop over hit experts."""
    from transformers.models.qwen2_moe import modeling_qwen2_moe as q

    def forward(self, hidden_states, top_k_index, top_k_weights):
        w = torch.zeros(hidden_states.shape[0], self.num_experts, dtype=hidden_states.dtype,
                        device=hidden_states.device).scatter(1, top_k_index, top_k_weights.to(hidden_states.dtype))
        gate_up = torch.einsum("td,efd->tef", hidden_states, self.gate_up_proj)
        gate, up = gate_up.chunk(2, dim=-1)
        out = torch.einsum("tei,edi->ted", self.act_fn(gate) * up, self.down_proj)
        return (out * w[:, :, None]).sum(1)

    q.Qwen2MoeExperts.forward = forward


def build(key, vocab, eos):
    import transformers
    mtype, kw = ARCHS[key]
    cfg = transformers.AutoConfig.for_model(mtype, vocab_size=vocab, bos_token_id=eos, eos_token_id=eos,
                                            pad_token_id=eos, **kw)
    torch.manual_seed(100 + list(ARCHS).index(key))
    model = transformers.AutoModelForCausalLM.from_config(cfg, attn_implementation="eager").float().eval()
    return model


def get(model, path):
    for p in path.split("."):
        model = getattr(model, p)
    return model


def first(o):
    return o[0] if isinstance(o, (tuple, list)) else o


def reference_capture(key, model, ids):
    layers_p, attn_p, mlp_p, down_p, mid_p, final_p = PATHS.get(key, DEFAULT_PATHS)
    cap, chosen, handles = {}, {}, []
    layers = get(model, layers_p)

    def pre(name):
        def h(mod, args, kwargs):
            cap[name] = (args[0] if args else kwargs["hidden_states"])[0].detach().clone()
        return h

    def post(name):
        def h(mod, args, out):
            cap[name] = first(out)[0].detach().clone()
        return h

    for i, layer in enumerate(layers):
        b = f"blocks.{i}."
        handles.append(layer.register_forward_pre_hook(pre(b + "hook_resid_pre"), with_kwargs=True))
        handles.append(layer.register_forward_hook(post(b + "hook_resid_post")))
        handles.append(get(layer, attn_p).register_forward_hook(post(b + "hook_attn_out")))
        mlp = get(layer, mlp_p)
        handles.append(mlp.register_forward_hook(
            (lambda name: lambda m, a, o: cap.__setitem__(name, first(o).reshape(-1, first(o).shape[-1]).detach().clone()))(b + "hook_mlp_out")))
        if down_p:
            handles.append(get(layer, down_p).register_forward_pre_hook(pre(b + "mlp.hook_post"), with_kwargs=True))
        if mid_p:
            handles.append(get(layer, mid_p).register_forward_pre_hook(pre(b + "hook_resid_mid"), with_kwargs=True))
        if hasattr(mlp, "gate") and hasattr(mlp, "experts"):
            def rh(m, a, o, b=b):
                cap[b + "moe.hook_router_logits"] = o[0].detach().clone()
                chosen[f"blocks.{b.split('.')[1]}"] = o[2].tolist()
            handles.append(mlp.gate.register_forward_hook(rh))
    handles.append(get(model, final_p).register_forward_hook(post("ln_final.hook_normalized")))
    try:
        with torch.no_grad():
            out = model(input_ids=torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                        use_cache=False, output_attentions=True)
    finally:
        for h in handles:
            h.remove()
    for i, a in enumerate(out.attentions or []):
        cap[f"blocks.{i}.attn.hook_pattern"] = a[0].detach().clone()
    cap["logits"] = out.logits[0].detach().clone()
    return cap, chosen


DYN = {"input_ids": {0: "batch_size", 1: "sequence_length"}, "attention_mask": {0: "batch_size", 1: "sequence_length"},
       "position_ids": {0: "batch_size", 1: "sequence_length"}, "logits": {0: "batch_size", 1: "sequence_length"}}


class Wrapper(torch.nn.Module):
    """Logits only, no cache: the form that exports with both exporters."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, input_ids, attention_mask, position_ids):
        return self.m(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                      use_cache=False).logits


def sample_inputs():
    ids = torch.tensor([[5, 17, 200, 33, 90, 7], [8, 9, 10, 11, 12, 13]])
    return ids, torch.ones_like(ids), torch.arange(6)[None].expand(2, 6).contiguous()


def export_torchscript(model, path):
    """Export the HF model itself with its forward patched to take the three inputs and
    return logits (as Optimum does), so module-path names start at /model/ or /transformer/."""
    ids, am, pos = sample_inputs()
    cls_forward = type(model).forward

    def forward(input_ids, attention_mask, position_ids):
        return cls_forward(model, input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                           use_cache=False).logits

    model.forward = forward
    try:
        torch.onnx.export(model, (ids, am, pos), path, input_names=["input_ids", "attention_mask", "position_ids"],
                          output_names=["logits"], dynamic_axes=DYN, opset_version=17, dynamo=False)
    finally:
        del model.forward
    return "direct"


def export_dynamo(model, path):
    ids, am, pos = sample_inputs()
    torch.onnx.export(Wrapper(model).eval(), (ids, am, pos), path, input_names=["input_ids", "attention_mask", "position_ids"],
                      output_names=["logits"], dynamic_axes=DYN, dynamo=True, external_data=False)


def ortfused(src, dst, model):
    from onnxruntime.transformers import optimizer
    opt = optimizer.optimize_model(src, model_type="gpt2", num_heads=4, hidden_size=32, opt_level=1, use_gpu=False)
    opt.save_model_to_file(dst)
    import onnx
    ops = {}
    for n in onnx.load(dst).graph.node:
        if n.domain == "com.microsoft":
            ops[n.op_type] = ops.get(n.op_type, 0) + 1
    return ops


def external(src, dst):
    import onnx
    m = onnx.load(src)
    onnx.save_model(m, dst, save_as_external_data=True, all_tensors_to_one_file=True,
                    location=os.path.basename(dst) + "_data", size_threshold=0)


def int8(src, dst):
    from onnxruntime.quantization import QuantType, quantize_dynamic
    quantize_dynamic(src, dst, weight_type=QuantType.QInt8)


def ort_logits(path, ids):
    sess = common.ort_session(path)
    return sess.run(["logits"], common.ort_feeds(sess, ids))[0][0]


def main():
    out, tok_dir = sys.argv[1], sys.argv[2]
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(os.path.join(tok_dir, "tokenizer.json"))
    eos = tok.token_to_id("<|endoftext|>")
    vocab = tok.get_vocab_size()
    prompts = [(t, tok.encode(t).ids) for t in common.PROMPTS[:2]]
    patch_qwen2_moe()
    report = {}
    # (folder, arch, style); derived styles start from that arch's TorchScript file.
    plan = [(f"{k}-torchscript", k, "torchscript") for k in ARCHS]
    plan += [("llama-dynamo", "llama", "dynamo"), ("gpt2-dynamo", "gpt2", "dynamo"),
             ("gpt2-ortfused", "gpt2", "ortfused"), ("llama-ortfused", "llama", "ortfused"),
             ("qwen2-external", "qwen2", "external"), ("gpt2-int8", "gpt2", "int8"), ("llama-int8", "llama", "int8")]
    models, caps = {}, {}
    for folder, key, style in plan:
        d = os.path.join(out, "test", "fixtures", "zoo", folder)
        path = os.path.join(d, "onnx", "model.onnx")
        entry = {"arch": ARCHS[key][0], "style": style}
        try:
            if key not in models:
                models[key] = build(key, vocab, eos)
                caps[key] = [reference_capture(key, models[key], ids) for _, ids in prompts]
            model = models[key]
            os.makedirs(os.path.dirname(path), exist_ok=True)
            src = os.path.join(out, "test", "fixtures", "zoo", f"{key}-torchscript", "onnx", "model.onnx")
            if style == "torchscript":
                entry["names"] = export_torchscript(model, path)
            elif style == "dynamo":
                export_dynamo(model, path)
            elif style == "ortfused":
                entry["fused_ops"] = ortfused(src, path, model)
            elif style == "external":
                external(src, path)
            elif style == "int8":
                int8(src, path)
            model.config.save_pretrained(d)
            for f in ("tokenizer.json", "tokenizer_config.json"):
                shutil.copy(os.path.join(tok_dir, f), d)
            diffs = [float(np.abs(ort_logits(path, ids) - caps[key][p][0]["logits"].numpy()).max())
                     for p, (_, ids) in enumerate(prompts)]
            entry["ort_vs_torch_max_abs_diff"] = max(diffs)
            entry["mb"] = round(common.file_mb(path), 3)
            if style == "int8":
                tol = {"abs": float(f"{max(2 * max(diffs), 1e-3):.1e}"),
                       "note": "int8 dynamic quantisation vs the float32 PyTorch model: only logits are meaningful; "
                               "tolerance is twice the largest difference measured at export"}
            elif style == "ortfused":
                tol = {"abs": 1e-3, "note": "fused onnxruntime kernels vs float32 PyTorch"}
            else:
                tol = {"abs": 1e-4, "note": "float32 PyTorch (CPU, eager attention) vs onnxruntime CPU"}
            if key == "gemma2":
                tol["note"] += "; hook_attn_out / hook_mlp_out are the attention / MLP outputs before Gemma-2's post-norms"
            if key == "gptneox":
                tol["note"] += "; parallel residual: no hook_resid_mid"
            extra = {}
            if caps[key][0][1]:
                extra["chosen_experts"] = {"note": "per prompt index, per block: top-k expert ids per position",
                                           "top_k": 2, "by_prompt": {str(p): c[1] for p, c in enumerate(caps[key])}}
            common.save_reference(os.path.join(out, "test", "fixtures", "reference", folder), folder, prompts,
                                  [c[0] for c in caps[key]], {}, extra, tol)
            entry["ok"] = max(diffs) <= tol["abs"]
        except Exception as e:
            entry["ok"] = False
            entry["error"] = f"{type(e).__name__}: {str(e)[:600]}"
            traceback.print_exc()
            shutil.rmtree(d, ignore_errors=True)
        report[folder] = entry
        print(folder, json.dumps(entry), flush=True)
    os.makedirs(os.path.join(out, "metrics"), exist_ok=True)
    with open(os.path.join(out, "metrics", "zoo.json"), "w") as f:
        json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
