"""Patching a routing decision on the PyTorch module: the reference for the engine's `routing` patch site.

python3 routing_patch_ref.py OUT [--demo-moe models/demo-moe] [--refs test/fixtures/reference]

For every layer L and corrupted position p, the corrupted prompt runs with layer L's router logits at p
replaced by the clean run's logits at p (a forward hook on the router module `mlp.gate` returns them),
so the layer chooses and weights its experts as in the clean run while they compute on the corrupted
activations. The model's own routing code does the rest. Prompts and answers: the committed demo-moe
patching case (clean and corrupted ids differ at one position). Writes OUT/demo-moe/routing_patch.json
(ids, answers, logit differences per cell) and routing_patch.safetensors (last-position logits of the
cells at and after the first differing position).
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from experts_ref import check_plain, load_demo_moe, load_ref, log, save_st  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--demo-moe", default="models/demo-moe")
    ap.add_argument("--refs", default="test/fixtures/reference")
    a = ap.parse_args()
    torch.manual_seed(0)
    model, c = load_demo_moe(a.demo_moe)
    man, ref = load_ref(a.refs, "demo-moe")
    check_plain("demo-moe", lambda seq: model.run(torch.tensor([seq]))[0][0], man["prompts"][0]["ids"], ref)
    pc = man["patching"]
    clean, corrupt = pc["clean_ids"], pc["corrupt_ids"]
    assert len(clean) == len(corrupt)
    correct, wrong = pc["answer_ids"]["clean"], pc["answer_ids"]["corrupt"]
    gates = {i: layer.mlp.gate for i, layer in enumerate(model.model.layers)}
    T = len(corrupt)

    captured = {}
    replace = {}  # layer -> (position, [E] logits)

    def hook_for(layer):
        def hook(m, args, out):
            flat = out.reshape(-1, out.shape[-1]).clone()
            if layer in replace:
                p, v = replace[layer]
                flat[p] = v
            captured[layer] = flat.detach().clone()
            return flat.reshape(out.shape)
        return hook

    handles = [g.register_forward_hook(hook_for(i)) for i, g in gates.items()]

    def last_logits(seq):
        with torch.no_grad():
            return model.run(torch.tensor([seq]))[0][0][-1].clone()

    def ld(x):
        return float(x[correct] - x[wrong])

    clean_last = last_logits(clean)
    clean_router = {L: v.clone() for L, v in captured.items()}
    corrupt_last = last_logits(corrupt)
    corrupt_router = {L: v.clone() for L, v in captured.items()}
    first = next(i for i in range(T) if clean[i] != corrupt[i])
    grid = []
    tensors = {}
    for L in sorted(gates):
        row = []
        for p in range(T):
            if torch.equal(clean_router[L][p], corrupt_router[L][p]):
                row.append(ld(corrupt_last))  # nothing to patch: the corrupted run
                continue
            replace.clear()
            replace[L] = (p, clean_router[L][p])
            x = last_logits(corrupt)
            replace.clear()
            # The hook saw the edited logits: the clean ones at p, the corrupted ones elsewhere.
            assert torch.equal(captured[L][p], clean_router[L][p])
            row.append(ld(x))
            tensors[f"L{L}/p{p}"] = x.numpy()
        grid.append(row)
    for h in handles:
        h.remove()
    out = os.path.join(a.out, "demo-moe")
    os.makedirs(out, exist_ok=True)
    save_st(os.path.join(out, "routing_patch.safetensors"), tensors)
    doc = {
        "model": "demo-moe",
        "clean_ids": clean,
        "corrupt_ids": corrupt,
        "correct": correct,
        "wrong": wrong,
        "first_differing_position": first,
        "baselines": {"clean": ld(clean_last), "corrupt": ld(corrupt_last)},
        "logit_diff": grid,
        "cells_with_logits": sorted(tensors),
        "note": "grid rows are layers 0..L-1, columns corrupted positions 0..T-1; router logits at (L, p) from the clean run",
    }
    json.dump(doc, open(os.path.join(out, "routing_patch.json"), "w"), indent=1)
    best = max(((v, L, p) for L, r in enumerate(grid) for p, v in enumerate(r)), key=lambda t: t[0])
    log(f"demo-moe routing patch: clean {doc['baselines']['clean']:.4f} corrupt {doc['baselines']['corrupt']:.4f}; "
        f"{len(tensors)} cells run; largest logit diff {best[0]:.4f} at L{best[1]} p{best[2]}")


if __name__ == "__main__":
    main()
