import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { makeVector, withLayerWeights } from "../../../src/engine";
import { decodeIvec, encodeIvec, loadVector, saveVector } from "../../../src/engine";
import { GgufType, readGguf, writeGguf } from "../../../src/engine";
import { f16ToF32 } from "../../../src/engine";
import { exportControlVector, importControlVector } from "../../../src/engine";
import { ModelInfo } from "../../../src/engine";

const info: ModelInfo = {
  id: "toy",
  architecture: "LlamaForCausalLM",
  numLayers: 4,
  dModel: 3,
  vocabSize: 10,
  sites: [],
  hasKvCache: true,
  exportStyle: "torchscript",
  notes: [],
};

/** A GGUF file built by hand, byte by byte, independently of writeGguf. */
function handMadeGguf(opts: { arch: string; dirs: [number, number[]][]; f16?: boolean; alignment?: number }): Buffer {
  const parts: Buffer[] = [];
  const u32 = (v: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    parts.push(b);
  };
  const u64 = (v: number) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    parts.push(b);
  };
  const s = (x: string) => {
    u64(Buffer.byteLength(x));
    parts.push(Buffer.from(x));
  };
  parts.push(Buffer.from("GGUF"));
  u32(3);
  u64(opts.dirs.length);
  const align = opts.alignment ?? 32;
  u64(opts.alignment ? 4 : 3);
  s("general.architecture");
  u32(8);
  s(opts.arch);
  s("controlvector.model_hint");
  u32(8);
  s("llama");
  s("controlvector.layer_count");
  u32(5);
  u32(opts.dirs.length); // int32 this time
  if (opts.alignment) {
    s("general.alignment");
    u32(4);
    u32(opts.alignment);
  }
  const es = opts.f16 ? 2 : 4;
  let off = 0;
  const offs: number[] = [];
  for (const [n, v] of opts.dirs) {
    s(`direction.${n}`);
    u32(1);
    u64(v.length);
    u32(opts.f16 ? 1 : 0);
    u64(off);
    offs.push(off);
    off += Math.ceil((v.length * es) / align) * align;
  }
  let head = Buffer.concat(parts);
  head = Buffer.concat([head, Buffer.alloc((align - (head.length % align)) % align)]);
  const data = Buffer.alloc(off);
  opts.dirs.forEach(([, v], k) =>
    v.forEach((x, i) => {
      if (opts.f16) data.writeUInt16LE(x === 1 ? 0x3c00 : x === -2 ? 0xc000 : x === 0.5 ? 0x3800 : 0, offs[k] + 2 * i);
      else data.writeFloatLE(x, offs[k] + 4 * i);
    }),
  );
  return Buffer.concat([head, data]);
}

