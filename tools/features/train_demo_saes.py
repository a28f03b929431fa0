"""Trains the TopK SAE shipped with each demo model (SAELens layout) on the demo corpus, on the CPU.

Activations: written by tools/features/capture.ts (the engine's capture of the middle layer's
hook_resid_post over models/data/feature-corpus.jsonl; tensors `train` and `heldout`, the last 200
documents held out). Training: TopK (k 16), 512 features, Adam, decoder rows at unit norm, dead
features re-seeded from badly reconstructed tokens during the first 60 % of training, a wall-time
cap. PyTorch 1.13 on the CPU is enough for width 128.

  /usr/bin/python3 tools/features/train_demo_saes.py MODEL SITE ACTS.safetensors OUT_FOLDER
writes OUT_FOLDER/{cfg.json,sae_weights.safetensors,sparsity.safetensors}.
"""
import json
import os
import struct
import sys
import time

import numpy as np
import torch

D_SAE, K, STEPS, BATCH, LR, WALL_S = 512, 16, 1500, 512, 3e-3, 200


def read_safetensors(path):
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8 : 8 + n])
    out = {}
    for name, e in header.items():
        if name != "__metadata__":
            a, b = e["data_offsets"]
            out[name] = np.frombuffer(buf[8 + n + a : 8 + n + b], dtype="<f4").reshape(e["shape"]).copy()
    return out


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, arr in tensors.items():
        b = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


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
    start = time.time()
    for step in range(1, STEPS + 1):
        if time.time() - start > WALL_S:
            print(f"  stopped at step {step - 1}: wall-time cap {WALL_S} s", flush=True)
            break
        STEPS_DONE[0] = step
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
            if step % 250 == 0 and step < 0.6 * STEPS:
                dead = (step - last) > 250
                if dead.any():
                    worst = xb[err.argsort(descending=True)[: int(dead.sum())]] - p["b_dec"]
                    dirs = worst / worst.norm(dim=-1, keepdim=True)
                    p["W_dec"][dead] = dirs
                    p["W_enc"][:, dead] = dirs.T * scale * np.sqrt(d)
                    p["b_enc"][dead] = 0
                    last[dead] = step
            if step % 100 == 0:
                print(f"  {time.time() - start:.0f} s, step {step}: loss {float(loss):.4f}, dead {int(((step - last) > 500).sum())}", flush=True)
    return {k: v.detach() for k, v in p.items()}


def main(name, site, acts, folder):
    t0 = time.time()
    torch.set_num_threads(1)
    a = read_safetensors(acts)
    tr, ho = torch.from_numpy(a["train"]), torch.from_numpy(a["heldout"])
    print(f"{name}: {tr.shape[0]} train tokens, {ho.shape[0]} held out", flush=True)
    p = train(tr, 19)
    ev, l0, dead, _ = quality(p, ho)
    ev_tr, _, _, f_tr = quality(p, tr)
    density = (f_tr > 0).float().mean(0).clamp_min(0.5 / tr.shape[0])
    os.makedirs(folder, exist_ok=True)
    write_safetensors(os.path.join(folder, "sae_weights.safetensors"), {k: v.numpy() for k, v in p.items()})
    write_safetensors(os.path.join(folder, "sparsity.safetensors"), {"sparsity": density.log10().numpy()})
    m = {"explained_variance_heldout": round(ev, 4), "l0_heldout": round(l0, 2), "dead_features_heldout": dead,
         "explained_variance_train": round(ev_tr, 4), "train_tokens": int(tr.shape[0]), "heldout_tokens": int(ho.shape[0]),
         "made_by": f"TopK SAE, {D_SAE} features, k {K}, {STEPS_DONE[0]} Adam steps of {BATCH} tokens, lr {LR}, on the demo corpus (CPU)",
         "seconds": round(time.time() - t0, 1)}
    cfg = {"architecture": "topk", "d_in": int(tr.shape[1]), "d_sae": D_SAE, "k": K, "dtype": "float32", "device": "cpu",
           "apply_b_dec_to_input": True, "normalize_activations": "none",
           "metadata": {"model_name": name, "hook_name": site, "hook_head_index": None, "prepend_bos": False,
                        "context_size": 128, **m}}
    with open(os.path.join(folder, "cfg.json"), "w") as fh:
        json.dump(cfg, fh, indent=2)
    print(json.dumps({name: {"site": site, **m}}), flush=True)


STEPS_DONE = [0]

if __name__ == "__main__":
    main(*sys.argv[1:5])
