// Expert interventions end to end on demo-moe: probe an arithmetic selection, open the context menu
// on the expert view's layer-4 cell of a token routed to expert 3 (the arithmetic expert), switch
// that expert off, and see it listed in the steering view, whose side-by-side generation then
// differs (unmodified vs expert off). Screenshots: .test-output/e2e/experts_*.png.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import type { ProbeResult } from "../../src/protocol/probeData";
import { fromWire, type Wire } from "../../src/protocol/wire";
import { eventually, waitFor } from "../waitFor";
import { REPO } from "./harness/codeServer";
import { steeringView } from "./harness/views";
import { session } from "./hooks";

const FILE = "arithmetic.txt";
const TEXT = "17 + 25 = 42\n8 - 3 = 5\n30 + 12 =";
const SELECTED = "30 + 12 =";

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
});