describe("steer/files", () => {
  it("round-trips .ivec files with their header, and says what is wrong with bad ones", () => {
    const v = withLayerWeights(
      makeVector({
        name: "joy",
        modelId: "toy",
        site: "blocks.2.hook_resid_post",
        data: Float32Array.from([0.25, -1.5, 3]),
        meta: { method: "pca", pooling: "mean", normalised: false, nPositive: 5 },
      }),
      [
        { layer: 1, weight: 0.5 },
        { layer: 2, weight: 1 },
      ],
    );
    const buf = encodeIvec(v);
    assert.strictEqual(buf.toString("latin1", 0, 4), "IVEC");
    assert.strictEqual((12 + buf.readUInt32LE(8)) % 4, 0);
    const header = JSON.parse(buf.toString("utf8", 12, 12 + buf.readUInt32LE(8)));
    assert.strictEqual(header.modelId, "toy");
    assert.strictEqual(header.dim, 3);
    assert.strictEqual(header.method, "pca");
    const back = decodeIvec(buf);
    assert.deepStrictEqual(Array.from(back.data), [0.25, -1.5, 3]);
    assert.deepStrictEqual(back.layerWeights, v.layerWeights);
    assert.strictEqual(back.meta.pooling, "mean");
    assert.strictEqual(back.meta.nPositive, 5);
    assert.throws(() => decodeIvec(Buffer.from("GGUF....")), /not an Introspect vector file/);
    assert.throws(() => decodeIvec(buf.subarray(0, buf.length - 4)), /says it holds 3 values but has 2/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ivec-"));
    const p = path.join(dir, "joy.ivec");
    saveVector(p, v);
    assert.strictEqual(loadVector(p, info).name, "joy");
    assert.throws(() => loadVector(p, { ...info, dModel: 4 }), /3 values but model toy has a residual width of 4/);
    assert.throws(() => loadVector(p, { ...info, id: "other" }), /built on model toy, but the loaded model is other/);
    assert.throws(() => loadVector(path.join(dir, "missing.ivec")), /Cannot read vector file/);
    fs.rmSync(dir, { recursive: true });
  });

  it("reads a hand-made GGUF control vector (F32 and F16, custom alignment)", () => {
    const g = readGguf(
      handMadeGguf({
        arch: "controlvector",
        dirs: [
          [1, [1, 2, 3]],
          [3, [-1, 0.5, 7]],
        ],
        alignment: 64,
      }),
    );
    assert.strictEqual(g.version, 3);
    assert.strictEqual(g.metadata.get("controlvector.model_hint"), "llama");
    assert.deepStrictEqual(Array.from(g.tensors[1].data), [-1, 0.5, 7]);
    const h = readGguf(handMadeGguf({ arch: "controlvector", dirs: [[2, [1, -2, 0.5]]], f16: true }));
    assert.deepStrictEqual(Array.from(h.tensors[0].data), [1, -2, 0.5]);
    assert.strictEqual(f16ToF32(0x7bff), 65504);
    const cv = importControlVector(
      handMadeGguf({
        arch: "controlvector",
        dirs: [
          [3, [4, 5, 6]],
          [1, [1, 2, 3]],
        ],
      }),
      { name: "happy", modelId: "toy", model: info },
    );
    assert.deepStrictEqual(
      cv.vectors.map((v) => v.site),
      ["blocks.1.hook_resid_post", "blocks.3.hook_resid_post"],
    );
    assert.deepStrictEqual(Array.from(cv.vectors[1].data), [4, 5, 6]);
    assert.strictEqual(cv.layerCount, 2);
    assert.deepStrictEqual(cv.warnings, []);
  });

  it("explains mismatched control vectors", () => {
    const file = handMadeGguf({
      arch: "controlvector",
      dirs: [
        [1, [1, 2, 3]],
        [5, [1, 2, 3]],
      ],
    });
    assert.throws(
      () => importControlVector(file, { name: "x", modelId: "toy", model: info }),
      /steers layer 5, but model toy has 4 layers/,
    );
    assert.throws(
      () => importControlVector(file, { name: "x", modelId: "toy", model: { ...info, dModel: 8, numLayers: 8 } }),
      /3 values but model toy has a residual width of 8/,
    );
    assert.throws(
      () => importControlVector(handMadeGguf({ arch: "llama", dirs: [[1, [1, 2, 3]]] }), { name: "x", modelId: "toy" }),
      /not a control vector/,
    );
    assert.throws(
      () => importControlVector(handMadeGguf({ arch: "controlvector", dirs: [[0, [1, 2, 3]]] }), { name: "x", modelId: "toy" }),
      /direction\.0/,
    );
    assert.throws(() => readGguf(Buffer.from("GGUF\x03\x00")), /truncated/);
    assert.throws(() => readGguf(Buffer.from("PK\x03\x04")), /not a GGUF file/);
    const w = importControlVector(file.subarray(0), {
      name: "x",
      modelId: "toy",
      model: { ...info, numLayers: 8, architecture: "GPT2LMHeadModel" },
    });
    assert.match(w.warnings.join(" "), /made for a "llama" model/);
  });

  it("exports control vectors that read back, mapping sites to llama.cpp layers", () => {
    const a = withLayerWeights(
      makeVector({ name: "a", modelId: "toy", site: "blocks.1.hook_resid_post", data: Float32Array.from([1, 2, 3]) }),
      [
        { layer: 1, weight: 1 },
        { layer: 2, weight: 0.5 },
      ],
    );
    const b = makeVector({ name: "b", modelId: "toy", site: "blocks.3.hook_resid_pre", data: Float32Array.from([0, 0, 1]) });
    const buf = exportControlVector(
      [
        { vector: a, alpha: 2 },
        { vector: b, alpha: -1 },
      ],
      "llama",
    );
    assert.strictEqual(buf.readUInt32LE(4), 3);
    const g = readGguf(buf);
    assert.strictEqual(g.metadata.get("general.architecture"), "controlvector");
    assert.strictEqual(g.metadata.get("controlvector.layer_count"), 2);
    assert.deepStrictEqual(
      g.tensors.map((t) => t.name),
      ["direction.1", "direction.2"],
    );
    // direction.2 = 2*0.5*a + (-1)*b (resid_pre of block 3 is the output of block 2)
    assert.deepStrictEqual(Array.from(g.tensors[1].data), [1, 2, 2]);
    assert.throws(
      () => exportControlVector([{ vector: { ...b, site: "blocks.0.hook_resid_pre" }, alpha: 1 }], "llama"),
      /never steers layer 0/,
    );
    assert.throws(
      () => exportControlVector([{ vector: { ...b, site: "blocks.2.hook_mlp_out" }, alpha: 1 }], "llama"),
      /only the residual stream/,
    );
    const roundTrip = importControlVector(buf, { name: "rt", modelId: "toy", model: info });
    assert.deepStrictEqual(Array.from(roundTrip.vectors[0].data), [2, 4, 6]);
    const w = writeGguf(
      [
        ["k", { type: GgufType.FLOAT32, value: 0.5 }],
        ["b", { type: GgufType.BOOL, value: true }],
      ],
      [],
    );
    const r = readGguf(w);
    assert.strictEqual(r.metadata.get("k"), 0.5);
    assert.strictEqual(r.metadata.get("b"), true);
  });
});
