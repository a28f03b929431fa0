"""PyTorch reference for per-head activation patching on demo-llama: for every layer and head, the
corrupted run with that head's slice of attn.hook_z (the input of o_proj, [seq, heads * head_dim])
replaced by the clean run's at every position paired from the end; the last position's logits.

python3 head_patch_ref.py MODEL_FOLDER IDS.json OUT.json
IDS.json: {"pairs": [{"name", "clean_ids", "corrupt_ids", "correct", "wrong"}]}, the output itself will do (the prompts
as the engine tokenises them). Runs on the CPU with Debian's PyTorch 1.13 and onnx 1.12: the weights
are read back from the model's ONNX initializers into arch.py. Logit rows are stored as base64
little-endian float32 ([vocab] for the clean and corrupted runs, [layers * heads, vocab] patched).
"""
import base64
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import arch  # noqa: E402
import tune_demo  # noqa: E402


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f4").tobytes()).decode()


def run(model, ids, z_edit=None):
    """Last-position logits; z_edit(layer, z) may replace o_proj's input, and all z inputs are recorded."""
    zs = {}
    hooks = []
    for i, layer in enumerate(model.model.layers):
        def pre(_mod, inputs, i=i):
            z = inputs[0]
            if z_edit is not None:
                z = z_edit(i, z)
            zs[i] = z.detach().clone()
            return (z,)
        hooks.append(layer.self_attn.o_proj.register_forward_pre_hook(pre))
    try:
        with torch.no_grad():
            logits, _ = model.run(torch.tensor([ids]))
    finally:
        for h in hooks:
            h.remove()
    return logits[0, -1].double().numpy(), zs


def main():
    folder, ids_file, out = sys.argv[1:4]
    cfg = json.load(open(os.path.join(folder, "config.json")))
    cfg["rope_theta"] = cfg.get("rope_parameters", {}).get("rope_theta", 10000.0)
    model = arch.DemoCausalLM(cfg)
    model.load_state_dict(tune_demo.onnx_state_dict(os.path.join(folder, "onnx", "model.onnx")), strict=False)
    model.eval()
    L, H, dh = cfg["num_hidden_layers"], cfg["num_attention_heads"], cfg["head_dim"]
    result = {"model": os.path.basename(folder), "layers": L, "heads": H, "head_dim": dh, "pairs": []}
    for pair in json.load(open(ids_file))["pairs"]:
        clean_ids, corrupt_ids = pair["clean_ids"], pair["corrupt_ids"]
        shared = min(len(clean_ids), len(corrupt_ids))
        offset = len(clean_ids) - len(corrupt_ids)  # clean position = corrupt position + offset
        corrupt_pos = list(range(len(corrupt_ids) - shared, len(corrupt_ids)))
        clean_logits, clean_z = run(model, clean_ids)
        corrupt_logits, _ = run(model, corrupt_ids)
        c, w = pair["correct"], pair.get("wrong_id", pair.get("wrong"))
        ld_clean = clean_logits[c] - clean_logits[w]
        ld_corrupt = corrupt_logits[c] - corrupt_logits[w]
        rows, normalised = [], []
        for layer in range(L):
            for head in range(H):
                def edit(i, z, layer=layer, head=head):
                    if i != layer:
                        return z
                    z = z.clone()
                    sl = slice(head * dh, (head + 1) * dh)
                    for p in corrupt_pos:
                        z[0, p, sl] = clean_z[layer][0, p + offset, sl]
                    return z
                logits, _ = run(model, corrupt_ids, edit)
                rows.append(logits)
                normalised.append(float((logits[c] - logits[w] - ld_corrupt) / (ld_clean - ld_corrupt)))
        print(pair["name"], " ".join(f"{x:.3f}" for x in normalised), flush=True)
        result["pairs"].append({
            "name": pair["name"],
            "clean_ids": clean_ids,
            "corrupt_ids": corrupt_ids,
            "correct": c,
            "wrong": w,
            "clean_logits": b64(clean_logits),
            "corrupt_logits": b64(corrupt_logits),
            "patched_logits": b64(np.stack(rows)),
            "normalised": normalised,
        })
    with open(out, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
