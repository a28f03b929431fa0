"""Trains the TopK SAE shipped with each demo model (SAELens layout) on the demo corpus.

Activations: the ONNX model in onnxruntime with the resid_post tensor of the middle layer added
as a graph output (names from the TorchScript export: /model/layers.{L}/Add_1_output_0,
/transformer/h.{L}/Add_1_output_0), every document of models/data/feature-corpus.jsonl
tokenised with the model's tokenizer.json; the last 200 documents are held out.
Training: TopK (k 16), 512 features, Adam, decoder rows at unit norm, dead features re-seeded
from badly reconstructed tokens during the first 60 % of training (PyTorch, GPU when present).

  python tools/features/train_demo_saes.py ROOT CORPUS OUT
writes OUT/<model>/saes/<site>/{cfg.json,sae_weights.safetensors,sparsity.safetensors} and OUT/metrics.json.
"""
import json
import os
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort
import torch
from safetensors.torch import save_file
from tokenizers import Tokenizer

MODELS = {"demo-llama": (2, "/model/layers.2/Add_1_output_0"),
          "demo-moe": (2, "/model/layers.2/Add_1_output_0"),
          "demo-gpt2": (1, "/transformer/h.1/Add_1_output_0")}
D_SAE, K, STEPS, BATCH, LR = 512, 16, 8000, 1024, 2e-3


def capture(folder, tensor, texts):
    m = onnx.load(os.path.join(folder, "onnx/model.onnx"))
    m.graph.output.append(onnx.helper.make_tensor_value_info(tensor, onnx.TensorProto.FLOAT, None))
    path = os.path.join(tempfile.mkdtemp(), "m.onnx")
    onnx.save(m, path)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    tok = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    rows, per_doc = [], []
    for text in texts:
        ids = tok.encode(text).ids[:128]
        feeds = {}
        for i in sess.get_inputs():
            if i.name == "input_ids":
                feeds[i.name] = np.array([ids], dtype=np.int64)
            elif i.name == "attention_mask":
                feeds[i.name] = np.ones((1, len(ids)), dtype=np.int64)
            elif i.name == "position_ids":
                feeds[i.name] = np.arange(len(ids), dtype=np.int64)[None]
            else:
                shape = [d if isinstance(d, int) else 0 for d in i.shape]
                shape[0] = 1
                feeds[i.name] = np.zeros(shape, dtype=np.float32)
        out = sess.run([tensor], feeds)[0][0]
        rows.append(out)
        per_doc.append(len(ids))
    return np.concatenate(rows).astype(np.float32)


def encode(p, x):
    pre = (x - p["b_dec"]) @ p["W_enc"] + p["b_enc"]
    v, i = pre.topk(K, dim=-1)
    return torch.zeros_like(pre).scatter(-1, i, v.relu())


def quality(p, x):
    f = encode(p, x)
    xhat = f @ p["W_dec"] + p["b_dec"]
    ev = 1 - ((x - xhat) ** 2).sum() / ((x - x.mean(0)) ** 2).sum()
    return float(ev), float((f > 0).float().sum(-1).mean()), int(((f > 0).sum(0) == 0).sum()), f


