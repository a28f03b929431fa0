// Features end to end on demo-llama in code-server: probe the IOI sentence, choose the SAE shipped
// beside the model in the probe panel's features view, see its feature x token heatmap and the
// per-token table, open a feature's card (logit-lens tokens; top snippets after scanning a corpus
// chosen in the file dialog), tint the editor, and add the feature to the steering panel.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { eventually, waitFor } from "../waitFor";
import { REPO } from "./harness/codeServer";
import { steeringView } from "./harness/views";
import { session } from "./hooks";

const PANEL = "Introspect: Probe";
const FILE = "features.txt";
const LINE = "When Mary and John went to the store, John gave a drink to";
const SAE = "blocks.2.hook_resid_post";

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
    await wb.closeAllEditors();
    await wb.openFile(FILE);
    await wb.selectText(FILE, LINE);
    await wb.editorContextMenu("Probe Selection");
    const frame = await wb.webview(PANEL);
    await frame.locator("#root[data-render-ms]").waitFor({ timeout: 60000 });
    const view = frame.locator('[data-view="features"]');
    const chooser = view.locator('select[data-control="feature-dictionary"]');
    await waitFor("the shipped dictionary in the chooser", async () => (await chooser.locator("option").allInnerTexts()).includes(SAE), {
      timeoutMs: 60000,
    });
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
    // The steering view is revealed in the side bar; with the probe panel closed it is the only webview shown.
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
});
