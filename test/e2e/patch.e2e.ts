// Activation patching end to end on demo-llama: from the palette (a selection as the clean prompt,
// input boxes and quick picks for the rest), from the code lens of demo/ioi.introspect, a click on
// a cell, and cancel. The panel's DOM says how far it is: #root data-status / data-done /
// data-total / data-rows / data-cols; each site's section data-finished.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import type { FrameLocator } from "playwright-core";
import { REPO } from "./harness/codeServer";
import { usesBundledModel } from "./harness/session";
import { session } from "./hooks";

const PANEL = "Introspect: Activation Patching";
const CLEAN = "When Mary and John went to the store, John gave a drink to";
const CORRUPT = "When Mary and John went to the store, Mary gave a drink to";

async function attr(frame: FrameLocator, sel: string, name: string): Promise<string | null> {
  return frame.locator(sel).first().getAttribute(name, { timeout: 5000 });
}

/** Polls the panel until its status matches; returns every distinct data-done value seen on the way. */
async function watchUntil(frame: FrameLocator, status: RegExp, timeoutMs = 120000): Promise<{ seen: number[]; status: string }> {
  const end = Date.now() + timeoutMs;
  const seen: number[] = [];
  let last = "";
  while (Date.now() < end) {
    last = (await attr(frame, "#root", "data-status").catch(() => null)) ?? "";
    const done = Number((await attr(frame, "#root", "data-done").catch(() => null)) ?? NaN);
    if (Number.isFinite(done) && seen[seen.length - 1] !== done) seen.push(done);
    if (status.test(last)) return { seen, status: last };
    await new Promise((r) => setTimeout(r, 40));
  }
  throw new Error(`panel status never matched ${status}; last "${last}", done values ${seen.join(",")}`);
}

/**
 * Runs a palette command that goes on to show its own input boxes: unlike wb.runCommand, no
 * Escape first (it would drop the editor's selection) and no wait for the palette to close.
 */
async function runPaletteCommand(wb: ReturnType<typeof session>["wb"], title: string): Promise<void> {
  await wb.page.keyboard.press("F1");
  const input = wb.page.locator(".quick-input-widget input");
  await input.waitFor();
  await input.fill(`>${title}`);
  await wb.page.locator(".quick-input-list .monaco-list-row", { hasText: title }).first().click({ timeout: 15000 });
}

/** Waits for the input box / quick pick of step `step` (e.g. "3/6"), types `fill` if given, accepts. */
async function acceptQuickInput(wb: ReturnType<typeof session>["wb"], step: string, fill?: string): Promise<void> {
  await wb.page.locator(".quick-input-widget .quick-input-title", { hasText: `(${step})` }).waitFor({ state: "visible", timeout: 60000 });
  const input = wb.page.locator(".quick-input-widget input").first();
  await input.waitFor({ state: "visible", timeout: 30000 });
  if (fill !== undefined) await input.fill(fill);
  await wb.page.keyboard.press("Enter");
  await wb.page.waitForTimeout(400);
}

