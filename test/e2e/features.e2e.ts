// Features end to end on demo-llama in code-server: probe the IOI sentence, choose the SAE shipped
// beside the model in the probe panel's features view, see its feature x token heatmap and the
// per-token table, open a feature's card (logit-lens tokens; top snippets after scanning a corpus
// chosen in the file dialog), tint the editor, and add the feature to the steering panel.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import type { Locator } from "playwright-core";
import { eventually, waitFor } from "../waitFor";
import { REPO } from "./harness/codeServer";
import { steeringView } from "./harness/views";
import { session } from "./hooks";

const PANEL = "Introspect: Probe";
const FILE = "features.txt";
const LINE = "When Mary and John went to the store, John gave a drink to";
const SAE = "blocks.2.hook_resid_post";

/** Probes LINE in a fresh editor and waits until the features view's chooser offers `dictionary`. */
async function probeWithDictionary(dictionary: string): Promise<{ view: Locator; chooser: Locator }> {
  const { wb } = session();
  await wb.closeAllEditors();
  await wb.openFile(FILE);
  await wb.selectText(FILE, LINE);
  await wb.editorContextMenu("Probe Selection");
  const frame = await wb.webview(PANEL);
  await frame.locator("#root[data-render-ms]").waitFor({ timeout: 60000 });
  const view = frame.locator('[data-view="features"]');
  const chooser = view.locator('select[data-control="feature-dictionary"]');
  await waitFor(`${dictionary} in the chooser`, async () => (await chooser.locator("option").allInnerTexts()).includes(dictionary), {
    timeoutMs: 60000,
  });
  return { view, chooser };
}

