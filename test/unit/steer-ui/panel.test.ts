// The steering view's page in headless Chromium under the panel's CSP: rows and sliders, live
// input messages (latest values), double-click reset, streamed columns with the first difference
// marked, token text as text, the read-out plot and the sweep grid. Screenshots in
// .test-output/webview/steer-*.png.
import * as assert from "assert";
import * as path from "path";
import type { Page } from "playwright-core";
import type { SteerPanelState, SteerStep } from "../../../src/protocol/steerData";
import { outputDir, postToPage, startHarness, type Harness } from "../../webview/harness";

const vec = (id: string, name: string, alpha: number) => ({
  info: {
    id,
    name,
    site: "blocks.2.hook_resid_post",
    dim: 128,
    modelId: "demo-llama/model",
    method: "mean-diff",
    normalised: false,
    rawNorm: 3.2,
  },
  alpha,
  enabled: true,
  file: `.introspect/vectors/${name}.ivec`,
});
const state: SteerPanelState = {
  rows: [vec("sentiment-1", "sentiment", 1), vec("pca-2", "sentiment-pca", 0)],
  prompt: "The food was",
  promptSource: "sentiment.introspect: neutral",
  sampling: { kind: "greedy" },
  settings: { range: 4, step: 0.1, maxTokens: 24 },
  model: "demo-llama/model",
};
const U = [" fantastic", ".", " I", " will", " tell", " my", " friends", "."];
const S = [" fantastic", ".", " I", " would", " go", " <script>", " again", "<|endoftext|>"];
const steps: SteerStep[] = U.map((u, i) => ({
  index: i,
  unsteered: { id: 10 + i, text: u, p: 0.5, entropy: 1 + i * 0.1 },
  steered: { id: u === S[i] ? 10 + i : 100 + i, text: S[i], p: 0.4, entropy: 1.2 + i * 0.05 },
  kl: i < 3 ? 0.05 * i : 0.4 + 0.1 * i,
  ...(i >= 3 ? { firstDifference: 3 } : {}),
}));

