"""References for demo-llama's quantised variants and for demo-llama-tuned (onnxruntime, torch, safetensors).

python3 shift_refs.py OUT TUNED_FOLDER VARIANTS_FOLDER
Writes OUT/reference/demo-llama-tuned/ (float32 PyTorch on the tuned weights, read back from the
tuned ONNX file, every site of the three demo prompts, as measure.py writes demo references) and
OUT/reference/demo-llama-variants/ (`variant/<v>/<p>/logits`: each variant graph's own logits in
onnxruntime, with its difference from the float32 PyTorch reference).
"""
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.getcwd(), "tools", "models"))
sys.path.insert(0, HERE)
import arch  # noqa: E402
import common  # noqa: E402
import measure  # noqa: E402
import tune_demo  # noqa: E402


def main():
    out, tuned, variants = sys.argv[1:4]
    man = json.load(open("test/fixtures/reference/demo-llama/manifest.json"))
    prompts = [(p["text"], p["ids"]) for p in man["prompts"]]
    cfg = json.load(open(os.path.join(tuned, "config.json")))
    cfg["rope_theta"] = cfg.get("rope_parameters", {}).get("rope_theta", 10000.0)
    model = arch.DemoCausalLM(cfg)
    res = model.load_state_dict(tune_demo.onnx_state_dict(os.path.join(tuned, "onnx", "model.onnx")), strict=False)
    print("tuned weights: missing", res.missing_keys, "unexpected", res.unexpected_keys, flush=True)
    model.eval()
    caps = [measure.capture(model, ids)[0] for _, ids in prompts]
    sess = common.ort_session(os.path.join(tuned, "onnx", "model.onnx"))
    d = max(float(np.abs(sess.run(["logits"], common.ort_feeds(sess, ids))[0][0] - c["logits"].numpy()).max())
            for (_, ids), c in zip(prompts, caps))
    print(f"tuned: onnxruntime vs torch logits max |diff| {d:.2e}", flush=True)
    tol = {"abs": 1e-4, "note": "float32 PyTorch (CPU) vs onnxruntime CPU; logits and activations"}
    common.save_reference(os.path.join(out, "reference", "demo-llama-tuned"), "demo-llama-tuned", prompts, caps, {},
                          {"ort_vs_torch": d}, tol)

    from safetensors.numpy import load_file, save_file
    ref = load_file("test/fixtures/reference/demo-llama/tensors.safetensors")
    tensors, info = {}, {}
    for v in ("q4", "int8"):
        f = f"model_{v}.onnx"
        s = common.ort_session(os.path.join(variants, f))
        worst = 0.0
        for p, (_, ids) in enumerate(prompts):
            got = s.run(["logits"], common.ort_feeds(s, ids))[0][0]
            tensors[f"variant/{v}/{p}/logits"] = got.astype(np.float32)
            worst = max(worst, float(np.abs(got - ref[f"{p}/logits"]).max()))
        info[v] = {"file": f, "tolerance_own": 1e-4, "logits_vs_torch": worst, "tolerance_vs_torch": 2 * worst,
                   "note": "variant/<v>/<p>/logits: the variant graph's own logits in onnxruntime (CPU)"}
        print(v, json.dumps(info[v]), flush=True)
    d2 = os.path.join(out, "reference", "demo-llama-variants")
    os.makedirs(d2, exist_ok=True)
    save_file(tensors, os.path.join(d2, "tensors.safetensors"))
    with open(os.path.join(d2, "manifest.json"), "w") as fh:
        json.dump({"model": "demo-llama", "prompts": [{"text": t, "ids": i} for t, i in prompts], "variants": info}, fh, indent=1)


if __name__ == "__main__":
    main()
