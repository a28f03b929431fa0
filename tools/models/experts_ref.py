"""Mixture-of-experts interventions on the PyTorch modules: the references for the engine's expert edits.

python3 experts_ref.py OUT [--zoo-types mixtral,olmoe,...] [--demo-moe models/demo-moe] [--refs test/fixtures/reference]

Every intervention acts on a layer's router logits (the router projection's output, its bias included,
before the gate), exactly where the architecture map puts moe.hook_router_logits:
- off:   expert e's logit becomes -inf (before top-k), for every token;
- force: expert e's logit gets +FORCE_LOGIT at the chosen positions;
- bias:  a vector over the experts is added to the logits of every token;
- topk:  the router routes each token to k experts (the router's own `top_k`).
The architecture's own code then renormalises (softmax then top-k, top-k then softmax, sigmoid with a
correction bias, sparsemixer), and shared experts are untouched: the hooks change nothing else.

How the logits are edited: during a router module's forward, torch.nn.functional.linear is wrapped so
that its call with the router's weight returns edited logits (Hugging Face routers and nn.Linear both
call it). Each pass counts the edits and fails when a router was not reached. top-k is set on the
router and MoE modules' `top_k` attribute and checked on the experts' selected indices.

Zoo models are rebuilt with zoo.py's builders and seeds; their plain logits are compared with the
committed reference first (demo-moe: weights read back from its ONNX file into arch.py's model).
Writes OUT/<type>/experts.json (interventions, greedy ids, margins) + experts.safetensors (logits).
"""
import argparse
import json
import os
import re
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

FORCE_LOGIT = 1e4
GREEDY = 6
KEEP = 4  # logits rows kept: the last KEEP positions
ZOO_TYPES = ["mixtral", "olmoe", "qwen2_moe", "qwen3_moe", "deepseek_v3", "gpt_oss", "phimoe"]


def log(*a):
    print(*a, flush=True)


class RouterEdits:
    """Edits router logits through F.linear while a router module runs."""

    def __init__(self, routers):
        self.routers = routers  # {layer: module owning the [E, d] weight}
        self.active = []
        self.spec = {}  # layer -> (add [E] tensor or None, force {pos: [experts]})
        self.count = {}
        self.orig = torch.nn.functional.linear
        self.handles = []
        def enter(layer):
            def pre(m, a):
                self.active.append(layer)
            return pre

        def leave(m, a, o):
            self.active.pop()

        for layer, mod in routers.items():
            self.handles.append(mod.register_forward_pre_hook(enter(layer)))
            self.handles.append(mod.register_forward_hook(leave))
        edits = self

        def linear(x, w, b=None):
            y = edits.orig(x, w, b)
            if not edits.active:
                return y
            layer = edits.active[-1]
            r = edits.routers[layer]
            if w.shape != r.weight.shape or w.data_ptr() != r.weight.data_ptr():
                return y
            edits.count[layer] = edits.count.get(layer, 0) + 1
            return edits.apply(layer, y)

        self.linear = linear
        torch.nn.functional.linear = linear

    def apply(self, layer, y):
        add, force = self.spec.get(layer, (None, {}))
        if add is None and not force:
            return y
        E = y.shape[-1]
        flat = y.reshape(-1, E).clone()
        if add is not None:
            flat = flat + add.to(flat.dtype)
        for pos, experts in force.items():
            if pos < flat.shape[0]:
                for e in experts:
                    flat[pos, e] = flat[pos, e] + FORCE_LOGIT
        return flat.reshape(y.shape)

    def set(self, interventions, E):
        self.spec = {}
        for iv in interventions:
            if iv["kind"] == "topk":
                continue
            add, force = self.spec.get(iv["layer"], (None, {}))
            if iv["kind"] == "off":
                add = (add if add is not None else torch.zeros(E))
                add = add.clone()
                add[iv["expert"]] = float("-inf")
            elif iv["kind"] == "bias":
                add = (add if add is not None else torch.zeros(E)) + torch.tensor(iv["values"], dtype=torch.float32)
            elif iv["kind"] == "force":
                force = dict(force)
                for p in iv["positions"]:
                    force.setdefault(p, []).append(iv["expert"])
            self.spec[iv["layer"]] = (add, force)

    def close(self):
        torch.nn.functional.linear = self.orig
        for h in self.handles:
            h.remove()


