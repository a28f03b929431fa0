"""The PyTorch-hooks reference: what TransformerLens, nnsight and baukit do underneath,
in plain PyTorch, on the same weights as the ONNX model.

    /usr/bin/python3 bench/reference/torch_hooks.py SPEC.json OUT.json

SPEC (written by bench/run.ts): {"model_dir", "onnx", "threads", "repeats", "warmup",
  "tasks": [...], "check": {"ids", "out"}, "plain": {"inputs": {"64": ids, ...}},
  "capture": {"inputs": {...}}, "sweep": {"clean", "corrupted", "layers", "positions",
  "correct", "wrong"}, "generate": {"prompt", "new_tokens", "steer_layer", "steer_vector", "repeats"}}
OUT: JSON with the environment (threads, BLAS and its measured GFLOP/s) and, per
task, timings in seconds as {"median", "min", "max", "samples"}.
"""
import json
import os
import statistics
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "models"))
sys.path.insert(0, HERE)
from gpt2_torch import GPT2  # noqa: E402
from llama_torch import Llama  # noqa: E402
from onnx_weights import OnnxWeights  # noqa: E402


def log(msg):
    print(f"[reference] {msg}", file=sys.stderr, flush=True)


def timed(fn, repeats, warmup):
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples), "samples": samples}


def blas_check():
    """OpenBLAS makes this product ~40x faster than reference BLAS; a slow number means the
    comparison is meaningless, so it is printed with every run."""
    a, b = torch.randn(64, 768), torch.randn(768, 3072)
    for _ in range(5):
        a @ b
    n, t = 100, time.perf_counter()
    for _ in range(n):
        a @ b
    gflops = 2 * 64 * 768 * 3072 * n / (time.perf_counter() - t) / 1e9
    with open("/proc/self/maps") as f:
        libs = sorted({line.split()[-1] for line in f if "blas" in line.lower() and "/" in line})
    return {"gflops_64x768x3072": round(gflops, 1), "blas_libraries": libs, "openblas": any("openblas" in l for l in libs)}


def load_model(model_dir, onnx_path):
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    kind = cfg.get("model_type")
    if kind == "gpt2":
        model = GPT2(cfg)
    elif kind == "llama":
        model = Llama(cfg)
    else:
        raise SystemExit(f"reference: model_type {kind!r} is not implemented (gpt2 and llama are)")
    w = OnnxWeights(onnx_path)
    w.load_into(model.eval())
    return model, {"model_type": kind, "tied_head_max_abs_diff": w.tied_head_diff(model)}


class Runner:
    def __init__(self, model):
        self.m = model
        self.blocks = model.blocks()

    def forward(self, ids, past=None, past_len=0):
        ids_t = torch.tensor([ids], dtype=torch.int64)
        s = ids_t.shape[1]
        mask = torch.ones(1, past_len + s, dtype=torch.int64)
        pos = torch.arange(past_len, past_len + s).unsqueeze(0)
        out = self.m(ids_t, mask, pos, *(past if past is not None else self.m.empty_past()))
        return out[0], list(out[1:])

    def capture(self, ids):
        """Forward hooks caching every resid_pre/mid/post and mlp post-activation (run_with_cache)."""
        cache, handles = {}, []
        for i, blk in enumerate(self.blocks):
            def pre(_m, args, i=i):
                cache[f"blocks.{i}.hook_resid_pre"] = args[0].detach()

            def post(_m, _args, out, i=i):
                cache[f"blocks.{i}.hook_resid_post"] = out[0].detach()

            def site(name):
                return lambda _m, _a, out: cache.__setitem__(name, out.detach())

            handles += [
                blk.register_forward_pre_hook(pre),
                blk.register_forward_hook(post),
                blk.hook_resid_mid.register_forward_hook(site(f"blocks.{i}.hook_resid_mid")),
                blk.mlp.hook_post.register_forward_hook(site(f"blocks.{i}.mlp.hook_post")),
            ]
        try:
            logits, _ = self.forward(ids)
        finally:
            for h in handles:
                h.remove()
        return logits, cache

    def patched(self, ids, layer, pos, clean_resid_pre):
        """One forward of the corrupted prompt with resid_pre[layer][:, pos] replaced by the clean value."""
        def pre(_m, args):
            x = args[0].clone()
            x[:, pos] = clean_resid_pre[:, pos]
            return (x, *args[1:])

        h = self.blocks[layer].register_forward_pre_hook(pre)
        try:
            logits, _ = self.forward(ids)
        finally:
            h.remove()
        return logits

    def sweep(self, spec):
        _, clean_cache = self.capture(spec["clean"])
        corrupted_logits, _ = self.forward(spec["corrupted"])
        c, w = spec["correct"], spec["wrong"]
        diffs = []
        for layer in range(spec["layers"]):
            clean = clean_cache[f"blocks.{layer}.hook_resid_pre"]
            row = []
            for pos in spec["positions"]:
                last = self.patched(spec["corrupted"], layer, pos, clean)[0, -1]
                row.append(float(last[c] - last[w]))
            diffs.append(row)
        last = corrupted_logits[0, -1]
        return {"logit_diff": diffs, "corrupted_logit_diff": float(last[c] - last[w])}

    def generate(self, prompt, n, steer=None):
        """Greedy decoding with past_key_values; steer = (layer, vector) adds the vector to
        resid_post of that layer at every position, as a steering hook does."""
        h = None
        if steer is not None:
            layer, vec = steer
            h = self.blocks[layer].register_forward_hook(lambda _m, _a, out: (out[0] + vec, *out[1:]))
        try:
            logits, past = self.forward(prompt)
            tokens, length = [], len(prompt)
            for step in range(n):
                nxt = int(logits[0, -1].argmax())
                tokens.append(nxt)
                if step == n - 1:
                    break  # n tokens = the prompt pass + n-1 single-token passes
                logits, past = self.forward([nxt], past, length)
                length += 1
        finally:
            if h is not None:
                h.remove()
        return tokens