(usesBundledModel() ? describe : describe.skip)("Activation patching (code-server, demo-llama)", function () {
  this.timeout(240000);

  before(async () => {
    const { wb, folder } = session();
    fs.copyFileSync(path.join(REPO, "demo/ioi.introspect"), path.join(folder, "ioi.introspect"));
    fs.writeFileSync(path.join(folder, "ioi.txt"), `${CLEAN}\n`);
    // Small batches make the filling-in observable (and cancel land mid-sweep).
    fs.mkdirSync(path.join(folder, ".vscode"), { recursive: true });
    fs.writeFileSync(path.join(folder, ".vscode/settings.json"), JSON.stringify({ "introspect.patch.batchSize": 2 }, null, 2));
    await wb.waitForStatus("Introspect", /Introspect: demo-llama/, 120000);
  });

  it("runs from the palette with the selection as clean prompt; the heatmaps fill in", async () => {
    const { wb } = session();
    await wb.closeAllEditors();
    await wb.openFile("ioi.txt");
    await wb.selectText("ioi.txt", CLEAN);
    await runPaletteCommand(wb, "Introspect: Run Activation Patching");
    await acceptQuickInput(wb, "2/6", CORRUPT); // corrupted prompt
    await acceptQuickInput(wb, "3/6"); // correct answer: clean top-1
    await acceptQuickInput(wb, "4/6"); // wrong answer: corrupted top-1
    await acceptQuickInput(wb, "5/6"); // sites: resid_pre, attn_out, mlp_out
    await acceptQuickInput(wb, "6/6"); // positions: all
    const frame = await wb.webview(PANEL);
    await watchUntil(frame, /^done$/);
    // Rerun from the panel with one cell per forward pass, recording every data-done the page shows.
    await frame.locator("#patch-options summary").click();
    await frame.locator("input[data-field=batch]").fill("1");
    await frame.locator("#root").evaluate((root) => {
      const seen: number[] = [];
      (window as unknown as { __dones: number[] }).__dones = seen;
      new MutationObserver(() => seen.push(Number((root as HTMLElement).dataset.done))).observe(root, {
        attributes: true,
        attributeFilter: ["data-done"],
      });
    });
    await frame.locator("#patch-rerun").click();
    // The rerun may finish between two polls: wait for the recorder to have seen the last cell.
    await frame.locator("#root").evaluate(async (root) => {
      const w = window as unknown as { __dones: number[] };
      for (
        let i = 0;
        i < 600 && !(w.__dones.length && w.__dones[w.__dones.length - 1] === Number((root as HTMLElement).dataset.total));
        i++
      )
        await new Promise((r) => setTimeout(r, 100));
    });
    await watchUntil(frame, /^done$/);
    const seen = await frame.locator("#root").evaluate(() => (window as unknown as { __dones: number[] }).__dones);
    const total = Number(await attr(frame, "#root", "data-total"));
    assert.strictEqual(await attr(frame, "#root", "data-rows"), "6", "rows = layers");
    assert.strictEqual(await attr(frame, "#root", "data-cols"), "14", "cols = positions");
    assert.strictEqual(total, 3 * 6 * 14);
    const rising = [...new Set(seen.filter((d) => d > 0 && d < total))];
    assert.ok(
      rising.length >= 1 && rising.every((d, i) => i === 0 || d > rising[i - 1]),
      `finished cells should be seen rising, saw ${seen.join(",")}`,
    );
    assert.strictEqual(seen[seen.length - 1], total);
    for (const s of ["resid_pre", "attn_out", "mlp_out"]) {
      assert.strictEqual(await attr(frame, `[data-heatmap=patch-${s}]`, "data-rows"), "6");
      assert.strictEqual(await attr(frame, `[data-heatmap=patch-${s}]`, "data-cols"), "14");
      assert.strictEqual(await attr(frame, `[data-site=${s}]`, "data-finished"), String(total / 3));
    }
    assert.match(await frame.locator("#baselines [data-baseline=clean]").innerText(), /clean/);
    assert.match(await frame.locator(".answer code").first().innerText(), /Mary/);
    console.log(`      finished cells seen on the rerun: ${seen.join(",")}`);
  });

  it("runs from the code lens of demo/ioi.introspect, and a clicked cell shows its top tokens", async () => {
    const { wb } = session();
    await wb.closeAllEditors();
    await wb.openFile("ioi.introspect");
    const lens = wb.page.locator(".codelens-decoration a", { hasText: "Run patching" }).first();
    await lens.waitFor({ timeout: 60000 });
    await lens.click();
    const frame = await wb.webview(PANEL);
    await watchUntil(frame, /^(running|done)$/);
    await wb.screenshot("patch lens running");
    await watchUntil(frame, /^done$/);
    assert.match(await frame.locator("#root").innerText(), /ioi\.introspect#names-swapped/);
    // Keyboard: focus the resid_pre heatmap (cell L0, position 0), go to position 9 (S2), Enter.
    const canvas = frame.locator("[data-heatmap=patch-resid_pre] canvas");
    await canvas.focus();
    for (let i = 0; i < 9; i++) await canvas.press("ArrowRight");
    await canvas.press("Enter");
    await frame.locator("#cell-detail[data-state=ready]").waitFor({ timeout: 30000 });
    const first = await frame.locator("#cell-detail tbody tr").first().innerText();
    assert.match(first, /Mary/, `top token after patching resid_pre L0 at S2: ${first}`);
    await wb.screenshot("patch lens cell detail");
  });

  it("cancels a long sweep and shows the cancelled state with the cells it had", async () => {
    const { wb } = session();
    // A long prompt whose first word changes: every later position differs, so nothing is skipped.
    const tail = " and then they walked along the river and talked about the weather for a long time".repeat(6);
    await wb.closeAllEditors();
    await runPaletteCommand(wb, "Introspect: Run Activation Patching");
    await acceptQuickInput(wb, "1/6", `Yesterday Mary and John went to the store${tail}`);
    await acceptQuickInput(wb, "2/6", `Today Mary and John went to the store${tail}`);
    await acceptQuickInput(wb, "3/6", " the"); // correct answer
    await acceptQuickInput(wb, "4/6", " and"); // wrong answer
    await acceptQuickInput(wb, "5/6");
    await acceptQuickInput(wb, "6/6");
    const frame = await wb.webview(PANEL);
    const end = Date.now() + 60000;
    while (Date.now() < end) {
      const done = Number((await attr(frame, "#root", "data-done").catch(() => null)) ?? 0);
      if ((await attr(frame, "#root", "data-status")) === "running" && done > 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await frame.locator("#patch-cancel").click();
    const { status } = await watchUntil(frame, /^(cancelled|done)$/, 60000);
    assert.strictEqual(status, "cancelled");
    const done = Number(await attr(frame, "#root", "data-done"));
    const total = Number(await attr(frame, "#root", "data-total"));
    assert.ok(done > 0 && done < total, `cancelled with ${done} of ${total} cells`);
    assert.match(await frame.locator("#patch-status").innerText(), /Cancelled after \d+ of \d+ cells/);
    // Nothing more arrives after the cancel.
    await new Promise((r) => setTimeout(r, 1500));
    assert.strictEqual(Number(await attr(frame, "#root", "data-done")), done);
    console.log(`      cancelled after ${done} of ${total} cells`);
  });
});
