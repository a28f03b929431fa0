// The patching panel against the engine, on demo-llama's indirect-object prompt
// (demo/ioi.introspect): the host handler's streamed cells and final grids equal the engine's
// own sweep; the page, fed the same messages the extension posts, shows those values (read back
// from its JSON export and its DOM); and the picture is the one tools/models/README.md reports:
// resid_pre peaks at the second-subject name (S2) in layers 0-3 and at the final position in the last layer.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import type { Page } from "playwright-core";
import { openModel, type LoadedModel } from "../../../src/engine";
import { runPatching } from "../../../src/engine";
import { findBlock, parsePromptFile, toPatchSpec, type PatchBlock } from "../../../src/engine";
import { runPatchExperiment, tokenizerOf, patchCellTop, preparePatch } from "../../../src/server/handlers/patch";
import { fromPatchSpec } from "../../../src/extension/patch/experiment";
import { gridsToWebview, runToWebview, type PatchProgressData, type PatchRun } from "../../../src/protocol/patchData";
import { outputDir, postToPage, startHarness, type Harness } from "../../webview/harness";
import { eventually } from "../../waitFor";

const ROOT = path.resolve(__dirname, "../../..");
const MODEL = path.join(ROOT, "models/demo-llama");
const hasChromium = fs.existsSync(process.env.CHROMIUM_PATH ?? "/usr/bin/chromium");

function argmax(a: Float32Array, from: number, n: number): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (a[from + i] > a[from + best]) best = i;
  return best;
}

