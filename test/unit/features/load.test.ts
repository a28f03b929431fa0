// Dictionaries written by tools/features/sae_fixtures.py (an independent numpy script, from the
// formats' documented tensor names): each loads, fits demo-llama, and encodes the captured
// activation to the features numpy computed, within 1e-5.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { decode, encode, fitToModel, loadDictionary, read, siteForHook, type Dictionary } from "../../../src/engine";
import { readSafetensors, toFloat32 } from "../../../src/engine";
import { IntrospectError } from "../../../src/engine";
import { ROOT, useDemoModel } from "../helpers/demoModel";

const FIX = path.join(ROOT, "test/fixtures/features");
const GEMMA = path.join(FIX, "gemma-scope-2/resid_post/layer_3_width_48_l0_small/params.safetensors");

function expected(dir: string): Map<string, Float32Array> {
  const t = readSafetensors(path.join(dir, "expected.safetensors")).tensors;
  return new Map([...t].map(([k, v]) => [k, toFloat32(v)]));
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.strictEqual(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const CASES: Array<[string, string, Dictionary["architecture"]]> = [
  ["saelens-standard", path.join(FIX, "saelens-standard"), "standard"],
  ["saelens-gated", path.join(FIX, "saelens-gated"), "gated"],
  ["saelens-jumprelu (flat hook_point)", path.join(FIX, "saelens-jumprelu"), "jumprelu"],
  ["saelens-topk (constant_norm_rescale)", path.join(FIX, "saelens-topk"), "topk"],
  ["gemma scope 2 params.safetensors", GEMMA, "jumprelu"],
];

describe("features/load: published layouts against numpy", function () {
  this.timeout(60_000);
  const demo = useDemoModel();

  for (const [title, target, arch] of CASES) {
    it(`${title}: encode and decode equal numpy within 1e-5, and the live capture encodes alike`, async () => {
      const d = loadDictionary(target);
      assert.strictEqual(d.architecture, arch);
      assert.deepStrictEqual([d.dIn, d.dSae], [128, 48]);
      const notes = fitToModel(d, demo.model.info, demo.model.resolved.folder);
      assert.deepStrictEqual(notes, [], "demo-llama is the model the files name");
      const exp = expected(fs.statSync(target).isDirectory() ? target : path.dirname(target));
      const f = encode(d, exp.get("x")!);
      const fd = maxDiff(f, exp.get("features")!);
      const rd = maxDiff(decode(d, f, exp.get("x")!), exp.get("reconstruction")!);
      assert.ok(fd < 1e-5 && rd < 1e-5, `features |Δ| ${fd}, reconstruction |Δ| ${rd}`);
      let active = 0;
      for (const v of f) if (v > 0) active++;
      assert.ok(active > 0, "some features fire");
      // The same site captured by onnxruntime (the reference is PyTorch's): same features up to
      // the activations' own difference.
      const ids = JSON.parse(fs.readFileSync(path.join(ROOT, "test/fixtures/reference/demo-llama/manifest.json"), "utf8")).prompts[0].ids;
      const cap = (await demo.model.run({ ids, capture: [d.site] })).captures.get(d.site)!;
      const live = encode(d, cap.data);
      const xd = maxDiff(cap.data, exp.get("x")!);
      const ld = maxDiff(live, exp.get("features")!);
      assert.ok(xd < 1e-4 && ld < 1e-4, `live capture |Δx| ${xd}, features |Δ| ${ld}`);
      console.log(
        `      ${d.site}: features |Δ| ${fd.toExponential(1)}, reconstruction ${rd.toExponential(1)}, live ${ld.toExponential(1)}`,
      );
    });
  }

  it("a skip transcoder maps resid_mid to mlp_out, decode with W_skip equal to numpy", () => {
    const dir = path.join(FIX, "saelens-transcoder");
    const d = loadDictionary(dir);
    fitToModel(d, demo.model.info);
    assert.strictEqual(d.site, "blocks.2.hook_resid_mid");
    assert.strictEqual(d.outSite, "blocks.2.hook_mlp_out");
    assert.ok(d.wSkip);
    const exp = expected(dir);
    const r = read(d, exp.get("x")!, exp.get("target")!);
    const fd = maxDiff(r.features, exp.get("features")!);
    const rd = maxDiff(r.reconstruction, exp.get("reconstruction")!);
    assert.ok(fd < 1e-5 && rd < 1e-5, `features |Δ| ${fd}, reconstruction |Δ| ${rd}`);
    assert.strictEqual(r.l0.length, exp.get("x")!.length / 128);
  });

  it("sparsity.safetensors is read as log10 densities", () => {
    const d = loadDictionary(path.join(FIX, "saelens-standard"));
    assert.strictEqual(d.logSparsity?.length, 48);
    assert.ok([...d.logSparsity!].every((v) => v >= -4 && v <= -1));
  });

  it("a width or model-name mismatch, and sites Introspect cannot capture, get one sentence", () => {
    const d = loadDictionary(path.join(FIX, "saelens-standard"));
    const info = demo.model.info;
    const wide = { ...info, dModel: 256, id: "other" };
    assert.throws(
      () => fitToModel({ ...d }, wide),
      (e: unknown) =>
        e instanceof IntrospectError &&
        /d_in 128 but blocks\.2\.hook_resid_post of other is 256 wide/.test(e.message) &&
        !e.message.includes("\n"),
    );
    const notes = fitToModel({ ...d, modelName: "gpt2-small" }, info);
    assert.strictEqual(notes.length, 1);
    assert.match(notes[0], /trained on gpt2-small, and the loaded model is/);
    assert.throws(() => siteForHook("blocks.2.ln2.hook_normalized", info), /normalised input, which Introspect does not capture/);
    assert.throws(() => siteForHook("blocks.9.hook_resid_post", info), /layer 9, but the loaded model has 6 layers/);
    assert.strictEqual(siteForHook("model.layers.4.output", info), "blocks.4.hook_resid_post");
    assert.strictEqual(siteForHook("model.layers.1.mlp", info), "blocks.1.hook_mlp_out");
    assert.throws(() => loadDictionary(path.join(FIX, "nope")), /does not exist/);
    assert.throws(() => loadDictionary(path.join(ROOT, "models/demo-llama")), /neither cfg\.json/);
  });
});
