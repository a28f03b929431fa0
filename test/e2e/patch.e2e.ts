// Activation patching end to end on demo-llama: from the palette (a selection as the clean prompt,
// input boxes and quick picks for the rest), the panel's JSON / CSV / PNG exports, from the code
// lens of demo/ioi.introspect, a click on a cell, and cancel (the panel's button and the palette
// command). The panel's DOM says how far it is: #root data-status / data-done / data-total /
// data-rows / data-cols; each site's section data-finished.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import type { FrameLocator } from "playwright-core";
import { eventually, waitFor } from "../waitFor";
import { REPO, windowModelHosts } from "./harness/codeServer";
import { parseCsv, pngSize, written } from "./harness/files";
import { usesBundledModel } from "./harness/session";
import { session } from "./hooks";

const PANEL = "Introspect: Activation Patching";
const CLEAN = "When Mary and John went to the store, John gave a drink to";
const CORRUPT = "When Mary and John went to the store, Mary gave a drink to";

async function attr(frame: FrameLocator, sel: string, name: string): Promise<string | null> {
  return frame.locator(sel).first().getAttribute(name, { timeout: 5000 });
}

/** The panel's status and finished cells, read in one go. */
async function progress(frame: FrameLocator): Promise<{ status: string; done: number; total: number }> {
  return frame.locator("#root").evaluate((root) => ({
    status: root.getAttribute("data-status") ?? "",
    done: Number(root.getAttribute("data-done") ?? NaN),
    total: Number(root.getAttribute("data-total") ?? NaN),
  }));
}

/** Polls the panel until its status matches; returns every distinct data-done value seen on the way. */
async function watchUntil(frame: FrameLocator, status: RegExp, timeoutMs = 120000): Promise<{ seen: number[]; status: string }> {
  const seen: number[] = [];
  let last = "";
  try {
    await waitFor(
      `the panel's status to match ${status}`,
      async () => {
        const p = await progress(frame);
        last = p.status;
        if (Number.isFinite(p.done) && seen[seen.length - 1] !== p.done) seen.push(p.done);
        return status.test(p.status);
      },
      { timeoutMs, intervalMs: 40 },
    );
  } catch (e) {
    throw new Error(`${(e as Error).message}; last "${last}", done values ${seen.join(",")}`);
  }
  return { seen, status: last };
}

/** Step `step` (e.g. "3/6") of the command's input boxes and quick picks: types `fill` if given, accepts. */
async function acceptQuickInput(wb: ReturnType<typeof session>["wb"], step: string, fill?: string): Promise<void> {
  await wb.answerInputBox(`(${step})`, fill);
}

/** Starts a sweep long enough to be stopped halfway (every position of a long prompt differs); returns the panel. */
async function startLongSweep(): Promise<FrameLocator> {
  const { wb } = session();
  // A long prompt whose first word changes: every later position differs, so nothing is skipped.
  // About 250 of the model's 256 positions: long enough that, on a busy machine, the panel has
  // shown its first cells well before the host is through.
  const tail = " and then they walked along the river and talked about the weather for a long time".repeat(9);
  await wb.closeAllEditors();
  await wb.runCommand("Introspect: Run Activation Patching", { waitClosed: false });
  await acceptQuickInput(wb, "1/6", `Yesterday Mary and John went to the store${tail}`);
  await acceptQuickInput(wb, "2/6", `Today Mary and John went to the store${tail}`);
  await acceptQuickInput(wb, "3/6", " the"); // correct answer
  await acceptQuickInput(wb, "4/6", " and"); // wrong answer
  await acceptQuickInput(wb, "5/6");
  await acceptQuickInput(wb, "6/6");
  const frame = await wb.webview(PANEL);
  await waitFor(
    "the long sweep running with its first cells done",
    async () => {
      const p = await progress(frame);
      if (p.status === "done") throw new Error("the long sweep finished before it could be cancelled");
      return p.status === "running" && p.done > 0 && p.done < p.total;
    },
    { timeoutMs: 90000, intervalMs: 50 },
  );
  return frame;
}

