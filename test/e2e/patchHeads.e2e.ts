// Patching in code-server: the colour scale holds still while cells stream in (every scale the page
// shows during the run is the start scale; a Rescale button fits it afterwards), the axis says it
// shows the corrupted prompt, and "Patch each head" draws the layer x head grid of attn.hook_z
// patches, whose values are the PyTorch reference's (test/fixtures/patch/head-patch-demo-llama.json).
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import type { FrameLocator } from "playwright-core";
import { eventually, waitFor } from "../waitFor";
import { REPO } from "./harness/codeServer";
import { usesBundledModel } from "./harness/session";
import { shotBothThemes } from "./harness/themes";
import { session } from "./hooks";

const PANEL = "Introspect: Activation Patching";
const CLEAN = "When Mary and John went to the store, John gave a drink to";
const CORRUPT = "When Mary and John went to the store, Mary gave a drink to";
const REF = JSON.parse(fs.readFileSync(path.join(REPO, "test/fixtures/patch/head-patch-demo-llama.json"), "utf8")) as {
  heads: number;
  pairs: { name: string; normalised: number[] }[];
};

/** Records every scale span and status the page shows from now on (a MutationObserver in the page). */
async function recordScales(frame: FrameLocator): Promise<void> {
  await frame.locator("#root").evaluate((root) => {
    const seen: { span: string; status: string }[] = [];
    (window as unknown as { __spans: typeof seen }).__spans = seen;
    // Inline callback: a named function here would be compiled with a helper the page does not have.
    new MutationObserver(() => {
      const g = root.querySelector<HTMLElement>(".grids[data-scale-span]");
      if (g) seen.push({ span: g.dataset.scaleSpan ?? "", status: (root as HTMLElement).dataset.status ?? "" });
    }).observe(root, {
      attributes: true,
      childList: true,
      subtree: true,
      attributeFilter: ["data-done", "data-status", "data-scale-span"],
    });
  });
}

async function runFromPalette(clean: string, corrupt: string, answer?: string, wrong?: string): Promise<FrameLocator> {
  const { wb } = session();
  await wb.closeAllEditors();
  await wb.runCommand("Introspect: Run Activation Patching", { waitClosed: false });
  await wb.answerInputBox("(1/6)", clean);
  await wb.answerInputBox("(2/6)", corrupt);
  await wb.answerInputBox("(3/6)", answer);
  await wb.answerInputBox("(4/6)", wrong);
  await wb.answerInputBox("(5/6)");
  await wb.answerInputBox("(6/6)");
  return wb.webview(PANEL);
}

