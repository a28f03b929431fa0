// Long sequences in code-server, continued: a prompt block past demo-llama's 256 positions is
// probed with a warning in the panel that says what was cut; its heatmaps have a minimap (the
// whole grid under the zoom window) whose window drags the view. (Columns binned past the pixels:
// longPrompt.e2e.ts, 1,000 columns.)
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { eventually } from "../waitFor";
import { shotBothThemes } from "./harness/themes";
import { session } from "./hooks";

const PANEL = "Introspect: Probe";
/** Numbered words, so the selected tail occurs once; about 1,500 tokens in all. */
const WORDS = Array.from({ length: 500 }, (_, i) => `${["the", "cat", "sat", "on", "a", "mat", "and"][i % 7]} ${i}`);

describe("Introspect: a prompt past the model's positions (code-server, demo-llama)", function () {
  this.timeout(300000);

  before(() => {
    fs.writeFileSync(
      path.join(session().folder, "past-context.introspect"),
      ["model demo-llama", "", "prompt long", `  ${WORDS.join(" ")}`, ""].join("\n"),
    );
  });

  after(async () => {
    await session().wb.closeAllEditors();
  });

  it("warns what was cut, and has a minimap whose window drags the view", async () => {
    const { wb } = session();
    await wb.closeAllEditors();
    await wb.openFile("past-context.introspect");
    // Select the last words of the block and probe them.
    await wb.selectText("past-context.introspect", WORDS.slice(-30).join(" "));
    await wb.runCommand("Introspect: Probe Selection", { escape: false });
    const frame = await wb.webview(PANEL);
    await frame.locator("#root[data-probe-id][data-render-ms]").waitFor({ timeout: 180000 });
    const warning = frame.locator('[data-warning="context"]');
    const text = (await warning.innerText()).trim();
    console.log(`      ${text}`);
    assert.match(text, /^⚠ The prompt has \d+ tokens but demo-llama has 256 positions: left out the first \d+ tokens \(“the 0 cat 1/);
    assert.match(text, /the probe ran on tokens \d+–\d+/);

    // The layer heatmap's minimap: a canvas in the zoom track, and dragging the window pans.
    const heat = frame.locator('[data-heatmap="layers"]').first();
    const cols = Number(await heat.getAttribute("data-cols"));
    assert.ok(cols >= 50, `${cols} columns`);
    const map = heat.locator(".zoom-track img.zoom-minimap");
    assert.strictEqual(Number(await map.getAttribute("data-cols")), cols);
    await heat.locator('button[data-zoom="in"]').click();
    await heat.locator('button[data-zoom="in"]').click();
    const start0 = Number(
      (await eventually(
        "a zoomed window",
        async () => Number(await heat.getAttribute("data-view-end")) - Number(await heat.getAttribute("data-view-start")) < cols,
        true,
      )) && (await heat.getAttribute("data-view-start")),
    );
    const win = await heat.locator(".zoom-window").boundingBox();
    const track = await heat.locator(".zoom-track").boundingBox();
    assert.ok(win && track);
    await wb.page.mouse.move(0, 0);
    const frameBox = { x: win.x + win.width / 2, y: win.y + win.height / 2 };
    // Playwright's page mouse works in page coordinates; the webview's boxes are already in them.
    await wb.page.mouse.move(frameBox.x, frameBox.y);
    await wb.page.mouse.down();
    await wb.page.mouse.move(track.x + track.width * 0.1, frameBox.y, { steps: 8 });
    await wb.page.mouse.up();
    await eventually("the view dragged to the start", async () => Number(await heat.getAttribute("data-view-start")) < start0, true);
    await heat.scrollIntoViewIfNeeded();
    await shotBothThemes(session(), "long prompt past the context, minimap", [frame]);
  });
});
