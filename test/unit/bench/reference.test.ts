// The benchmark's own parts at tiny size: the model generator, the PyTorch-hooks reference
// (same logits as onnxruntime, patching hooks that restore exactly), and the harness helpers.

import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Tokenizer } from "@huggingface/tokenizers";
import { gaussian } from "../../../bench/lib/context";
import { PYTHON, readModel, ROOT } from "../../../bench/lib/models";
import { maxAbsDiff, PlainModel, top2Last } from "../../../bench/lib/ort";
import { corrupt, randomIds } from "../../../bench/lib/prompts";
import { runReference } from "../../../bench/lib/reference";
import { statOf } from "../../../bench/lib/stats";
import { ratioRow } from "../../../bench/lib/table";

describe("bench: tiny GPT-2 generator and PyTorch reference", function () {
  this.timeout(240000);
  let out: string;

  before(() => {
    out = fs.mkdtempSync(path.join(os.tmpdir(), "bench-test-"));
    const r = spawnSync(PYTHON, [path.join(ROOT, "bench/models/make_gpt2_small.py"), "--tiny", "--out", out], { encoding: "utf8" });
    assert.strictEqual(r.status, 0, `make_gpt2_small.py --tiny failed (needs python3-torch, python3-onnx): ${r.stderr}`);
  });

  after(() => fs.rmSync(out, { recursive: true, force: true }));

  it("writes external-data and inline variants with Optimum input and output names", async () => {
    const ext = path.join(out, "gpt2-tiny", "onnx");
    assert.ok(fs.statSync(path.join(ext, "model.onnx_data")).size > fs.statSync(path.join(ext, "model.onnx")).size);
    const inline = path.join(out, "gpt2-tiny-inline", "onnx");
    assert.deepStrictEqual(fs.readdirSync(inline), ["model.onnx"]);
    const m = await PlainModel.open(path.join(ext, "model.onnx"), readModel("t", path.join(out, "gpt2-tiny")).kv);
    try {
      assert.deepStrictEqual(m.session.inputNames.slice(0, 5), [
        "input_ids",
        "attention_mask",
        "position_ids",
        "past_key_values.0.key",
        "past_key_values.0.value",
      ]);
      assert.deepStrictEqual(m.session.outputNames.slice(0, 3), ["logits", "present.0.key", "present.0.value"]);
    } finally {
      await m.release();
    }
  });

  it("writes a tokenizer.json that loads and round-trips text", () => {
    const dir = path.join(out, "gpt2-tiny");
    const tok = new Tokenizer(
      JSON.parse(fs.readFileSync(path.join(dir, "tokenizer.json"), "utf8")),
      JSON.parse(fs.readFileSync(path.join(dir, "tokenizer_config.json"), "utf8")),
    );
    const text = "Héllo <script> wörld\n";
    const ids = tok.encode(text).ids;
    assert.ok(ids.every((i: number) => i >= 0 && i < 257));
    assert.strictEqual(tok.decode(ids), text);
  });

  it("computes onnxruntime's logits, restores exactly under patching, and decodes the same tokens", async () => {
    const model = readModel("gpt2-tiny", path.join(out, "gpt2-tiny"));
    const plain = await PlainModel.open(model.onnx, model.kv);
    try {
      const clean = randomIds(8, model.vocab, 1, [256]);
      const corrupted = corrupt(clean, [5], model.vocab, 2);
      const cl = await plain.logits(clean);
      const co = await plain.logits(corrupted);
      const [correct, second] = top2Last(cl, model.vocab);
      const [top] = top2Last(co, model.vocab);
      const wrong = top === correct ? second : top;
      const diff = (l: Float32Array) => l[l.length - model.vocab + correct] - l[l.length - model.vocab + wrong];
      const checkFile = path.join(out, "check.f32");
      const vector = gaussian(model.dModel, 0, 30);
      const r = await runReference(
        {
          model_dir: model.dir,
          onnx: model.onnx,
          threads: 2,
          repeats: 1,
          warmup: 0,
          tasks: ["check", "plain", "sweep", "generate"],
          check: { ids: clean, out: checkFile },
          plain: { inputs: { "8": clean } },
          sweep: { clean, corrupted, layers: 2, positions: [4, 5, 7], correct, wrong },
          generate: { prompt: clean.slice(0, 4), new_tokens: 6, steer_layer: 1, steer_vector: Array.from(vector) },
        },
        true,
      );
      assert.ok(r.env.openblas, "torch must use OpenBLAS (install libopenblas0-pthread)");
      const torchLogits = new Float32Array(fs.readFileSync(checkFile).buffer.slice(0));
      assert.ok(maxAbsDiff(cl, torchLogits) < 1e-4, `logits differ by ${maxAbsDiff(cl, torchLogits)}`);
      const sw = r.sweep!;
      assert.ok(Math.abs(sw.corrupted_logit_diff - diff(co)) < 1e-4);
      // Layer 0, the corrupted position: patching its resid_pre with the clean one gives the clean run.
      assert.ok(Math.abs(sw.logit_diff[0][1] - diff(cl)) < 1e-4, `${sw.logit_diff[0][1]} vs ${diff(cl)}`);
      // An uncorrupted position changes nothing.
      assert.ok(Math.abs(sw.logit_diff[0][0] - diff(co)) < 1e-4);
      assert.ok(Math.abs(diff(cl) - diff(co)) > 1e-3, "the corruption must move the metric for this test to mean anything");
      const g = r.generate!;
      assert.deepStrictEqual(await plain.generate(clean.slice(0, 4), 6), g.unsteered.tokens);
      assert.notDeepStrictEqual(g.steered.tokens, g.unsteered.tokens);
    } finally {
      await plain.release();
    }
  });
});