(usesBundledModel() ? describe : describe.skip)(
  "Patching: a held colour scale and per-head patching (code-server, demo-llama)",
  function () {
    this.timeout(300000);

    before(async () => {
      await session().wb.waitForStatus("Introspect", /Introspect: demo-llama/, 120000);
    });

    after(async () => {
      await session().wb.closeAllEditors();
    });

    it("keeps the colour scale while a sweep streams in; Rescale fits it after", async () => {
      // The first word differs, so every position runs; some cells overshoot the clean run (normalised up to 1.8).
      const tail = " Mary and John went to the store and then they walked along the river";
      const frame = await runFromPalette(`Yesterday${tail}`, `Today${tail}`, " Mary", " and");
      await frame.locator("#root[data-status=done]").waitFor({ timeout: 120000 });
      // Rerun with one cell per forward pass, recording every scale the page draws on the way.
      await frame.locator("#patch-options summary").click();
      await frame.locator("input[data-field=batch]").fill("1");
      await recordScales(frame);
      await frame.locator("#patch-rerun").click();
      type Seen = { span: string; status: string }[];
      await waitFor(
        "the rerun seen running, then done, by the recorder",
        () =>
          frame.locator("#root").evaluate(() => {
            const seen = (window as unknown as { __spans: Seen }).__spans;
            const first = seen.findIndex((x) => x.status === "running");
            return first >= 0 && seen.slice(first).some((x) => x.status === "done");
          }),
        { timeoutMs: 240000, intervalMs: 200 },
      );
      const seen = await frame
        .locator("#root")
        .evaluate(() => (window as unknown as { __spans: { span: string; status: string }[] }).__spans);
      const running = seen.slice(seen.findIndex((x) => x.status === "running")).filter((x) => x.status === "running");
      console.log(`      ${running.length} redraws while running, spans ${[...new Set(seen.map((s) => s.span))].join(", ")}`);
      assert.ok(running.length >= 2, `the grids were redrawn while running (${running.length})`);
      assert.deepStrictEqual([...new Set(running.map((s) => s.span))], ["1"], "one scale, ±1, during the run");
      assert.strictEqual(await frame.locator(".grids").getAttribute("data-scale-span"), "1", "still ±1 when done");
      // The axis says whose tokens label the columns.
      assert.match(await frame.locator("[data-site=resid_pre] h3").innerText(), /columns: corrupted prompt/);
      assert.match((await frame.locator(".axis-note").innerText()).trim(), /^Columns are positions of the corrupted prompt/);
      // Cells beyond ±1 are drawn at the end colours until Rescale, which fits the scale to them.
      const rescale = frame.locator('button[data-control="rescale"]');
      await rescale.waitFor({ timeout: 10000 });
      assert.match(await frame.locator(".rescale").innerText(), /\d+ cells? beyond ±1 drawn at the end colours/);
      await frame.locator(".grids").scrollIntoViewIfNeeded();
      await shotBothThemes(session(), "patching held scale before rescale", [frame]);
      const want = Number(/±(-?[\d.]+)/.exec(await rescale.innerText())![1]);
      assert.ok(want > 1, `Rescale offers ±${want}`);
      await rescale.click();
      await eventually(
        "the fitted scale",
        async () => Math.abs(Number(await frame.locator(".grids").getAttribute("data-scale-span")) - want) < 1e-2 * want,
        true,
      );
      assert.strictEqual(await rescale.count(), 0, "no Rescale once fitted");
      console.log(`      rescaled to ±${want}`);
      await frame.locator(".grids").scrollIntoViewIfNeeded();
      await shotBothThemes(session(), "patching held scale after rescale", [frame]);
    });

    it("patches each head: a layer x head grid with the PyTorch reference's values", async () => {
      const frame = await runFromPalette(CLEAN, CORRUPT, " Mary", " John");
      await frame.locator("#root[data-status=done]").waitFor({ timeout: 120000 });
      const section = frame.locator('[data-view="patch-heads"]');
      await section.locator('button[data-control="patch-heads"]').click();
      await section.and(frame.locator("[data-state=ready]")).waitFor({ timeout: 120000 });
      const heat = section.locator('[data-heatmap="patch-heads"]');
      assert.strictEqual(await heat.getAttribute("data-rows"), "6");
      assert.strictEqual(await heat.getAttribute("data-cols"), String(REF.heads));
      const cells = heat.locator("table[data-alt=patch-heads] td");
      await eventually("the hidden table of the head grid", () => cells.count(), 6 * REF.heads);
      const shown = (await cells.allTextContents()).map((t) => Number(/normalised (-?[\d.e+-]+)/.exec(t)?.[1] ?? NaN));
      const want = REF.pairs.find((p) => p.name === "names-swapped")!.normalised;
      shown.forEach((v, i) =>
        assert.ok(Math.abs(v - want[i]) < 2e-3, `L${Math.floor(i / REF.heads)}H${i % REF.heads}: shown ${v}, PyTorch ${want[i]}`),
      );
      assert.match(await frame.locator("#heads-patch-summary").innerText(), /Strongest: L0H0/);
      await section.scrollIntoViewIfNeeded();
      await shotBothThemes(session(), "patching each head", [frame]);
    });
  },
);