def main():
    spec_path, out_path = sys.argv[1], sys.argv[2]
    with open(spec_path) as f:
        spec = json.load(f)
    torch.set_num_threads(int(spec.get("threads", 2)))
    torch.set_grad_enabled(False)
    out = {"env": {"torch": torch.__version__, "threads": torch.get_num_threads(), "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "default"), **blas_check()}}
    log(f"BLAS: {out['env']}")
    t = time.perf_counter()
    model, info = load_model(spec["model_dir"], spec["onnx"])
    out["env"].update(info, load_s=round(time.perf_counter() - t, 2))
    run = Runner(model)
    reps, warm = int(spec.get("repeats", 5)), int(spec.get("warmup", 1))
    tasks = spec["tasks"]
    with torch.inference_mode():
        if "check" in tasks:
            logits, _ = run.forward(spec["check"]["ids"])
            logits[0].numpy().astype(np.float32).tofile(spec["check"]["out"])
            out["check"] = {"shape": list(logits[0].shape), "file": spec["check"]["out"]}
        if "plain" in tasks:
            out["plain"] = {n: timed(lambda ids=ids: run.forward(ids), reps, warm) for n, ids in spec["plain"]["inputs"].items()}
            log(f"plain: { {n: round(v['median'], 4) for n, v in out['plain'].items()} }")
        if "capture" in tasks:
            out["capture"] = {n: timed(lambda ids=ids: run.capture(ids), reps, warm) for n, ids in spec["capture"]["inputs"].items()}
            log(f"capture: { {n: round(v['median'], 4) for n, v in out['capture'].items()} }")
        if "sweep" in tasks:
            sw = spec["sweep"]
            result = {}
            out["sweep"] = timed(lambda: result.update(run.sweep(sw)), int(sw.get("repeats", reps)), 0)
            out["sweep"].update(result, cells=sw["layers"] * len(sw["positions"]))
            log(f"sweep: {out['sweep']['median']:.2f} s for {out['sweep']['cells']} cells")
        if "generate" in tasks:
            g = spec["generate"]
            vec = torch.tensor(g["steer_vector"], dtype=torch.float32)
            res = {}
            for label, steer in (("unsteered", None), ("steered", (int(g["steer_layer"]), vec))):
                toks = []
                fn = lambda steer=steer: toks.append(run.generate(g["prompt"], g["new_tokens"], steer))  # noqa: E731
                res[label] = timed(fn, int(g.get("repeats", reps)), warm)
                res[label]["tokens"] = toks[-1]
                res[label]["tokens_per_s"] = g["new_tokens"] / res[label]["median"]
            out["generate"] = res
            log(f"generate tokens/s: unsteered {res['unsteered']['tokens_per_s']:.1f}, steered {res['steered']['tokens_per_s']:.1f}")
    with open(out_path, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
