import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { IntrospectError } from "../../../src/engine";
import { parseSafetensors, readSafetensors, serializeSafetensors, writeSafetensors } from "../../../src/engine";
import { f16ToF32 } from "../../../src/engine";

const PY = "/usr/bin/python3";
const SCRIPT = path.join(__dirname, "safetensors_py.py");

let numpyOk: boolean | undefined;
function hasNumpy(): boolean {
  if (numpyOk === undefined) {
    try {
      execFileSync(PY, ["-c", "import numpy"], { stdio: "ignore" });
      numpyOk = true;
    } catch {
      numpyOk = false;
    }
  }
  return numpyOk;
}

describe("safetensors", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "introspect-st-"));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("round-trips F32, I32 and I64 tensors and metadata", () => {
    const f32 = Float32Array.from({ length: 24 }, (_, i) => Math.sin(i) * 1e3);
    const bytes = serializeSafetensors(
      {
        "blocks.0.hook_resid_post": { shape: [2, 3, 4], data: f32 },
        ids: { dtype: "I64", shape: [3], data: [1, -2, 2 ** 40] },
        big: { dtype: "I64", shape: [1], data: BigInt64Array.of(-(2n ** 62n)) },
        mask: { dtype: "I32", shape: [2, 2], data: [1, 0, -7, 2 ** 31 - 1] },
        empty: { shape: [0, 5], data: new Float32Array(0) },
      },
      { model: "demo-llama", text: "naïve ✓" },
    );
    // Header length is a little-endian u64, and the data starts 8-byte aligned.
    const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    assert.equal((8 + headerLen) % 8, 0);
    const file = parseSafetensors(bytes);
    assert.deepEqual(file.metadata, { model: "demo-llama", text: "naïve ✓" });
    assert.deepEqual([...file.tensors.keys()], ["blocks.0.hook_resid_post", "ids", "big", "mask", "empty"]);
    const t = file.tensors.get("blocks.0.hook_resid_post")!;
    assert.equal(t.dtype, "F32");
    assert.deepEqual(t.shape, [2, 3, 4]);
    assert.deepEqual([...t.data], [...f32]);
    assert.deepEqual([...(file.tensors.get("ids")!.data as BigInt64Array)], [1n, -2n, 2n ** 40n]);
    assert.deepEqual([...(file.tensors.get("big")!.data as BigInt64Array)], [-(2n ** 62n)]);
    assert.deepEqual([...(file.tensors.get("mask")!.data as Int32Array)], [1, 0, -7, 2 ** 31 - 1]);
    assert.deepEqual(file.tensors.get("empty")!.shape, [0, 5]);
  });

  it("converts half floats exactly", () => {
    assert.equal(f16ToF32(0x3c00), 1);
    assert.equal(f16ToF32(0xc100), -2.5);
    assert.equal(f16ToF32(0x7bff), 65504);
    assert.equal(f16ToF32(0x0001), 2 ** -24);
    assert.equal(f16ToF32(0x7c00), Infinity);
    assert.ok(Number.isNaN(f16ToF32(0x7e00)));
  });

  it("reads a file written by Python (struct + json, numpy), unaligned offsets included", function () {
    if (!hasNumpy()) {
      console.log(`      (skipped: ${PY} with numpy is not available)`);
      this.skip();
    }
    const file = path.join(tmp, "py.safetensors");
    execFileSync(PY, [SCRIPT, "write", file]);
    const st = readSafetensors(file);
    assert.deepEqual(st.metadata, { model: "demo", note: "é ✓" });
    const w = st.tensors.get("weights")!;
    assert.deepEqual(w.shape, [3, 4]);
    assert.deepEqual(
      [...w.data],
      Array.from({ length: 12 }, (_, i) => i * 0.5 - 2.25),
    );
    const half = st.tensors.get("half")!;
    assert.equal(half.dtype, "F16");
    assert.deepEqual([...half.data].slice(0, 5), [1, -2.5, 65504, 2 ** -14, 0]);
    assert.equal(half.data[5], 2 * 2 ** -24); // 1e-7 as a half is the subnormal 2 x 2^-24
    const brain = st.tensors.get("brain")!;
    assert.equal(brain.dtype, "BF16");
    assert.equal(brain.data[0], 1);
    assert.equal(brain.data[1], -3.140625);
    assert.ok(Math.abs((brain.data[2] as number) / 1e30 - 1) < 0.01);
    assert.equal(brain.data[3], -0.0078125);
    assert.deepEqual([...(st.tensors.get("ids")!.data as BigInt64Array)], [0n, -1n, 2n ** 40n, -(2n ** 33n)]);
    assert.deepEqual([...(st.tensors.get("small")!.data as Int32Array)], [7, -8, 2 ** 31 - 1]);
    assert.deepEqual(st.tensors.get("scalar")!.shape, []);
    assert.equal(st.tensors.get("scalar")!.data[0], 42.5);
  });

  it("writes files that Python reads back (header by hand, numpy for the data)", function () {
    if (!hasNumpy()) {
      console.log(`      (skipped: ${PY} with numpy is not available)`);
      this.skip();
    }
    const file = path.join(tmp, "ts.safetensors");
    const data = Float32Array.from({ length: 6 }, (_, i) => i - 1.5);
    writeSafetensors(file, { logits: { shape: [2, 3], data }, ids: { dtype: "I64", shape: [2], data: [5, 2 ** 35] } }, { a: "b" });
    const out = JSON.parse(execFileSync(PY, [SCRIPT, "read", file], { encoding: "utf8" }));
    assert.deepEqual(out.__metadata__, { a: "b" });
    assert.deepEqual(out.logits, { dtype: "F32", shape: [2, 3], sum: 6, first: -1.5 });
    assert.deepEqual(out.ids, { dtype: "I64", shape: [2], sum: 5 + 2 ** 35, first: 5 });
    assert.equal(out.data_start % 8, 0);
  });

  it("rejects truncated and malformed files with a sentence", () => {
    const good = serializeSafetensors({ x: { shape: [4], data: [1, 2, 3, 4] } });
    const check = (bytes: Uint8Array, pattern: RegExp): void => {
      assert.throws(
        () => parseSafetensors(bytes, "out.safetensors"),
        (e: unknown) => e instanceof IntrospectError && e.code === "corrupt-model" && pattern.test(e.message),
      );
    };
    check(good.subarray(0, 5), /shorter than its 8-byte header length/);
    check(good.subarray(0, good.length - 4), /data_offsets .* do not match its size/);
    const bad = good.slice();
    bad[8] = "!".charCodeAt(0);
    check(bad, /header is not JSON/);
    assert.throws(() => serializeSafetensors({ x: { shape: [3], data: [1, 2] } }), /has 2 values but shape \[3\] needs 3/);
  });
});
