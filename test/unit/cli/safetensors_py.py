"""Independent safetensors writer/reader (struct + json, per the format spec) for the TS tests.

  write FILE   writes F32, F16, BF16, I64 and I32 tensors plus __metadata__
  read FILE    prints {name: {dtype, shape, sum, first}} and the metadata as JSON
"""
import json
import struct
import sys

import numpy as np


def write(path):
    f32 = np.arange(12, dtype=np.float32).reshape(3, 4) * np.float32(0.5) - np.float32(2.25)
    f16 = np.array([1.0, -2.5, 65504.0, 6.1035156e-05, 0.0, 1e-7], dtype=np.float16)
    # bfloat16 is the top half of a float32 (these values need no rounding except 1e30).
    bf = np.array([1.0, -3.140625, 1e30, -0.0078125], dtype="<f4")
    bf_bytes = (bf.view("<u4") >> 16).astype("<u2").tobytes()
    i64 = np.array([[0, -1], [2**40, -(2**33)]], dtype="<i8")
    i32 = np.array([7, -8, 2**31 - 1], dtype="<i4")
    entries = [
        ("weights", "F32", [3, 4], f32.astype("<f4").tobytes()),
        ("half", "F16", [6], f16.astype("<f2").tobytes()),
        ("brain", "BF16", [4], bf_bytes),
        ("ids", "I64", [2, 2], i64.tobytes()),
        ("small", "I32", [3], i32.tobytes()),
        ("scalar", "F32", [], np.array(42.5, dtype="<f4").tobytes()),
    ]
    header, data, off = {"__metadata__": {"model": "demo", "note": "é ✓"}}, b"", 0
    # Odd-sized entries first, so later offsets are not aligned: readers must cope.
    for name, dtype, shape, raw in entries:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(raw)]}
        data += raw
        off += len(raw)
    hb = json.dumps(header).encode("utf-8")
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)) + hb + data)


def read(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + n].decode("utf-8"))
    base = 8 + n
    kinds = {"F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "F64": "<f8"}
    out = {"__metadata__": header.pop("__metadata__", {}), "data_start": base}
    for name, e in header.items():
        a, b = e["data_offsets"]
        raw = blob[base + a : base + b]
        if e["dtype"] == "BF16":  # bfloat16 is the top half of a float32
            arr = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            arr = np.frombuffer(raw, dtype=kinds[e["dtype"]])
        assert arr.size == int(np.prod(e["shape"])), name
        out[name] = {"dtype": e["dtype"], "shape": e["shape"], "sum": float(arr.astype(np.float64).sum()),
                     "first": float(arr.flat[0]) if arr.size else None}
    assert max([e["data_offsets"][1] for e in header.values()] + [0]) == len(blob) - base
    print(json.dumps(out))


if __name__ == "__main__":
    {"write": write, "read": read}[sys.argv[1]](sys.argv[2])
