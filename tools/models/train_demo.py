"""Train, check, export and measure the three demo models, and write their references.

python3 train_demo.py OUT_ROOT [--scale tiny|full]
Writes OUT_ROOT/models/<name>/..., OUT_ROOT/test/fixtures/reference/<name>/...,
OUT_ROOT/models/data/prompts.json and OUT_ROOT/metrics/<name>.json.
"""
import argparse
import json
import math
import os
import random
import shutil
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import arch  # noqa: E402
import common  # noqa: E402
import corpus  # noqa: E402
import measure  # noqa: E402
import tok as tokmod  # noqa: E402

DEV = "cuda" if torch.cuda.is_available() else "cpu"


def configs(vocab, eos):
    ids = {"bos_token_id": eos, "eos_token_id": eos, "pad_token_id": eos}
    llama = dict(vocab_size=vocab, hidden_size=128, intermediate_size=384, num_hidden_layers=6,
                 num_attention_heads=4, num_key_value_heads=2, head_dim=32, rms_norm_eps=1e-5,
                 rope_theta=10000.0, max_position_embeddings=256, tie_word_embeddings=True, **ids)
    moe = dict(llama, intermediate_size=128, moe_intermediate_size=128, num_experts=4, num_experts_per_tok=2)
    gpt2 = dict(vocab_size=vocab, n_embd=128, n_layer=4, n_head=4, n_inner=512, n_positions=256,
                layer_norm_epsilon=1e-5, **ids)
    return {"demo-llama": (llama, lambda c: arch.DemoCausalLM(c)),
            "demo-moe": (moe, lambda c: arch.DemoCausalLM(c, moe=True)),
            "demo-gpt2": (gpt2, lambda c: arch.DemoGPT2(c))}


# ------------------------------------------------------------------ data
class Data:
    def __init__(self, tok, n_docs, seq, n_special):
        docs = corpus.documents(n_docs)
        eos = tok.token_to_id("<|endoftext|>")
        stream = []
        for enc in tok.encode_batch(docs):
            stream.extend(enc.ids)
            stream.append(eos)
        self.stream = torch.tensor(stream, dtype=torch.long, device=DEV)
        self.seq, self.eos, self.vocab, self.n_special = seq, eos, tok.get_vocab_size(), n_special
        print(f"corpus: {len(docs)} documents, {len(stream)} tokens", flush=True)

    def batch(self, bsz, g):
        n_ind = bsz // 8  # one in eight rows: repeated random token sequences (induction)
        starts = torch.randint(0, len(self.stream) - self.seq - 1, (bsz - n_ind,), device=DEV, generator=g)
        rows = self.stream[starts[:, None] + torch.arange(self.seq + 1, device=DEV)[None]]
        L = int(torch.randint(8, 33, (1,), generator=g, device=DEV))
        r = torch.randint(self.n_special, self.vocab, (n_ind, L), device=DEV, generator=g)
        piece = torch.cat([torch.full((n_ind, 1), self.eos, device=DEV), r, r], dim=1)
        ind = piece.repeat(1, math.ceil((self.seq + 1) / piece.shape[1]))[:, : self.seq + 1]
        rows = torch.cat([rows, ind])
        return rows[:, :-1], rows[:, 1:]