describe("Features in the probe panel (code-server)", function () {
  this.timeout(300000);

  before(() => {
    const { folder } = session();
    fs.writeFileSync(path.join(folder, FILE), `${LINE}\n`);
    // A small local corpus for the card's snippets: the first 150 demo-corpus documents.
    const lines = fs.readFileSync(path.join(REPO, "models/data/feature-corpus.jsonl"), "utf8").split("\n").slice(0, 150);
    fs.writeFileSync(path.join(folder, "corpus.jsonl"), lines.join("\n") + "\n");
  });

  it("the shipped SAE's heatmap, a feature card with snippets, and the feature in the steering panel", async () => {
    const { wb, folder } = session();
    await wb.waitForStatus("Introspect", /Introspect: demo-llama/, 120000);
    const { view, chooser } = await probeWithDictionary(SAE);
    await chooser.selectOption({ label: SAE });
    const heatmap = view.locator('[data-heatmap="features"]');
    await heatmap.waitFor({ timeout: 60000 });
    const rows = Number(await heatmap.getAttribute("data-rows"));
    const cols = Number(await heatmap.getAttribute("data-cols"));
    assert.strictEqual(cols, 14, "one column per selected token");
    assert.ok(rows > 0 && rows <= 24, `heatmap rows ${rows}`);
    const summary = await view.locator("[data-feature-summary]").innerText();
    assert.match(summary, /topk, 512 features on blocks\.2\.hook_resid_post\. Mean L0 \d/);
    const table = view.locator('[data-table="feature-tokens"] tbody tr');
    assert.strictEqual(await table.count(), 14);
    const first = await table.first().locator("td").allInnerTexts();
    assert.ok(Number(first[1]) > 0 && Number(first[1]) <= 16, `L0 of the first token: ${first[1]}`);
    await view.scrollIntoViewIfNeeded();
    await wb.screenshot("features heatmap");

    // Enter on the heatmap selects its first cell: the strongest feature's card opens, the editor is tinted.
    const canvas = heatmap.locator("canvas").first();
    await canvas.focus();
    await canvas.press("Enter");
    const card = view.locator("[data-feature-card]");
    await eventually("the feature card", () => card.locator("h3").innerText({ timeout: 2000 }), /^Feature #\d+$/);
    const feature = (await card.locator("h3").innerText()).slice("Feature #".length);
    await wb.page.locator('.view-overlays [class*="ced-"]').first().waitFor({ timeout: 30000 });
    assert.match(await card.innerText(), /Activation density: [\d.<]+% of tokens \(from the dictionary's sparsity file\)/);
    assert.strictEqual(await card.locator(".token-strip").first().locator(".token").count(), 10, "ten promoted tokens");

    // Top snippets: scan a corpus chosen in the open dialog (progress in a notification), then read from the cache.
    await card.getByRole("button", { name: "Find top snippets…" }).click();
    await wb.fileDialog(new RegExp(folder.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")), path.join(folder, "corpus.jsonl"));
    const snippets = card.locator("[data-snippets] li");
    await waitFor("top snippets from the corpus", async () => (await snippets.count()) > 0, { timeoutMs: 180000 });
    assert.match(await card.innerText(), /over the corpus/);
    await card.scrollIntoViewIfNeeded();
    await wb.screenshot("features card with snippets");

    await card.getByRole("button", { name: "Add to steering panel" }).click();
    await eventually(
      "the add status",
      () => card.locator("[data-feature-status]").innerText(),
      /^Added “.*#\d+” \(scaled by [\d.]+, the mean activation when firing, over the corpus\)\.$/,
    );
    // The steering view is revealed in the side bar (it takes the focus as it opens: wait for it
    // before the palette); with the probe panel closed it is the only webview shown.
    await steeringView(wb);
    await wb.closeAllEditors();
    const steer = await steeringView(session().wb);
    await eventually(
      "the feature's vector in the steering panel",
      () => steer.locator("#vectors").innerText(),
      new RegExp(`#${feature}\\b`),
    );
    await wb.screenshot("features vector in the steering panel");
    // Later specs share this session: the vector leaves the panel again.
    await steer
      .locator(".vector", { hasText: `#${feature}` })
      .locator('button[title^="Remove"]')
      .click();
    await eventually("the feature's vector removed", () => steer.locator(".vector", { hasText: `#${feature}` }).count(), 0);
  });

  it("Build Feature Dictionary: SNMF from the corpus with progress, saved as SAELens, read in the probe panel; a cancel writes nothing", async () => {
    const { wb, folder } = session();
    const dicts = path.join(folder, "dictionaries");
    fs.mkdirSync(dicts, { recursive: true });
    const out = path.join(dicts, "snmf-e2e");
    const quick = wb.page.locator(".quick-input-widget");
    /** Waits for the quick input titled `title`, filters it to `row` and accepts that row once it is the focused one. */
    const pick = async (title: RegExp, row: string) => {
      await quick.locator(".quick-input-title", { hasText: title }).waitFor({ timeout: 60000 });
      await quick.locator("input").first().fill(row);
      await quick.locator(".quick-input-list .monaco-list-row.focused", { hasText: row }).first().waitFor({ timeout: 15000 });
      await wb.page.keyboard.press("Enter");
      await quick.locator(".quick-input-title", { hasText: title }).waitFor({ state: "hidden", timeout: 15000 });
    };
    /** The command's questions up to the output folder: method, layer 2, `features`, the corpus chosen in the first test. */
    const ask = async (method: string, features: string) => {
      await wb.runCommand("Introspect: Build Feature Dictionary (SNMF or Sparse Autoencoder)…", { waitClosed: false });
      await pick(/: method$/, method);
      await pick(/: layer of demo-llama/, "Layer 2");
      await wb.answerInputBox(/number of features/, features);
      await pick(/^Corpus:/, "corpus.jsonl");
    };

    await ask("SNMF of the MLP neurons", "24");
    await wb.fileDialog(new RegExp(`^${dicts.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/demo-llama-snmf-L2-24$`), out);
    const progress = await wb.waitForNotification(/Introspect: building 24 features at layer 2/, 60000);
    console.log(`    progress notification: ${progress.replace(/\s+/g, " ")}`);
    const done = await wb.waitForNotification(/24 features at blocks\.2\.mlp\.hook_post saved to/, 300000);
    assert.match(done, /On \d+ tokens of held-out texts: explained variance 0\.\d{3}, L0 \d+\.\d, \d+ never fired/);
    assert.deepStrictEqual(fs.readdirSync(out).sort(), ["cfg.json", "sae_weights.safetensors", "sparsity.safetensors"]);
    const cfg = JSON.parse(fs.readFileSync(path.join(out, "cfg.json"), "utf8"));
    assert.strictEqual(cfg.metadata.hook_name, "blocks.2.mlp.hook_post");
    assert.strictEqual(cfg.metadata.introspect.texts, 150, "every text of the corpus");
    await wb.screenshot("features dictionary built");
    await wb.runCommand("Notifications: Clear All Notifications");

    // The folder is in the probe panel's list, and reads the probed tokens there.
    const label = "snmf-e2e (built here)";
    const { view, chooser } = await probeWithDictionary(label);
    await chooser.selectOption({ label });
    await view.locator('[data-heatmap="features"]').waitFor({ timeout: 60000 });
    assert.match(await view.locator("[data-feature-summary]").innerText(), /standard, 24 features on blocks\.2\.mlp\.hook_post\./);
    await view.scrollIntoViewIfNeeded();
    await wb.screenshot("features built dictionary in the panel");

    // Cancel from the notification: no folder, no error.
    const cancelled = path.join(dicts, "cancelled");
    await ask("TopK sparse autoencoder", "256");
    await wb.fileDialog(new RegExp(`/demo-llama-topk-L2-256$`), cancelled);
    const toast = wb.page.locator(".notification-toast", { hasText: "Introspect: building 256 features at layer 2" }).first();
    await toast.waitFor({ timeout: 60000 });
    await toast.hover();
    await toast.getByRole("button", { name: "Cancel" }).click();
    await toast.waitFor({ state: "hidden", timeout: 60000 });
    assert.strictEqual(fs.existsSync(cancelled), false, "nothing written after a cancel");
    assert.strictEqual(await wb.page.locator(".notification-toast", { hasText: /failed|Cancel/ }).count(), 0, "no error shown");
  });
});
