// Large MatMul weights written as row blocks (src/engine/surgery/splitWeights.ts): with the split
// forced on every MatMul weight above 1 KiB, every architecture of the zoo gives the same logits,
// captures, last-position logits, steered logits and logit lens as the same model opened without
// it, and the written graphs hold Gemm chains in place of the MatMuls and no longer the weights.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { openModel, logitLens, type LoadedModel } from "../../../src/engine";
import { FileBytes } from "../../../src/engine/onnx/wire";
import { scanModel } from "../../../src/engine/onnx/modelFile";

const ROOT = path.resolve(__dirname, "../../..");
const ZOO = path.join(ROOT, "test/fixtures/zoo");
const LOCAL = path.join(ROOT, "test/fixtures/local");

// One export of each kind the zoo has (inline and external weights, dynamo and TorchScript, fused
// attention, parallel attention and MLP, MoE) and the tiny local fixtures.
const FOLDERS = [
  path.join(LOCAL, "tiny-gpt2"),
  path.join(LOCAL, "tiny-llama"),
  ...[
    "gpt2-torchscript",
    "llama-dynamo",
    "llama-ortfused",
    "qwen2-torchscript",
    "gemma3_text-dynamo",
    "phi-dynamo",
    "gptj-torchscript",
    "falcon-dynamo",
    "bloom-torchscript",
    "opt-dynamo",
    "mixtral-torchscript",
    "qwen3_moe-dynamo",
    "gpt_oss-dynamo",
  ].map((f) => path.join(ZOO, f)),
];

function closeness(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  let scale = 1;
  for (let i = 0; i < a.length; i++) {
    m = Math.max(m, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return m / scale;
}

/** Node op types of an edited graph this model wrote. */
function writtenOps(file: string): { ops: string[]; inits: Set<string> } {
  const src = new FileBytes(file);
  try {
    const m = scanModel(file, src, 0);
    return { ops: m.nodes.map((n) => n.opType), inits: new Set(m.initializers.keys()) };
  } finally {
    src.close();
  }
}

describe("engine: large MatMul weights as row blocks", function () {
  this.timeout(300000);
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "introspect-split-"));
  after(() => fs.rmSync(cacheDir, { recursive: true, force: true }));

  for (const folder of FOLDERS) {
    it(`${path.basename(folder)}: logits, captures, last logits, steering and the lens equal the unsplit graph`, async () => {
      const plain = await openModel(folder, { cacheDir, splitWeightsAbove: 0 });
      const split = await openModel(folder, { cacheDir, splitWeightsAbove: 1024 });
      const models: LoadedModel[] = [plain, split];
      try {
        const ids = [1, 5, 9, 13, 2, 40, 33].map((i) => i % plain.info.vocabSize);
        const capture = plain.info.sites.filter((s) => /hook_resid_post$|mlp\.hook_post$|hook_attn_out$/.test(s));
        const a = await plain.run({ ids, capture });
        const b = await split.run({ ids, capture });
        const id = path.basename(folder);
        assert.ok(closeness(b.logits.data, a.logits.data) < 1e-5, `${id} logits ${closeness(b.logits.data, a.logits.data)}`);
        for (const s of capture) assert.ok(closeness(b.captures.get(s)!.data, a.captures.get(s)!.data) < 1e-5, `${id} ${s}`);
        const la = await plain.run({ ids, logits: "last" });
        const lb = await split.run({ ids, logits: "last" });
        assert.deepEqual(lb.logits.dims, la.logits.dims);
        assert.ok(closeness(lb.logits.data, la.logits.data) < 1e-5, `${id} last logits`);
        const site = `blocks.${Math.floor(plain.info.numLayers / 2)}.hook_resid_pre`;
        const vector = Float32Array.from({ length: plain.info.dModel }, (_, i) => Math.sin(i + 1));
        const sa = await plain.run({ ids, steer: [{ site, vector, scale: 2 }] });
        const sb = await split.run({ ids, steer: [{ site, vector, scale: 2 }] });
        assert.ok(closeness(sa.logits.data, a.logits.data) > 1e-4, `${id}: steering changed nothing`);
        assert.ok(closeness(sb.logits.data, sa.logits.data) < 1e-5, `${id} steered logits`);
        const lensA = await logitLens(plain, ids, { k: 3 });
        const lensB = await logitLens(split, ids, { k: 3 });
        assert.ok(closeness(lensB.topProbs, lensA.topProbs) < 1e-5, `${id} lens`);

        // The written graphs: where the model has MatMuls on float32 [K, N] weights above 1 KiB read
        // by that node alone, the split graph has a Gemm chain and no longer those weights.
        const reads = new Map<string, number>();
        for (const n of split.scanned.nodes) for (const x of n.input) reads.set(x, (reads.get(x) ?? 0) + 1);
        const splittable = split.scanned.nodes
          .filter((n) => n.opType === "MatMul" && n.domain === "")
          .map((n) => split.scanned.initializers.get(n.input[1]))
          .filter((t) => t && t.dataType === 1 && t.dims.length === 2 && t.dims[0] * t.dims[1] * 4 > 1024 && reads.get(t.name) === 1);
        const mine = split.writtenFiles.map(writtenOps);
        const theirs = plain.writtenFiles.map(writtenOps);
        assert.ok(mine.length > 0 && theirs.length > 0, `${id}: no edited graph written`);
        for (const w of theirs)
          assert.ok(!w.ops.includes("Gemm") || plain.scanned.nodes.some((n) => n.opType === "Gemm"), `${id}: split with 0`);
        const first = mine[0];
        if (splittable.length > 0) {
          assert.ok(
            first.ops.filter((o) => o === "Gemm").length >= 2 * splittable.length,
            `${id}: ${splittable.length} weights, Gemm chain missing`,
          );
          for (const t of splittable) assert.ok(!first.inits.has(t!.name), `${id}: ${t!.name} still in the graph`);
        }
      } finally {
        for (const m of models) {
          m.removeWrittenFiles();
          await m.dispose();
        }
      }
    });
  }
});
