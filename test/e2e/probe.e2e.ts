// Probe Selection end to end in code-server: right-click a selection, the panel opens beside the
// editor, and what it shows matches the engine run directly here: columns = selected tokens,
// rows = layers, the last layer's logit lens = the model's own top-1, and every number the panel
// draws (read from its tables, the visually hidden ones included) and exports (CSV, PNG, JSON,
// read back from the files written).
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import type { FrameLocator } from "playwright-core";
import { openModel, type LoadedModel } from "../../src/engine";
import { buildProbeResult } from "../../src/engine";
import { loadTokenizer, tokensInRange, type TextTokenizer } from "../../src/engine";
import type { ProbeParams } from "../../src/protocol/lsp";
import { type ProbeResult } from "../../src/protocol/probeData";
import { fromWire, type Wire } from "../../src/protocol/wire";
import { LAYER_METRICS } from "../../src/engine";
import { tokenLabel } from "../../webview/shared/tokens";
import { METRICS } from "../../webview/probe/model";
import { eventually, waitFor } from "../waitFor";
import { REPO } from "./harness/codeServer";
import { parseCsv, pngSize, written } from "./harness/files";
import { SCREENSHOTS } from "./harness/workbench";
import { session } from "./hooks";

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

/** The newest request and result the extension posted to the panel, once newer than `afterMtime`. */
async function recorded(afterMtime = 0): Promise<{ params: ProbeParams; result: ProbeResult; mtime: number }> {
  const file = path.join(session().record, "last-result.json");
  const failure = path.join(session().record, "last-failure.json");
  await waitFor(
    "the probe result the extension posted",
    () => {
      if (fs.existsSync(failure) && fs.statSync(failure).mtimeMs > afterMtime)
        throw new Error(`the probe failed: ${fs.readFileSync(failure, "utf8")}`);
      return fs.existsSync(file) && fs.statSync(file).mtimeMs > afterMtime;
    },
    { timeoutMs: 60000, intervalMs: 200 },
  );
  const raw = JSON.parse(fs.readFileSync(file, "utf8")) as { params: ProbeParams; result: Wire<ProbeResult> };
  return { params: raw.params, result: fromWire<ProbeResult>(raw.result), mtime: fs.statSync(file).mtimeMs };
}

const probeFromContextMenu = () => session().wb.editorContextMenu("Probe Selection");

function lastMtime(): number {
  const file = path.join(session().record, "last-result.json");
  return fs.existsSync(file) ? fs.statSync(file).mtimeMs : 0;
}

/** Waits until the panel has drawn the probe `id` (its first frame is out) and returns its content frame. */
async function panelFor(id: string): Promise<FrameLocator> {
  const { wb } = session();
  const frame = await wb.webview(PANEL);
  await frame.locator(`#root[data-probe-id="${id}"][data-render-ms]`).waitFor({ timeout: 60000 });
  return frame;
}

/** What a table cell ends with ("layer 2, token ' John': 1.23", "… 45.6%", "… <0.01%", "… n/a (no next token)"). */
function cellText(text: string): string {
  return text.slice(text.lastIndexOf(": ") + 2).trim();
}

/**
 * The interval of values a printed number stands for: "42.3%" is [0.42295, 0.42305], "<0.01%" is
 * [0, 1e-4], ">99.9%" is [0.9995, 1], "1.23e-5" is [1.225e-5, 1.235e-5]. NaN for "n/a".
 */
function shownRange(shown: string): [number, number] {
  const t = shown.trim();
  if (t.startsWith("n/a")) return [NaN, NaN];
  if (t === "inf" || t === "-inf") return t === "inf" ? [Infinity, Infinity] : [-Infinity, -Infinity];
  const percent = t.endsWith("%");
  const body = percent ? t.slice(0, -1) : t;
  const scale = percent ? 0.01 : 1;
  if (body.startsWith("<")) return [0, Number(body.slice(1)) * scale];
  if (body.startsWith(">")) return [Number(body.slice(1)) * scale, 1];
  const m = /^(-?)(\d*)(?:\.(\d*))?(?:e([-+]?\d+))?$/.exec(body);
  assert.ok(m, `a printed number: ${JSON.stringify(shown)}`);
  const v = Number(body) * scale;
  const half = 0.5 * 10 ** (-(m[3]?.length ?? 0) + Number(m[4] ?? 0)) * scale;
  return [v - half, v + half];
}

