import * as assert from "assert";
import { ToyModel } from "./toy-model";
import { patchingSweep, defaultAnswers, PatchProgress } from "../../../src/engine";
import { alignPositions } from "../../../src/engine";
import { IntrospectError } from "../../../src/engine";

const clean = [1, 2, 3, 4, 5];
const corrupt = [1, 2, 7, 4, 5];

// The toy's top-1 rarely changes, so pick the tokens the corruption moves most in each direction.
function contrast(a: Float32Array, b: Float32Array) {
  let correct = 0;
  let wrong = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] - b[i] > a[correct] - b[correct]) correct = i;
    if (a[i] - b[i] < a[wrong] - b[wrong]) wrong = i;
  }
  return { correct, wrong };
}
async function answers(m: ToyModel, c = clean) {
  return contrast((await m.capture(c, [])).logits, (await m.capture(corrupt, [])).logits);
}

describe("patch/sweep", () => {
  it("matches brute-force single-cell patching for every cell, with baselines", async () => {
    const m = new ToyModel();
    const { correct, wrong } = await answers(m);
    assert.notStrictEqual(correct, wrong, "toy prompts should disagree on top-1");
    const sites = ["hook_resid_pre", "hook_attn_out", "hook_mlp_out", "hook_resid_post"] as const;
    const res = await patchingSweep(
      m,
      { cleanIds: clean, corruptIds: corrupt, correct, wrong, sites: [...sites] },
      { batchSize: 5, extra: ["logit-diff", "p-correct"] },
    );
    const cl = (await m.capture(clean, [])).logits;
    const co = (await m.capture(corrupt, [])).logits;
    const ldc = cl[correct] - cl[wrong];
    const ldk = co[correct] - co[wrong];
    assert.ok(Math.abs(res.baselines.clean.logitDiff - ldc) < 1e-6);
    assert.ok(Math.abs(res.baselines.corrupt.logitDiff - ldk) < 1e-6);
    const names = sites.flatMap((s) => [0, 1, 2].map((l) => `blocks.${l}.${s}`));
    const acts = (await m.capture(clean, names)).acts;
    let maxErr = 0;
    for (const s of sites) {
      for (let l = 0; l < 3; l++) {
        for (let p = 0; p < clean.length; p++) {
          const name = `blocks.${l}.${s}`;
          const row = m.single(corrupt, name, p, acts.get(name)!.subarray(p * 6, (p + 1) * 6));
          const want = (row[correct] - row[wrong] - ldk) / (ldc - ldk);
          const got = res.grids[s]!.normalised[l * clean.length + p];
          maxErr = Math.max(maxErr, Math.abs(got - want));
          assert.ok(Math.abs(res.grids[s]!.logitDiff![l * clean.length + p] - (row[correct] - row[wrong])) < 1e-5);
        }
      }
    }
    assert.ok(maxErr < 1e-5, `max error ${maxErr}`);
    // Patching the changed token's embedding restores the clean run exactly; so does the last residual.
    assert.ok(Math.abs(res.grids.hook_resid_pre!.normalised[0 * 5 + 2] - 1) < 1e-5);
    assert.ok(Math.abs(res.grids.hook_resid_post!.normalised[2 * 5 + 4] - 1) < 1e-5);
    // Positions before the first difference cannot change anything: skipped, exactly 0.
    for (const s of sites) for (let l = 0; l < 3; l++) for (const p of [0, 1]) assert.strictEqual(res.grids[s]!.normalised[l * 5 + p], 0);
    assert.strictEqual(res.cellsSkipped, 4 * 3 * 2 + 2 /* resid_pre of layer 0 at positions 3, 4: equal tokens */);
    assert.ok(res.grids.hook_resid_pre!.pCorrect!.every((x) => x > 0 && x < 1));
  });

  it("batches cells into few forward passes; batch size does not change results", async () => {
    const m1 = new ToyModel();
    const m2 = new ToyModel();
    const { correct, wrong } = await answers(m1);
    const spec = { cleanIds: clean, corruptIds: corrupt, correct, wrong };
    const r1 = await patchingSweep(m1, spec, { batchSize: 1 });
    const r2 = await patchingSweep(m2, spec, { batchSize: 16 });
    assert.strictEqual(m1.patchedCalls, r1.cellsRun);
    assert.strictEqual(m2.patchedCalls, Math.ceil(r2.cellsRun / 16));
    assert.strictEqual(m2.rowsRun, r2.cellsRun);
    for (const s of ["hook_resid_pre", "hook_attn_out", "hook_mlp_out"] as const) {
      assert.deepStrictEqual(Array.from(r1.grids[s]!.normalised), Array.from(r2.grids[s]!.normalised));
    }
  });

  it("reports progress per batch and stops within one batch when cancelled", async () => {
    const m = new ToyModel();
    const { correct, wrong } = await answers(m);
    const token = { isCancellationRequested: false };
    const seen: PatchProgress[] = [];
    await assert.rejects(
      patchingSweep(
        m,
        { cleanIds: clean, corruptIds: corrupt, correct, wrong },
        {
          batchSize: 4,
          cancel: token,
          onProgress: (p) => {
            seen.push(p);
            if (seen.filter((s) => !s.cells[0].skipped).length === 2) token.isCancellationRequested = true;
          },
        },
      ),
      (e: unknown) => e instanceof IntrospectError && e.code === "cancelled",
    );
    assert.strictEqual(m.patchedCalls, 2);
    const last = seen[seen.length - 1];
    assert.ok(last.done < last.total);
  });

  it("aligns prompts of different lengths from the end and says so", async () => {
    const a = alignPositions(6, 4);
    assert.deepStrictEqual(a.corruptPositions, [0, 1, 2, 3]);
    assert.deepStrictEqual(a.cleanPositions, [2, 3, 4, 5]);
    assert.match(a.note!, /paired from the end/);
    const b = alignPositions(3, 5, [-1, 3]);
    assert.deepStrictEqual(b.corruptPositions, [4, 3]);
    assert.deepStrictEqual(b.cleanPositions, [2, 1]);
    assert.throws(() => alignPositions(3, 5, [0]), /has no partner/);
    assert.strictEqual(alignPositions(4, 4).note, undefined);
    const m = new ToyModel();
    const c2 = [9, 1, 2, 3, 4, 5];
    const { correct, wrong } = await answers(m, c2);
    const res = await patchingSweep(m, { cleanIds: c2, corruptIds: corrupt, correct, wrong, sites: ["hook_resid_post"] });
    assert.deepStrictEqual(res.positions, [0, 1, 2, 3, 4]);
    assert.ok(Math.abs(res.grids.hook_resid_post!.normalised[2 * 5 + 4] - 1) < 1e-5);
    assert.ok(res.note);
  });

  it("defaults answers to each run's top-1", () => {
    assert.deepStrictEqual(defaultAnswers(Float32Array.from([0, 3, 1]), Float32Array.from([2, 0, 1])), { correct: 1, wrong: 0 });
  });

  it("refuses bad specs with sentences", async () => {
    const m = new ToyModel();
    await assert.rejects(patchingSweep(m, { cleanIds: clean, corruptIds: corrupt, correct: 3, wrong: 3 }), /same token/);
    await assert.rejects(patchingSweep(m, { cleanIds: clean, corruptIds: corrupt, correct: 99, wrong: 3 }), /not in the vocabulary/);
    await assert.rejects(patchingSweep(m, { cleanIds: clean, corruptIds: clean, correct: 1, wrong: 3 }), /nothing to restore/);
    await assert.rejects(patchingSweep(m, { cleanIds: clean, corruptIds: corrupt, correct: 1, wrong: 3, layers: [5] }), /does not exist/);
  });
});
