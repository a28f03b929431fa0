"""Makes the 1B-class benchmark model: Llama-3.2-1B's shape with seeded random weights.

    /usr/bin/python3 bench/models/make_llama_1b.py [--out .cache/bench] [--seed 0] [--tiny]
                                                   [--variants fp32,q4] [--symmetric]

Writes <out>/llama-1b/ (or llama-1b-tiny/ with --tiny) in the Optimum / Transformers.js layout:
  onnx/model.onnx     + model.onnx_data     float32, weights as external data
  onnx/model_q4.onnx  + model_q4.onnx_data  every MatMul by a weight as MatMulNBits (bits 4,
                                            block 32, zero points unless --symmetric), q4.py
and config.json, generation_config.json, tokenizer.json, tokenizer_config.json.
Shape: 16 layers, width 2048, 32 heads, 8 key/value heads, MLP 8192, vocabulary 128,256, tied
embeddings (the head is the embedding's transpose, stored as its own tensor, as exporters do).
--tiny: 2 layers, width 128, 4 heads, 2 key/value heads, MLP 256, vocabulary 1,024 (for checks).
The graph is written directly (llama_onnx.py), so memory stays near the largest tensor (about
2 GB for the head) and nothing is downloaded. numpy and onnx only.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llama_onnx import build  # noqa: E402
from tokenizer_json import byte_level_tokenizer  # noqa: E402

EOS_ID = 128001

LLAMA_1B = {
    "model_type": "llama",
    "architectures": ["LlamaForCausalLM"],
    "vocab_size": 128256,
    "hidden_size": 2048,
    "intermediate_size": 8192,
    "num_hidden_layers": 16,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "head_dim": 64,
    "max_position_embeddings": 8192,
    "rms_norm_eps": 1e-5,
    "rope_theta": 500000.0,
    "tie_word_embeddings": True,
    "bos_token_id": EOS_ID,
    "eos_token_id": EOS_ID,
    "torch_dtype": "float32",
}
TINY = dict(
    LLAMA_1B,
    vocab_size=1024,
    hidden_size=128,
    intermediate_size=256,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    head_dim=32,
    bos_token_id=1000,
    eos_token_id=1000,
)

Q4 = {"block_size": 32, "symmetric": False, "accuracy_level": 4}


def write_meta(folder, cfg):
    eos = cfg["eos_token_id"]
    files = {
        "config.json": cfg,
        "generation_config.json": {"bos_token_id": eos, "eos_token_id": eos},
        "tokenizer_config.json": {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "bos_token": "<|endoftext|>",
            "eos_token": "<|endoftext|>",
            "model_max_length": cfg["max_position_embeddings"],
        },
        "tokenizer.json": byte_level_tokenizer(eos),
    }
    for name, obj in files.items():
        with open(os.path.join(folder, name), "w") as f:
            json.dump(obj, f, ensure_ascii=False, indent=1)


def make(out, tiny=False, seed=0, variants=("fp32", "q4"), q4=Q4, name=None):
    cfg = TINY if tiny else LLAMA_1B
    folder = os.path.join(out, name or ("llama-1b-tiny" if tiny else "llama-1b"))
    os.makedirs(os.path.join(folder, "onnx"), exist_ok=True)
    write_meta(folder, cfg)
    sizes = {}
    for v in variants:
        t = time.time()
        path = os.path.join(folder, "onnx", "model.onnx" if v == "fp32" else f"model_{v}.onnx")
        sizes.update(build(cfg, path, seed, None if v == "fp32" else q4))
        print(json.dumps({"variant": v, "seconds": round(time.time() - t, 1)}), flush=True)
    return folder, sizes


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=".cache/bench")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tiny", action="store_true")
    ap.add_argument("--variants", default="fp32,q4")
    ap.add_argument("--symmetric", action="store_true")
    args = ap.parse_args()
    variants = [v for v in args.variants.split(",") if v]
    for v in variants:
        if v not in ("fp32", "q4"):
            raise SystemExit(f"unknown variant {v}; variants: fp32, q4")
    folder, sizes = make(args.out, args.tiny, args.seed, variants, dict(Q4, symmetric=args.symmetric))
    print(json.dumps({"folder": folder, "bytes": sizes}))


if __name__ == "__main__":
    main()
