// Expert interventions end to end on demo-moe: probe an arithmetic selection, open the context menu
// on the expert view's layer-4 cell of a token routed to expert 3 (the arithmetic expert), switch
// that expert off, and see it listed in the steering view, whose side-by-side generation then
// differs (unmodified vs expert off). Then a prompt file's `experts` lines applied by Probe and by
// the steering panel, both panels after a window reload, and the expert ranking panel ("Rank
// experts" lens, Switch off top n, CSV). Screenshots: .test-output/e2e/experts_*.png.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import type { ProbeResult } from "../../src/protocol/probeData";
import { fromWire, type Wire } from "../../src/protocol/wire";
import type { FrameLocator } from "playwright-core";
import { eventually, waitFor } from "../waitFor";
import { REPO } from "./harness/codeServer";
import { steeringView } from "./harness/views";
import { session } from "./hooks";

const FILE = "arithmetic.txt";
const TEXT = "17 + 25 = 42\n8 - 3 = 5\n30 + 12 =";
const SELECTED = "30 + 12 =";
const PROMPT_FILE = "moe-experts.introspect";
const PROMPT_SOURCE = "experts off L4:E3 L2:E1\n\nprompt sums\n  17 + 25 = 42\n  30 + 12 =\n";
const RANK_FILE = "moe-topics.introspect";

