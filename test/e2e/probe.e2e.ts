// Probe Selection end to end in code-server: right-click a selection, the panel opens beside the
// editor, and what it shows matches the engine run directly here: columns = selected tokens,
// rows = layers, the last layer's logit lens = the model's own top-1, and (through the record
// the extension writes under INTROSPECT_PROBE_RECORD) every number the panel received.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import type { FrameLocator } from "playwright-core";
import { openModel, type LoadedModel } from "../../src/engine";
import { buildProbeResult } from "../../src/engine/analysis/probe";
import { loadTokenizer, tokensInRange, type TextTokenizer } from "../../src/engine/tokenizer";
import type { ProbeParams } from "../../src/protocol/lsp";
import { fromWire, type ProbeResult, type Wire } from "../../src/protocol/probeData";
import { tokenLabel } from "../../webview/shared/tokens";
import { REPO } from "./harness/codeServer";
import { SCREENSHOTS } from "./harness/workbench";
import { session } from "./hooks";

// Read by code-server's environment when the root hook starts it (after all files are loaded).
const RECORD = path.join(REPO, ".test-output/e2e/probe-record");
fs.rmSync(RECORD, { recursive: true, force: true });
process.env.INTROSPECT_PROBE_RECORD = RECORD;

const PANEL = "Introspect: Probe";
const FILE = "probe.txt";
const LINE = "When Mary and John went to the store, John gave a drink to Mary.";
const SELECTED = "John gave a drink";

interface Engine {
  model: LoadedModel;
  tok: TextTokenizer;
}
const engines = new Map<string, Promise<Engine>>();
function engine(name: string): Promise<Engine> {
  let e = engines.get(name);
  if (!e) {
    e = (async () => {
      const model = await openModel(path.join(REPO, "models", name, "onnx/model.onnx"), { intraOpThreads: 1 });
      return { model, tok: await loadTokenizer(model.resolved.folder) };
    })();
    engines.set(name, e);
  }
  return e;
}

