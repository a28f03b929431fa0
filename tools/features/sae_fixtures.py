"""Dictionary fixtures for the loader tests, written from the published layouts alone.

SAELens folders (cfg.json + sae_weights.safetensors [+ sparsity.safetensors]) for each
architecture (standard, gated, jumprelu, topk), a SAELens skip transcoder, and a Gemma Scope 2
params.safetensors (lowercase names, JumpReLU, site taken from its path). Random weights (seeded).
Each fixture folder also gets expected.safetensors: the input activation (demo-llama's PyTorch
reference capture of prompt 0), the feature activations and the reconstruction, computed here in
float64 numpy following SAELens' encode/decode definitions.

  /usr/bin/python3 tools/features/sae_fixtures.py test/fixtures/features
"""
import json
import os
import struct
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
D_IN, D_SAE = 128, 48


def read_safetensors(path):
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8 : 8 + n])
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        assert e["dtype"] == "F32", e
        a, b = e["data_offsets"]
        out[name] = np.frombuffer(buf[8 + n + a : 8 + n + b], dtype="<f4").reshape(e["shape"])
    return out


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, arr in tensors.items():
        b = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def f32(a):
    return np.asarray(a, dtype=np.float32)


def encode(p, x, arch, apply_b_dec, norm, k=None):
    """SAELens semantics in float64 from the float32 weights."""
    W_enc, b_dec = p["W_enc"].astype(np.float64), p["b_dec"].astype(np.float64)
    x = x.astype(np.float64)
    if norm == "constant_norm_rescale":
        scale = np.sqrt(D_IN) / np.linalg.norm(x, axis=-1, keepdims=True)
        x = x * scale
    else:
        scale = np.ones((x.shape[0], 1))
    xin = x - b_dec if apply_b_dec else x
    if arch == "gated":
        gate = xin @ W_enc + p["b_gate"]
        mag = xin @ (W_enc * np.exp(p["r_mag"].astype(np.float64))) + p["b_mag"]
        f = (gate > 0) * np.maximum(mag, 0)
    else:
        pre = xin @ W_enc + p["b_enc"]
        if arch == "standard":
            f = np.maximum(pre, 0)
        elif arch == "jumprelu":
            f = np.maximum(pre, 0) * (pre > p["threshold"])
        elif arch == "topk":
            f = np.zeros_like(pre)
            idx = np.argsort(-pre, axis=-1, kind="stable")[:, :k]
            rows = np.arange(pre.shape[0])[:, None]
            f[rows, idx] = np.maximum(pre[rows, idx], 0)
    return f, scale


def decode(p, f, scale, x=None):
    out = f @ p["W_dec"].astype(np.float64) + p["b_dec"]
    out = out / scale
    if "W_skip" in p:
        out = out + x.astype(np.float64) @ p["W_skip"].astype(np.float64)
    return out


