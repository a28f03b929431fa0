// The steering view's page in headless Chromium under the panel's CSP: rows and sliders, live
// input messages (latest values), double-click reset, streamed columns with the first difference
// marked, token text as text, the read-out plot and the sweep grid. Screenshots in
// .test-output/webview/steer-*.png.
import * as assert from "assert";
import * as path from "path";
import type { Page } from "playwright-core";
import type { SteerPanelState, SteerStep } from "../../../src/protocol/steerData";
import { outputDir, postToPage, startHarness, type Harness } from "../../webview/harness";
import { eventually, waitFor } from "../../waitFor";

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
  /** The input messages once there are at least `n` of them (the page posts from its event handlers). */
  const waitForPosts = (n: number) =>
    waitFor(`${n} steerInput messages`, async () => ((await posted()).length >= n ? posted() : undefined));
  const lastAlpha = async () => ((await posted()).pop()?.input as { alphas: { alpha: number }[] } | undefined)?.alphas[0].alpha;

  it("draws rows, streams both columns and marks tokens from the first difference", async () => {
    await postToPage(page, { type: "introspect/steerState", state });
    await postToPage(page, { type: "introspect/steerGen", genId: 1, status: { kind: "running" } });
    for (const s of steps) await postToPage(page, { type: "introspect/steerStep", genId: 1, step: s });
    await postToPage(page, { type: "introspect/steerGen", genId: 1, status: { kind: "done", steps: 8, firstTokenMs: 17.9 } });
    // Messages are handled when the page gets to them: every check waits for what it reads.
    await eventually("the status line after the last message", () => page.locator("#gen-status").innerText(), /first difference at step 4/);
    await eventually("vector rows", () => page.locator(".vector").count(), 2);
    await eventually("first difference", () => page.locator("#steered").getAttribute("data-first-difference"), "3");
    await eventually("steered tokens marked as different", () => page.locator("#steered .tok.diff").count(), 5);
    await eventually("the first differing token", () => page.locator("#steered .tok.first-diff").innerText(), " would");
    assert.strictEqual(await page.locator("#steered script").count(), 0, "token text must be text");
    assert.strictEqual(await page.locator("#steered .tok").count(), 8);
    await eventually("the read-out", () => page.locator("#readout-text").innerText(), /KL/);
    await page.screenshot({ path: path.join(outputDir(), "steer-panel.png") });
  });

  it("slider input posts the latest values; double-click resets to 0; stale steps are ignored", async () => {
    const before = (await posted()).length;
    const slider = page.locator("#alpha-0");
    await slider.focus();
    for (let i = 0; i < 5; i++) await page.keyboard.press("ArrowRight");
    const after = (await waitForPosts(before + 5)).slice(before);
    assert.strictEqual(after.length, 5, "one input message per key press");
    const last = after[after.length - 1].input as { alphas: { id: string; alpha: number }[]; prompt: string };
    assert.ok(Math.abs(last.alphas[0].alpha - 1.5) < 1e-9, JSON.stringify(last));
    assert.strictEqual(last.prompt, "The food was");
    await slider.dblclick();
    await eventually("the strength posted after the double-click", lastAlpha, 0);
    await eventually("the strength shown after the reset", () => page.locator(".vector").first().locator("output").innerText(), "0");
    // A step of the old generation (its second) arrives after the new one started, then the new
    // one's first: messages are handled in order, so once the new step shows, the old one has
    // been dropped or is drawn beside it.
    await postToPage(page, { type: "introspect/steerGen", genId: 2, status: { kind: "running" } });
    await postToPage(page, { type: "introspect/steerStep", genId: 1, step: steps[1] });
    const fresh = { ...steps[0], steered: { ...steps[0].steered, text: " fresh" } };
    await postToPage(page, { type: "introspect/steerStep", genId: 2, step: fresh });
    await eventually("the new generation's first step", () => page.locator("#steered .tok").allInnerTexts(), [" fresh"]);
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
    const values = () => inputs.evaluateAll((xs) => xs.map((x) => (x as HTMLInputElement).value));
    await eventually("one weight per layer, 1 at the vector's own layer", values, ["0", "0", "1", "0", "0", "0"]);
    await row.locator(".layer-weights button", { hasText: "Apply" }).click();
    await eventually("the action posted by Apply", async () => (await actions()).pop(), {
      kind: "layers",
      id: "sentiment-1",
      weights: null,
    });
    await row.locator(".layer-weights button", { hasText: "Triangle" }).click();
    await page.locator("#lw-0-5").fill("-0.2");
    await row.locator(".layer-weights button", { hasText: "Apply" }).click();
    const weights = [
      { layer: 1, weight: 0.5 },
      { layer: 2, weight: 1 },
      { layer: 3, weight: 0.5 },
      { layer: 5, weight: -0.2 },
    ];
    await eventually("the weights posted by Apply", async () => (await actions()).pop(), { kind: "layers", id: "sentiment-1", weights });
    // The extension answers with the vector's new info: the row says where it is added; the editor stays open.
    const rows = state.rows.map((r, i) => (i === 0 ? { ...r, info: { ...r.info, layerWeights: weights } } : r));
    await postToPage(page, { type: "introspect/steerState", state: { ...state, rows, numLayers: 6 } });
    await eventually(
      "the row's site after the new state",
      () => row.locator(".site").innerText(),
      "hook_resid_post at L1×0.5 L2×1 L3×0.5 L5×-0.2",
    );
    // The row was redrawn with the editor open again, filled from the vector's weights.
    assert.deepStrictEqual(await values(), ["0", "0.5", "1", "0.5", "0", "-0.2"]);
    assert.strictEqual(await row.locator(".lw-bar.neg").count(), 1);
    await page.screenshot({ path: path.join(outputDir(), "steer-layers.png") });
    await row.locator("button", { hasText: "Layers…" }).click();
    await eventually("the editor closed by its button", () => row.locator(".layer-weights").count(), 0);
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
    await eventually("the sweep grid's cells", () => page.locator(".sweep-grid tbody td").count(), 6);
    assert.match(await page.locator(".sweep-grid tbody td").last().innerText(), /<b>wow<\/b>/, "continuations are shown as text");
    assert.strictEqual(await page.locator(".sweep-grid b").count(), 0);
    await page.screenshot({ path: path.join(outputDir(), "steer-sweep.png"), fullPage: true });
  });
});
