"""PyTorch reference for PPL-p% sparsity on demo-llama: perplexity over token rows with every MLP
activation (mlp.hook_post, the input of down_proj) of magnitude below a threshold set to 0.

python3 sparsity_ref.py MODEL_FOLDER IDS.json OUT.json THRESHOLD...
IDS.json: {"rows": [[ids], ...]} (the text set as the engine tokenises it). Runs on the CPU with
Debian's PyTorch 1.13 and onnx 1.12: the weights are read back from the model's ONNX initializers.
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import arch  # noqa: E402
import tune_demo  # noqa: E402


def main():
    folder, ids_file, out = sys.argv[1:4]
    thresholds = [float(x) for x in sys.argv[4:]]
    cfg = json.load(open(os.path.join(folder, "config.json")))
    cfg["rope_theta"] = cfg.get("rope_parameters", {}).get("rope_theta", 10000.0)
    model = arch.DemoCausalLM(cfg)
    model.load_state_dict(tune_demo.onnx_state_dict(os.path.join(folder, "onnx", "model.onnx")), strict=False)
    model.eval()
    rows = json.load(open(ids_file))["rows"]
    result = {"model": os.path.basename(folder), "rows": rows, "ppl": {}}
    for t in [None] + thresholds:
        def hook(name, x):
            return x * (x.abs() >= t) if t is not None and name.endswith("mlp.hook_post") else x
        nll, n = 0.0, 0
        with torch.no_grad():
            for ids in rows:
                logits, _ = model.run(torch.tensor([ids]), hook=hook)
                lp = torch.log_softmax(logits[0].double(), -1)
                nll -= float(lp[torch.arange(len(ids) - 1), torch.tensor(ids[1:])].sum())
                n += len(ids) - 1
        ppl = float(torch.exp(torch.tensor(nll / n)))
        result["ppl"]["baseline" if t is None else repr(t)] = ppl
        print(t, ppl, flush=True)
    with open(out, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