describe("bench: PyTorch reference on a tiny Llama export", function () {
  this.timeout(240000);

  it("maps folded and merged ONNX weights onto the plain-torch Llama and matches onnxruntime", async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "bench-llama-"));
    try {
      const mk = spawnSync(PYTHON, [path.join(ROOT, "bench/models/make_tiny_llama.py"), out], { encoding: "utf8" });
      assert.strictEqual(mk.status, 0, mk.stderr);
      const model = readModel("tiny-llama", out);
      assert.deepStrictEqual(model.kv, { layers: 2, kvHeads: 2, headDim: 16 });
      const plain = await PlainModel.open(model.onnx, model.kv);
      try {
        const ids = randomIds(12, model.vocab, 5);
        const checkFile = path.join(out, "check.f32");
        const r = await runReference(
          {
            model_dir: out,
            onnx: model.onnx,
            threads: 2,
            repeats: 1,
            warmup: 0,
            tasks: ["check", "generate"],
            check: { ids, out: checkFile },
            generate: { prompt: ids.slice(0, 5), new_tokens: 5, steer_layer: 1, steer_vector: Array.from(gaussian(64, 0, 1)) },
          },
          true,
        );
        const torchLogits = new Float32Array(fs.readFileSync(checkFile).buffer.slice(0));
        const ortLogits = await plain.logits(ids);
        assert.ok(maxAbsDiff(ortLogits, torchLogits) < 1e-4, `logits differ by ${maxAbsDiff(ortLogits, torchLogits)}`);
        assert.deepStrictEqual(await plain.generate(ids.slice(0, 5), 5), r.generate!.unsteered.tokens);
      } finally {
        await plain.release();
      }
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});

describe("bench: helpers", () => {
  it("seeded prompts are reproducible and corrupt only the given positions", () => {
    assert.deepStrictEqual(randomIds(5, 100, 3), randomIds(5, 100, 3));
    assert.notDeepStrictEqual(randomIds(5, 100, 3), randomIds(5, 100, 4));
    const c = randomIds(10, 50, 1);
    const k = corrupt(c, [2, 7], 50, 9);
    assert.deepStrictEqual(
      c.map((v, i) => v !== k[i]),
      c.map((_, i) => i === 2 || i === 7),
    );
  });

  it("statistics and goals", () => {
    const s = statOf([3, 1, 2, 10]);
    assert.strictEqual(s.median, 2.5);
    const cell = (v: number) => ({ label: "", stat: statOf([v]), unit: "s" as const });
    assert.strictEqual(ratioRow("f", cell(1.2), cell(1), { kind: "max", value: 1.1 }).met, false);
    assert.strictEqual(ratioRow("f", cell(1.0), cell(1), { kind: "max", value: 1.1 }).met, true);
    assert.strictEqual(ratioRow("f", cell(0.9), cell(1), { kind: "min", value: 0.95 }).met, false);
  });
});
