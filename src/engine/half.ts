// 16-bit floats, the one home of their conversions: IEEE half (ONNX float16, safetensors F16,
// GGUF F16) and bfloat16 (the top half of a float32).

/** IEEE half (its 16 bits as a number) -> float. */
export function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float -> IEEE half bits, rounded to nearest even (overflow to infinity, NaN kept). */
export function f32ToF16(v: number): number {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const e = ((x >>> 23) & 0xff) - 127 + 15;
  let m = x & 0x7fffff;
  if (e >= 31) return sign | 0x7c00 | (((x >>> 23) & 0xff) === 0xff && m ? 0x200 : 0);
  if (e <= 0) {
    if (e < -10) return sign;
    m = (m | 0x800000) >> (1 - e);
    return sign | ((m + 0x1000) >> 13);
  }
  const r = sign | (e << 10) | (m >> 13);
  return (m & 0x1fff) > 0x1000 || ((m & 0x1fff) === 0x1000 && r & 1) ? r + 1 : r;
}

/** `n` 16-bit values from `get(i)` as float32: IEEE half or bfloat16. */
export function halvesToF32(n: number, get: (i: number) => number, kind: "f16" | "bf16"): Float32Array {
  const out = new Float32Array(n);
  if (kind === "f16") for (let i = 0; i < n; i++) out[i] = f16ToF32(get(i));
  else {
    const u = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) u[i] = get(i) << 16;
  }
  return out;
}
