"""A copy of demo-llama fine-tuned briefly on one topic (code), for the two-model diff.

Runs on the CPU with Debian's PyTorch 1.13 and onnx 1.12 (no tokenizers or onnxruntime needed):

  python3 tune_demo.py text OUT.txt                 # the topic's training text (corpus.code blocks)
  introspect tokenize --model models/demo-llama --text-file OUT.txt --no-special --json > IDS.json
  python3 tune_demo.py tune models/demo-llama models/demo-llama-tuned IDS.json \
      --reference test/fixtures/reference/demo-llama [--layer 2 --steps 300]

`tune` reads demo-llama's weights back from its ONNX initializers into arch.DemoCausalLM (MatMul
weights by the node that uses them, transposed to Linear layout), checks them against the committed
PyTorch reference logits, trains only the parameters of one decoder layer (a partial fine-tune, so
the place where the weights changed is known), exports to ONNX as train_demo.py does and writes the
relative weight change of every layer to OUT/tuning.json.
"""
import argparse
import json
import math
import os
import random
import shutil
import struct
import sys

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import arch  # noqa: E402
import corpus  # noqa: E402
import train_demo  # noqa: E402

EOS = "<|endoftext|>"


def write_text(out, n=1500, seed=31):
    rng = random.Random(seed)
    docs = ["\n".join(corpus.code(rng) for _ in range(rng.randint(1, 3))) for _ in range(n)]
    with open(out, "w") as f:
        f.write(EOS.join(docs))
    print(f"{n} code documents, {os.path.getsize(out)} bytes -> {out}")


def onnx_state_dict(path):
    """Parameter name -> tensor, from the initializers of a TorchScript export of arch.DemoCausalLM."""
    m = onnx.load(path)
    inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    sd = {k: torch.from_numpy(v.copy()) for k, v in inits.items() if k.startswith("model.")}
    for n in m.graph.node:
        if n.op_type != "MatMul" or n.input[1] not in inits:
            continue
        parts = n.name.strip("/").split("/")[:-1]  # /model/layers.0/self_attn/q_proj/MatMul
        if parts == ["lm_head"]:
            continue  # tied to the embedding
        sd[".".join(parts) + ".weight"] = torch.from_numpy(inits[n.input[1]].T.copy())
    return sd


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        out[k] = np.frombuffer(data[a:b], dtype=np.float32).reshape(v["shape"])
    return out


def layer_of(name):
    return int(name.split(".")[2]) if name.startswith("model.layers.") else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["text", "tune"])
    ap.add_argument("src")
    ap.add_argument("out", nargs="?")
    ap.add_argument("ids", nargs="?")
    ap.add_argument("--reference", default="")
    ap.add_argument("--layer", type=int, default=2)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--lr", type=float, default=2e-3)
    a = ap.parse_args()
    if a.what == "text":
        return write_text(a.src)
    torch.manual_seed(0)
    cfg = json.load(open(os.path.join(a.src, "config.json")))
    cfg["rope_theta"] = cfg.get("rope_parameters", {}).get("rope_theta", 10000.0)
    model = arch.DemoCausalLM(cfg)
    sd = onnx_state_dict(os.path.join(a.src, "onnx", "model.onnx"))
    res = model.load_state_dict(sd, strict=False)
    missing = [k for k in res.missing_keys if k != "lm_head.weight"]
    if missing or res.unexpected_keys:
        raise SystemExit(f"weights do not fit: missing {missing}, unexpected {res.unexpected_keys}")
    model.eval()
    report = {"layer_trained": a.layer, "steps": a.steps, "lr": a.lr, "topic": "code (corpus.code)"}
    if a.reference:
        man = json.load(open(os.path.join(a.reference, "manifest.json")))
        ref = read_safetensors(os.path.join(a.reference, "tensors.safetensors"))
        with torch.no_grad():
            got, _ = model.run(torch.tensor([man["prompts"][0]["ids"]]))
        d = float(np.abs(got[0].numpy() - ref["0/logits"]).max())
        print(f"weights read back from ONNX: logits vs the PyTorch reference max |diff| {d:.2e}")
        if d > 1e-4:
            raise SystemExit("the weights read back do not reproduce the reference logits")
        report["readback_max_abs_logit_diff"] = d
    ids = [t["id"] for t in json.load(open(a.ids))["tokens"]]
    stream = torch.tensor(ids, dtype=torch.long)
    print(f"training stream: {len(ids)} tokens")
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    prefix = f"model.layers.{a.layer}."
    for n, p in model.named_parameters():
        p.requires_grad = n.startswith(prefix)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=a.lr, betas=(0.9, 0.95), weight_decay=0.0)
    g = torch.Generator().manual_seed(5)
    seq, bsz = 96, 16
    model.train()
    for step in range(a.steps):
        for pg in opt.param_groups:
            pg["lr"] = a.lr * 0.5 * (1 + math.cos(math.pi * step / a.steps))
        starts = torch.randint(0, len(stream) - seq - 1, (bsz,), generator=g)
        rows = stream[starts[:, None] + torch.arange(seq + 1)[None]]
        logits, _ = model.run(rows[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), rows[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if step % 50 == 0 or step == a.steps - 1:
            print(f"  step {step} loss {loss.item():.3f}", flush=True)
        if step == 0:
            report["loss_first"] = loss.item()
    report["loss_last"] = loss.item()
    model.eval()
    after = model.state_dict()
    change = {}
    for k, w in before.items():
        L = layer_of(k)
        key = f"layer {L}" if L is not None else "other"
        d2, n2 = change.get(key, (0.0, 0.0))
        change[key] = (d2 + float(((after[k] - w) ** 2).sum()), n2 + float((w ** 2).sum()))
    report["relative_weight_change"] = {k: math.sqrt(d / n) for k, (d, n) in change.items()}
    print("relative weight change |dW|/|W|:", json.dumps(report["relative_weight_change"]))
    os.makedirs(os.path.join(a.out, "onnx"), exist_ok=True)
    for f in ("config.json", "tokenizer.json", "tokenizer_config.json", "generation_config.json"):
        shutil.copy(os.path.join(a.src, f), a.out)
    path = os.path.join(a.out, "onnx", "model.onnx")
    train_demo.export(model, path)
    with torch.no_grad():
        x = torch.tensor([ids[:40]])
        report["probe_ids"] = ids[:40]
        report["probe_logits_first_row"] = model.run(x)[0][0, 0, :8].tolist()
    with open(os.path.join(a.out, "tuning.json"), "w") as f:
        json.dump(report, f, indent=1)
    print(f"exported {path} ({os.path.getsize(path) / 2**20:.2f} MB)")


if __name__ == "__main__":
    main()
