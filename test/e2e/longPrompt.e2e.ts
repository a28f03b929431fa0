// Long prompts stay readable, in code-server: a 1,000-token prompt (a prompt file whose model line
// names a model folder in the workspace, with no position limit) is probed from its lens; every
// heatmap has a zoom bar, the column labels thin out but are there at full width, and zoomed in
// they read one per token, each the token at its column.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { eventually, waitFor } from "../waitFor";
import { REPO } from "./harness/codeServer";
import { shotBothThemes } from "./harness/themes";
import { session } from "./hooks";

const PANEL = "Introspect: Probe";
const N = 1000;
/** A word-level tokenizer (t0 … t63): one token per word. */
const FIXTURE = path.join(REPO, "test/fixtures/local/tiny-llama");
const WORDS = Array.from({ length: N }, (_, i) => `t${(i * 37 + 11) % 64}`);

describe("Introspect: a 1,000-token probe (code-server)", function () {
  this.timeout(300000);

  before(function () {
    if (!fs.existsSync(path.join(FIXTURE, "onnx/model.onnx"))) {
      console.log("      (skipped: test/fixtures/local/tiny-llama is not built)");
      this.skip();
    }
    const { folder } = session();
    fs.cpSync(FIXTURE, path.join(folder, "models/tiny-llama"), { recursive: true });
    fs.writeFileSync(
      path.join(folder, "long.introspect"),
      [
        "# A long prompt on a model folder of this workspace.",
        "model models/tiny-llama",
        "max-tokens 2000",
        "",
        "prompt long",
        `  ${WORDS.join(" ")}`,
        "",
      ].join("\n"),
    );
  });

  after(async () => {
    // Back on the settings' model for the files that follow.
    const { wb } = session();
    await wb.closeAllEditors();
    await wb.openFile("sample.txt");
    await wb.runCommand("Introspect: Use the File's Model");
    await wb.waitForStatus("Introspect", /Introspect: demo-llama/, 120000);
  });

  it("is zoomed and its labels read: thinned at full width, one per token zoomed in, each its token", async () => {
    const { wb } = session();
    await wb.closeAllEditors();
    await wb.openFile("long.introspect");
    const lens = wb.page.locator(".codelens-decoration a", { hasText: /Probe$/ }).first();
    await lens.waitFor({ timeout: 90000 });
    await lens.click();
    await wb.waitForStatus("Introspect", /Introspect: tiny-llama/, 120000);
    const frame = await wb.webview(PANEL);
    await frame.locator("#root[data-probe-id][data-render-ms]").waitFor({ timeout: 180000 });
    // The lens came for the first 16 tokens (introspect.probe.lensTokens); the panel asks for the
    // rest after its first frame, and the "computed for N of M" line goes once it has every column.
    await frame.locator('[data-view="lens"] [data-lens-pending]').waitFor({ state: "hidden", timeout: 120000 });
    const heat = frame.locator('[data-heatmap="layers"]').first();
    assert.strictEqual(Number(await heat.getAttribute("data-cols")), N, "one column per token");
    // Every heatmap of the panel has a zoom bar once it is this wide.
    const maps = await frame.locator("[data-heatmap]").count();
    const bars = await frame.locator("[data-heatmap] .zoom-bar:not([hidden])").count();
    assert.ok(maps >= 2 && bars >= 2, `zoom bars on the wide heatmaps (${bars} of ${maps})`);

    // Full width: labels thinned (every k-th), but there.
    const step = Number(await waitFor("the label step", () => heat.getAttribute("data-label-step")));
    const shown = await heat.locator(".heatmap-axis li").count();
    console.log(`      full width: every ${step}th label, ${shown} labels for ${N} columns`);
    assert.ok(step > 1, "labels are thinned at 1,000 columns");
    assert.ok(shown >= 10, `labels do not vanish: ${shown}`);
    // More columns than pixels: drawn binned (each pixel the strongest of its columns), not scrolled.
    const perPixel = Number(await heat.getAttribute("data-cols-per-pixel"));
    console.log(
      `      ${perPixel} columns per pixel; minimap of ${await heat.locator("img.zoom-minimap").getAttribute("data-cols")} columns`,
    );
    assert.ok(perPixel > 1, `binned: ${perPixel} columns per pixel`);
    assert.strictEqual(await heat.locator("img.zoom-minimap").getAttribute("data-cols"), String(N), "the minimap holds every column");
    await heat.scrollIntoViewIfNeeded();
    await shotBothThemes(session(), "long prompt 1000 tokens full width", [frame]);

    // Zoom in with the bar's "+" until every column has its label.
    for (let i = 0; i < 10 && Number(await heat.getAttribute("data-label-step")) > 1; i++) {
      const before = await heat.getAttribute("data-view-end");
      await heat.locator('button[data-zoom="in"]').click();
      await eventually("the zoomed view", async () => (await heat.getAttribute("data-view-end")) !== before, true);
    }
    assert.strictEqual(await heat.getAttribute("data-label-step"), "1", "zoomed in, every column is labelled");
    const start = Number(await heat.getAttribute("data-view-start"));
    const end = Number(await heat.getAttribute("data-view-end"));
    const labels = await heat
      .locator(".heatmap-axis li")
      .evaluateAll((els) => els.map((e) => [Number((e as HTMLElement).dataset.col), e.textContent ?? ""] as const));
    console.log(`      zoomed: columns ${start}-${end - 1}, ${labels.length} labels`);
    assert.strictEqual(labels.length, end - start, "one label per column in view");
    for (const [col, text] of labels) assert.strictEqual(text.replace(/^·/, ""), WORDS[col], `label of column ${col}`);
    assert.match((await heat.locator(".zoom-range").innerText()).trim(), new RegExp(`columns ${start}–${end - 1} of ${N}`));
    await shotBothThemes(session(), "long prompt 1000 tokens zoomed", [frame]);

    // Pan with the keyboard past the window's edge: the view follows.
    await heat.locator("canvas").focus();
    await wb.page.keyboard.press("End");
    await eventually("the view panned to the last column", async () => heat.getAttribute("data-view-end"), String(N));

    // The last token's lens (far past the first 32) is there at every layer: the strip's last token moves the lens grid to it.
    await frame
      .locator('[data-view="tokens"] .token')
      .nth(N - 1)
      .click();
    const grid = frame.locator('[data-view="lens"] table[data-lens="grid"]');
    await eventually("the lens grid at the last tokens", async () => grid.getAttribute("data-end"), String(N));
    const layers = await grid.locator("tbody tr:not(.lens-next)").count();
    const filled = await grid.locator(`td.lens-cell[data-token="${N - 1}"] .lens-entry`).count();
    console.log(`      lens at token ${N - 1}: ${filled} of ${layers} layers`);
    assert.ok(layers >= 2, `${layers} layer rows`);
    assert.strictEqual(filled, layers, "every layer's lens at the last token was filled in");
    await grid.scrollIntoViewIfNeeded();
    await shotBothThemes(session(), "long prompt 1000 tokens lens at the end", [frame]);
  });
});