/**
 * The panel printed `shown` for the engine's `exact`: `exact` lies in the interval the printed
 * digits stand for. The host and this process may add in another order, so the interval is
 * widened by 1e-5 absolute and 1e-4 relative.
 */
function assertShown(shown: string, exact: number, what: string): void {
  const [lo, hi] = shownRange(shown);
  if (Number.isNaN(exact)) return assert.ok(Number.isNaN(lo), `${what}: panel ${shown}, engine NaN`);
  const slack = 1e-5 + Math.abs(exact) * 1e-4;
  assert.ok(exact >= lo - slack && exact <= hi + slack, `${what}: panel shows ${shown}, engine ${exact}`);
}

/** A file's number (CSV, JSON) against the engine's: within 1e-5 absolute or 1e-4 relative. */
function assertClose(v: number, exact: number, what: string): void {
  if (Number.isNaN(exact)) return assert.ok(Number.isNaN(v), `${what}: file ${v}, engine NaN`);
  assert.ok(Math.abs(v - exact) <= Math.max(1e-5, Math.abs(exact) * 1e-4), `${what}: file has ${v}, engine ${exact}`);
}

/** A heatmap's visually hidden table (built when the page is idle), as its caption and printed numbers. */
async function hiddenTable(frame: FrameLocator, name: string, caption: string): Promise<{ rows: string[]; values: string[][] }> {
  const table = frame.locator(`table[data-alt="${name}"]`);
  await eventually(`the hidden table of the ${name} heatmap`, () => table.locator("caption").innerText({ timeout: 2000 }), caption);
  const rows = await table.locator("tbody tr").evaluateAll((trs) =>
    trs.map((tr) => ({
      head: tr.querySelector("th")?.textContent ?? "",
      cells: Array.from(tr.querySelectorAll("td"), (td) => td.textContent ?? ""),
    })),
  );
  return { rows: rows.map((r) => r.head), values: rows.map((r) => r.cells.map(cellText)) };
}

/** The engine's own result for the probe of the first test, computed in this process. */
async function expectedProbe(): Promise<ProbeResult> {
  const { model } = await engine("demo-llama");
  const start = LINE.indexOf(SELECTED);
  const text = `${LINE}\n`.slice(0, start + SELECTED.length);
  return buildProbeResult(model, text, { start, end: start + SELECTED.length }, { maxTokens: 1024 });
}

async function shotOfView(frame: FrameLocator, view: string, name: string): Promise<string> {
  const loc = frame.locator(`[data-view="${view}"]`).first();
  await loc.scrollIntoViewIfNeeded();
  return session().wb.screenshot(name);
}

