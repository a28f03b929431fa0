"""Blockwise 4-bit quantization into onnxruntime's MatMulNBits layout (docs/matmulnbits.md).

A MatMul Y = A @ W with W of shape [K, N] becomes MatMulNBits(A, B, scales[, zero_points]) with
attributes K, N, bits=4, block_size (and accuracy_level when given):
  B            uint8 [N, n_blocks, block_size / 2]: column n of W (one output feature), cut into
               blocks of block_size values along K (the last block padded with zeros); two 4-bit
               values per byte, the even k in the low nibble, the odd k in the high one.
  scales       float32 [N * n_blocks]: one per block, column-major by output feature.
  zero_points  uint8 [N * ceil(n_blocks / 2)]: one 4-bit zero point per block, packed like B (even
               block low nibble); absent for symmetric blocks, which then use 8.
A value dequantizes as (q - zero_point) * scale.

Asymmetric blocks: the range [min(0, lo), max(0, hi)] maps onto 0..15, scale = range / 15,
zero_point = round(-min / scale) clamped to 0..15, q = clamp(round(w / scale + zero_point), 0, 15).
Symmetric blocks: the value of largest magnitude m (sign kept) maps onto -8, scale = m / -8,
q = clamp(round(w / scale + 8), 0, 15). round is half away from zero (C's roundf).
Numpy only, so it runs with Debian's python3 as well as on the device.
"""
import numpy as np


def _roundf(x):
    """C's roundf: halves away from zero (numpy's rint rounds halves to even)."""
    return np.sign(x) * np.floor(np.abs(x) + np.float32(0.5))


def quantize_blocks(w, block_size=32, symmetric=False):
    """w: float32 [K, N] (the MatMul's B). Returns (packed [N, nb, bs/2] uint8, scales [N*nb] f32,
    zero_points [N*ceil(nb/2)] uint8 or None)."""
    assert block_size % 2 == 0 and block_size >= 16
    K, N = w.shape
    nb = (K + block_size - 1) // block_size
    wt = np.zeros((N, nb * block_size), dtype=np.float32)
    wt[:, :K] = w.T
    blocks = wt.reshape(N, nb, block_size)
    if symmetric:
        hi = blocks.max(axis=2)
        lo = blocks.min(axis=2)
        m = np.where(np.abs(hi) > np.abs(lo), hi, lo).astype(np.float32)
        scale = (m / np.float32(-8.0)).astype(np.float32)
        zp = np.full((N, nb), 8, dtype=np.uint8)
    else:
        lo = np.minimum(blocks.min(axis=2), np.float32(0.0))
        hi = np.maximum(blocks.max(axis=2), np.float32(0.0))
        scale = ((hi - lo) / np.float32(15.0)).astype(np.float32)
        with np.errstate(divide="ignore", invalid="ignore"):
            zf = np.where(scale != 0, np.float32(0.0) - lo / scale, lo).astype(np.float32)
        zp = np.clip(_roundf(zf), 0, 15).astype(np.uint8)
    with np.errstate(divide="ignore"):
        recip = np.where(scale != 0, np.float32(1.0) / scale, np.float32(0.0)).astype(np.float32)
    q = _roundf(blocks * recip[:, :, None] + zp[:, :, None].astype(np.float32))
    q = np.clip(q, 0, 15).astype(np.uint8)
    packed = (q[:, :, 0::2] | (q[:, :, 1::2] << 4)).astype(np.uint8)
    zps = None
    if not symmetric:
        zpad = np.zeros((N, nb + (nb % 2)), dtype=np.uint8)
        zpad[:, :nb] = zp
        zps = (zpad[:, 0::2] | (zpad[:, 1::2] << 4)).reshape(-1).astype(np.uint8)
    return packed, scale.reshape(-1).astype(np.float32), zps


def dequantize_blocks(packed, scales, zero_points, K, block_size=32):
    """The inverse (for checks): float32 [K, N] as MatMulNBits computes it."""
    N, nb, half = packed.shape
    q = np.empty((N, nb, half * 2), dtype=np.float32)
    q[:, :, 0::2] = packed & 0x0F
    q[:, :, 1::2] = packed >> 4
    if zero_points is None:
        zp = np.full((N, nb), 8.0, dtype=np.float32)
    else:
        z = zero_points.reshape(N, -1)
        zz = np.empty((N, z.shape[1] * 2), dtype=np.float32)
        zz[:, 0::2] = z & 0x0F
        zz[:, 1::2] = z >> 4
        zp = zz[:, :nb]
    w = (q - zp[:, :, None]) * scales.reshape(N, nb)[:, :, None]
    return w.reshape(N, nb * half * 2)[:, :K].T.copy()
