// Patching a routing decision (the `routing` site, blocks.L.moe.hook_router_logits) on demo-moe:
// every cell of the layer x position sweep and the patched last-position logits of every cell that
// runs equal tools/models/routing_patch_ref.py (PyTorch, a forward hook on the router module that
// puts the clean run's router logits at one position into the corrupted run).
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { loadTokenizer, openModel, patchCell, runPatching, type LoadedModel } from "../../../src/engine";
import { patchableSites, patchCellTop, runPatchExperiment } from "../../../src/server/handlers/patch";
import { readSafetensors, toFloat32 } from "../../../src/engine/safetensors";

const ROOT = path.resolve(__dirname, "../../..");
const REF = path.join(ROOT, "test/fixtures/reference/demo-moe");

interface Ref {
  clean_ids: number[];
  corrupt_ids: number[];
  correct: number;
  wrong: number;
  first_differing_position: number;
  baselines: { clean: number; corrupt: number };
  logit_diff: number[][];
  cells_with_logits: string[];
}

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-4 * Math.max(1, Math.abs(b));

describe("patching expert routing decisions (demo-moe, against PyTorch)", function () {
  this.timeout(180000);
  let model: LoadedModel;
  const ref = JSON.parse(fs.readFileSync(path.join(REF, "routing_patch.json"), "utf8")) as Ref;
  const tensors = readSafetensors(path.join(REF, "routing_patch.safetensors")).tensors;
  const spec = { cleanIds: ref.clean_ids, corruptIds: ref.corrupt_ids, correct: ref.correct, wrong: ref.wrong };

  before(async () => {
    model = await openModel(path.join(ROOT, "models/demo-moe"));
  });

  for (const batchSize of [1, 8]) {
    it(`the sweep's logit differences equal PyTorch's in every cell (batch ${batchSize})`, async () => {
      const r = await runPatching(model, { ...spec, sites: ["moe.hook_router_logits"] }, { extra: ["logit-diff"], batchSize });
      const g = r.grids["moe.hook_router_logits"]!;
      const P = r.positions.length;
      assert.ok(close(r.baselines.clean.logitDiff, ref.baselines.clean) && close(r.baselines.corrupt.logitDiff, ref.baselines.corrupt));
      let worst = 0;
      let moved = 0;
      r.layers.forEach((L, li) =>
        r.positions.forEach((p, pi) => {
          const got = g.logitDiff![li * P + pi];
          const want = ref.logit_diff[L][p];
          worst = Math.max(worst, Math.abs(got - want));
          assert.ok(close(got, want), `L${L} p${p}: ${got} vs PyTorch ${want}`);
          if (Math.abs(got - ref.baselines.corrupt) > 0.1) moved++;
        }),
      );
      assert.strictEqual(
        r.cellsSkipped,
        ref.first_differing_position * r.layers.length,
        "cells before the first differing token are not run",
      );
      assert.ok(moved >= 3, `some routing patches move the logit difference (${moved} cells)`);
      console.log(`      ${r.cellsRun} cells run, ${r.forwardPasses} passes; max |Δ logit diff| vs PyTorch ${worst.toExponential(1)}`);
    });
  }

  it("the patched logits of every run cell equal PyTorch's within 1e-4", async () => {
    let worst = 0;
    for (const name of ref.cells_with_logits) {
      const [, L, p] = /^L(\d+)\/p(\d+)$/.exec(name)!.map(Number);
      const { logits } = await patchCell(model, spec, "moe.hook_router_logits", L, p);
      const want = toFloat32(tensors.get(name)!);
      assert.strictEqual(logits.length, want.length);
      for (let i = 0; i < want.length; i++) {
        worst = Math.max(worst, Math.abs(logits[i] - want[i]));
        assert.ok(close(logits[i], want[i]), `${name} logit ${i}: ${logits[i]} vs ${want[i]}`);
      }
    }
    console.log(`      ${ref.cells_with_logits.length} cells, max |Δ logit| vs PyTorch ${worst.toExponential(1)}`);
  });

  it("the host offers the routing site on demo-moe and its experiment and cell answers equal PyTorch's", async () => {
    assert.ok(patchableSites(model).includes("moe.hook_router_logits"));
    const tok = await loadTokenizer(path.join(ROOT, "models/demo-moe"));
    const clean = tok.decode(ref.clean_ids);
    const corrupt = tok.decode(ref.corrupt_ids);
    assert.deepStrictEqual(
      tok.encode(corrupt).map((t) => t.id),
      ref.corrupt_ids,
      "the corrupted text encodes back to its ids",
    );
    const experiment = { clean, corrupt, answer: `#${ref.correct}`, wrong: `#${ref.wrong}`, sites: ["moe.hook_router_logits" as const] };
    const run = await runPatchExperiment(model, experiment, 1);
    const g = run.grids["moe.hook_router_logits"]!;
    const P = run.header.positions.length;
    run.header.layers.forEach((L, li) =>
      run.header.positions.forEach((p, pi) => assert.ok(close(g.logitDiff[li * P + pi], ref.logit_diff[L][p]), `host L${L} p${p}`)),
    );
    const cell = await patchCellTop(model, {
      experiment,
      correct: ref.correct,
      wrong: ref.wrong,
      site: "moe.hook_router_logits",
      layer: 4,
      position: 13,
    });
    assert.ok(close(cell.logitDiff, ref.logit_diff[4][13]), `${cell.logitDiff} vs ${ref.logit_diff[4][13]}`);
  });

  it("a model without routers refuses the routing site with one sentence", async () => {
    const dense = await openModel(path.join(ROOT, "models/demo-llama"));
    await assert.rejects(
      async () =>
        runPatching(dense, { cleanIds: [1, 2, 3], corruptIds: [1, 4, 3], correct: 5, wrong: 6, sites: ["moe.hook_router_logits"] }),
      (e: Error) => /does not expose blocks\.0\.moe\.hook_router_logits/.test(e.message) && !e.message.includes("\n"),
    );
  });
});