describe("Probe Selection (code-server)", function () {
  this.timeout(240000);
  /** The id of the demo-llama probe of the first test, which the next ones read. */
  let lastProbeId = "";

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
    lastProbeId = result.id ?? "";
    const frame = await panelFor(lastProbeId);

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
    // The lens opens as a grid of top-1 tokens; its table has the top 5 with probabilities.
    await frame.locator('[data-view="lens"] button[data-lens-mode="table"]').click();
    const cell = frame.locator(`[data-lens] td[data-layer="${L - 1}"][data-token="0"] .lens-entry code`).first();
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
    await wb.screenshot("probe demo-llama neuron tint in the editor");
    await wb.runCommand("Introspect: Clear Token Tint");
    await tinted.first().waitFor({ state: "detached", timeout: 30000 });
  });

  it("the numbers the panel draws are the engine's: every layer metric, the logit lens, neurons and attention", async () => {
    const frame = await panelFor(lastProbeId);
    const direct = await expectedProbe();
    const n = direct.selection.end - direct.selection.start;
    const L = direct.layerCount;
    const sel = direct.tokens.slice(direct.selection.start, direct.selection.end);
    assert.deepStrictEqual(
      await frame.locator("[data-view=tokens] .token").allInnerTexts(),
      sel.map((t) => tokenLabel(t)),
      "the selected tokens",
    );
    // Layers x tokens, one metric at a time as the metric menu shows them.
    const metric = frame.locator("[data-control=metric]");
    for (const m of LAYER_METRICS) {
      await metric.selectOption(m);
      const t = await hiddenTable(frame, "layers", `${METRICS[m].label}, layers by tokens`);
      assert.deepStrictEqual(
        t.rows,
        Array.from({ length: L }, (_, l) => `L${l}`),
        `${m}: one row per layer`,
      );
      for (let l = 0; l < L; l++) {
        assert.strictEqual(t.values[l].length, n, `${m}: one column per selected token`);
        for (let c = 0; c < n; c++) assertShown(t.values[l][c], direct.metrics[m].data[l * n + c], `${m} L${l} token ${c}`);
      }
    }
    await metric.selectOption("residNorm");
    // The logit lens: top-5 tokens and their probabilities for every layer and selected token.
    const k = direct.logitLens.k;
    for (let l = 0; l < L; l++)
      for (let c = 0; c < n; c++) {
        const entries = await frame
          .locator(`[data-lens] td[data-layer="${l}"][data-token="${c}"] .lens-entry`)
          .evaluateAll((es) =>
            es.map((e) => ({ token: e.querySelector("code")?.textContent ?? "", p: e.querySelector(".prob")?.textContent ?? "" })),
          );
        const want = Array.from({ length: k }, (_, j) => (l * n + c) * k + j)
          .filter((i) => direct.logitLens.ids.data[i] >= 0)
          .map((i) => ({ id: direct.logitLens.ids.data[i], p: direct.logitLens.probs.data[i] }));
        assert.deepStrictEqual(
          entries.map((e) => e.token),
          want.map((w) => tokenLabel({ id: w.id, text: direct.logitLens.vocab[w.id] ?? `<${w.id}>`, piece: "" })),
          `lens L${l} token ${c}`,
        );
        entries.forEach((e, j) => assertShown(e.p, want[j].p, `lens L${l} token ${c} #${j + 1}`));
      }
    // The top neurons of layer 0 over the selected tokens.
    assert.ok(direct.neurons, "the engine ranks neurons");
    const nk = direct.neurons.neurons.length;
    const neurons = await hiddenTable(
      frame,
      "neurons",
      `Top ${nk} neurons of layer ${direct.neurons.layer} by max |activation|, neurons by tokens`,
    );
    assert.deepStrictEqual(
      neurons.rows,
      [...direct.neurons.neurons].map((i) => `n${i}`),
      "neuron ranking",
    );
    const all = direct.neurons.values.dims[1];
    for (let i = 0; i < nk; i++)
      for (let c = 0; c < n; c++)
        assertShown(
          neurons.values[i][c],
          direct.neurons.values.data[i * all + direct.selection.start + c],
          `neuron n${direct.neurons.neurons[i]} token ${c}`,
        );
    // Attention of layer 0, head 0: selected queries by every key up to the selection's end.
    assert.strictEqual(direct.attention?.kind, "pattern", "demo-llama's attention weights are readable");
    if (direct.attention?.kind === "pattern") {
      const [q, keys] = direct.attention.pattern.dims;
      const att = await hiddenTable(
        frame,
        "attention",
        `Attention of layer ${direct.attention.layer} head ${direct.attention.head}, query tokens by key tokens`,
      );
      assert.strictEqual(att.values.length, q);
      for (let i = 0; i < q; i++) {
        assert.strictEqual(att.values[i].length, keys);
        for (let j = 0; j < keys; j++) assertShown(att.values[i][j], direct.attention.pattern.data[i * keys + j], `attention ${i}->${j}`);
      }
    }
  });

  it("exports CSV, PNG and JSON through the save dialog; the files hold the engine's numbers", async () => {
    const { wb, folder } = session();
    const frame = await panelFor(lastProbeId);
    const direct = await expectedProbe();
    const n = direct.selection.end - direct.selection.start;
    const status = frame.locator("#export-status");
    const save = async (button: ReturnType<FrameLocator["locator"]>, suggested: RegExp, name: string) => {
      const file = path.join(folder, name);
      fs.rmSync(file, { force: true });
      await button.click();
      await wb.fileDialog(suggested, file);
      await eventually("the panel's export status", () => status.innerText(), `Saved ${file}`);
      return written(file);
    };
    // CSV of the layer heatmap's metric: a header of the selected tokens, a row per layer.
    const csv = parseCsv(
      (await save(frame.locator("[data-view=layers] button", { hasText: "CSV" }), /layers-residNorm\.csv$/, "probe-layers.csv")).toString(
        "utf8",
      ),
    );
    assert.strictEqual(csv[0][0], "layer");
    assert.strictEqual(csv[0].length, 1 + n, "a column per selected token");
    assert.strictEqual(csv.length, 1 + direct.layerCount, "a row per layer");
    for (let l = 0; l < direct.layerCount; l++) {
      assert.strictEqual(csv[1 + l][0], String(l));
      for (let c = 0; c < n; c++) assertClose(Number(csv[1 + l][1 + c]), direct.metrics.residNorm.data[l * n + c], `CSV L${l} token ${c}`);
    }
    // PNG of the heatmap: the canvas as drawn, at its size.
    const size = await frame
      .locator("[data-heatmap=layers] canvas")
      .evaluate((c) => [(c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height]);
    const png = await save(frame.locator("[data-view=layers] button", { hasText: "PNG" }), /layers-residNorm\.png$/, "probe-layers.png");
    assert.deepStrictEqual(pngSize(png), size, "PNG size = the heatmap canvas");
    // JSON of the whole result: tokens and metrics as the engine has them.
    const json = JSON.parse(
      (await save(frame.locator("button", { hasText: "Export JSON" }), /probe\.json$/, "probe.json")).toString("utf8"),
    ) as {
      tokens: { id: number; text: string }[];
      selection: { start: number; end: number };
      metrics: Record<string, { dims: number[]; data: (number | null)[] }>;
    };
    assert.deepStrictEqual(
      json.tokens.map((t) => [t.id, t.text]),
      direct.tokens.map((t) => [t.id, t.text]),
    );
    assert.deepStrictEqual(json.selection, direct.selection);
    for (const m of LAYER_METRICS) {
      assert.deepStrictEqual(json.metrics[m].dims, direct.metrics[m].dims, m);
      json.metrics[m].data.forEach((v, i) => assertClose(v === null ? NaN : v, direct.metrics[m].data[i], `JSON ${m}[${i}]`));
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
    }
    // Back on the default model for the tests that follow.
    await wb.waitForStatus("Introspect", /Introspect: demo-llama/, 120000);
  });

  it("after a window reload the panel comes back with the last probe drawn", async () => {
    const { wb } = session();
    await wb.reloadWindow();
    // The restored panel waits for the extension to start again (slow on a loaded machine).
    const frame = await wb.webview(PANEL, 120000);
    const heat = frame.locator(`[data-heatmap="layers"]`).first();
    await heat.waitFor({ timeout: 60000 });
    assert.ok(Number(await heat.getAttribute("data-rows")) > 0, "the restored heatmap has rows");
    await wb.screenshot("probe after reload");
  });

  it("records the time from command to rendered heatmap", () => {
    const file = path.join(session().record, "timings.jsonl");
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
