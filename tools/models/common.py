"""Helpers shared by the demo and zoo scripts: prompts, reference files, ONNX checks."""
import json
import os

import numpy as np
import torch

# Fixed reference prompts (prompt 0 is the one the unit test runs).
PROMPTS = [
    "When Mary and John went to the store, John gave a drink to",
    "The movie was wonderful. I loved it and",
    "17 + 25 = 42\ndef add(x):\n    return x",
]


def site_order(name):
    """Sort key: layer, then the order of sites inside a block."""
    order = ["hook_resid_pre", "attn.hook_pattern", "hook_attn_out", "hook_resid_mid", "moe.hook_router_logits",
             "mlp.hook_post", "hook_mlp_out", "hook_resid_post"]
    if name.startswith("blocks."):
        _, layer, rest = name.split(".", 2)
        return (int(layer), order.index(rest) if rest in order else 99, rest)
    return (10 ** 6, 0, name)


def save_reference(out_dir, model_name, prompts, captures, extra_tensors, manifest_extra, tolerance):
    """captures: list (one per prompt) of {site: tensor without batch dim}, 'logits' included."""
    from safetensors.torch import save_file
    os.makedirs(out_dir, exist_ok=True)
    tensors = {}
    for p, cap in enumerate(captures):
        for site, t in cap.items():
            tensors[f"{p}/{site}"] = t.detach().float().cpu().contiguous()
    for k, t in extra_tensors.items():
        tensors[k] = t.detach().float().cpu().contiguous()
    save_file(tensors, os.path.join(out_dir, "tensors.safetensors"))
    sites = sorted({s for cap in captures for s in cap}, key=site_order)
    manifest = {
        "model": model_name,
        "prompts": [{"text": t, "ids": [int(i) for i in ids]} for t, ids in prompts],
        "sites": sites,
        "shapes": {s: list(captures[0][s].shape) for s in sites},
        "tolerance": tolerance,
    }
    manifest.update(manifest_extra)
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


def ort_session(path):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.log_severity_level = 3
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def ort_feeds(sess, ids, past=None, start=0, total=None):
    """Feeds for any of our exports: empty past tensors when the graph has them."""
    ids = np.asarray(ids, dtype=np.int64)[None]
    total = total or start + ids.shape[1]
    feeds = {}
    for inp in sess.get_inputs():
        n = inp.name
        if n == "input_ids":
            feeds[n] = ids
        elif n == "attention_mask":
            feeds[n] = np.ones((1, total), dtype=np.int64)
        elif n == "position_ids":
            feeds[n] = np.arange(start, start + ids.shape[1], dtype=np.int64)[None]
        elif n.startswith("past_key_values"):
            if past is not None:
                feeds[n] = past[n]
            else:
                shape = [1 if not isinstance(d, int) and i == 0 else (0 if not isinstance(d, int) else d)
                         for i, d in enumerate(inp.shape)]
                feeds[n] = np.zeros(shape, dtype=np.float16 if inp.type == "tensor(float16)" else np.float32)
        else:
            raise ValueError(f"unexpected input {n}")
    return feeds


def file_mb(path):
    total = os.path.getsize(path)
    data = path + "_data"
    if os.path.exists(data):
        total += os.path.getsize(data)
    return total / 2 ** 20