def set_top_k(block, k):
    """Sets `top_k` on the MoE block and its non-expert submodules; returns the previous values."""
    old = []
    for name, m in block.named_modules():
        if "expert" in name.split(".")[-1] and name:
            continue
        if hasattr(m, "top_k") and isinstance(getattr(m, "top_k"), int):
            old.append((m, m.top_k))
            m.top_k = k
    return old


def selected_k_hooks(blocks):
    """Records the width of the selected-experts index tensor each experts module receives."""
    seen, handles = {}, []
    for layer, block in blocks.items():
        ex = getattr(block, "experts", None)
        if ex is None or isinstance(ex, torch.nn.ModuleList):
            continue

        def pre(m, args, kwargs, layer=layer):
            # The selected experts: the first integer tensor among the arguments.
            for x in list(args) + list(kwargs.values()):
                if torch.is_tensor(x) and not x.is_floating_point() and x.dim() >= 1:
                    seen[layer] = int(x.shape[-1])
                    break
        handles.append(ex.register_forward_pre_hook(pre, with_kwargs=True))
    return seen, handles


def run_all(name, forward, routers, blocks, E, ids, interventions, topk_ok, out_dir, k_seen=None):
    """forward(ids list) -> logits [T, V]. Writes the files; returns a summary."""
    edits = RouterEdits(routers)
    tensors, manifest = {}, {"model": name, "prompt_ids": ids, "force_logit": FORCE_LOGIT, "greedy_steps": GREEDY,
                              "experts": E, "moe_layers": sorted(routers), "logits_rows": f"the last {KEEP} positions", "cases": []}
    try:
        for case_name, ivs in interventions:
            if any(iv["kind"] == "topk" for iv in ivs) and not topk_ok:
                manifest["cases"].append({"name": case_name, "interventions": ivs, "refused": True})
                continue
            try:
                manifest["cases"].append(one_case(edits, forward, routers, blocks, E, ids, case_name, ivs, tensors, k_seen))
            except Exception as e:  # reported in the file; the other cases still run
                log(f"  {name} {case_name}: FAILED {type(e).__name__}: {e}")
                manifest["cases"].append({"name": case_name, "interventions": ivs, "error": f"{type(e).__name__}: {str(e)[:300]}"})
    finally:
        edits.close()
    os.makedirs(out_dir, exist_ok=True)
    save_st(os.path.join(out_dir, "experts.safetensors"), tensors)
    with open(os.path.join(out_dir, "experts.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    return manifest


def one_case(edits, forward, routers, blocks, E, ids, case_name, ivs, tensors, k_seen):
    """One intervention set: logits of the prompt and greedy ids (full recompute each step)."""
    edits.set(ivs, E)
    olds = []
    for iv in ivs:
        if iv["kind"] == "topk":
            olds += set_top_k(blocks[iv["layer"]], iv["k"])
    seen, hs = selected_k_hooks(blocks) if k_seen is None else (k_seen, [])
    seen.clear()
    try:
        edits.count = {}
        with torch.no_grad():
            logits = forward(ids)
        missing = [L for L in routers if edits.count.get(L, 0) == 0]
        if missing:
            raise RuntimeError(f"the router of layers {missing} was not edited (no F.linear call)")
        for iv in ivs:
            if iv["kind"] == "topk" and iv["layer"] in seen and seen[iv["layer"]] != iv["k"]:
                raise RuntimeError(f"top-k {iv['k']} at layer {iv['layer']} routed {seen[iv['layer']]}")
            if iv["kind"] == "topk" and iv["layer"] not in seen:
                raise RuntimeError(f"could not check top-k at layer {iv['layer']}")
        seq = list(ids)
        margins = []
        with torch.no_grad():
            for _ in range(GREEDY):
                lg = forward(seq)[-1]
                top2 = torch.topk(lg, 2).values
                margins.append(float(top2[0] - top2[1]))
                seq.append(int(lg.argmax()))
    finally:
        for h in hs:
            h.remove()
        for m, k in olds:
            m.top_k = k
    tensors[f"{case_name}/logits"] = logits[-KEEP:].float().numpy()
    log(f"  {case_name}: greedy {seq[len(ids):]} min margin {min(margins):.2e}")
    return {"name": case_name, "interventions": ivs, "greedy": seq[len(ids):],
            "greedy_margins": margins, "logits": f"{case_name}/logits"}


def plan(routers, E, T, plain_counts, seed):
    """The interventions: each kind alone, then all together. Experts chosen from the plain routing."""
    layers = sorted(routers)
    La, Lb = layers[0], layers[-1]
    top = {L: int(np.argmax(plain_counts[L])) for L in layers}
    low = {L: int(np.argmin(plain_counts[L])) for L in layers}
    g = torch.Generator().manual_seed(seed)
    bias = (torch.randn(E, generator=g) * 1.5).tolist()
    return [
        ("plain", []),
        ("off", [{"kind": "off", "layer": La, "expert": top[La]}, {"kind": "off", "layer": Lb, "expert": top[Lb]}]),
        ("force", [{"kind": "force", "layer": La, "expert": low[La], "positions": [1, 3, T - 1]}]),
        ("bias", [{"kind": "bias", "layer": Lb, "values": bias}]),
        ("topk1", [{"kind": "topk", "layer": La, "k": 1}]),
        ("topk3", [{"kind": "topk", "layer": Lb, "k": min(3, E)}]),
        ("mixed", [{"kind": "off", "layer": La, "expert": top[La]},
                   {"kind": "force", "layer": Lb, "expert": low[Lb], "positions": [0, T - 2]},
                   {"kind": "bias", "layer": Lb, "values": [-b for b in bias]}]),
    ]


def top1_counts(logits_by_layer, E):
    return {L: np.bincount(np.asarray(x).argmax(-1), minlength=E) for L, x in logits_by_layer.items()}


def save_st(path, tensors):
    """float32 tensors in the safetensors layout (8-byte header size, JSON header, data)."""
    header, blobs, off = {}, [], 0
    for k, v in tensors.items():
        b = np.ascontiguousarray(v, dtype="<f4").tobytes()
        header[k] = {"dtype": "F32", "shape": list(np.shape(v)), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(len(h).to_bytes(8, "little") + h + b"".join(blobs))


def load_st(path):
    raw = open(path, "rb").read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        assert v["dtype"] == "F32", v["dtype"]
        out[k] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype="<f4").reshape(v["shape"])
    return out


def load_ref(refs, name):
    d = os.path.join(refs, name)
    return json.load(open(os.path.join(d, "manifest.json"))), load_st(os.path.join(d, "tensors.safetensors"))


def check_plain(name, forward, ids, ref):
    """The rebuilt model's plain logits against the committed reference (same weights, or it fails)."""
    with torch.no_grad():
        plain = forward(ids)
    want = ref["0/logits"]
    diff = float(np.abs(plain[-want.shape[0]:].numpy() - want).max())
    log(f"{name}: plain logits vs committed reference max |d| {diff:.2e}")
    if diff > 1e-4 * max(1.0, float(np.abs(want).max())):
        raise RuntimeError(f"{name}: rebuilt weights differ from the committed reference ({diff:.2e})")
    return diff


def zoo_type(mtype, refs, out):
    import zoo
    full = zoo.DENSE + zoo.MOE + zoo.OTHER
    seed = 100 + full.index(mtype)
    cfg, model = zoo.build(mtype, seed)
    man, ref = load_ref(refs, mtype)
    ids = man["prompts"][0]["ids"]
    E = zoo.n_experts(cfg)
    _, layers = zoo.decoder_layers(model, cfg.num_hidden_layers)
    routers, blocks = {}, {}
    for i, layer in enumerate(layers):
        _, mlp, _ = zoo.children_of(layer)
        r = zoo.router_module(mlp[1], E, cfg.hidden_size) if mlp else None
        if r:
            routers[i], blocks[i] = r[1], mlp[1]

    def forward(seq):
        return model(**zoo.model_inputs(model, seq)).logits[0]

    diff = check_plain(mtype, forward, ids, ref)
    counts = top1_counts({L: ref[f"0/blocks.{L}.moe.hook_router_logits"] for L in routers}, E)
    topk_ok = mtype != "phimoe"
    m = run_all(mtype, forward, routers, blocks, E, ids, plan(routers, E, len(ids), counts, seed), topk_ok,
                os.path.join(out, mtype))
    m["plain_vs_committed"] = diff
    return m


def load_demo_moe(folder):
    """arch.py's Qwen2-MoE-style model with demo-moe's weights read back from its ONNX graph; (model, config)."""
    import onnx
    from onnx import numpy_helper
    import arch
    c = json.load(open(os.path.join(folder, "config.json")))
    model = arch.DemoCausalLM(c, moe=True).eval()
    g = onnx.load(os.path.join(folder, "onnx", "model.onnx")).graph
    inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    sd = {}
    for n in g.node:
        if n.op_type == "MatMul" and n.input[1] in inits and n.name.endswith("/MatMul"):
            key = n.name.strip("/").rsplit("/", 1)[0].replace("/", ".") + ".weight"
            sd[key] = torch.from_numpy(inits[n.input[1]].T.copy())
    for k, v in inits.items():
        if k.startswith("model.") or k.startswith("lm_head"):
            sd[k] = torch.from_numpy(v.copy())
    want = model.state_dict()
    missing = [k for k in want if k not in sd and not (k == "lm_head.weight" and c.get("tie_word_embeddings"))]
    if missing:
        raise RuntimeError(f"demo-moe: weights not found in the ONNX graph: {missing[:5]}")
    model.load_state_dict({k: sd.get(k, sd["model.embed_tokens.weight"]) for k in want}, strict=True)
    return model, c


def demo_moe(folder, refs, out):
    """arch.py's Qwen2-MoE-style model with the weights read back from demo-moe's ONNX graph."""
    model, c = load_demo_moe(folder)
    man, ref = load_ref(refs, "demo-moe")
    ids = man["prompts"][0]["ids"]
    E = c["num_experts"]

    chosen = {}

    def hook(site, x):
        m = re.match(r"blocks\.(\d+)\.moe\.chosen_experts$", site)
        if m and int(m.group(1)) not in chosen:
            chosen[int(m.group(1))] = int(x.shape[-1])
        return x

    def forward(seq):
        return model.run(torch.tensor([seq]), hook=hook)[0][0]

    diff = check_plain("demo-moe", forward, ids, ref)
    routers, blocks = {}, {}
    for i, layer in enumerate(model.model.layers):
        routers[i], blocks[i] = layer.mlp.gate, layer.mlp
    # arch.py's experts are a ModuleList run densely: top-k is checked on the block's chosen experts.
    counts = top1_counts({L: ref[f"0/blocks.{L}.moe.hook_router_logits"] for L in routers}, E)
    m = run_all("demo-moe", forward, routers, blocks, E, ids, plan(routers, E, len(ids), counts, 7), True,
                os.path.join(out, "demo-moe"), k_seen=chosen)
    m["plain_vs_committed"] = diff
    return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--zoo-types", default="")
    ap.add_argument("--demo-moe", default="")
    ap.add_argument("--refs", default=os.path.join(HERE, "..", "..", "test", "fixtures", "reference"))
    a = ap.parse_args()
    torch.set_num_threads(4)
    summary = {}
    for t in [x for x in a.zoo_types.split(",") if x]:
        try:
            summary[t] = {"ok": True, "plain_vs_committed": zoo_type(t, a.refs, a.out)["plain_vs_committed"]}
        except Exception as e:  # one family's failure is reported, the others still run
            import traceback
            traceback.print_exc()
            summary[t] = {"ok": False, "error": f"{type(e).__name__}: {str(e)[:400]}"}
    if a.demo_moe:
        summary["demo-moe"] = {"ok": True, "plain_vs_committed": demo_moe(a.demo_moe, a.refs, a.out)["plain_vs_committed"]}
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    log(json.dumps(summary))


if __name__ == "__main__":
    main()