describe("patching panel on demo-llama (host handler = engine = page)", function () {
  this.timeout(240000);
  let model: LoadedModel;
  let run: PatchRun;
  const progress: PatchProgressData[] = [];
  let headerSeen = 0;
  const exp = () => {
    const file = parsePromptFile(fs.readFileSync(path.join(ROOT, "demo/ioi.introspect"), "utf8"));
    return fromPatchSpec(toPatchSpec(findBlock(file, "names-swapped") as PatchBlock)!, "ioi.introspect#names-swapped");
  };

  before(async function () {
    if (!fs.existsSync(path.join(MODEL, "onnx/model.onnx"))) this.skip();
    model = await openModel(MODEL, { intraOpThreads: 1 });
    run = await runPatchExperiment(model, { ...exp(), batchSize: 16 }, 7, {
      header: () => headerSeen++,
      progress: (p) =>
        progress.push({
          ...p,
          grids: Object.fromEntries(
            Object.entries(p.grids).map(([k, g]) => [
              k,
              { normalised: g!.normalised.slice(), logitDiff: g!.logitDiff.slice(), pCorrect: g!.pCorrect.slice() },
            ]),
          ),
        }),
    });
  });
  after(async () => {
    if (model) await model.dispose();
  });

  it("streams cells and ends with the engine's own grids for the same inputs", async () => {
    const h = run.header;
    assert.strictEqual(headerSeen, 1);
    assert.deepStrictEqual(h.runSites, ["hook_resid_pre", "hook_attn_out", "hook_mlp_out"]);
    assert.strictEqual(h.correct.text, " Mary");
    assert.strictEqual(h.wrong.text, " John");
    assert.strictEqual(h.total, 3 * h.layers.length * h.positions.length);
    assert.ok(progress.length >= 2, `progress notifications: ${progress.length}`);
    const dones = progress.map((p) => p.done);
    assert.ok(
      dones.every((d, i) => i === 0 || d > dones[i - 1]),
      `done rises: ${dones.join(",")}`,
    );
    assert.strictEqual(dones[dones.length - 1], h.total);
    const engine = await runPatching(
      model,
      {
        cleanIds: h.cleanTokens.map((t) => t.id),
        corruptIds: h.corruptTokens.map((t) => t.id),
        correct: h.correct.id,
        wrong: h.wrong.id,
        sites: h.runSites,
      },
      { extra: ["logit-diff", "p-correct"] },
    );
    for (const s of h.runSites) {
      assert.deepStrictEqual(Array.from(run.grids[s]!.normalised), Array.from(engine.grids[s]!.normalised), s);
      assert.deepStrictEqual(Array.from(run.grids[s]!.logitDiff), Array.from(engine.grids[s]!.logitDiff!), s);
      // The last streamed grid of each site is the final one, cell for cell.
      const last = [...progress].reverse().find((p) => p.grids[s])!.grids[s]!;
      assert.deepStrictEqual(Array.from(last.normalised), Array.from(engine.grids[s]!.normalised), `${s} streamed`);
    }
    assert.deepStrictEqual(h.baselines, engine.baselines);
  });

  it("resid_pre: maximum at the S2 name in layers 0-3, at the final position in the last layer", () => {
    const h = run.header;
    const g = run.grids.hook_resid_pre!.normalised;
    const P = h.positions.length;
    const differ = h.cleanTokens.map((t, i) => (t.id !== h.corruptTokens[i].id ? i : -1)).filter((i) => i >= 0);
    assert.deepStrictEqual(differ, [9], "the prompts differ at the second subject (position 9)");
    for (const l of [0, 1, 2, 3]) {
      assert.strictEqual(h.positions[argmax(g, l * P, P)], 9, `layer ${l}`);
      assert.ok(g[l * P + 9] > 0.9, `layer ${l} S2 value ${g[l * P + 9]}`);
    }
    const L = h.layers.length;
    assert.strictEqual(argmax(g, (L - 1) * P, P), P - 1, "last layer: final position");
    assert.ok(g[(L - 1) * P + P - 1] > 0.9);
    console.log(
      `      resid_pre S2 by layer: ${h.layers.map((l) => g[l * P + 9].toFixed(3)).join(" ")}; END by layer: ${h.layers.map((l) => g[l * P + P - 1].toFixed(3)).join(" ")}`,
    );
  });

  it("a clicked cell's patched run agrees with the grid and ranks the answer", async () => {
    const h = run.header;
    const P = h.positions.length;
    const cell = await patchCellTop(model, {
      experiment: h.experiment,
      correct: h.correct.id,
      wrong: h.wrong.id,
      site: "hook_resid_pre",
      layer: 0,
      position: 9,
    });
    assert.ok(Math.abs(cell.logitDiff - run.grids.hook_resid_pre!.logitDiff[9]) < 1e-4);
    assert.strictEqual(cell.top[0].text, " Mary");
    assert.ok(Math.abs(run.grids.hook_resid_pre!.logitDiff[0 * P + 9] - h.baselines.clean.logitDiff) < 1e-3);
  });

  it("refuses bad answers with a sentence and pairs prompts of different lengths from the end", async () => {
    await assert.rejects(preparePatch(model, { ...exp(), answer: " Mary Jane" }), /2 tokens .*single next tokens/);
    await assert.rejects(
      runPatchExperiment(model, { ...exp(), corrupt: exp().clean, answer: undefined, wrong: undefined }, 1),
      /predict " Mary", so there is no difference to restore/,
    );
    const same = await preparePatch(model, { ...exp(), corrupt: exp().clean, answer: undefined, wrong: undefined });
    assert.strictEqual(same.correct.id, same.wrong.id, "a preview offers equal defaults; the user then picks the answers");
    const p = await preparePatch(model, { ...exp(), corrupt: "Then Mary and John went to the big store, Mary gave a drink to" });
    assert.match(p.note ?? "", /paired from the end/);
    assert.strictEqual(p.positions.length, Math.min(p.cleanTokens.length, p.corruptTokens.length));
    const tok = await tokenizerOf(model);
    assert.ok(tok.vocabSize > 1000);
  });

  (hasChromium ? describe : describe.skip)("the page", () => {
    let hs: Harness;
    let page: Page;
    const errors: string[] = [];
    before(async () => {
      hs = await startHarness("patch");
      page = await hs.open("dark", { width: 1300, height: 1400 });
      page.on("pageerror", (e) => errors.push(e.message));
    });
    after(async () => hs?.close());

    it("fills in from the streamed messages and shows the engine's values", async () => {
      const h = run.header;
      const blank = {
        ...run,
        done: 0,
        status: { kind: "running" as const },
        grids: Object.fromEntries(
          h.runSites.map((s) => [
            s,
            {
              normalised: new Float32Array(h.total / 3).fill(NaN),
              logitDiff: new Float32Array(h.total / 3).fill(NaN),
              pCorrect: new Float32Array(h.total / 3).fill(NaN),
            },
          ]),
        ),
      };
      // The messages are made by the extension's own encoders (grids as ArrayBuffers plus dims).
      const rows = h.layers.length;
      const cols = h.positions.length;
      await postToPage(page, { type: "introspect/patchRun", run: runToWebview(blank) });
      await page.waitForSelector("[data-heatmap=patch-resid_pre]");
      await eventually("the run's status", () => page.getAttribute("#root", "data-status"), "running");
      assert.strictEqual(await page.getAttribute("[data-heatmap=patch-resid_pre]", "data-rows"), String(h.layers.length));
      assert.strictEqual(await page.getAttribute("[data-heatmap=patch-resid_pre]", "data-cols"), String(h.positions.length));
      const finished: number[] = [];
      for (const p of progress.slice(0, 2)) {
        await postToPage(page, {
          type: "introspect/patchProgress",
          runId: p.runId,
          done: p.done,
          total: p.total,
          grids: gridsToWebview(p.grids, rows, cols),
        });
        await page.waitForFunction((d) => document.getElementById("root")?.dataset.done === String(d), p.done);
        finished.push(Number(await page.getAttribute("#root", "data-done")));
      }
      assert.ok(finished[1] > finished[0], `finished cells rise: ${finished}`);
      await page.screenshot({ path: path.join(outputDir(), "patch-partial.png"), fullPage: true });
      await postToPage(page, { type: "introspect/patchRun", run: runToWebview(run) });
      await page.waitForFunction(() => document.getElementById("root")?.dataset.status === "done");
      for (const s of ["resid_pre", "attn_out", "mlp_out"])
        await eventually(`finished cells of ${s}`, () => page.getAttribute(`[data-site=${s}]`, "data-finished"), String(h.total / 3));
      await page.click("button:has-text('JSON')");
      const json = await page.waitForFunction(
        () =>
          (window as unknown as { __posted: { method?: string; params?: { data: string } }[] }).__posted.find(
            (m) => m.method === "introspect/export",
          )?.params?.data,
      );
      const exported = JSON.parse((await json.jsonValue()) as string);
      assert.deepStrictEqual(exported.experiment.clean, h.experiment.clean);
      assert.strictEqual(exported.correct.text, " Mary");
      const P = h.positions.length;
      const g = run.grids.hook_resid_pre!.normalised;
      for (let l = 0; l < h.layers.length; l++)
        for (let p = 0; p < P; p++) assert.strictEqual(exported.grids.resid_pre.normalised[l][p], g[l * P + p]);
      // The hidden table (what a screen reader gets) carries the same numbers, rounded.
      // It is built when the page is idle.
      const readCells = () => page.$$eval("[data-alt=patch-resid_pre] td", (tds) => tds.map((t) => t.textContent ?? ""));
      await eventually("the hidden table's cell count", async () => (await readCells()).length, h.total / 3);
      const cells = await readCells();
      const shown = Number(/: (-?[\d.e-]+)$/.exec(cells[9])![1]);
      assert.ok(Math.abs(shown - g[9]) < 5e-3, `${cells[9]} vs ${g[9]}`);
      await page.screenshot({ path: path.join(outputDir(), "patch-done.png"), fullPage: true });
      assert.deepStrictEqual(errors, []);
      assert.deepStrictEqual(await page.evaluate(() => (window as unknown as { __cspViolations: string[] }).__cspViolations), []);
    });
  });
});
