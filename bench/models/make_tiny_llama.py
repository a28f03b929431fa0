"""A tiny random Llama (grouped-query attention, RoPE, SwiGLU, untied head) exported like
Optimum does, to test the reference's Llama path and ONNX weight mapping without the demo model.

    /usr/bin/python3 bench/models/make_tiny_llama.py OUT_DIR

Norm weights stay at 1.0 on purpose: the exporter then merges them into one initializer, the
case the reference's weight lookup must handle for freshly initialised models.
"""
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "reference"))
from llama_torch import Llama  # noqa: E402
from make_gpt2_small import export  # noqa: E402
from tokenizer_json import byte_level_tokenizer  # noqa: E402

CONFIG = {
    "model_type": "llama",
    "architectures": ["LlamaForCausalLM"],
    "vocab_size": 300,
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 256,
    "rms_norm_eps": 1e-5,
    "rope_theta": 10000.0,
    "tie_word_embeddings": False,
    "bos_token_id": 256,
    "eos_token_id": 256,
}


def main():
    out = sys.argv[1]
    os.makedirs(os.path.join(out, "onnx"), exist_ok=True)
    torch.manual_seed(0)
    model = Llama(CONFIG).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if not name.endswith("norm.weight"):
                p.normal_(0.0, 0.05)
    export(model, os.path.join(out, "onnx", "model.onnx"), 2, 2, 16, CONFIG["vocab_size"])
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=1)
    with open(os.path.join(out, "tokenizer.json"), "w") as f:
        json.dump(byte_level_tokenizer(256), f, ensure_ascii=False)


if __name__ == "__main__":
    main()
