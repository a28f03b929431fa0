// Dictionaries made here: SNMF of demo-llama's MLP activations over 200 corpus prompts (progress
// reported, saved in the SAELens layout, reloaded, same encoding), the SAE trainer on resid_post,
// and cancellation of both.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  collectActivations,
  encode,
  fitToModel,
  loadDictionary,
  measureQuality,
  readCorpus,
  saveSaeLens,
  snmf,
  trainSae,
} from "../../../src/engine";
import { IntrospectError } from "../../../src/engine";
import { ROOT, useDemoModel } from "../helpers/demoModel";

const CORPUS = path.join(ROOT, "models/data/feature-corpus.jsonl");

describe("features/train: SNMF and the SAE trainer on demo-llama", function () {
  this.timeout(240_000);
  const demo = useDemoModel();
  let tmp: string;
  before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), "introspect-features-"))));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("SNMF on 200 demo prompts reports progress, lowers the error, saves and reloads", async () => {
    const { model, tok } = demo;
    const prompts = readCorpus(CORPUS)
      .slice(0, 200)
      .map((t) => tok.encode(t).map((x) => x.id));
    assert.strictEqual(prompts.length, 200);
    const site = "blocks.2.mlp.hook_post";
    const seen: number[] = [];
    const acts = await collectActivations(model, prompts, site, { onProgress: (done) => seen.push(done) });
    assert.strictEqual(seen[seen.length - 1], 200);
    assert.strictEqual(acts.width, model.info.dMlp);
    const errors: number[] = [];
    const { dict, relError, coefficients } = await snmf(
      acts.data,
      acts.width,
      { name: "snmf", source: "", hookIn: site, site, modelName: "demo-llama" },
      {
        k: 24,
        iterations: 40,
        onProgress: (p) => errors.push(p.relError),
      },
    );
    assert.strictEqual(errors.length, 8, "progress every 5 iterations");
    assert.ok(errors[errors.length - 1] < errors[0], `error falls: ${errors.map((e) => e.toFixed(3)).join(" ")}`);
    assert.ok(relError < 0.8, `relative error ${relError}`);
    // The error reported is the error of the factors returned: ||X - Y W_dec|| / ||X||.
    const d = acts.width;
    let res = 0;
    let tot = 0;
    for (let r = 0; r < acts.data.length / d; r++) {
      for (let i = 0; i < d; i++) {
        let v = 0;
        for (let j = 0; j < 24; j++) v += coefficients[r * 24 + j] * dict.wDec[j * d + i];
        res += (acts.data[r * d + i] - v) ** 2;
        tot += acts.data[r * d + i] ** 2;
      }
    }
    assert.ok(Math.abs(Math.sqrt(res / tot) - relError) < 1e-4, `reported ${relError}, measured ${Math.sqrt(res / tot)}`);
    assert.ok(
      [...coefficients].every((v) => v >= 0),
      "coefficients are nonnegative",
    );
    const folder = path.join(tmp, "snmf");
    saveSaeLens(dict, folder);
    const back = loadDictionary(folder);
    fitToModel(back, model.info);
    assert.strictEqual(back.site, site);
    assert.deepStrictEqual([back.dIn, back.dSae], [model.info.dMlp, 24]);
    const a = encode(dict, acts.data.subarray(0, 50 * acts.width));
    const b = encode(back, acts.data.subarray(0, 50 * acts.width));
    assert.deepStrictEqual(Array.from(a), Array.from(b));
    console.log(`      ${acts.data.length / acts.width} tokens, relative error by iteration: ${errors.map((e) => e.toFixed(3)).join(" ")}`);
  });

  it("the TopK trainer explains most of resid_post's variance at L0 = k, and saves in the SAELens layout", async () => {
    const { model, tok } = demo;
    const prompts = readCorpus(CORPUS)
      .slice(0, 150)
      .map((t) => tok.encode(t).map((x) => x.id));
    const site = "blocks.2.hook_resid_post";
    const acts = await collectActivations(model, prompts, site);
    const progress: number[] = [];
    const { dict, quality } = await trainSae(
      acts.data,
      acts.width,
      { name: "t", source: "", format: "made-here", hookIn: site, site, notes: [] },
      {
        dSae: 128,
        kind: "topk",
        k: 8,
        steps: 300,
        batchSize: 64,
        lr: 3e-3,
        onProgress: (p) => progress.push(p.mse),
      },
    );
    assert.ok(
      progress.length >= 6 && progress[progress.length - 1] < progress[0],
      `mse falls: ${progress.map((v) => v.toFixed(2)).join(" ")}`,
    );
    assert.ok(quality.l0 <= 8 && quality.l0 > 4, `L0 ${quality.l0}`);
    assert.ok(quality.explainedVariance > 0.5, `explained variance ${quality.explainedVariance}`);
    saveSaeLens(dict, path.join(tmp, "topk"));
    const back = loadDictionary(path.join(tmp, "topk"));
    const q2 = measureQuality(back, acts.data);
    assert.ok(Math.abs(q2.explainedVariance - quality.explainedVariance) < 1e-9 && back.k === 8);
    console.log(
      `      TopK k=8, 128 features, 300 steps: explained variance ${quality.explainedVariance.toFixed(3)}, L0 ${quality.l0.toFixed(2)}`,
    );
  });

  it("ReLU+L1 training and SNMF stop when cancelled", async () => {
    const x = new Float32Array(64 * 16).map((_, i) => Math.sin(i));
    const cancel = { isCancellationRequested: false };
    const base = {
      name: "t",
      source: "",
      format: "made-here" as const,
      hookIn: "blocks.0.hook_resid_post",
      site: "blocks.0.hook_resid_post",
      notes: [],
    };
    await assert.rejects(
      trainSae(x, 16, base, {
        dSae: 32,
        kind: "relu-l1",
        steps: 1000,
        batchSize: 16,
        progressEvery: 10,
        cancel,
        onProgress: (p) => (cancel.isCancellationRequested = p.step >= 20),
      }),
      (e: unknown) => e instanceof IntrospectError && e.code === "cancelled",
    );
    const c2 = { isCancellationRequested: false };
    await assert.rejects(
      snmf(x, 16, base, { k: 4, iterations: 100, cancel: c2, onProgress: () => (c2.isCancellationRequested = true) }),
      (e: unknown) => e instanceof IntrospectError && e.code === "cancelled",
    );
  });
});
