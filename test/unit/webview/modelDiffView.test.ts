// The probe panel's "Compare models" section in headless Chromium: shown only with the probe it
// belongs to, three heatmaps of layers x selected tokens, a row per token marking where the top-1
// tokens differ, the CSV holding every number it was given, a failure as its sentence, and the
// buttons posting Compare with… and Close. Screenshot in .test-output/webview/.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import type { Page } from "playwright-core";
import { outputDir, postToPage, startHarness, type Harness } from "../../webview/harness";
import { makeFixture, sampleTexts } from "../../webview/fixture";
import type { ModelComparison } from "../../../src/protocol/compareModels";
import { parseCsv } from "../../e2e/harness/files";
import { eventually } from "../../waitFor";

const hasChromium = fs.existsSync(process.env.CHROMIUM_PATH ?? "/usr/bin/chromium");

const posted = (p: Page) =>
  p.evaluate(() => (window as unknown as { __posted: { type: string; method?: string; params?: { data?: string } }[] }).__posted);

(hasChromium ? describe : describe.skip)("webview/probe Compare models section (headless Chromium)", function () {
  this.timeout(120000);
  let h: Harness;
  const result = { ...makeFixture({ texts: sampleTexts(12), selection: { start: 4, end: 12 }, layers: 6 }), id: "probe-7" };
  const n = 8;
  const L = 6;
  const sel = result.tokens.slice(4, 12);
  // Layers 0-1 untouched, a step at layer 2 (as for demo-llama-tuned); top-1 differs at tokens 1 and 5.
  const relative = Float32Array.from({ length: L * n }, (_, i) => (i < 2 * n ? 0 : 0.1 + 0.01 * (i % n) + 0.05 * Math.floor(i / n)));
  const comparison: ModelComparison = {
    probeId: "probe-7",
    a: "demo-llama",
    b: "demo-llama-tuned",
    bFile: "demo-llama-tuned/onnx/model.onnx",
    modelB: { path: "/models/demo-llama-tuned", variant: "fp32" },
    tokens: sel.map((t) => ({ id: t.id, text: t.text })),
    offset: 4,
    layers: L,
    sites: Array.from({ length: L }, (_, l) => `blocks.${l}.hook_resid_post`),
    norm: relative.map((r) => 20 * r),
    cosine: relative.map((r) => 1 - r * r),
    relative,
    meanRelative: Float32Array.from({ length: L }, (_, l) => relative[l * n]),
    kl: Float32Array.from({ length: n }, (_, i) => 0.01 * (i + 1)),
    top1A: Int32Array.from({ length: n }, (_, i) => 20 + i),
    top1B: Int32Array.from({ length: n }, (_, i) => (i === 1 || i === 5 ? 40 + i : 20 + i)),
    vocab: Object.fromEntries([...Array.from({ length: n }, (_, i) => 20 + i), 41, 45].map((id) => [id, ` w${id}`])),
    summary: {
      top1Agreement: 0.75,
      meanKL: 0.045,
      maxKL: 0.08,
      driftLayer: 2,
      driftPosition: 7,
      driftToken: sel[7].text,
      tokens: n,
      text: `demo-llama-tuned vs demo-llama: top-1 agreement 75.0%, mean KL 0.045, largest drift at layer 2, token ${JSON.stringify(sel[7].text)}`,
    },
  };

  before(async () => {
    h = await startHarness("probe");
  });
  after(async () => h?.close());

  it("draws the comparison of the probe shown, and exports every number as CSV", async () => {
    const p = await h.open("dark");
    await postToPage(p, { type: "introspect/probeResult", result });
    // Another probe's comparison is not drawn.
    await postToPage(p, { type: "introspect/modelComparison", comparison: { ...comparison, probeId: "probe-6" } });
    await p.locator('[data-heatmap="layers"]').waitFor();
    assert.strictEqual(await p.locator("[data-view=model-diff]").count(), 0);
    await postToPage(p, { type: "introspect/modelComparison", comparison });
    const view = p.locator("[data-view=model-diff]");
    await eventually("the summary", () => view.locator(".model-diff-summary").innerText(), comparison.summary.text);
    for (const g of ["relative", "norm", "cosine"]) {
      assert.strictEqual(await view.locator(`[data-heatmap="model-diff-${g}"]`).getAttribute("data-rows"), "6");
      assert.strictEqual(await view.locator(`[data-heatmap="model-diff-${g}"]`).getAttribute("data-cols"), "8");
    }
    assert.strictEqual(await view.locator(".model-diff-tokens tbody tr").count(), n);
    assert.deepStrictEqual(
      await view.locator(".model-diff-tokens tbody tr.differs").evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.token)),
      ["5", "9"],
    );
    // A re-render of the same probe (Pin) keeps it.
    await postToPage(p, { type: "introspect/probeResult", result, pinned: result });
    await eventually("the summary after a re-render", () => view.locator(".model-diff-summary").count(), 1);

    await view.locator("button", { hasText: /^CSV$/ }).click();
    const csv = await eventually(
      "the CSV export request",
      async () => (await posted(p)).filter((m) => m.method === "introspect/export").length,
      1,
    ).then(async () => parseCsv((await posted(p)).find((m) => m.method === "introspect/export")!.params!.data!));
    assert.deepStrictEqual(csv[0], [
      "layer",
      "site",
      "position",
      "token",
      "norm",
      "cosine",
      "relative",
      "kl",
      "top1_demo-llama",
      "top1_demo-llama-tuned",
      "top1_agree",
    ]);
    assert.strictEqual(csv.length - 1, L * n);
    for (let l = 0; l < L; l++)
      for (let c = 0; c < n; c++) {
        const row = csv[1 + l * n + c];
        assert.strictEqual(Number(row[0]), l);
        assert.strictEqual(Number(row[2]), 4 + c);
        assert.strictEqual(Number(row[6]), comparison.relative[l * n + c]);
        assert.strictEqual(Number(row[4]), comparison.norm[l * n + c]);
        assert.strictEqual(Number(row[7]), comparison.kl[c]);
        assert.strictEqual(row[10], c === 1 || c === 5 ? "0" : "1");
      }
    assert.deepStrictEqual(await p.evaluate(() => (window as unknown as { __cspViolations: string[] }).__cspViolations), []);
    await view.screenshot({ path: path.join(outputDir(), "probe-model-diff.png") });

    await view.locator('button[data-control="compare-close"]').click();
    await view.locator('button[data-control="compare-with"]').click();
    const types = (await posted(p)).map((m) => m.type);
    assert.ok(types.includes("introspect/compareClose") && types.includes("introspect/compareWith"));
    await p.close();
  });

  it("shows a refusal as its sentence, with Compare with… to try another model", async () => {
    const p = await h.open("light");
    await postToPage(p, { type: "introspect/probeResult", result });
    const sentence =
      "demo-llama and demo-gpt2 cannot be compared position by position: they have 6 layers against 4. Compare two models of one architecture that share a tokenizer.";
    await postToPage(p, { type: "introspect/modelComparisonStatus", probeId: "probe-7", status: { kind: "failed", message: sentence } });
    const view = p.locator("[data-view=model-diff]");
    await eventually("the sentence", () => view.locator('[data-status="failed"]').innerText(), sentence);
    assert.strictEqual(await view.locator('button[data-control="compare-with"]').count(), 1);
    assert.strictEqual(await view.locator("canvas").count(), 0);
    await p.close();
  });
});