/** The newest result the extension posted to the panel, once it differs from `after`. */
async function recorded(afterMtime = 0): Promise<{ params: ProbeParams; result: ProbeResult; mtime: number }> {
  const file = path.join(RECORD, "last-result.json");
  for (let i = 0; i < 300; i++) {
    if (fs.existsSync(file) && fs.statSync(file).mtimeMs > afterMtime) {
      const raw = JSON.parse(fs.readFileSync(file, "utf8")) as { params: ProbeParams; result: Wire<ProbeResult> };
      return { params: raw.params, result: fromWire<ProbeResult>(raw.result), mtime: fs.statSync(file).mtimeMs };
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const failure = path.join(RECORD, "last-failure.json");
  throw new Error(`no probe result recorded${fs.existsSync(failure) ? `; failure: ${fs.readFileSync(failure, "utf8")}` : ""}`);
}

/**
 * Right-click "Probe Selection". Under load the editor may re-render the selection between
 * finding it and measuring it ("no visible selection"): try again a few times.
 */
async function probeFromContextMenu(): Promise<void> {
  const { wb } = session();
  for (let attempt = 1; ; attempt++) {
    try {
      await wb.editorContextMenu("Probe Selection");
      return;
    } catch (e) {
      if (attempt >= 4 || !/no visible selection/.test(String(e))) throw e;
      await wb.page.waitForTimeout(1000);
    }
  }
}

function lastMtime(): number {
  const file = path.join(RECORD, "last-result.json");
  return fs.existsSync(file) ? fs.statSync(file).mtimeMs : 0;
}

/** Waits until the panel shows the probe `id` and returns its content frame. */
async function panelFor(id: string): Promise<FrameLocator> {
  const { wb } = session();
  const frame = await wb.webview(PANEL);
  await frame.locator(`[data-heatmap="layers"]`).first().waitFor({ timeout: 60000 });
  // The header names the model; data-rendered changes per result.
  await frame.locator("#root[data-render-ms]").waitFor({ timeout: 30000 });
  void id;
  return frame;
}

async function shotOfView(frame: FrameLocator, view: string, name: string): Promise<string> {
  const loc = frame.locator(`[data-view="${view}"]`).first();
  await loc.scrollIntoViewIfNeeded();
  return session().wb.screenshot(name);
}

function assertClose(a: Float32Array, b: Float32Array, what: string, tol = 1e-4): void {
  assert.strictEqual(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(a[i]) && Number.isNaN(b[i])) continue;
    const d = Math.abs(a[i] - b[i]);
    assert.ok(d <= tol * Math.max(1, Math.abs(b[i])), `${what}[${i}]: panel ${a[i]} vs engine ${b[i]}`);
  }
}

describe("Probe Selection (code-server)", function () {
  this.timeout(240000);

  before(() => {
    fs.writeFileSync(path.join(session().folder, FILE), `${LINE}\n`);
  });

  after(async () => {
    for (const e of engines.values()) await (await e).model.dispose();
  });

  it("right-click probe on demo-llama: one column per selected token, one row per layer, last-layer lens = model's top-1", async () => {
    const { wb } = session();
    await wb.waitForStatus("Introspect", /Introspect: demo-llama/, 120000);
    await wb.closeAllEditors();
    await wb.openFile(FILE);
    await wb.selectText(FILE, SELECTED);
    const before = lastMtime();
    await probeFromContextMenu();
    const { result, params } = await recorded(before);
    const frame = await panelFor(result.id ?? "");

    // Expected from the engine, computed here: the file up to the selection's end, tokenised.
    const { model, tok } = await engine("demo-llama");
    const start = LINE.indexOf(SELECTED);
    const text = `${LINE}\n`.slice(0, start + SELECTED.length);
    assert.strictEqual(params.text, text, "the probed text is the file up to the selection's end");
    const tokens = tok.encode(text);
    const selected = tokensInRange(tokens, { start, end: start + SELECTED.length });
    const heat = frame.locator('[data-heatmap="layers"]').first();
    assert.strictEqual(Number(await heat.getAttribute("data-cols")), selected.length, "columns = selected tokens");
    assert.strictEqual(Number(await heat.getAttribute("data-rows")), model.info.numLayers, "rows = layers");
    assert.ok(selected.length >= 3 && model.info.numLayers >= 2, "a real selection on a real model");

    // The model's own next-token top-1 at the first selected token (the lens table shows 8 columns).
    const ids = tokens.map((t) => t.id);
    const { logits } = await model.run({ ids, capture: [] });
    const V = logits.dims[logits.dims.length - 1];
    const row = logits.data.subarray(selected[0] * V, (selected[0] + 1) * V);
    let top = 0;
    for (let i = 1; i < V; i++) if (row[i] > row[top]) top = i;
    const L = model.info.numLayers;
    const cell = frame.locator(`td[data-layer="${L - 1}"][data-token="0"] .lens-entry code`).first();
    const shown = (await cell.innerText()).trim();
    assert.strictEqual(shown, tokenLabel({ id: top, text: tok.tokenText(top), piece: "" }), `last-layer lens names top-1 id ${top}`);

    await shotOfView(frame, "layers", "probe demo-llama layers");
    await shotOfView(frame, "lens", "probe demo-llama logit lens");
    await shotOfView(frame, "neurons", "probe demo-llama neurons");
    await shotOfView(frame, "attention", "probe demo-llama attention");

    // Choosing a neuron tints the probed tokens in the editor; the command clears it.
    // The editor group is not the active one while the panel has focus: look page-wide.
    const tinted = wb.page.locator('.view-overlays [class*="ced-"]');
    const canvas = frame.locator('[data-heatmap="neurons"] canvas').first();
    await canvas.focus();
    await canvas.press("Enter");
    await tinted.first().waitFor({ timeout: 30000 });
    assert.ok((await tinted.count()) >= 1, "tinted tokens in the editor");
    await wb.screenshot("probe demo-llama neuron tint in the editor");
    await wb.runCommand("Introspect: Clear Token Tint");
    await tinted.first().waitFor({ state: "detached", timeout: 30000 });
  });

  it("panel values equal the engine's (what the extension posted vs buildProbeResult run here)", async () => {
    const { result, params } = await recorded();
    const { model } = await engine("demo-llama");
    const direct = await buildProbeResult(model, params.text, params.selection, { maxTokens: params.maxTokens });
    assert.deepStrictEqual(
      result.tokens.map((t) => [t.id, t.span.start, t.span.end]),
      direct.tokens.map((t) => [t.id, t.span.start, t.span.end]),
      "tokens",
    );
    assert.deepStrictEqual(result.selection, direct.selection);
    assert.strictEqual(result.layerCount, direct.layerCount);
    for (const k of Object.keys(direct.metrics) as (keyof ProbeResult["metrics"])[]) {
      assert.deepStrictEqual(result.metrics[k].dims, direct.metrics[k].dims, k);
      assertClose(result.metrics[k].data, direct.metrics[k].data, k);
    }
    assert.deepStrictEqual([...result.logitLens.ids.data], [...direct.logitLens.ids.data], "logit-lens ids");
    assertClose(result.logitLens.probs.data, direct.logitLens.probs.data, "logit-lens probs");
    assert.deepStrictEqual([...result.nextTokenIds], [...direct.nextTokenIds], "next ids");
    assert.ok(result.neurons && direct.neurons, "neurons present");
    assert.deepStrictEqual([...result.neurons.neurons], [...direct.neurons.neurons], "neuron ranking");
    assertClose(result.neurons.values.data, direct.neurons.values.data, "neuron values");
    if (direct.attention?.kind === "pattern") {
      assert.strictEqual(result.attention?.kind, "pattern");
      if (result.attention?.kind === "pattern") assertClose(result.attention.pattern.data, direct.attention.pattern.data, "attention");
    }
  });

  it("on demo-moe (workspace setting) the expert heatmap shows", async () => {
    const { wb, folder } = session();
    const settings = path.join(folder, ".vscode/settings.json");
    fs.mkdirSync(path.dirname(settings), { recursive: true });
    fs.writeFileSync(settings, JSON.stringify({ "introspect.model": path.join(REPO, "models/demo-moe") }, null, 2));
    try {
      await wb.waitForStatus("Introspect", /Introspect: demo-moe/, 120000);
      await wb.closeAllEditors();
      await wb.openFile(FILE);
      await wb.selectText(FILE, SELECTED);
      const before = lastMtime();
      await probeFromContextMenu();
      const { result } = await recorded(before);
      assert.match(result.model.id, /demo-moe/);
      const frame = await panelFor(result.id ?? "");
      const experts = frame.locator('[data-heatmap="experts"]').first();
      await experts.waitFor({ timeout: 30000 });
      const { model } = await engine("demo-moe");
      assert.strictEqual(Number(await experts.getAttribute("data-rows")), model.info.numLayers, "expert rows = layers");
      assert.strictEqual(Number(await experts.getAttribute("data-cols")), result.selection.end - result.selection.start);
      const bars = await frame.locator(`[data-view="moe"] .usage-bars li`).count();
      assert.strictEqual(bars, model.info.numExperts, "one usage bar per expert");
      await shotOfView(frame, "moe", "probe demo-moe experts");
    } finally {
      fs.rmSync(settings, { force: true });
      await wb.waitForStatus("Introspect", /Introspect: demo-llama/, 120000).catch(() => undefined);
    }
  });

  it("after a window reload the panel comes back with the last probe drawn", async () => {
    const { wb } = session();
    await wb.reloadWindow();
    const frame = await wb.webview(PANEL);
    const heat = frame.locator(`[data-heatmap="layers"]`).first();
    await heat.waitFor({ timeout: 60000 });
    assert.ok(Number(await heat.getAttribute("data-rows")) > 0, "the restored heatmap has rows");
    await wb.screenshot("probe after reload");
  });

  it("records the time from command to rendered heatmap", () => {
    const file = path.join(RECORD, "timings.jsonl");
    const lines = fs
      .readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, number>);
    assert.ok(lines.length >= 2, "one timing per probe");
    for (const t of lines) assert.ok(t.renderedAt > t.decodedAt && t.decodedAt > t.startedAt, JSON.stringify(t));
    fs.copyFileSync(file, path.join(SCREENSHOTS, "probe-timings.jsonl"));
  });
});
