// Renders the probe panel in headless Chromium with fixture results computed by the real
// analyses, and checks what a user would see: grid sizes read from the page, tooltips, keyboard,
// literal token text, the MoE view only for MoE data, exports, and a 1024-token render time.
// Screenshots go to .test-output/webview/.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import type { Page } from "playwright-core";
import { answer, outputDir, postToPage, startHarness, type Harness } from "../../webview/harness";
import { makeFixture, sampleTexts } from "../../webview/fixture";
import { assembleProbeResult } from "../../../src/engine/analysis/assemble";
import { buildProbeResult } from "../../../src/engine";
import { openModel } from "../../../src/engine";
import { eventually, waitFor } from "../../waitFor";

const hasChromium = fs.existsSync(process.env.CHROMIUM_PATH ?? "/usr/bin/chromium");

async function rendered(p: Page, msg: unknown): Promise<void> {
  await p.evaluate(() => delete document.getElementById("root")!.dataset.renderMs);
  await postToPage(p, msg);
  await p.waitForFunction(() => document.getElementById("root")?.dataset.renderMs !== undefined, undefined, { timeout: 20000 });
}

const attr = (p: Page, sel: string, name: string) => p.getAttribute(sel, name);
const posted = (p: Page) =>
  p.evaluate(
    () =>
      (window as unknown as { __posted: { type: string; method?: string; params?: Record<string, unknown>; tint?: unknown }[] }).__posted,
  );

