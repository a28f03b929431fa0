// A steered prompt pass that starts at the steered layer, from the remembered unsteered prompt's
// residual and keys/values, continues exactly as the whole-graph steered run.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { openModel } from "../../../src/engine/model/open";
import { modelDecoderFactory } from "../../../src/engine/generate/model-decoder";
import { forgetPrompts } from "../../../src/engine/generate/steeredPrefix";
import type { LoadedModel } from "../../../src/engine/model/loaded";

const ROOT = path.resolve(__dirname, "../../..");
const MODELS = [
  "models/demo-llama",
  "test/fixtures/zoo/gpt2-torchscript",
  "test/fixtures/zoo/qwen2-torchscript",
  "test/fixtures/zoo/gpt_neox-torchscript",
  "test/fixtures/local/tiny-llama",
];

const argmax = (r: Float32Array) => r.reduce((b, x, i) => (x > r[b] ? i : b), 0);

async function steeredRun(model: LoadedModel, fromLayer: boolean, site: string, v: Float32Array, prompt: number[], steps: number) {
  const factory = modelDecoderFactory(model, { prepare: [site], fromSteeredLayer: fromLayer });
  const plain = factory(new Map());
  await plain.feed(prompt); // the unsteered prompt pass the steering panel keeps
  plain.dispose();
  const before = model.writtenFiles.length;
  const d = factory(new Map([[site, v]]));
  const rows: Float32Array[] = [await d.feed(prompt)];
  const cutWritten = model.writtenFiles.length > before;
  const ids: number[] = [];
  for (let i = 0; i < steps; i++) {
    ids.push(argmax(rows[rows.length - 1]));
    rows.push(await d.feed([ids[ids.length - 1]]));
  }
  d.dispose();
  return { ids, rows, cutWritten };
}

describe("generate/steered prefix", () => {
  for (const rel of MODELS) {
    const dir = path.join(ROOT, rel);
    it(`${path.basename(rel)}: steered tokens and logits from the steered layer equal the whole-graph steered run`, async function () {
      if (!fs.existsSync(path.join(dir, "onnx/model.onnx"))) this.skip();
      const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "introspect-steeredprefix-"));
      const model = await openModel(dir, { cacheDir });
      try {
        const L = model.info.numLayers;
        const layer = Math.max(1, Math.floor(L / 2));
        // resid_post of the layer before: the cut starts at `layer` with the vector added to its input.
        const site = `blocks.${layer - 1}.hook_resid_post`;
        const V = model.info.vocabSize;
        const prompt = Array.from({ length: 11 }, (_, i) => (i * 7919 + 5) % V);
        const v = Float32Array.from({ length: model.info.dModel }, (_, i) => 6 * Math.sin(i * 0.37));
        const cut = await steeredRun(model, true, site, v, prompt, 6);
        forgetPrompts(model);
        const full = await steeredRun(model, false, site, v, prompt, 6);
        assert.ok(cut.cutWritten, "the steered prompt pass should have run the layer cut");
        assert.deepStrictEqual(cut.ids, full.ids);
        let worst = 0;
        cut.rows.forEach((r, k) => r.forEach((x, i) => (worst = Math.max(worst, Math.abs(x - full.rows[k][i])))));
        assert.ok(worst < 1e-4, `max |logits from layer ${layer} - whole graph| = ${worst}`);
        // The steering matters here (otherwise the comparison shows nothing).
        const plain = modelDecoderFactory(model, { prepare: [site] })(new Map());
        const p0 = await plain.feed(prompt);
        plain.dispose();
        let moved = 0;
        p0.forEach((x, i) => (moved = Math.max(moved, Math.abs(x - full.rows[0][i]))));
        assert.ok(moved > 1e-3, "the vector should change the logits");
      } finally {
        await model.dispose();
        fs.rmSync(cacheDir, { recursive: true, force: true });
      }
    });
  }
});
