"""Merged decoders (Optimum / Transformers.js `decoder_model_merged*.onnx`) made from a zoo export.

Run with Debian's onnx (no onnxruntime or PyTorch needed):

    /usr/bin/python3 tools/models/merged_fixtures.py [OUT]     # default OUT: test/fixtures/merged

Optimum's `merge_decoders` joins a decoder exported without past and one exported with past into one
graph: an `If` node named `optimum::if` on a bool input `use_cache_branch` (shape [1]), whose
`then_branch` is the with-past decoder and `else_branch` the one without; both branches' graph
inputs are cleared (they read the outer graph's inputs by name), their outputs keep the decoder's
output names (`logits`, `present.{i}.key/value`), which are also the `If` node's outputs and the
outer graph's. Initializers the two decoders share are moved to the outer graph once; the rest stay in
their branch. The outer graph's inputs are the with-past decoder's plus `use_cache_branch`.

Here the with-past decoder is the zoo's TorchScript llama export (`test/fixtures/zoo/llama-torchscript`,
which takes an empty past too), and the decoder without past is the same graph with each
`past_key_values.*` read replaced by an empty [batch, kv_heads, 0, head_dim] tensor made inside the
branch (`ConstantOfShape` of a branch-local shape initializer): what a decoder traced without past
computes. Every variant the zoo folder holds is merged (model.onnx, model_fp16, model_int8 as
`_quantized`, model_q4), the float32 one with its shared weights in external data
(`decoder_model_merged.onnx_data`), as large merged exports are. The references are the zoo's:
`test/fixtures/reference/llama` (float32 PyTorch, and each variant graph's own tensors).
"""
import os
import shutil
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOURCE = os.path.join(ROOT, "test", "fixtures", "zoo", "llama-torchscript")
# zoo variant file suffix -> merged file suffix (Transformers.js calls the int8 graph "quantized").
VARIANTS = {"": "", "_fp16": "_fp16", "_int8": "_quantized", "_q4": "_q4"}


def topo_sorted(graph, outer):
    """The graph's nodes in dependency order (onnxruntime sorts a main graph itself, not a branch)."""
    ready = set(outer) | {t.name for t in graph.initializer} | {""}
    pending = list(graph.node)
    out = []
    while pending:
        rest = []
        for n in pending:
            if all(x in ready for x in n.input):
                out.append(n)
                ready.update(n.output)
            else:
                rest.append(n)
        if len(rest) == len(pending):
            raise SystemExit(f"{graph.name}: nodes {[n.name for n in rest[:3]]} read tensors nothing produces")
        pending = rest
    del graph.node[:]
    graph.node.extend(out)


def no_past_branch(graph, past_inputs):
    """The decoder without past: each past input read as an empty tensor built in the branch."""
    g = onnx.GraphProto()
    g.CopyFrom(graph)
    g.name = graph.name + "_no_past"
    del g.input[:]
    nodes = []
    batch = "optimum_no_past/batch"
    nodes.append(helper.make_node("Shape", ["input_ids"], ["optimum_no_past/ids_shape"], name="optimum_no_past/Shape"))
    nodes.append(
        helper.make_node(
            "Gather", ["optimum_no_past/ids_shape", "optimum_no_past/zero"], [batch], name="optimum_no_past/Gather", axis=0
        )
    )
    inits = [numpy_helper.from_array(np.array([0], dtype=np.int64), "optimum_no_past/zero")]
    rename = {}
    for p in past_inputs:
        dims = p.type.tensor_type.shape.dim
        heads, head_dim = dims[1].dim_value, dims[3].dim_value
        rest = f"optimum_no_past/{p.name}/rest"
        inits.append(numpy_helper.from_array(np.array([heads, 0, head_dim], dtype=np.int64), rest))
        shape = f"optimum_no_past/{p.name}/shape"
        empty = f"optimum_no_past/{p.name}"
        nodes.append(helper.make_node("Concat", [batch, rest], [shape], name=f"{shape}/Concat", axis=0))
        zero = helper.make_tensor("value", p.type.tensor_type.elem_type, [1], [0])
        nodes.append(helper.make_node("ConstantOfShape", [shape], [empty], name=f"{empty}/ConstantOfShape", value=zero))
        rename[p.name] = empty
    for n in g.node:
        for i, x in enumerate(n.input):
            if x in rename:
                n.input[i] = rename[x]
    old = list(g.node)
    del g.node[:]
    g.node.extend(nodes + old)
    g.initializer.extend(inits)
    return g


def merge(src_path, dst_path, external):
    m = onnx.load(src_path)
    graph = m.graph
    past = [i for i in graph.input if i.name.startswith("past_key_values")]
    if not past:
        raise SystemExit(f"{src_path} has no past_key_values inputs: a merged decoder needs a with-past export")
    with_past = onnx.GraphProto()
    with_past.CopyFrom(graph)
    with_past.name = graph.name + "_with_past"
    del with_past.input[:]
    without = no_past_branch(graph, past)
    outer_names = [i.name for i in graph.input] + [t.name for t in graph.initializer]
    topo_sorted(with_past, outer_names)
    topo_sorted(without, outer_names)
    # Shared initializers (every one of the with-past decoder's, since both branches come from one
    # export) move to the outer graph; the no-past branch keeps its own shape constants.
    shared = list(graph.initializer)
    shared_names = {t.name for t in shared}
    for b in (with_past, without):
        keep = [t for t in b.initializer if t.name not in shared_names]
        del b.initializer[:]
        b.initializer.extend(keep)
    if_node = helper.make_node(
        "If",
        ["use_cache_branch"],
        [o.name for o in graph.output],
        name="optimum::if",
        then_branch=with_past,
        else_branch=without,
    )
    inputs = list(graph.input) + [helper.make_tensor_value_info("use_cache_branch", TensorProto.BOOL, [1])]
    outer = helper.make_graph([if_node], "merged_decoder", inputs, list(graph.output), initializer=shared)
    merged = helper.make_model(outer, opset_imports=list(m.opset_import), producer_name="optimum-style merge")
    merged.ir_version = m.ir_version
    if external:
        data = os.path.basename(dst_path) + "_data"
        onnx.save_model(merged, dst_path, save_as_external_data=True, all_tensors_to_one_file=True, location=data, size_threshold=1024)
    else:
        onnx.save_model(merged, dst_path)


def main():
    out = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "test", "fixtures", "merged"))
    folder = os.path.join(out, "llama")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(os.path.join(folder, "onnx"))
    for f in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(SOURCE, f), os.path.join(folder, f))
    for zoo_suffix, merged_suffix in VARIANTS.items():
        src = os.path.join(SOURCE, "onnx", f"model{zoo_suffix}.onnx")
        dst = os.path.join(folder, "onnx", f"decoder_model_merged{merged_suffix}.onnx")
        merge(src, dst, external=merged_suffix == "")
        print(os.path.relpath(dst, ROOT), os.path.getsize(dst))


if __name__ == "__main__":
    main()
