"""PyTorch reference for one steering vector applied over several layers with a weight each
(the per-layer-weight form): forward hooks add alpha * weight_L * vector to the output of
block L (resid_post) at every position, on the same weights as the ONNX model.

    /usr/bin/python3 bench/reference/steer_layers.py MODEL_DIR < SPEC.json > OUT.json

SPEC: {"ids": [...], "vector": [...], "alpha": a, "weights": [{"layer": L, "weight": w}, ...],
       "new_tokens": n}
OUT:  {"logits_last": [...] (last prompt position, steered), "greedy_ids": [...] (n new tokens)}
"""
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from torch_hooks import Runner, load_model  # noqa: E402


def main():
    model_dir = sys.argv[1]
    spec = json.load(sys.stdin)
    torch.set_num_threads(1)
    model, _ = load_model(model_dir, os.path.join(model_dir, "onnx", "model.onnx"))
    run = Runner(model)
    vec = torch.tensor(spec["vector"], dtype=torch.float32) * float(spec["alpha"])
    handles = []
    for w in spec["weights"]:
        add = vec * float(w["weight"])
        handles.append(run.blocks[int(w["layer"])].register_forward_hook(lambda _m, _a, out, add=add: (out[0] + add, *out[1:])))
    try:
        with torch.no_grad():
            logits, _ = run.forward(spec["ids"])
            last = logits[0, -1].tolist()
            greedy = run.generate(spec["ids"], int(spec["new_tokens"]))
    finally:
        for h in handles:
            h.remove()
    json.dump({"logits_last": last, "greedy_ids": greedy}, sys.stdout)


if __name__ == "__main__":
    main()
