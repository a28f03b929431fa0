// Compare with… in code-server: a line of sample.txt probed on demo-llama, then compared with the
// bundled demo-llama-tuned from the probe panel's button. The panel shows the summary line, the
// three layer x token heatmaps and a row per token; the summary's largest drift is the layer the
// tuning changed most (tools/models/metrics/demo-llama-tuned.json); the CSV holds every number;
// the comparison comes back after a window reload, and the palette command compares with the q4
// variant of the same folder. The spec closes its comparison and editors on the way out.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import type { FrameLocator } from "playwright-core";
import type { ProbeResult } from "../../src/protocol/probeData";
import { fromWire, type Wire } from "../../src/protocol/wire";
import { eventually, waitFor } from "../waitFor";
import { REPO } from "./harness/codeServer";
import { parseCsv, written } from "./harness/files";
import { usesBundledModel } from "./harness/session";
import { shotBothThemes } from "./harness/themes";
import { session } from "./hooks";

const PANEL = "Introspect: Probe";
const FILE = "sample.txt";
const SELECTED = "John gave a drink to Mary.";

/** The layer whose weights the fine-tune changed most, from the tuning's own record. */
function mostChangedLayer(): number {
  const metrics = JSON.parse(fs.readFileSync(path.join(REPO, "tools/models/metrics/demo-llama-tuned.json"), "utf8")) as {
    relative_weight_change: Record<string, number>;
  };
  const layers = Object.entries(metrics.relative_weight_change).filter(([k]) => k.startsWith("layer "));
  return Number(layers.sort((a, b) => b[1] - a[1])[0][0].slice("layer ".length));
}

/** Picks the row labelled `label` in the open quick pick (typed into its filter, then Enter once it is the focused row). */
async function pickRow(label: string): Promise<void> {
  const { page } = session().wb;
  await page.locator(".quick-input-widget input").fill(label);
  await page.locator(".quick-input-list .monaco-list-row.focused", { hasText: label }).first().waitFor({ timeout: 15000 });
  await page.keyboard.press("Enter");
  await page.locator(".quick-input-widget").waitFor({ state: "hidden", timeout: 15000 });
}

/** The comparison's summary line once the panel shows one matching `pattern` (a failure sentence fails at once). */
async function summaryOf(frame: FrameLocator, pattern: RegExp): Promise<string> {
  const view = frame.locator('[data-view="model-diff"]');
  return waitFor(
    `a comparison summary matching ${pattern}`,
    async () => {
      if (await view.locator('[data-status="failed"]').count()) throw new Error(`the comparison failed: ${await view.innerText()}`);
      const s = view.locator(".model-diff-summary");
      const text = (await s.count()) ? await s.innerText() : "";
      return pattern.test(text) && text;
    },
    { timeoutMs: 120000, intervalMs: 200 },
  );
}

