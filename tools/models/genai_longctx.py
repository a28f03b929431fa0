"""The long-context layout of onnxruntime-genai's builder, derived from the llama-fp32 genai fixture.

    /usr/bin/python3 tools/models/genai_longctx.py     # writes test/fixtures/genai/llama-fp32-longctx

For models with a long-context rotary scaling (Phi-3 LongRoPE and the like) the builder keeps two
cos/sin caches, `cos_cache_small`/`sin_cache_small` and `cos_cache_large`/`sin_cache_large`, and picks
one with an `If` node (`/model/rotemb_caches_subgraph/If`) on
`Greater(total_sequence_length, original_max_position_embeddings)`; each branch outputs `cos_cache` and
`sin_cache` (Identity of the outer caches), which every GroupQueryAttention reads. Here the small
caches are the fixture's own (so its reference, copied along, still holds: its prompts are shorter
than the threshold) and the large ones rotate at half the frequency. The `If` is an ordinary node to
the map; only an `If` on `use_cache_branch` is a merged decoder.
"""
import os
import shutil

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SRC = os.path.join(ROOT, "test", "fixtures", "genai", "llama-fp32")
DST = os.path.join(ROOT, "test", "fixtures", "genai", "llama-fp32-longctx")
THRESHOLD = 64
TOTAL_LEN = "/model/attn_mask_reformat/attn_mask_subgraph/Gather/Cast/output_0"


def main():
    shutil.rmtree(DST, ignore_errors=True)
    shutil.copytree(SRC, DST, ignore=shutil.ignore_patterns("model.onnx", "model.onnx.data"))
    m = onnx.load(os.path.join(SRC, "model.onnx"))
    g = m.graph
    inits = {t.name: t for t in g.initializer}
    for kind in ("cos", "sin"):
        small = inits[f"{kind}_cache"]
        small.name = f"{kind}_cache_small"
        cache = numpy_helper.to_array(small)
        # cos/sin of position x inverse frequency (head_dim / 2 columns), at half the frequency.
        angles = np.outer(np.arange(cache.shape[0]), 0.5 / (10000.0 ** (np.arange(cache.shape[1]) / cache.shape[1])))
        large = np.cos(angles) if kind == "cos" else np.sin(angles)
        g.initializer.append(numpy_helper.from_array(large.astype(np.float32), f"{kind}_cache_large"))
    g.initializer.append(numpy_helper.from_array(np.array(THRESHOLD, dtype=np.int32), "/model/rotemb_caches_subgraph/threshold"))
    cond = "/model/rotemb_caches_subgraph/Greater/output_0"

    def branch(size):
        return helper.make_graph(
            [
                helper.make_node("Identity", [f"cos_cache_{size}"], ["cos_cache"], name=f"/model/rotemb_caches_subgraph/{size}/cos"),
                helper.make_node("Identity", [f"sin_cache_{size}"], ["sin_cache"], name=f"/model/rotemb_caches_subgraph/{size}/sin"),
            ],
            f"rotemb_caches_{size}",
            [],
            [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("cos_cache", "sin_cache")],
        )

    nodes = [
        helper.make_node("Greater", [TOTAL_LEN, "/model/rotemb_caches_subgraph/threshold"], [cond], name="/model/rotemb_caches_subgraph/Greater"),
        helper.make_node(
            "If", [cond], ["cos_cache", "sin_cache"], name="/model/rotemb_caches_subgraph/If", then_branch=branch("large"), else_branch=branch("small")
        ),
    ]
    # After the node that makes total_sequence_length, before the first attention.
    at = next(i for i, n in enumerate(g.node) if TOTAL_LEN in n.output) + 1
    for k, n in enumerate(nodes):
        g.node.insert(at + k, n)
    onnx.save_model(m, os.path.join(DST, "model.onnx"), save_as_external_data=True, all_tensors_to_one_file=True, location="model.onnx.data", size_threshold=1024)
    print(DST, sorted(os.listdir(DST)))


if __name__ == "__main__":
    main()