/**
 * After a cancel: the cancelled state with the cells it had, and no cell more after a later
 * request has been through the host and back (a clicked cell's top tokens).
 */
async function assertCancelled(frame: FrameLocator): Promise<void> {
  const { status } = await watchUntil(frame, /^(cancelled|done)$/, 60000);
  assert.strictEqual(status, "cancelled");
  const { done, total } = await progress(frame);
  assert.ok(done > 0 && done < total, `cancelled with ${done} of ${total} cells`);
  assert.match(await frame.locator("#patch-status").innerText(), /Cancelled after \d+ of \d+ cells/);
  const canvas = frame.locator("[data-heatmap=patch-resid_pre] canvas");
  await canvas.focus();
  await canvas.press("Enter");
  await frame.locator("#cell-detail[data-state=ready]").waitFor({ timeout: 60000 });
  assert.deepStrictEqual(await progress(frame), { status: "cancelled", done, total }, "nothing arrives after the cancel");
  console.log(`      cancelled after ${done} of ${total} cells`);
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
    // No Escape first: it would drop the selection the command takes as the clean prompt.
    await wb.runCommand("Introspect: Run Activation Patching", { escape: false, waitClosed: false });
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
    const seen = await waitFor(
      "the rerun's last cell seen by the recorder",
      () =>
        frame.locator("#root").evaluate((root) => {
          const d = (window as unknown as { __dones: number[] }).__dones;
          return d.length > 0 && d[d.length - 1] === Number((root as HTMLElement).dataset.total) && d;
        }),
      { timeoutMs: 120000, intervalMs: 100 },
    );
    await watchUntil(frame, /^done$/);
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

  it("exports JSON, CSV and PNG through the save dialog; the files hold the grids the panel shows", async () => {
    const { wb, folder } = session();
    const frame = await wb.webview(PANEL);
    await watchUntil(frame, /^done$/);
    const status = frame.locator("#export-status");
    const save = async (label: string, suggested: RegExp, name: string) => {
      const file = path.join(folder, name);
      fs.rmSync(file, { force: true });
      await frame.locator("button", { hasText: new RegExp(`^${label}$`) }).click();
      await wb.fileDialog(suggested, file);
      await eventually("the panel's export status", () => status.innerText(), `Saved ${file}`);
      return written(file);
    };
    // What the panel shows of resid_pre: its hidden table, one cell per layer and position.
    const table = frame.locator("table[data-alt=patch-resid_pre] td");
    await eventually("the hidden table of resid_pre", () => table.count(), 6 * 14);
    const shown = (await table.allTextContents()).map((t) => Number(/: (-?[\d.e+-]+)$/.exec(t)?.[1] ?? NaN));
    const json = JSON.parse((await save("JSON", /patching-.*\.json$/, "patching.json")).toString("utf8")) as {
      experiment: { clean: string; corrupt: string };
      correct: { text: string };
      layers: number[];
      positions: number[];
      grids: Record<string, { normalised: number[][]; logitDiff: number[][]; pCorrect: number[][] }>;
    };
    assert.deepStrictEqual([json.experiment.clean, json.experiment.corrupt], [CLEAN, CORRUPT]);
    assert.strictEqual(json.correct.text, " Mary");
    assert.deepStrictEqual(Object.keys(json.grids).sort(), ["attn_out", "mlp_out", "resid_pre"]);
    const g = json.grids.resid_pre.normalised;
    assert.deepStrictEqual([g.length, g[0].length], [6, 14], "layers x positions");
    g.flat().forEach((v, i) =>
      assert.ok(Math.abs(v - shown[i]) <= 6e-3 * Math.max(1, Math.abs(v)), `cell ${i}: file ${v}, panel ${shown[i]}`),
    );
    // CSV: one row per site, layer and position, with the same numbers as the JSON.
    const csv = parseCsv((await save("CSV", /patching-.*\.csv$/, "patching.csv")).toString("utf8"));
    assert.deepStrictEqual(csv[0], [
      "site",
      "layer",
      "position",
      "token",
      "clean_position",
      "normalised_logit_diff",
      "logit_diff",
      "p_correct",
    ]);
    assert.strictEqual(csv.length, 1 + 3 * 6 * 14);
    for (const f of csv.slice(1)) {
      const site = json.grids[f[0]];
      const li = json.layers.indexOf(Number(f[1]));
      const pi = json.positions.indexOf(Number(f[2]));
      assert.ok(site && li >= 0 && pi >= 0, f.join(","));
      assert.strictEqual(Number(f[5]), site.normalised[li][pi], f.join(","));
      assert.strictEqual(Number(f[6]), site.logitDiff[li][pi], f.join(","));
      assert.strictEqual(Number(f[7]), site.pCorrect[li][pi], f.join(","));
    }
    // PNG: the three site heatmaps stacked, as wide as the widest.
    const widths = await frame
      .locator("section.site canvas.heatmap-canvas")
      .evaluateAll((cs) => cs.map((c) => (c as HTMLCanvasElement).width));
    assert.strictEqual(widths.length, 3);
    const png = await save("PNG", /patching-.*\.png$/, "patching.png");
    assert.strictEqual(pngSize(png)[0], Math.max(...widths), "PNG width = the widest heatmap");
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

  it("cancels a long sweep from the panel's button and shows the cancelled state with the cells it had", async () => {
    const frame = await startLongSweep();
    await frame.locator("#patch-cancel").click();
    await assertCancelled(frame);
  });

  it('"Cancel Activation Patching" from the palette stops the sweep the same way', async () => {
    const { wb } = session();
    // The palette can take longer to open than the sweep has left on a busy machine: the command
    // is typed first and accepted only while the panel still shows the sweep running.
    let frame: FrameLocator | undefined;
    for (let attempt = 1; attempt <= 3 && !frame; attempt++) {
      const f = await startLongSweep();
      await wb.typeCommand("Introspect: Cancel Activation Patching");
      const p = await progress(f);
      if (p.status === "running" && p.done < p.total) {
        await wb.page.keyboard.press("Enter");
        await wb.page.locator(".quick-input-widget").waitFor({ state: "hidden" });
        frame = f;
      } else {
        console.log(`      attempt ${attempt}: the sweep ended (${p.status}, ${p.done} of ${p.total}) while the palette opened`);
        await wb.page.keyboard.press("Escape");
        await watchUntil(f, /^(cancelled|done)$/, 120000);
      }
    }
    assert.ok(frame, "the palette was open while a sweep ran, in one of three attempts");
    await assertCancelled(frame);
    await wb.waitForNotification(/patching cancelled after \d+ of \d+ cells/);
  });

  it("the model host killed mid-sweep: a new host within 3 s, the panel says what happened, a rerun completes", async () => {
    const { wb, server } = session();
    const frame = await startLongSweep();
    const [old] = windowModelHosts(server.pgid);
    assert.ok(old, "a model host is running");
    const killedAt = Date.now();
    process.kill(old.pid, "SIGKILL");
    const back = await waitFor(
      "a new model host process",
      () => {
        const now = windowModelHosts(server.pgid).filter((p) => p.pid !== old.pid);
        return now.length === 1 && Date.now() - killedAt;
      },
      { timeoutMs: 10000, intervalMs: 50 },
    );
    console.log(`      new model host ${back} ms after the kill`);
    assert.ok(back <= 3000, `the host came back after ${back} ms`);
    await watchUntil(frame, /^failed$/, 30000);
    assert.match(await frame.locator("#patch-status").innerText(), /model host stopped while this was running/);
    await wb.waitForStatus("Introspect", /Introspect: demo-llama/, 120000);
    // The rerun button lives in the options section.
    await frame.locator("#patch-options").evaluate((d) => ((d as HTMLDetailsElement).open = true));
    await frame.locator("#patch-rerun").click();
    await watchUntil(frame, /^running$/, 60000);
    await watchUntil(frame, /^done$/, 300000);
    const p = await progress(frame);
    assert.strictEqual(p.done, p.total, "the rerun finished every cell");
  });
});