(usesBundledModel() ? describe : describe.skip)("Compare with… a second model (code-server, demo-llama)", function () {
  this.timeout(400000);
  const csvFile = () => path.join(session().folder, "compare-models.csv");
  after(() => fs.rmSync(csvFile(), { force: true }));

  it("compares a probe with demo-llama-tuned: heatmaps, a row per token, the tuned layer as largest drift, CSV, reload, q4", async () => {
    const { wb, folder } = session();
    await wb.waitForStatus("Introspect", /Introspect: demo-llama\b/, 120000);
    await wb.closeAllEditors();
    await wb.openFile(FILE);
    await wb.selectText(FILE, SELECTED);
    // The recorder's file may hold an earlier spec's probe: wait for this one's.
    const record = path.join(session().record, "last-result.json");
    fs.rmSync(record, { force: true });
    await wb.editorContextMenu("Probe Selection");
    await waitFor("the probe result", () => fs.existsSync(record), { timeoutMs: 90000, intervalMs: 200 });
    const result = fromWire<ProbeResult>((JSON.parse(fs.readFileSync(record, "utf8")) as { result: Wire<ProbeResult> }).result);
    const n = result.selection.end - result.selection.start;
    const frame = await wb.webview(PANEL);
    await frame.locator(`#root[data-probe-id="${result.id}"][data-render-ms]`).waitFor({ timeout: 60000 });

    // The panel's button: the quick pick offers the folder's other variants, the tuned copy and Browse….
    await frame.locator('button[data-control="compare-with"]').first().click();
    await wb.page.locator(".quick-input-widget .quick-input-title", { hasText: "Compare demo-llama with…" }).waitFor({ timeout: 30000 });
    const rows = wb.page.locator(".quick-input-list .monaco-list-row .label-name");
    const labels = await waitFor("the choices, Browse… last", async () => {
      const l = (await rows.allInnerTexts()).map((t) => t.trim());
      return l.some((x) => x.endsWith("Browse…")) && l;
    });
    console.log(`      choices: ${labels.join(" | ")}`);
    for (const want of ["q4", "int8", "demo-llama-tuned"]) assert.ok(labels.includes(want), `${want} is offered`);
    assert.ok(!labels.includes("demo-gpt2"), "a model of another architecture is not offered");
    await pickRow("demo-llama-tuned");

    const most = mostChangedLayer();
    const summary = await summaryOf(frame, /^demo-llama-tuned vs demo-llama: /);
    console.log(`      ${summary}`);
    assert.match(
      summary,
      /^demo-llama-tuned vs demo-llama: top-1 agreement \d+\.\d%, mean KL [\d.e-]+, largest drift at layer \d+, token ".*"$/,
    );
    assert.strictEqual(Number(/largest drift at layer (\d+)/.exec(summary)![1]), most, "the largest drift is the tuned layer");
    const view = frame.locator('[data-view="model-diff"]');
    for (const g of ["relative", "norm", "cosine"]) {
      const h = view.locator(`[data-heatmap="model-diff-${g}"]`);
      assert.strictEqual(await h.getAttribute("data-rows"), "6", `${g}: a row per layer`);
      assert.strictEqual(await h.getAttribute("data-cols"), String(n), `${g}: a column per selected token`);
    }
    await eventually("a row per token", () => view.locator(".model-diff-tokens tbody tr").count(), n);

    // CSV: a row per (layer, token); the layers before the tuned one are exactly the same in both models.
    const status = frame.locator("#export-status");
    fs.rmSync(csvFile(), { force: true });
    await view.locator("button", { hasText: /^CSV$/ }).click();
    await wb.fileDialog(/compare-demo-llama-tuned-vs-demo-llama\.csv$/, csvFile());
    await eventually("the panel's export status", () => status.innerText(), `Saved ${csvFile()}`);
    const csv = parseCsv((await written(csvFile())).toString("utf8"));
    assert.deepStrictEqual(csv[0].slice(0, 7), ["layer", "site", "position", "token", "norm", "cosine", "relative"]);
    assert.strictEqual(csv.length - 1, 6 * n);
    const relAt = (l: number) =>
      csv
        .slice(1)
        .filter((r) => Number(r[0]) === l)
        .map((r) => Number(r[6]));
    for (let l = 0; l < most; l++)
      assert.ok(
        relAt(l).every((v) => v === 0),
        `layer ${l} is untouched by the tuning`,
      );
    assert.ok(
      relAt(most).every((v) => v > 0),
      `layer ${most} differs at every token`,
    );

    await view.scrollIntoViewIfNeeded();
    await shotBothThemes(session(), "compare models demo-llama-tuned vs demo-llama", [frame]);
    await view.locator(".model-diff-tokens").scrollIntoViewIfNeeded();
    await wb.screenshot("compare models per token KL and top-1");

    // A reload brings the probe and its comparison back.
    await wb.reloadWindow();
    const again = await wb.webview(PANEL, 120000);
    await again.locator(`#root[data-probe-id="${result.id}"][data-render-ms]`).waitFor({ timeout: 120000 });
    assert.strictEqual(await summaryOf(again, /^demo-llama-tuned vs demo-llama: /), summary, "the same summary after a reload");

    // The palette command, on the restored probe: the q4 variant of the same folder.
    await wb.runCommand("Introspect: Compare with…", { waitClosed: false });
    await wb.page.locator(".quick-input-widget .quick-input-title", { hasText: "Compare demo-llama with…" }).waitFor({ timeout: 30000 });
    await pickRow("q4");
    const q4 = await summaryOf(again, /^q4 vs fp32: /);
    console.log(`      ${q4}`);
    assert.match(q4, /^q4 vs fp32: top-1 agreement \d+\.\d%, mean KL [\d.e-]+, largest drift at layer \d+, token ".*"$/);

    // Leave the session as it was: no comparison (Close forgets it), no editors.
    await again.locator('button[data-control="compare-close"]').click();
    await eventually("no comparison after Close", () => again.locator('[data-view="model-diff"]').count(), 0, { timeoutMs: 30000 });
    await wb.closeAllEditors();
    assert.ok(fs.existsSync(folder));
  });
});