def train(model, data, steps, bsz, lr, seed, moe_aux=0.0, max_seconds=1e9):
    g = torch.Generator(device=DEV).manual_seed(seed)
    model.to(DEV).train()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.05)
    warm = max(1, steps // 20)
    t0 = time.time()
    for step in range(steps):
        f = (step + 1) / warm if step < warm else 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * (step - warm) / (steps - warm)))
        for pg in opt.param_groups:
            pg["lr"] = lr * f
        x, y = data.batch(bsz, g)
        aux = []

        def hook(name, t):
            if moe_aux and name.endswith("moe.hook_router_logits"):
                aux.append(t)
            return t

        logits, _ = model.run(x, hook=hook if moe_aux else None)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        total = loss
        for rl in aux:  # Switch-style balance loss keeps every expert in use
            p = torch.softmax(rl, -1)
            top = torch.topk(p, 2, -1).indices
            frac = torch.zeros_like(p).scatter(1, top, 1.0).mean(0) / 2
            total = total + moe_aux * p.shape[-1] * (frac * p.mean(0)).sum()
        opt.zero_grad(set_to_none=True)
        total.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % max(1, steps // 10) == 0 or step == steps - 1:
            print(f"  step {step} loss {loss.item():.3f} ({time.time() - t0:.1f}s)", flush=True)
        if time.time() - t0 > max_seconds:  # a guard for the device's time limit; steps done are recorded
            print(f"  stopped at step {step + 1} after {max_seconds}s", flush=True)
            steps = step + 1
            break
    model.eval()
    return time.time() - t0, steps


# ------------------------------------------------------------------ HF check, export
def hf_check(name, model, cfg):
    """Load the same weights into the real HF class; report the largest logit difference."""
    try:
        import transformers
        if model.family == "gpt2":
            hc = transformers.GPT2Config(activation_function="gelu_new", resid_pdrop=0.0, embd_pdrop=0.0,
                                         attn_pdrop=0.0, **cfg)
            hc.architectures = ["GPT2LMHeadModel"]
            hf = transformers.GPT2LMHeadModel(hc)
        elif name == "demo-llama":
            hc = transformers.LlamaConfig(attention_bias=False, mlp_bias=False, **cfg)
            hc.architectures = ["LlamaForCausalLM"]
            hf = transformers.LlamaForCausalLM(hc)
        else:
            return None, "no HF class holds per-expert Linear modules in transformers 5; not compared"
        hc._attn_implementation = "eager"
        res = hf.load_state_dict(model.state_dict(), strict=False)
        hf.eval()
        ids = torch.tensor([[5, 17, 200, 33, 90, 7, 64, 300]])
        with torch.no_grad():
            a = hf(input_ids=ids, use_cache=False).logits
            b, _ = model.cpu().run(ids)
        diff = (a - b).abs().max().item()
        return hc, f"HF {type(hf).__name__} max |logit diff| {diff:.2e}; missing {list(res.missing_keys)}, unexpected {list(res.unexpected_keys)}"
    except Exception as e:  # recorded, not fatal: the ONNX checks still run
        return None, f"HF comparison failed: {type(e).__name__}: {e}"


def export(model, path):
    model = model.cpu().eval()
    L = arch.n_layers(model)
    kvh, dh = arch.kv_shape(model)
    b, s, p = 2, 4, 3
    ids = torch.randint(10, 100, (b, s))
    am = torch.ones(b, p + s, dtype=torch.long)
    pos = torch.arange(p, p + s)[None].expand(b, s).contiguous()
    past = [torch.randn(b, kvh, p, dh) for _ in range(2 * L)]
    kv = [f"{i}.{x}" for i in range(L) for x in ("key", "value")]
    ins = ["input_ids", "attention_mask", "position_ids"] + [f"past_key_values.{k}" for k in kv]
    outs = ["logits"] + [f"present.{k}" for k in kv]
    dyn = {"input_ids": {0: "batch_size", 1: "sequence_length"},
           "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
           "position_ids": {0: "batch_size", 1: "sequence_length"},
           "logits": {0: "batch_size", 1: "sequence_length"}}
    for k in kv:
        dyn[f"past_key_values.{k}"] = {0: "batch_size", 2: "past_sequence_length"}
        dyn[f"present.{k}"] = {0: "batch_size", 2: "total_sequence_length"}
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with torch.no_grad():
        kw = {"dynamo": False} if int(torch.__version__.split(".")[0]) >= 2 else {}
        torch.onnx.export(model, (ids, am, pos, *past), path, input_names=ins, output_names=outs,
                          dynamic_axes=dyn, opset_version=17, do_constant_folding=True, **kw)


def ort_check(model, path, ids):
    """Full pass with empty past equals torch; incremental decoding equals the full pass."""
    sess = common.ort_session(path)
    full = sess.run(None, common.ort_feeds(sess, ids))
    with torch.no_grad():
        ref, _ = model.cpu().run(torch.tensor([ids]))
    d_full = float(np.abs(full[0][0] - ref[0].numpy()).max())
    n = len(ids) - 1
    pre = sess.run(None, common.ort_feeds(sess, ids[:n]))
    names = [o.name for o in sess.get_outputs()]
    past = {nm.replace("present", "past_key_values"): v for nm, v in zip(names, pre) if nm.startswith("present")}
    step = sess.run(None, common.ort_feeds(sess, ids[n:], past=past, start=n, total=n + 1))
    d_inc = float(np.abs(step[0][0, -1] - full[0][0, -1]).max())
    return d_full, d_inc


def write_folder(out, name, model, cfg, hf_cfg, tok_dir, eos):
    d = os.path.join(out, "models", name)
    os.makedirs(d, exist_ok=True)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(tok_dir, f), d)
    if hf_cfg is not None:
        hf_cfg.save_pretrained(d)
    else:  # demo-moe: Qwen2-MoE field names, per-expert modules, no shared expert
        c = dict(cfg, model_type="qwen2_moe", architectures=["Qwen2MoeForCausalLM"], hidden_act="silu",
                 shared_expert_intermediate_size=0, norm_topk_prob=True, decoder_sparse_step=1,
                 mlp_only_layers=[], torch_dtype="float32",
                 introspect_note="Module names mirror Qwen2-MoE (model.layers.{i}.mlp.gate, "
                                 "mlp.experts.{j}.gate_proj/up_proj/down_proj) without the shared expert.")
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(c, f, indent=2)
    with open(os.path.join(d, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": eos, "eos_token_id": eos, "pad_token_id": eos, "do_sample": False,
                   "max_new_tokens": 32}, f, indent=2)
    return d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--scale", default="full", choices=["tiny", "full"])
    ap.add_argument("--only", default="")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--max-seconds", type=float, default=1e9)
    a = ap.parse_args()
    tiny = a.scale == "tiny"
    torch.manual_seed(0)
    random.seed(0)
    torch.backends.cuda.matmul.allow_tf32 = False  # fp32 weights must match the CPU reference exactly
    tok_dir = os.path.join(a.out, "tokenizer")
    if os.path.exists(os.path.join(tok_dir, "tokenizer.json")):
        from tokenizers import Tokenizer
        tok = Tokenizer.from_file(os.path.join(tok_dir, "tokenizer.json"))
        bad = [n for n in corpus.NAMES if len(tok.encode(" " + n).ids) != 1]
    else:
        tok, bad = tokmod.train(tok_dir, 20000 if tiny else 60000)
    names = [n for n in corpus.NAMES if n not in bad]
    print("vocab", tok.get_vocab_size(), "names not single-token:", bad, flush=True)
    data_dir = os.path.join(a.out, "models", "data")
    os.makedirs(data_dir, exist_ok=True)
    with open(os.path.join(data_dir, "prompts.json"), "w") as f:
        json.dump({"note": "ordinary vs injection-like prompts; split 'train' appeared in training text as chat turns",
                   "prompts": corpus.prompt_set()}, f, indent=1)
    n_special = len(tokmod.SPECIALS)
    data = Data(tok, 4000 if tiny else 400000, 128, n_special)
    eos = tok.token_to_id("<|endoftext|>")
    for name, (cfg, make) in configs(tok.get_vocab_size(), eos).items():
        if a.only and name not in a.only.split(","):
            continue
        print(f"== {name}", flush=True)
        torch.manual_seed(1)
        model = make(cfg)
        arch.init_weights(model, seed=11)
        n_par = sum(p.numel() for p in model.parameters())
        steps = 30 if tiny else a.steps
        secs, steps = train(model, data, steps, 32 if tiny else 256, 3e-3, seed=5,
                            moe_aux=0.01 if "moe" in name else 0.0, max_seconds=a.max_seconds)
        model.cpu().eval()
        hf_cfg, hf_note = hf_check(name, model, cfg)
        print(" ", hf_note, flush=True)
        d = write_folder(a.out, name, model, cfg, hf_cfg, tok_dir, eos)
        onnx_path = os.path.join(d, "onnx", "model.onnx")
        export(model, onnx_path)
        ids = tok.encode(common.PROMPTS[0]).ids
        d_full, d_inc = ort_check(model, onnx_path, ids)
        print(f"  onnx {common.file_mb(onnx_path):.2f} MB; ORT vs torch {d_full:.2e}; incremental vs full {d_inc:.2e}",
              flush=True)
        metrics = {"params": n_par, "train_steps": steps, "train_seconds": round(secs, 1),
                   "onnx_mb": round(common.file_mb(onnx_path), 2), "hf_check": hf_note,
                   "ort_full_max_abs_diff": d_full, "ort_incremental_max_abs_diff": d_inc}
        metrics.update(measure.all_measures(name, model, tok, names, a.out, tiny))
        with open(os.path.join(a.out, "metrics", f"{name}.json"), "w") as f:
            json.dump(metrics, f, indent=1)
        print(json.dumps({k: v for k, v in metrics.items() if k != "patching_table"}, indent=1), flush=True)


if __name__ == "__main__":
    main()