(hasChromium ? describe : describe.skip)("webview/probe panel (headless Chromium)", function () {
  this.timeout(120000);
  let h: Harness;
  const out = outputDir();
  const small = makeFixture({ texts: sampleTexts(12), selection: { start: 4, end: 12 }, layers: 6 });

  before(async () => {
    h = await startHarness("probe");
  });
  after(async () => {
    await h?.close();
  });

  for (const theme of ["dark", "light", "high-contrast"] as const) {
    it(`renders layers x tokens in the ${theme} theme with no CSP violation`, async () => {
      const p = await h.open(theme);
      const errors: string[] = [];
      p.on("pageerror", (e) => errors.push(e.message));
      await rendered(p, { type: "introspect/probeResult", result: small });
      assert.strictEqual(await attr(p, "[data-heatmap=layers]", "data-rows"), "6");
      assert.strictEqual(await attr(p, "[data-heatmap=layers]", "data-cols"), "8");
      assert.strictEqual(await p.locator("[data-view=tokens] .token").count(), 8);
      assert.strictEqual(await p.locator("[data-view=moe]").count(), 0, "no expert view for a dense model");
      const canvasW = await p.$eval("[data-heatmap=layers] canvas", (c) => (c as HTMLCanvasElement).width);
      assert.ok(canvasW > 100);
      assert.deepStrictEqual(await p.evaluate(() => (window as unknown as { __cspViolations: string[] }).__cspViolations), []);
      assert.deepStrictEqual(errors, []);
      await p.screenshot({ path: path.join(out, `probe-${theme}.png`), fullPage: true });
      await p.close();
    });
  }

  it("shows a tooltip with the value and the logit lens's top tokens on hover", async () => {
    const p = await h.open("dark");
    await rendered(p, { type: "introspect/probeResult", result: small });
    const box = (await p.locator("[data-heatmap=layers] canvas").boundingBox())!;
    // Bottom-right cell: last layer, last token (canvas has a 4px margin right and below).
    await p.mouse.move(box.x + box.width - 7, box.y + box.height - 7);
    await p.waitForSelector("#introspect-tooltip:not([hidden])");
    const tip = await eventually(
      "the tooltip of the bottom-right cell",
      async () => (await p.textContent("#introspect-tooltip")) ?? "",
      /L5 · token 11/,
    );
    assert.match(tip, /Logit lens top tokens/);
    assert.match(tip, /end of text/);
    await eventually("the hovered cell", () => attr(p, "[data-heatmap=layers]", "data-hover"), "5,7");
    await p.screenshot({ path: path.join(out, "probe-tooltip.png") });
    await p.close();
  });

  it("is keyboard operable: arrows move the focused cell, Enter selects and the lens follows", async () => {
    const p = await h.open("dark");
    await rendered(p, { type: "introspect/probeResult", result: makeFixture({ texts: sampleTexts(30), layers: 4 }) });
    await p.focus("[data-heatmap=layers] canvas");
    for (const k of ["ArrowDown", "ArrowDown", "ArrowRight", "ArrowRight", "ArrowRight", "End", "ArrowLeft"]) await p.keyboard.press(k);
    await eventually("the focused cell after the keys", () => attr(p, "[data-heatmap=layers]", "data-focus"), "2,28");
    await p.keyboard.press("Enter");
    await eventually("the selected cell after Enter", () => attr(p, "[data-heatmap=layers]", "data-selected"), "2,28");
    const lensWindow = async () => [Number(await attr(p, "[data-lens]", "data-start")), Number(await attr(p, "[data-lens]", "data-end"))];
    await waitFor("the logit-lens table to follow to token 28", async () => {
      const [s, e] = await lensWindow();
      return s <= 28 && 28 < e;
    });
    await eventually("the live region", async () => (await p.textContent("[data-heatmap=layers] [aria-live]")) ?? "", /layer 2, token/);
    // The visually hidden table alternative is built when the page is idle.
    await eventually("the hidden table of the layer heatmap", () => p.locator("table[data-alt=layers] tbody tr").count(), 4);
    await p.locator("[data-view=layers]").screenshot({ path: path.join(out, "probe-keyboard-focus.png") });
    await p.close();
  });

  it("a theme switch repaints the panel but keeps each heatmap's zoom and focused cell", async () => {
    const p = await h.open("dark");
    await rendered(p, { type: "introspect/probeResult", result: makeFixture({ texts: sampleTexts(400), layers: 4 }) });
    const heat = "[data-heatmap=layers]";
    for (let i = 0; i < 3; i++) {
      const before = await attr(p, heat, "data-view-end");
      await p.click(`${heat} button[data-zoom="in"]`);
      await eventually("the zoomed view", async () => (await attr(p, heat, "data-view-end")) !== before, true);
    }
    await p.focus(`${heat} canvas`);
    await p.keyboard.press("ArrowDown");
    await p.keyboard.press("End");
    const zoomed = [await attr(p, heat, "data-view-start"), await attr(p, heat, "data-view-end"), await attr(p, heat, "data-focus")];
    assert.strictEqual(zoomed[1], "400", "End panned the zoomed view to the last column");
    assert.strictEqual(zoomed[2], "1,399");
    const old = await p.$(`${heat}`);
    await p.evaluate(() => document.body.classList.replace("vscode-dark", "vscode-light"));
    await waitFor("the panel repainted", async () => !(await old!.evaluate((e) => e.isConnected)));
    assert.deepStrictEqual(
      [await attr(p, heat, "data-view-start"), await attr(p, heat, "data-view-end"), await attr(p, heat, "data-focus")],
      zoomed,
      "the new heatmap shows the same columns and focused cell",
    );
    await p.close();
  });
  it("renders token strings literally, never as HTML", async () => {
    const p = await h.open("dark");
    let dialog = false;
    p.on("dialog", (d) => {
      dialog = true;
      void d.dismiss();
    });
    const evil = ["<script>alert(1)</script>", "<img src=x onerror=alert(2)>", " &amp;", "\n", "<0x0A>"];
    const r = makeFixture({ texts: evil, layers: 3 });
    r.tokens[4].piece = "<0x0A>";
    r.tokens[4].text = "\uFFFD";
    await rendered(p, { type: "introspect/probeResult", result: r });
    const chips = await p.locator("[data-view=tokens] .token").allTextContents();
    assert.deepStrictEqual(chips, ["<script>alert(1)</script>", "<img·src=x·onerror=alert(2)>", "·&amp;", "↵", "<0x0A>"]);
    assert.strictEqual(await p.locator("main img, main script").count(), 0);
    assert.strictEqual(await p.locator("[data-view=tokens] .token.byte").count(), 1);
    const lensHeads = await p.locator("[data-lens] thead .token").allTextContents();
    assert.strictEqual(lensHeads[0], "<script>alert(1)</script>");
    await p.screenshot({ path: path.join(out, "probe-html-tokens.png"), fullPage: true });
    // No element was made from the text (above), so nothing could open a dialog later either.
    assert.strictEqual(dialog, false);
    await p.close();
  });

  it("shows the expert heatmap and usage bars for MoE data only", async () => {
    const p = await h.open("dark");
    const moe = makeFixture({ texts: sampleTexts(16), layers: 4, experts: 8 });
    await rendered(p, { type: "introspect/probeResult", result: moe });
    assert.strictEqual(await attr(p, "[data-heatmap=experts]", "data-rows"), "4");
    assert.strictEqual(await attr(p, "[data-heatmap=experts]", "data-cols"), "16");
    assert.strictEqual(await p.locator("[data-view=moe] .usage-bars li").count(), 8);
    const allLayers = await p.locator("[data-view=moe] .bar-value").allTextContents();
    await p.selectOption("[data-control=moe-layer]", "2");
    // The bars are redrawn for layer 2: 16 tokens x top-2 at one layer (all layers: 4 times that).
    const barSum = async () =>
      (await p.locator("[data-view=moe] .bar-value").allTextContents()).reduce((a, s) => a + Number(s.split(" ")[0]), 0);
    assert.strictEqual(
      allLayers.reduce((a, s) => a + Number(s.split(" ")[0]), 0),
      128,
      "all layers: 4 x 16 tokens x top-2",
    );
    await eventually("the usage bars of layer 2", barSum, 32);
    await p.locator("[data-view=moe]").screenshot({ path: path.join(out, "probe-moe.png") });
    await rendered(p, { type: "introspect/probeResult", result: small });
    await eventually("the expert view gone for a dense model", () => p.locator("[data-view=moe]").count(), 0);
    await p.close();
  });

  it("neurons: clicking tints the editor; another layer is requested and drawn", async () => {
    const p = await h.open("dark");
    await rendered(p, { type: "introspect/probeResult", result: small });
    assert.strictEqual(await attr(p, "[data-heatmap=neurons]", "data-cols"), "8");
    assert.strictEqual(await attr(p, "[data-heatmap=neurons]", "data-rows"), "16");
    await p.focus("[data-heatmap=neurons] canvas");
    await p.keyboard.press("ArrowDown");
    await p.keyboard.press("Enter");
    const tint = (
      await waitFor("the tint message posted by Enter", async () => (await posted(p)).find((m) => m.type === "introspect/tint"))
    ).tint as {
      values: Float32Array;
      label: string;
      signed: boolean;
    };
    assert.ok(tint && tint.values instanceof Float32Array, "tint carries a Float32Array");
    assert.strictEqual(tint.values.length, 12, "one value per probed token, context included");
    assert.strictEqual(tint.label, `L0 neuron ${small.neurons!.neurons[1]}`);
    await eventually("the chosen neuron's tokens", () => p.locator("[data-neuron-text] .token").count(), 12);
    await p.locator("[data-view=neurons]").screenshot({ path: path.join(out, "probe-neurons.png") });
    // Layer 3: the stub answers with a 4-neuron ranking.
    const other = makeFixture({ texts: sampleTexts(12), selection: { start: 4, end: 12 }, layers: 6, seed: 3 }).neurons!;
    const four = {
      ...other,
      layer: 3,
      neurons: other.neurons.slice(0, 4),
      values: { dims: [4, 12], data: other.values.data.slice(0, 48) },
    };
    await answer(p, "introspect/probeNeurons", { layer: 3, k: 16 }, four);
    await p.selectOption("[data-control=neuron-layer]", "3");
    await p.waitForFunction(() => document.querySelector("[data-heatmap=neurons]")?.getAttribute("data-rows") === "4");
    await p.close();
  });

  it("attention: draws a head's pattern, or the note when attention is fused", async () => {
    const p = await h.open("dark");
    await rendered(p, { type: "introspect/probeResult", result: small });
    assert.strictEqual(await attr(p, "[data-heatmap=attention]", "data-rows"), "8");
    assert.strictEqual(await attr(p, "[data-heatmap=attention]", "data-cols"), "12");
    await p.locator("[data-view=attention]").screenshot({ path: path.join(out, "probe-attention.png") });
    // The query and layer drop-downs ask the host for the pattern they name and draw its answer.
    const wholePrompt = (layer: number) => ({
      kind: "pattern",
      layer,
      head: 0,
      numHeads: small.attention!.numHeads,
      queryStart: 0,
      pattern: { dims: [12, 12], data: new Float32Array(144).fill(1 / 12) },
    });
    await answer(p, "introspect/probeAttention", { layer: 0, head: 0, queries: "all" }, wholePrompt(0));
    await answer(p, "introspect/probeAttention", { layer: 2, head: 0, queries: "all" }, wholePrompt(2));
    await p.selectOption("[data-control=attn-queries]", "all");
    await p.waitForFunction(() => document.querySelector("[data-heatmap=attention]")?.getAttribute("data-rows") === "12");
    await p.selectOption("[data-control=attn-layer]", "2");
    await p.waitForFunction(() =>
      document.querySelector("[data-heatmap=attention] canvas")?.getAttribute("aria-label")?.startsWith("Attention of layer 2 head 0,"),
    );
    await rendered(p, { type: "introspect/probeResult", result: makeFixture({ texts: sampleTexts(5), layers: 2, attention: "fused" }) });
    assert.match((await p.textContent("[data-attention-note]"))!, /fused attention/);
    await p.close();
  });

  it("heads: a repaint draws the layer's heads again from the page, without asking the host", async () => {
    const p = await h.open("dark");
    const r = { ...small, id: "heads-kept" };
    const H = r.attention!.numHeads;
    const q = r.selection.end - r.selection.start;
    for (let head = 1; head < H; head++)
      await answer(
        p,
        "introspect/probeAttention",
        { layer: 0, head, queries: "selection" },
        {
          kind: "pattern",
          layer: 0,
          head,
          numHeads: H,
          queryStart: r.selection.start,
          pattern: { dims: [q, r.selection.end], data: new Float32Array(q * r.selection.end).fill(1 / r.selection.end) },
        },
      );
    const asked = async () => (await posted(p)).filter((m) => m.method === "introspect/probeAttention").length;
    await rendered(p, { type: "introspect/probeResult", result: r });
    await p.locator("[data-view=heads]").scrollIntoViewIfNeeded();
    await p.waitForFunction((n) => document.querySelectorAll("[data-heads-grid] .head-tile").length === n, H);
    assert.strictEqual(await asked(), H - 1, "the probe's own head comes with the result; the others are asked once");
    const old = await p.$("[data-heads-grid]");
    await p.evaluate(() => document.body.classList.replace("vscode-dark", "vscode-light"));
    await waitFor("the panel repainted", async () => !(await old!.evaluate((e) => e.isConnected)));
    await p.locator("[data-view=heads]").scrollIntoViewIfNeeded();
    await p.waitForFunction((n) => document.querySelectorAll("[data-heads-grid] .head-tile").length === n, H);
    assert.strictEqual(await asked(), H - 1, "no head asked again after the repaint");
    // Another probe asks anew.
    await rendered(p, { type: "introspect/probeResult", result: { ...r, id: "heads-other" } });
    await p.locator("[data-view=heads]").scrollIntoViewIfNeeded();
    await p.waitForFunction((n) => document.querySelectorAll("[data-heads-grid] .head-tile").length === n, H);
    assert.strictEqual(await asked(), 2 * (H - 1));
    await p.close();
  });

  it("exports CSV, PNG and JSON through the extension", async () => {
    const p = await h.open("dark");
    await rendered(p, { type: "introspect/probeResult", result: small });
    await p.click("[data-view=layers] button:has-text('CSV')");
    await p.click("[data-view=layers] button:has-text('PNG')");
    await p.click("button:has-text('Export JSON')");
    await p.waitForFunction(
      () =>
        (window as unknown as { __posted: { method?: string }[] }).__posted.filter((m) => m.method === "introspect/export").length === 3,
    );
    const ex = (await posted(p)).filter((m) => m.method === "introspect/export").map((m) => m.params!);
    const csv = ex.find((e) => e.format === "csv")!.data as string;
    assert.strictEqual(csv.split("\r\n")[0].split(",")[0], "layer");
    assert.strictEqual(csv.trim().split("\r\n").length, 7, "header + 6 layers");
    const png = await p.evaluate(() => {
      const m = (window as unknown as { __posted: { method?: string; params?: { format: string; data: ArrayBuffer } }[] }).__posted.find(
        (x) => x.params?.format === "png",
      )!;
      return Array.from(new Uint8Array(m.params!.data.slice(0, 4)));
    });
    assert.deepStrictEqual(png, [0x89, 0x50, 0x4e, 0x47]);
    const json = JSON.parse(ex.find((e) => e.format === "json")!.data as string);
    assert.strictEqual(json.metrics.residNorm.data.length, 48);
    await p.waitForFunction(() => /Saved \/tmp\/exported/.test(document.getElementById("export-status")?.textContent ?? ""));
    await p.close();
  });

  it("renders 1024 selected tokens quickly", async () => {
    const p = await h.open("dark");
    const big = makeFixture({ texts: sampleTexts(1024), layers: 16, dModel: 16, vocab: 1100, heads: 2 });
    const t0 = Date.now();
    await rendered(p, { type: "introspect/probeResult", result: big });
    const wall = Date.now() - t0;
    const renderMs = Number(await attr(p, "#root", "data-render-ms"));
    assert.strictEqual(await attr(p, "[data-heatmap=layers]", "data-cols"), "1024");
    assert.strictEqual(await attr(p, "[data-heatmap=layers]", "data-rows"), "16");
    console.log(`      1024 tokens x 16 layers: panel render ${renderMs.toFixed(0)} ms, post-to-rendered ${wall} ms`);
    assert.ok(renderMs < 3000, `render took ${renderMs} ms`);
    await p.screenshot({ path: path.join(out, "probe-1024.png") });
    await p.close();
  });

  it("draws a real probe of the tiny MoE ONNX model: rows = layers, columns = tokens, lens = model's top-1", async () => {
    const model = await openModel(path.resolve(__dirname, "../../fixtures/local/tiny-moe"));
    try {
      const text = "t1 t5 t9 t13 t2 t40 t33 t7 t8 t21 t3";
      const r = await buildProbeResult(model, text, { start: 3, end: text.length });
      const p = await h.open("dark");
      await rendered(p, { type: "introspect/probeResult", result: r });
      const n = r.selection.end - r.selection.start;
      assert.strictEqual(await attr(p, "[data-heatmap=layers]", "data-rows"), String(model.info.numLayers));
      assert.strictEqual(await attr(p, "[data-heatmap=layers]", "data-cols"), String(n));
      assert.strictEqual(await attr(p, "[data-heatmap=experts]", "data-rows"), String(model.info.numLayers));
      // The output row of the lens table names, for the first token shown, the top-1 the engine computed.
      const last = model.info.numLayers - 1;
      const top1 = r.logitLens.vocab[r.logitLens.ids.data[last * n * 5]];
      const cell = await p.textContent(`[data-lens] td[data-layer="${last}"][data-token="0"] .lens-entry`);
      assert.ok(cell!.startsWith(top1), `${cell} should start with ${top1}`);
      await p.screenshot({ path: path.join(out, "probe-tiny-moe.png"), fullPage: true });
      await p.close();
    } finally {
      model.removeWrittenFiles();
      await model.dispose();
    }
  });

  it("refuses a malformed result with a sentence", async () => {
    const p = await h.open("dark");
    await postToPage(p, { type: "introspect/probeResult", result: { version: 0 } });
    await p.waitForSelector("#root .error");
    assert.match((await p.textContent("#root .error"))!, /probe again/);
    await p.close();
  });
});

// Keeps the import of assembleProbeResult honest: the fixture module must build results through it.
void assembleProbeResult;
