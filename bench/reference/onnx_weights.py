"""Loads the weights of an ONNX causal LM onto a plain-PyTorch module.

The TorchScript exporter keeps parameter names for tensors used as they are
(embeddings, norms, GPT-2's Conv1D), but folds the transpose of nn.Linear
weights into new initializers named onnx::MatMul_N, and merges equal tensors
into one (the others become Identity nodes of it). So each parameter is looked up by name first, then through the node
its module exported to: /<module path>/{MatMul,Gemm,Mul,Add,Gather} with an
initializer input of the right shape (transposed for MatMul).
"""
import os

import numpy as np
import onnx
import torch
from onnx import numpy_helper


def scope_of(module_path):
    """model.layers.3.self_attn.q_proj -> /model/layers.3/self_attn/q_proj (TorchScript export scopes)."""
    out = []
    for part in module_path.split("."):
        if part.isdigit() and out:
            out[-1] += "." + part
        else:
            out.append(part)
    return "/" + "/".join(out)


class OnnxWeights:
    def __init__(self, onnx_path):
        # load_external_data resolves model.onnx_data next to the file.
        m = onnx.load(onnx_path, load_external_data=True)
        self.arrays = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
        self.nodes = [(n.name, n.op_type, list(n.input)) for n in m.graph.node]
        # The exporter replaces a parameter equal to an earlier one by an Identity of it,
        # keeping the parameter's name as the Identity's output.
        for n in m.graph.node:
            if n.op_type == "Identity" and n.input[0] in self.arrays:
                self.arrays.setdefault(n.output[0], self.arrays[n.input[0]])
        self.file_bytes = os.path.getsize(onnx_path)

    def find(self, param_path, shape):
        """Returns a numpy array for a torch parameter of the given shape, or None."""
        a = self.arrays.get(param_path)
        if a is not None and tuple(a.shape) == tuple(shape):
            return a
        module, kind = param_path.rsplit(".", 1)
        prefix = scope_of(module) + "/"
        for name, op, inputs in self.nodes:
            if not name.startswith(prefix) or "/" in name[len(prefix):]:
                continue
            for inp in inputs:
                b = self.arrays.get(inp)
                if b is None:
                    continue
                if kind == "weight" and op == "MatMul" and b.ndim == 2 and tuple(b.T.shape) == tuple(shape):
                    return b.T
                if kind == "weight" and op in ("Mul", "Gather", "Gemm") and tuple(b.shape) == tuple(shape):
                    return b
                if kind == "bias" and op == "Add" and tuple(b.shape) == tuple(shape):
                    return b
        return None

    def load_into(self, model):
        """Copies every parameter; raises with the list of those not found."""
        missing = []
        seen = set()
        with torch.no_grad():
            for path, p in model.named_parameters():
                if id(p) in seen:
                    continue
                seen.add(id(p))
                a = self.find(path, p.shape)
                if a is None:
                    missing.append(f"{path} {tuple(p.shape)}")
                    continue
                p.copy_(torch.from_numpy(np.array(a, dtype=np.float32, order="C")))
        if missing:
            raise SystemExit("weights not found in the ONNX file: " + ", ".join(missing[:8]))

    def tied_head_diff(self, model):
        """Max |difference| between the exported lm_head matrix and the module's (tied) weight."""
        for name, op, inputs in self.nodes:
            if name == "/lm_head/MatMul":
                b = self.arrays.get(inputs[1])
                if b is not None:
                    return float(np.abs(b.T - model.lm_head.weight.detach().numpy()).max())
        return None