def main(out):
    ref = read_safetensors(os.path.join(ROOT, "test/fixtures/reference/demo-llama/tensors.safetensors"))
    rng = np.random.default_rng(19)
    x = ref["0/blocks.2.hook_resid_post"]
    x_mid = ref["0/blocks.2.hook_resid_mid"]
    mlp_out = ref["0/blocks.2.hook_mlp_out"]
    scale_x = float(np.sqrt((x.astype(np.float64) ** 2).mean()))

    def weights(d_out=D_IN):
        W_enc = f32(rng.normal(0, 1 / (np.sqrt(D_IN) * scale_x), (D_IN, D_SAE)))
        return {
            "W_enc": W_enc,
            "W_dec": f32(rng.normal(0, scale_x / np.sqrt(D_SAE), (D_SAE, d_out))),
            "b_enc": f32(rng.normal(0, 0.2, D_SAE)),
            "b_dec": f32(rng.normal(0, 0.1 * scale_x, d_out)),
        }

    cases = [
        ("saelens-standard", "standard", True, "none", {}),
        ("saelens-gated", "gated", True, "none", {}),
        ("saelens-jumprelu", "jumprelu", False, "none", {}),
        ("saelens-topk", "topk", True, "constant_norm_rescale", {"k": 6}),
    ]
    for name, arch, apply_b_dec, norm, extra in cases:
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        p = weights()
        if arch == "gated":
            p["b_gate"] = p.pop("b_enc")
            p["b_mag"] = f32(rng.normal(0, 0.2, D_SAE))
            p["r_mag"] = f32(rng.normal(0, 0.3, D_SAE))
        if arch == "jumprelu":
            p["threshold"] = f32(rng.uniform(0.2, 1.0, D_SAE))
        write_safetensors(os.path.join(d, "sae_weights.safetensors"), p)
        cfg = {"architecture": arch, "d_in": D_IN, "d_sae": D_SAE, "dtype": "float32", "device": "cpu",
               "apply_b_dec_to_input": apply_b_dec, "normalize_activations": norm,
               "metadata": {"model_name": "demo-llama", "hook_name": "blocks.2.hook_resid_post", "prepend_bos": False}}
        cfg.update(extra)
        if name == "saelens-jumprelu":
            # Older flat layout: hook_point at the top level, no metadata.
            del cfg["metadata"]
            cfg["hook_point"] = "blocks.2.hook_resid_post"
            cfg["model_name"] = "demo-llama"
        with open(os.path.join(d, "cfg.json"), "w") as fh:
            json.dump(cfg, fh, indent=1)
        if arch == "standard":
            write_safetensors(os.path.join(d, "sparsity.safetensors"), {"sparsity": f32(rng.uniform(-4, -1, D_SAE))})
        f, s = encode(p, x, arch, apply_b_dec, norm, extra.get("k"))
        write_safetensors(os.path.join(d, "expected.safetensors"), {"x": x, "features": f32(f), "reconstruction": f32(decode(p, f, s))})
        print(f"{name}: mean L0 {(f > 0).sum(-1).mean():.1f} of {D_SAE}")

    # SAELens skip transcoder: reads resid_mid, writes mlp_out.
    d = os.path.join(out, "saelens-transcoder")
    os.makedirs(d, exist_ok=True)
    p = weights()
    p["W_skip"] = f32(rng.normal(0, 0.05, (D_IN, D_IN)))
    write_safetensors(os.path.join(d, "sae_weights.safetensors"), p)
    cfg = {"architecture": "standard", "d_in": D_IN, "d_sae": D_SAE, "d_out": D_IN, "apply_b_dec_to_input": False,
           "normalize_activations": "none",
           "metadata": {"model_name": "demo-llama", "hook_name": "blocks.2.hook_resid_mid", "hook_name_out": "blocks.2.hook_mlp_out"}}
    with open(os.path.join(d, "cfg.json"), "w") as fh:
        json.dump(cfg, fh, indent=1)
    f, s = encode(p, x_mid, "standard", False, "none")
    write_safetensors(os.path.join(d, "expected.safetensors"),
                      {"x": x_mid, "target": mlp_out, "features": f32(f), "reconstruction": f32(decode(p, f, s, x_mid))})

    # Gemma Scope 2: lowercase names, JumpReLU, no b_dec subtraction, site from the path.
    d = os.path.join(out, "gemma-scope-2", "resid_post", "layer_3_width_48_l0_small")
    os.makedirs(d, exist_ok=True)
    x3 = ref["0/blocks.3.hook_resid_post"]
    p = weights()
    p["threshold"] = f32(rng.uniform(0.2, 1.0, D_SAE))
    write_safetensors(os.path.join(d, "params.safetensors"), {"w_enc": p["W_enc"], "w_dec": p["W_dec"], "b_enc": p["b_enc"],
                                                               "b_dec": p["b_dec"], "threshold": p["threshold"]})
    f, s = encode(p, x3, "jumprelu", False, "none")
    write_safetensors(os.path.join(d, "expected.safetensors"), {"x": x3, "features": f32(f), "reconstruction": f32(decode(p, f, s))})
    print(f"gemma-scope: mean L0 {(f > 0).sum(-1).mean():.1f}")


if __name__ == "__main__":
    main(sys.argv[1])
