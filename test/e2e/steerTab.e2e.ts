// Steering, legible and the user's, in code-server: "Open Steering Panel" keeps a prompt the user
// typed (a selection in the editor does not replace it); "Open Steering in Editor" opens the same
// panel as an editor tab that shows the side view's state and stays in sync with it; after the
// first difference both continuations are tinted by side (no red / green) with a legend; the
// KL/entropy plot is tall with ticks on both axes; a sweep from the tab is drawn there, wide.
// Screenshots in the dark and the light theme: .test-output/e2e/steer_tab_*.png.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import type { FrameLocator } from "playwright-core";
import { eventually, waitFor } from "../waitFor";
import { REPO } from "./harness/codeServer";
import { usesBundledModel } from "./harness/session";
import { DARK, LIGHT, setTheme } from "./harness/themes";
import { steeringView } from "./harness/views";
import { session } from "./hooks";

const TAB = "Introspect: Steer (editor)";
const PROMPT = "The meal was";
const OTHER = "A sentence in another file that is selected.";

interface Gen {
  gen: number;
  status: string;
  unsteered: string;
  steered: string;
  first: string;
}

async function genOf(frame: FrameLocator): Promise<Gen> {
  return frame.locator("#root").evaluate((root) => ({
    gen: Number(root.getAttribute("data-gen") ?? 0),
    status: root.getAttribute("data-gen-status") ?? "",
    unsteered: root.querySelector("#unsteered")?.getAttribute("data-text") ?? "",
    steered: root.querySelector("#steered")?.getAttribute("data-text") ?? "",
    first: root.querySelector("#steered")?.getAttribute("data-first-difference") ?? "",
  }));
}

/** Hue (degrees) of a CSS colour as getComputedStyle writes it: rgb(), rgba() or color(srgb …). */
function hueOf(css: string): number {
  const nums = (css.match(/[\d.]+/g) ?? []).map(Number);
  const [r, g, b] = css.startsWith("color(") ? nums.slice(0, 3) : nums.slice(0, 3).map((v) => v / 255);
  const max = Math.max(r, g, b);
  const d = max - Math.min(r, g, b);
  if (d === 0) return NaN;
  const h = max === r ? ((g - b) / d) % 6 : max === g ? (b - r) / d + 2 : (r - g) / d + 4;
  return (h * 60 + 360) % 360;
}