describe("steer-ui/steering view page (headless Chromium)", function () {
  this.timeout(60000);
  let h: Harness;
  let page: Page;
  before(async () => {
    h = await startHarness("steer");
    page = await h.open("dark", { width: 380, height: 1000 });
    await page.waitForFunction(() =>
      (window as unknown as { __posted: { type: string }[] }).__posted.some((m) => m.type === "introspect/ready"),
    );
  });
  after(async () => h && (await h.close()));

  const posted = () =>
    page.evaluate(() =>
      (window as unknown as { __posted: { type: string; input?: unknown }[] }).__posted.filter((m) => m.type === "introspect/steerInput"),
    );

  it("draws rows, streams both columns and marks tokens from the first difference", async () => {
    await postToPage(page, { type: "introspect/steerState", state });
    await postToPage(page, { type: "introspect/steerGen", genId: 1, status: { kind: "running" } });
    for (const s of steps) await postToPage(page, { type: "introspect/steerStep", genId: 1, step: s });
    await postToPage(page, { type: "introspect/steerGen", genId: 1, status: { kind: "done", steps: 8, firstTokenMs: 17.9 } });
    assert.strictEqual(await page.locator(".vector").count(), 2);
    assert.strictEqual(await page.locator("#steered").getAttribute("data-first-difference"), "3");
    assert.strictEqual(await page.locator("#steered .tok.diff").count(), 5);
    assert.strictEqual(await page.locator("#steered .tok.first-diff").innerText(), " would");
    assert.strictEqual(await page.locator("#steered script").count(), 0, "token text must be text");
    assert.match(await page.locator("#gen-status").innerText(), /first difference at step 4/);
    assert.match(await page.locator("#readout-text").innerText(), /KL/);
    await page.screenshot({ path: path.join(outputDir(), "steer-panel.png") });
  });

  it("slider input posts the latest values; double-click resets to 0; stale steps are ignored", async () => {
    const before = (await posted()).length;
    const slider = page.locator("#alpha-0");
    await slider.focus();
    for (let i = 0; i < 5; i++) await page.keyboard.press("ArrowRight");
    const after = await posted();
    assert.strictEqual(after.length - before, 5);
    const last = after[after.length - 1].input as { alphas: { id: string; alpha: number }[]; prompt: string };
    assert.ok(Math.abs(last.alphas[0].alpha - 1.5) < 1e-9, JSON.stringify(last));
    assert.strictEqual(last.prompt, "The food was");
    await slider.dblclick();
    const reset = (await posted()).pop()!.input as { alphas: { alpha: number }[] };
    assert.strictEqual(reset.alphas[0].alpha, 0);
    assert.strictEqual(await page.locator(".vector").first().locator("output").innerText(), "0");
    await postToPage(page, { type: "introspect/steerGen", genId: 2, status: { kind: "running" } });
    await postToPage(page, { type: "introspect/steerStep", genId: 1, step: steps[0] });
    assert.strictEqual(await page.locator("#steered .tok").count(), 0, "a step of the old generation must not show");
  });

  it("edits per-layer weights: presets, Apply posts them (own layer alone posts null), the row shows them", async () => {
    const actions = async () =>
      (
        await page.evaluate(() =>
          (window as unknown as { __posted: { type: string; action?: unknown }[] }).__posted.filter(
            (m) => m.type === "introspect/steerAction",
          ),
        )
      ).map((m) => m.action as { kind: string; id?: string; weights?: unknown });
    await postToPage(page, { type: "introspect/steerState", state: { ...state, numLayers: 6 } });
    const row = page.locator(".vector").first();
    await row.locator("button", { hasText: "Layers…" }).click();
    const inputs = row.locator(".layer-weights input.lw-input");
    assert.strictEqual(await inputs.count(), 6);
    assert.deepStrictEqual(await inputs.evaluateAll((xs) => xs.map((x) => (x as HTMLInputElement).value)), ["0", "0", "1", "0", "0", "0"]);
    await row.locator(".layer-weights button", { hasText: "Apply" }).click();
    assert.deepStrictEqual((await actions()).pop(), { kind: "layers", id: "sentiment-1", weights: null });
    await row.locator(".layer-weights button", { hasText: "Triangle" }).click();
    await page.locator("#lw-0-5").fill("-0.2");
    await row.locator(".layer-weights button", { hasText: "Apply" }).click();
    const weights = [
      { layer: 1, weight: 0.5 },
      { layer: 2, weight: 1 },
      { layer: 3, weight: 0.5 },
      { layer: 5, weight: -0.2 },
    ];
    assert.deepStrictEqual((await actions()).pop(), { kind: "layers", id: "sentiment-1", weights });
    // The extension answers with the vector's new info: the row says where it is added; the editor stays open.
    const rows = state.rows.map((r, i) => (i === 0 ? { ...r, info: { ...r.info, layerWeights: weights } } : r));
    await postToPage(page, { type: "introspect/steerState", state: { ...state, rows, numLayers: 6 } });
    assert.strictEqual(await row.locator(".site").innerText(), "hook_resid_post at L1×0.5 L2×1 L3×0.5 L5×-0.2");
    assert.strictEqual(await page.locator("#lw-0-5").inputValue(), "-0.2");
    assert.strictEqual(await row.locator(".lw-bar.neg").count(), 1);
    await page.screenshot({ path: path.join(outputDir(), "steer-layers.png") });
    await row.locator("button", { hasText: "Layers…" }).click();
    assert.strictEqual(await row.locator(".layer-weights").count(), 0, "the button closes the editor again");
  });

  it("shows a sweep grid", async () => {
    const alphas = [-2, 0, 2];
    await postToPage(page, {
      type: "introspect/steerSweep",
      sweep: {
        vector: "sentiment",
        layers: [1, 2],
        alphas,
        scores: [0.01, 0.05, 0.2, 0.02, 0.05, 0.4],
        texts: ["bad", "ok", "great", "awful", "ok", "<b>wow</b>"],
        baseline: 0.05,
        scoreLabel: "p(good, great)",
      },
    });
    assert.strictEqual(await page.locator(".sweep-grid tbody td").count(), 6);
    assert.strictEqual(await page.locator(".sweep-grid b").count(), 0);
    await page.screenshot({ path: path.join(outputDir(), "steer-sweep.png"), fullPage: true });
  });
});
