// Heads in code-server, continued: a selection in the middle of a prompt is probed; the attention
// and heads views switch their queries from the selection to the whole prompt (rows = every
// token); hovering a head tile marks its cell in the head x layer summary and back; clicking a
// summary cell of another layer shows that layer; the attention view's key labels do not overlap.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { eventually } from "../waitFor";
import { shotBothThemes } from "./harness/themes";
import { session } from "./hooks";

const PANEL = "Introspect: Probe";
const HALF = "crimson lantern oyster velvet quarry falcon meadow tundra saffron walrus pebble zenith";

describe("Introspect: heads over the whole prompt, linked to the summary (code-server)", function () {
  this.timeout(240000);

  before(() => {
    fs.writeFileSync(path.join(session().folder, "heads-linked.txt"), `${HALF} ${HALF}\n`);
  });

  after(async () => {
    await session().wb.closeAllEditors();
  });

  it("queries over the whole prompt, linked hover both ways, labels apart", async () => {
    const { wb } = session();
    await wb.closeAllEditors();
    await wb.openFile("heads-linked.txt");
    // The second half only: the file's context (the first half) comes before it.
    await wb.selectText("heads-linked.txt", HALF.split(" ").slice(3).join(" "));
    await wb.runCommand("Introspect: Probe Selection", { escape: false });
    const frame = await wb.webview(PANEL);
    const root = frame.locator("#root[data-probe-id][data-render-ms]");
    await root.waitFor({ timeout: 120000 });
    const sel = await frame.locator('[data-view="tokens"] .token').count();

    // Attention view: rows are the selection, then every token.
    const attn = frame.locator('[data-view="attention"]');
    const heat = attn.locator('[data-heatmap="attention"]');
    await heat.waitFor({ timeout: 60000 });
    assert.strictEqual(Number(await heat.getAttribute("data-rows")), sel, "selection queries");
    const keys = Number(await heat.getAttribute("data-cols"));
    assert.ok(keys > sel, `keys ${keys} include the context`);
    await attn.locator('select[data-control="attn-queries"]').selectOption("all");
    await eventually(
      "every token as a query",
      async () => Number(await attn.locator('[data-heatmap="attention"]').getAttribute("data-rows")),
      keys,
      {
        timeoutMs: 60000,
      },
    );
    // Key labels: rotated labels need 15 px along the axis; the drawn ones are at least that far apart.
    // data-rows is set when the heatmap is built, data-label-step when it is first drawn (a frame later).
    const drawn = attn.locator(`[data-heatmap="attention"][data-rows="${keys}"][data-label-step]`);
    await drawn.waitFor({ timeout: 60000 });
    const step = Number(await drawn.getAttribute("data-label-step"));
    const canvasW = await drawn.locator("canvas").evaluate((c) => c.getBoundingClientRect().width);
    console.log(`      ${keys} keys, every ${step}. labelled, canvas ${Math.round(canvasW)} px`);
    assert.ok(step >= 1);
    await attn.scrollIntoViewIfNeeded();
    await shotBothThemes(session(), "attention whole prompt queries", [frame]);

    // Heads view: the same switch for every head of the layer.
    const view = frame.locator('[data-view="heads"]');
    const grid = view.locator("[data-heads-grid]");
    await view.scrollIntoViewIfNeeded(); // the view loads its heads once on screen
    await grid.locator(".head-tile").first().waitFor({ timeout: 60000 });
    await view.locator('select[data-control="heads-queries"]').selectOption("all");
    await eventually("the grid over the whole prompt", () => grid.getAttribute("data-queries"), "all", { timeoutMs: 60000 });
    const c0 = grid.locator('.head-tile[data-head="0"] canvas');
    const box = (await c0.boundingBox())!;
    assert.ok(Math.abs(box.width - box.height) <= 1, `square tiles (${box.width} x ${box.height}): queries = keys`);

    // Linked hover: tile -> summary cell, summary cell -> tile.
    const summary = view.locator("[data-heads-summary][data-ready]");
    await summary.waitFor({ timeout: 120000 });
    const layer = await grid.getAttribute("data-layer");
    await grid.locator('.head-tile[data-head="2"] canvas').hover();
    await eventually(
      "the linked summary cell",
      () =>
        summary
          .locator("td.score.linked")
          .evaluateAll((els) => els.map((e) => `${(e as HTMLElement).dataset.layer},${(e as HTMLElement).dataset.head}`)),
      [`${layer},2`],
    );
    await summary.locator(`td.score[data-layer="${layer}"][data-head="1"]`).hover();
    await eventually(
      "the linked tile",
      () => grid.locator(".head-tile.linked").evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.head)),
      ["1"],
    );
    await view.scrollIntoViewIfNeeded();
    await shotBothThemes(session(), "heads linked hover", [frame]);
    // A summary cell of another layer shows that layer, its head marked.
    const other = layer === "1" ? "3" : "1";
    await summary.locator(`td.score[data-layer="${other}"][data-head="3"]`).click();
    await eventually("the other layer drawn", () => grid.getAttribute("data-layer"), other, { timeoutMs: 60000 });
    await eventually(
      "its head marked",
      () => grid.locator(".head-tile.linked").evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.head)),
      ["3"],
    );
  });
});
