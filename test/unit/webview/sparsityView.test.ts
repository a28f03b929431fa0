// The probe panel's activation-sparsity section in headless Chromium: "Measure sparsity" asks for
// the probed tokens' sparsity, and the answer (measured by the engine on demo-llama) is drawn as one
// bar row per layer whose widths and labels are the measured shares. Screenshot in .test-output/webview/.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { answer, outputDir, postToPage, startHarness, type Harness } from "../../webview/harness";
import { makeFixture, sampleTexts } from "../../webview/fixture";
import { openModel } from "../../../src/engine";
import { pplSparsityOfRows, sparsityOfRows } from "../../../src/engine";
import { pct } from "../../../webview/shared/format";
import type { SparsityResult } from "../../../src/protocol/lsp";
import { eventually, waitFor } from "../../waitFor";

const hasChromium = fs.existsSync(process.env.CHROMIUM_PATH ?? "/usr/bin/chromium");
const ROOT = path.resolve(__dirname, "../../..");

(hasChromium ? describe : describe.skip)("webview/probe sparsity chart (headless Chromium)", function () {
  this.timeout(180000);
  let h: Harness;
  before(async () => {
    h = await startHarness("probe");
  });
  after(async () => h?.close());

  it("draws the measured shares per layer as bars with their values", async () => {
    const result = makeFixture({ texts: sampleTexts(24), selection: { start: 0, end: 24 }, layers: 6 });
    const ids = result.tokens.map((t) => t.id);
    const model = await openModel(path.join(ROOT, "models/demo-llama"));
    let measured: SparsityResult;
    try {
      const layers = await sparsityOfRows(model, [ids], 0.01);
      const ppl = [await pplSparsityOfRows(model, [ids], 1), await pplSparsityOfRows(model, [ids], 5)];
      measured = {
        threshold: 0.01,
        layers: layers.map((l, i) => ({
          layer: l.layer,
          exactZero: l.exactZero,
          belowThreshold: l.belowThreshold,
          ppl: ppl.map((r) => r.found.perLayer[i]),
        })),
        ppl: ppl.map((r) => ({ p: r.p, share: r.found.share, threshold: r.found.threshold, baseline: r.baseline, ppl: r.found.ppl })),
      };
    } finally {
      await model.dispose();
    }
    const p = await h.open("dark");
    await answer(p, "introspect/sparsity", { ids, threshold: 0.01, ps: [1, 5] }, measured);
    await postToPage(p, { type: "introspect/probeResult", result });
    await p.locator("[data-view=sparsity] button", { hasText: "Measure sparsity" }).click();
    await eventually("sparsity rows", () => p.locator(".sparsity-chart tr[data-layer]").count(), 6).catch(async (e: Error) => {
      // What the view shows instead (still measuring, an error, or the button again after a redraw).
      throw new Error(`${e.message}; the view reads: ${await p.locator("[data-view=sparsity]").innerText()}`);
    });
    for (const l of measured.layers) {
      const cell = p.locator(`.sparsity-chart tr[data-layer="${l.layer}"] td[data-series=ppl1]`);
      assert.strictEqual(await cell.locator(".bar-label").innerText(), pct(l.ppl[0]));
      const w = await cell.locator(".bar").evaluate((b) => (b as HTMLElement).style.width);
      assert.strictEqual(w, `${Math.round(100 * l.ppl[0])}%`);
    }
    assert.match(await p.locator("[data-view=sparsity]").innerText(), /PPL-5%: (<)?\d+(\.\d+)?% of the MLP activations/);
    // The panel is drawn again on a theme switch (and on pins, lens chunks): the chart stays.
    const before = await p.$("[data-view=sparsity]");
    await p.evaluate(() => document.body.classList.replace("vscode-dark", "vscode-light"));
    await waitFor("the panel repainted", async () => !(await before!.evaluate((e) => e.isConnected)));
    await eventually("sparsity rows after the repaint", () => p.locator(".sparsity-chart tr[data-layer]").count(), 6);
    assert.deepStrictEqual(await p.evaluate(() => (window as unknown as { __cspViolations: string[] }).__cspViolations), []);
    await p.locator("[data-view=sparsity]").screenshot({ path: path.join(outputDir(), "probe-sparsity.png") });
    console.log(
      `      PPL-1% per layer: ${measured.layers.map((l) => (100 * l.ppl[0]).toFixed(1) + "%").join(" ")}; ${measured.ppl.map((x) => `PPL-${x.p}% ${(100 * x.share).toFixed(1)}%`).join(", ")}`,
    );
    await p.close();
  });
});