describe("Introspect: steering legends, the user's prompt, and the editor tab (code-server)", function () {
  this.timeout(300000);
  let vectorId = "";
  let promptBefore = "";
  /** Vectors of earlier specs this one turned off, turned on again at the end. */
  const turnedOff: string[] = [];

  before(function () {
    if (!usesBundledModel()) this.skip();
    const { folder } = session();
    fs.copyFileSync(path.join(REPO, "demo/sentiment.introspect"), path.join(folder, "sentiment.introspect"));
    fs.writeFileSync(path.join(folder, "other.txt"), `${OTHER}\n`);
  });

  after(async () => {
    // Undo: the tab closed, the vector built here removed, the prompt as it was.
    const { wb } = session();
    await wb.closeAllEditors();
    const view = await steeringView(wb);
    const closeSweep = view.locator("#sweep:not([hidden]) button", { hasText: "Close sweep" });
    if (await closeSweep.count()) await closeSweep.click();
    if (vectorId) {
      const row = view.locator(`.vector[data-id="${vectorId}"]`);
      if (await row.count()) {
        await row.locator("button", { hasText: "✕" }).click();
        await eventually("the vector removed", () => row.count(), 0);
      }
    }
    for (const id of turnedOff) {
      const toggle = view.locator(`.vector[data-id="${id}"] input.toggle`);
      if (await toggle.count()) await toggle.check();
    }
    await view.locator("#prompt").fill(promptBefore);
    await view.locator("#prompt").press("End");
    await setTheme(session(), DARK);
  });

  it('"Open Steering Panel" keeps the prompt the user typed, even with a selection in the editor', async () => {
    const { wb } = session();
    await wb.waitForStatus("Introspect", /demo-llama/, 120000);
    await wb.closeAllEditors();
    await wb.openFile("sentiment.introspect");
    const lens = wb.page.locator(".codelens-decoration a", { hasText: "Build steering vector" }).first();
    await lens.waitFor({ timeout: 60000 });
    await lens.click();
    await wb.waitForNotification(/Built sentiment at blocks\.2\.hook_resid_post/, 90000);
    const view = await steeringView(wb);
    const row = view.locator(".vector", { has: view.locator(".name", { hasText: "sentiment" }) }).first();
    await row.waitFor({ timeout: 30000 });
    vectorId = (await row.getAttribute("data-id")) ?? "";
    promptBefore = await view.locator("#prompt").inputValue();
    // The user types the prompt.
    await view.locator("#prompt").fill(PROMPT);
    await view.locator("#prompt").press("End");
    await eventually("the typed prompt's source", () => view.locator("#prompt-source").innerText(), "from typed");
    // Another file with a selection: opening the panel must not take it.
    await wb.openFile("other.txt");
    await wb.selectText("other.txt", OTHER);
    await wb.runCommand("Introspect: Open Steering Panel", { escape: false });
    const again = await steeringView(wb);
    // The panel answers the command with its state; the prompt is still the user's.
    await again.locator("#root[data-gen-status]").waitFor({ timeout: 30000 });
    assert.strictEqual(await again.locator("#prompt").inputValue(), PROMPT);
    assert.strictEqual((await again.locator("#prompt-source").innerText()).trim(), "from typed");
  });

  it("opens the same panel in an editor tab, in sync with the side view; the tint after the first difference has a legend", async () => {
    const { wb } = session();
    await wb.runCommand("Introspect: Open Steering in Editor");
    const tab = await wb.webview(TAB, 60000);
    await tab.locator("#vectors").waitFor({ timeout: 60000 });
    // The tab shows the side view's state: its vectors and the user's prompt.
    await eventually("the prompt in the tab", () => tab.locator("#prompt").inputValue(), PROMPT);
    const side = await steeringView(wb);
    assert.deepStrictEqual(await tab.locator(".vector .name").allInnerTexts(), await side.locator(".vector .name").allInnerTexts());

    // Only this vector, at the top of its range, moved in the tab: the side view follows.
    const rows = tab.locator(".vector");
    for (let i = 0; i < (await rows.count()); i++) {
      const r = rows.nth(i);
      const id = (await r.getAttribute("data-id")) ?? "";
      if (id !== vectorId && (await r.locator("input.toggle").isChecked())) {
        await r.locator("input.toggle").uncheck();
        turnedOff.push(id);
      }
    }
    const mine = tab.locator(`.vector[data-id="${vectorId}"]`);
    if (!(await mine.locator("input.toggle").isChecked())) await mine.locator("input.toggle").check();
    const slider = mine.locator("input.slider");
    await slider.focus();
    await slider.press("End");
    const max = (await slider.getAttribute("max")) ?? "";
    await eventually("the strength in the tab", () => mine.locator("output").innerText(), max);
    await eventually("the same strength in the side view", () => side.locator(`.vector[data-id="${vectorId}"] output`).innerText(), max);
    const g = await waitFor(
      "a finished generation in the tab whose sides differ",
      async () => {
        const x = await genOf(tab);
        if (x.status === "failed") throw new Error("generation failed");
        return x.status === "done" && x.first !== "" && x.steered !== x.unsteered && x;
      },
      { timeoutMs: 120000, intervalMs: 150 },
    );
    console.log(
      `      strength ${max}: ${JSON.stringify(g.unsteered)} vs ${JSON.stringify(g.steered)}, first difference at step ${Number(g.first) + 1}`,
    );
    // Both pages show the same generation.
    await eventually("the side view's steered text", async () => (await genOf(side)).steered, g.steered);

    // The legend names the tints; the tints are by side, not red / green.
    const legend = tab.locator("#diff-legend");
    await legend.waitFor({ state: "visible", timeout: 10000 });
    assert.strictEqual(await legend.getAttribute("data-first-difference"), String(Number(g.first) + 1));
    assert.match(await legend.innerText(), /first token that differs[\s\S]*steered, from there on[\s\S]*unsteered, from there on/);
    const tints = await tab.locator("#root").evaluate((root) => ({
      steered: getComputedStyle(root.querySelector("#steered .tok.diff")!).backgroundColor,
      unsteered: getComputedStyle(root.querySelector("#unsteered .tok.diff")!).backgroundColor,
      first: getComputedStyle(root.querySelector("#steered .tok.first-diff")!).outlineStyle,
    }));
    for (const [side, css] of Object.entries({ steered: tints.steered, unsteered: tints.unsteered })) {
      const h = hueOf(css);
      console.log(`      ${side} tint ${css}: hue ${h.toFixed(0)}°`);
      assert.ok(Number.isFinite(h), `${side} tint has a hue`);
      assert.ok(!(h < 30 || h > 330) && !(h > 80 && h < 160), `${side} tint is neither red nor green (hue ${h.toFixed(0)}°)`);
    }
    assert.strictEqual(tints.first, "solid", "the first differing token is outlined");

    // The plot is tall, with ticks and labels on both axes.
    const plot = tab.locator("#readout-plot");
    const box = await plot.boundingBox();
    assert.ok(box && box.height >= 150 && box.width >= 300, `plot size ${JSON.stringify(box)}`);
    const yTicks = ((await plot.getAttribute("data-y-ticks")) ?? "").split(",").filter(Boolean);
    const xTicks = ((await plot.getAttribute("data-x-ticks")) ?? "").split(",").filter(Boolean);
    console.log(`      plot ${box?.width}x${box?.height}: y ticks ${yTicks.join(" ")} nats; x ticks ${xTicks.join(" ")}`);
    assert.ok(yTicks.length >= 3, `y ticks: ${yTicks.join(" ")}`);
    assert.ok(xTicks.length >= 2, `x ticks: ${xTicks.join(" ")}`);
    assert.strictEqual(yTicks[0], "0");
    assert.match(await tab.locator("#readout-text").innerText(), /KL [\d.e+-]+ nats/);

    // Turned off, the two sides agree: no marks, and the legend goes with them.
    await mine.locator("input.toggle").uncheck();
    await waitFor(
      "a finished generation with both sides equal",
      async () => {
        const x = await genOf(tab);
        return x.gen > g.gen && x.status === "done" && x.unsteered !== "" && x.steered === x.unsteered;
      },
      { timeoutMs: 120000, intervalMs: 150 },
    );
    await eventually("the legend hidden without a difference", () => legend.isVisible(), false);
    assert.strictEqual(await tab.locator(".tok.diff").count(), 0);
    await mine.locator("input.toggle").check();
  });

  it("a sweep started from the tab is drawn in the tab, and both themes read", async () => {
    const { wb } = session();
    const tab = await wb.webview(TAB);
    await tab.locator(`.vector[data-id="${vectorId}"] button`, { hasText: "Sweep…" }).click();
    await wb.answerInputBox("Sweep: layers");
    const pick = wb.page.locator(".quick-input-list .monaco-list-row", { hasText: "KL(steered || unsteered)" }).first();
    await pick.waitFor({ timeout: 30000 });
    await pick.click();
    const back = await wb.webview(TAB);
    const grid = back.locator("#sweep:not([hidden]) .sweep-grid");
    await grid.waitFor({ timeout: 120000 });
    const cols = await grid.locator("thead th").count();
    const rowsN = await grid.locator("tbody tr").count();
    console.log(`      sweep in the tab: ${rowsN} layers x ${cols - 1} strengths`);
    assert.strictEqual(cols - 1, 7, "seven strengths");
    assert.ok(rowsN >= 2, "the layers asked for");
    for (const theme of [DARK, LIGHT] as const) {
      await setTheme(session(), theme, [back]);
      await back.locator("#readout-plot").scrollIntoViewIfNeeded();
      await wb.screenshot(`steer tab plot and legend ${theme === DARK ? "dark" : "light"}`);
      await grid.scrollIntoViewIfNeeded();
      await wb.screenshot(`steer tab sweep ${theme === DARK ? "dark" : "light"}`);
    }
    await setTheme(session(), DARK, [back]);
  });
});