describe("expert interventions from the probe's expert view", function () {
  this.timeout(300000);
  let settings = "";
  after(async () => {
    if (settings) fs.rmSync(settings, { force: true });
    // Leave the steering view as it was found: no expert rows, no prompt (later specs fill an empty one).
    const view = await steeringView(session().wb);
    const rows = view.locator(".expert-row");
    while ((await rows.count()) > 0) {
      const n = await rows.count();
      await rows.first().locator("button", { hasText: "Remove" }).click();
      await waitFor("an expert row removed", async () => (await rows.count()) < n, { timeoutMs: 30000 });
    }
    const prompt = view.locator("#prompt");
    await prompt.fill("");
    await prompt.blur();
    await eventually("the emptied prompt recorded as typed", () => view.locator("#prompt-source").innerText(), "from typed");
  });

  it("switches the arithmetic expert off and the steering view's generation changes", async () => {
    const { wb, folder } = session();
    settings = path.join(folder, ".vscode/settings.json");
    fs.mkdirSync(path.dirname(settings), { recursive: true });
    fs.writeFileSync(settings, JSON.stringify({ "introspect.model": path.join(REPO, "models/demo-moe") }, null, 2));
    fs.writeFileSync(path.join(folder, FILE), `${TEXT}\n`);
    await wb.waitForStatus("Introspect", /Introspect: demo-moe/, 120000);
    await wb.closeAllEditors();
    await wb.openFile(FILE);
    await wb.selectText(FILE, SELECTED);
    // The recorder's file may hold an earlier spec's probe: wait for this one's.
    const file = path.join(session().record, "last-result.json");
    fs.rmSync(file, { force: true });
    await wb.editorContextMenu("Probe Selection");
    await waitFor("the probe result", () => fs.existsSync(file), { timeoutMs: 90000, intervalMs: 200 });
    const result = fromWire<ProbeResult>((JSON.parse(fs.readFileSync(file, "utf8")) as { result: Wire<ProbeResult> }).result);
    const moe = result.moe!;
    const n = result.selection.end - result.selection.start;
    // A token whose layer-4 routing includes expert 3.
    const col = Array.from({ length: n }, (_, c) => c).find((c) =>
      Array.from({ length: moe.k }, (_, j) => moe.experts.data[(4 * n + c) * moe.k + j]).includes(3),
    );
    assert.ok(col !== undefined, "some selected token is routed to expert 3 in layer 4");

    const probe = await wb.webview("Introspect: Probe");
    const canvas = probe.locator('[data-heatmap="experts"] canvas').first();
    await canvas.waitFor({ timeout: 60000 });
    await canvas.scrollIntoViewIfNeeded();
    await canvas.focus();
    const heat = probe.locator('[data-heatmap="experts"]').first();
    await waitFor("the focused cell", async () => (await heat.getAttribute("data-focus")) === "0,0", { timeoutMs: 10000 });
    for (let i = 0; i < 4; i++) await canvas.press("ArrowDown");
    for (let i = 0; i < col!; i++) await canvas.press("ArrowRight");
    await waitFor("focus on layer 4", async () => (await heat.getAttribute("data-focus")) === `4,${col}`, { timeoutMs: 10000 });
    await canvas.press("Shift+F10");
    const item = probe.locator(".expert-menu .expert-menu-item", { hasText: "Switch off expert 3 in layer 4" });
    await item.waitFor({ timeout: 10000 });
    await wb.screenshot("experts 1 context menu");
    await item.click();
    const view = await steeringView(session().wb);
    const row = view.locator('.expert-row[data-kind="off"]');
    await row.waitFor({ timeout: 30000 });
    assert.strictEqual((await row.locator(".expert-label").textContent())?.trim(), "off L4:E3");
    const gen = await waitFor(
      "a finished generation whose two sides differ",
      async () => {
        const seen = await view.locator("#root").evaluate((root) => ({
          status: root.getAttribute("data-gen-status"),
          message: root.querySelector("#gen-status")?.textContent ?? "",
          unsteered: root.querySelector("#unsteered")?.getAttribute("data-text") ?? "",
          steered: root.querySelector("#steered")?.getAttribute("data-text") ?? "",
        }));
        if (seen.status === "failed") throw new Error(`generation failed: ${seen.message}`);
        return seen.status === "done" && seen.unsteered !== "" && seen.steered !== seen.unsteered && seen;
      },
      { timeoutMs: 120000, intervalMs: 200 },
    );
    console.log(`      unmodified: ${JSON.stringify(gen.unsteered)}  off L4:E3: ${JSON.stringify(gen.steered)}`);
    await wb.screenshot("experts 2 steering view");

    // The toggle turns it off again: both sides agree.
    await row.locator("input.toggle").click();
    await waitFor(
      "both sides equal with the intervention toggled off",
      async () => {
        const s = await view.locator("#root").evaluate((root) => ({
          status: root.getAttribute("data-gen-status"),
          u: root.querySelector("#unsteered")?.getAttribute("data-text") ?? "",
          s: root.querySelector("#steered")?.getAttribute("data-text") ?? "",
        }));
        return s.status === "done" && s.u !== "" && s.u === s.s;
      },
      { timeoutMs: 120000, intervalMs: 200 },
    );
    await wb.screenshot("experts 3 toggled off");
  });

  it("a prompt file's experts lines are applied by Probe and join the steering panel's expert rows", async () => {
    const { wb, folder } = session();
    fs.writeFileSync(path.join(folder, PROMPT_FILE), PROMPT_SOURCE);
    await wb.closeAllEditors();
    await wb.openFile(PROMPT_FILE);
    await wb.selectText(PROMPT_FILE, "30 + 12 =");
    const file = path.join(session().record, "last-result.json");
    fs.rmSync(file, { force: true });
    await wb.editorContextMenu("Probe Selection");
    await waitFor("the prompt file's probe result", () => fs.existsSync(file), { timeoutMs: 90000, intervalMs: 200 });
    const rec = JSON.parse(fs.readFileSync(file, "utf8")) as { params: { experts?: unknown }; result: Wire<ProbeResult> };
    assert.deepStrictEqual(rec.params.experts, [
      { kind: "off", layer: 4, expert: 3 },
      { kind: "off", layer: 2, expert: 1 },
    ]);
    const result = fromWire<ProbeResult>(rec.result);
    const moe = result.moe!;
    const n = result.selection.end - result.selection.start;
    const routes = (l: number) => Array.from(moe.experts.data.subarray(l * n * moe.k, (l + 1) * n * moe.k));
    assert.ok(!routes(4).includes(3) && !routes(2).includes(1), `layer 4: ${routes(4).join(" ")}; layer 2: ${routes(2).join(" ")}`);
    const probe = await wb.webview("Introspect: Probe");
    await probe.locator("text=Probed with expert interventions: off L4:E3, off L2:E1.").first().waitFor({ timeout: 30000 });
    await wb.screenshot("experts 4 prompt file probe");

    // The steering panel takes the prompt block under the cursor, and with it the file's experts lines.
    await wb.goTo(5, 3);
    const view = await steeringView(wb);
    await view.locator("button", { hasText: "From editor" }).click();
    await waitFor(
      "the file's expert rows, enabled",
      async () => {
        const rows = await view
          .locator(".expert-row")
          .evaluateAll((els) =>
            els.map(
              (e) =>
                `${e.querySelector(".expert-label")?.textContent?.trim()}:${(e.querySelector("input.toggle") as HTMLInputElement).checked}`,
            ),
          );
        return rows.includes("off L4:E3:true") && rows.includes("off L2:E1:true") && rows;
      },
      { timeoutMs: 60000, intervalMs: 200 },
    );
    await waitFor(
      "a finished generation whose sides differ",
      async () => {
        const s = await genState(view);
        if (s.status === "failed") throw new Error(`generation failed: ${s.message}`);
        return s.status === "done" && s.u !== "" && s.u !== s.s;
      },
      { timeoutMs: 120000, intervalMs: 200 },
    );
    await wb.screenshot("experts 5 prompt file steering");
  });

  it("after a window reload the probe's expert view and the steering panel's expert rows come back", async function () {
    // The reloaded extension host starts every extension again: slow on a loaded machine.
    this.timeout(600000);
    const { wb } = session();
    await wb.reloadWindow();
    const probe = await wb.webview("Introspect: Probe", 300000);
    const heat = probe.locator('[data-heatmap="experts"]').first();
    await heat.waitFor({ timeout: 120000 });
    assert.strictEqual(Number(await heat.getAttribute("data-rows")), 6);
    const view = await steeringView(wb);
    const labels = await waitFor(
      "the expert rows after the reload",
      async () => {
        const l = await view.locator(".expert-row .expert-label").allTextContents();
        return l.length === 2 && l.map((x) => x.trim());
      },
      { timeoutMs: 60000, intervalMs: 200 },
    );
    assert.deepStrictEqual(labels, ["off L4:E3", "off L2:E1"]);
    await wb.screenshot("experts 6 after reload");
    // Leave no rows for the specs that follow (their models have no experts).
    for (let i = 0; i < 2; i++) await view.locator(".expert-row button", { hasText: "Remove" }).first().click();
    await waitFor("no expert rows", async () => (await view.locator(".expert-row").count()) === 0, { timeoutMs: 30000 });
  });

  it("Rank experts ranks the arithmetic contrast (L4:E3 first), switches the top expert off on both prompt sets and exports CSV", async () => {
    const { wb, folder } = session();
    settings = path.join(folder, ".vscode/settings.json");
    fs.mkdirSync(path.dirname(settings), { recursive: true });
    fs.writeFileSync(settings, JSON.stringify({ "introspect.model": path.join(REPO, "models/demo-moe") }, null, 2));
    await wb.waitForStatus("Introspect", /Introspect: demo-moe/, 120000);
    fs.copyFileSync(path.join(REPO, "demo/moe-topics.introspect"), path.join(folder, RANK_FILE));
    await wb.closeAllEditors();
    await wb.openFile(RANK_FILE);
    // The block is below the first screen: bring it into view so its lens is drawn.
    const source = fs.readFileSync(path.join(folder, RANK_FILE), "utf8").split("\n");
    await wb.goTo(source.findIndex((l) => l.startsWith("contrast arithmetic-vs-rest")) + 1);
    // The file's last contrast block is arithmetic-vs-rest.
    const lens = wb.page.locator(".codelens-decoration a", { hasText: /Rank experts$/ }).last();
    await lens.waitFor({ timeout: 120000 });
    await lens.click();
    const panel = await wb.webview("Introspect: Experts", 60000);
    await waitFor("the ranking", async () => (await panel.locator("#root").getAttribute("data-status")) === "done", {
      timeoutMs: 120000,
      intervalMs: 200,
    });
    const heat = panel.locator('[data-heatmap="expert-rank"]').first();
    assert.deepStrictEqual([await heat.getAttribute("data-rows"), await heat.getAttribute("data-cols")], ["6", "4"]);
    const first = panel.locator("#rank-list tr[data-layer]").first();
    assert.deepStrictEqual([await first.getAttribute("data-layer"), await first.getAttribute("data-expert")], ["4", "3"]);
    await panel.locator("#rank-n").fill("1");
    await panel.locator("#rank-switch-off").click();
    const effect = panel.locator("#effect");
    await waitFor("the effect of switching L4:E3 off", async () => (await effect.getAttribute("data-status")) === "done", {
      timeoutMs: 120000,
      intervalMs: 200,
    });
    const pos = Number(await effect.getAttribute("data-positive-change"));
    const ctl = Number(await effect.getAttribute("data-control-change"));
    console.log(`      L4:E3 off: + prompts log-prob change ${pos.toFixed(3)}, control ${ctl.toFixed(3)}`);
    assert.ok(pos < ctl, `+ prompts fall more (${pos}) than the control prompts (${ctl})`);
    await wb.screenshot("experts 7 ranking");
    const csv = path.join(folder, "ranking.csv");
    fs.rmSync(csv, { force: true });
    await panel.locator("#rank-csv").click();
    await wb.fileDialog(/experts-arithmetic-vs-rest\.csv$/, csv);
    await waitFor("the CSV file", () => fs.existsSync(csv), { timeoutMs: 20000 });
    const lines = fs.readFileSync(csv, "utf8").trim().split(/\r?\n/);
    assert.strictEqual(lines[0], "rank,layer,expert,positive_share,baseline_share,diff,z,p");
    assert.ok(lines[1].startsWith("1,4,3,"), lines[1]);
    assert.strictEqual(lines.length, 1 + 24);
    await wb.closeAllEditors();
    for (const f of [csv, path.join(folder, RANK_FILE), path.join(folder, PROMPT_FILE), path.join(folder, FILE)])
      fs.rmSync(f, { force: true });
  });
});

async function genState(view: FrameLocator): Promise<{ status: string | null; message: string; u: string; s: string }> {
  return view.locator("#root").evaluate((root) => ({
    status: root.getAttribute("data-gen-status"),
    message: root.querySelector("#gen-status")?.textContent ?? "",
    u: root.querySelector("#unsteered")?.getAttribute("data-text") ?? "",
    s: root.querySelector("#steered")?.getAttribute("data-text") ?? "",
  }));
}