def train(x, seed):
    g = torch.Generator(device="cpu").manual_seed(seed)
    dev = x.device
    d = x.shape[1]
    W_dec = torch.randn(D_SAE, d, generator=g).to(dev)
    W_dec /= W_dec.norm(dim=-1, keepdim=True)
    scale = 1 / (x - x.mean(0)).pow(2).sum(-1).mean().sqrt()
    p = {"W_enc": (W_dec.T * scale * np.sqrt(d)).clone(), "b_enc": torch.zeros(D_SAE, device=dev), "W_dec": W_dec, "b_dec": x.mean(0).clone()}
    for t in p.values():
        t.requires_grad_(True)
    opt = torch.optim.Adam(p.values(), lr=LR)
    var = (x - x.mean(0)).pow(2).sum(-1).mean()
    last = torch.zeros(D_SAE, device=dev)
    for step in range(1, STEPS + 1):
        idx = torch.randint(0, x.shape[0], (BATCH,), generator=g).to(dev)
        xb = x[idx]
        f = encode(p, xb)
        err = (f @ p["W_dec"] + p["b_dec"] - xb).pow(2).sum(-1)
        loss = err.mean() / var
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            p["W_dec"] /= p["W_dec"].norm(dim=-1, keepdim=True)
            last[(f > 0).any(0)] = step
            if step % 500 == 0 and step < 0.6 * STEPS:
                dead = (step - last) > 500
                if dead.any():
                    worst = xb[err.argsort(descending=True)[: int(dead.sum())]] - p["b_dec"]
                    dirs = worst / worst.norm(dim=-1, keepdim=True)
                    p["W_dec"][dead] = dirs
                    p["W_enc"][:, dead] = dirs.T * scale * np.sqrt(d)
                    p["b_enc"][dead] = 0
                    last[dead] = step
            if step % 1000 == 0:
                print(f"  step {step}: loss {float(loss):.4f}, dead {int(((step - last) > 500).sum())}", flush=True)
    return {k: v.detach() for k, v in p.items()}


def main(root, corpus, out):
    texts = [json.loads(l)["text"] for l in open(corpus) if l.strip()]
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    metrics = {}
    for name, (layer, tensor) in MODELS.items():
        t0 = time.time()
        site = f"blocks.{layer}.hook_resid_post"
        tr = torch.from_numpy(capture(os.path.join(root, "models", name), tensor, texts[:-200])).to(dev)
        ho = torch.from_numpy(capture(os.path.join(root, "models", name), tensor, texts[-200:])).to(dev)
        print(f"{name}: {tr.shape[0]} train tokens, {ho.shape[0]} held out", flush=True)
        p = train(tr, 19)
        ev, l0, dead, _ = quality(p, ho)
        ev_tr, _, _, f_tr = quality(p, tr)
        density = (f_tr > 0).float().mean(0).clamp_min(0.5 / tr.shape[0])
        folder = os.path.join(out, name, "saes", site)
        os.makedirs(folder, exist_ok=True)
        save_file({k: v.float().cpu().contiguous() for k, v in p.items()}, os.path.join(folder, "sae_weights.safetensors"))
        save_file({"sparsity": density.log10().float().cpu().contiguous()}, os.path.join(folder, "sparsity.safetensors"))
        m = {"explained_variance_heldout": round(ev, 4), "l0_heldout": round(l0, 2), "dead_features_heldout": dead,
             "explained_variance_train": round(ev_tr, 4), "train_tokens": int(tr.shape[0]), "heldout_tokens": int(ho.shape[0]),
             "made_by": f"TopK SAE, {D_SAE} features, k {K}, {STEPS} Adam steps of {BATCH} tokens, lr {LR}, on the demo corpus ({dev})",
             "seconds": round(time.time() - t0, 1)}
        cfg = {"architecture": "topk", "d_in": int(tr.shape[1]), "d_sae": D_SAE, "k": K, "dtype": "float32", "device": "cpu",
               "apply_b_dec_to_input": True, "normalize_activations": "none",
               "metadata": {"model_name": name, "hook_name": site, "hook_head_index": None, "prepend_bos": False,
                            "context_size": 128, **m}}
        with open(os.path.join(folder, "cfg.json"), "w") as fh:
            json.dump(cfg, fh, indent=2)
        metrics[name] = {"site": site, **m}
        print(f"{name}: held-out explained variance {ev:.4f}, L0 {l0:.2f}, dead {dead}, {m['seconds']} s", flush=True)
    with open(os.path.join(out, "metrics.json"), "w") as fh:
        json.dump(metrics, fh, indent=1)


if __name__ == "__main__":
    main(*sys.argv[1:4])
