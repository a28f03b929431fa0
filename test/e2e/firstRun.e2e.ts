// First run in code-server, as a new user meets it (its own session: the shared one turns the
// welcome off): the walkthrough and the demo README open by themselves on the first start, its
// steps are select/probe, steer and patch, "Open Demo Prompts" opens the demo files; the probe
// keybinding is bound to nothing else; a selection in a comment gets a hint.
import * as assert from "assert";
import * as fs from "fs";
import type { Context } from "mocha";
import * as path from "path";
import { waitFor } from "../waitFor";
import { REPO } from "./harness/codeServer";
import { startSession, usesBundledModel, type Session } from "./harness/session";
import { shotBothThemes } from "./harness/themes";

const KEY = "ctrl+k alt+i";

describe("first run (a fresh code-server with the welcome on)", function () {
  this.timeout(300000);
  let s: Session | undefined;

  before(async function () {
    this.timeout(300000);
    if (!usesBundledModel()) {
      console.log("      (skipped: the bundled demo models are not built)");
      this.skip();
    }
    s = await startSession(`${process.env.INTROSPECT_E2E_RUN || "e2e"}-firstrun`, {}, { firstRun: true });
  });
  afterEach(async function (this: Context) {
    const t = this.currentTest;
    if (s && t) await s.wb.screenshot(`firstrun session ${t.title}${t.state === "failed" ? ".FAILED" : ""}`).catch(() => undefined);
  });
  after(async () => {
    await s?.close();
  });

  it("the walkthrough opens on first start, with select/probe, steer and patch steps, beside the demo README", async () => {
    const { wb } = s!;
    const walkthrough = wb.page.locator(".gettingStartedContainer", { hasText: "Look inside a language model" }).first();
    await walkthrough.waitFor({ timeout: 120000 });
    await walkthrough.locator("a, button, .monaco-button", { hasText: "Open Demo Prompts" }).first().waitFor({ timeout: 30000 });
    for (const step of ["Open the demo prompts", "Select text and probe it", "Steer with a contrast vector", "Patch activations"])
      await walkthrough.locator(".getting-started-step", { hasText: step }).first().waitFor({ timeout: 30000 });
    // The README opens beside the walkthrough, both in view.
    await wb.page.locator(".tab.active", { hasText: "Preview README.md" }).first().waitFor({ timeout: 60000 });
    assert.ok(await walkthrough.isVisible(), "the walkthrough stays in view beside the README");
    await shotBothThemes(s!, "firstrun walkthrough and demo README");
  });

  it('"Open Demo Prompts" (what the first step\'s button runs) opens the demo README and ioi.introspect with its lenses', async () => {
    const { wb } = s!;
    await wb.runCommand("Introspect: Open Demo Prompts");
    await wb.page.locator('.tab[data-resource-name="ioi.introspect"]').waitFor({ timeout: 30000 });
    await wb.page
      .locator(".codelens-decoration a", { hasText: /Run patching$/ })
      .first()
      .waitFor({ timeout: 120000 });
    await wb.screenshot("firstrun demo prompts opened");
  });

  it(`the probe keybinding (${KEY}) is bound to Probe Selection and to nothing else`, async () => {
    const { wb } = s!;
    await wb.runCommand("Preferences: Open Keyboard Shortcuts");
    const search = wb.page
      .locator(".keybindings-editor .keybindings-search-container .monaco-editor, .keybindings-editor .search-container input")
      .first();
    await search.waitFor({ timeout: 30000 });
    await search.click();
    // A quoted key string searches bindings by their keys.
    await wb.page.keyboard.type(`"${KEY}"`);
    const rows = wb.page.locator(".keybindings-editor .monaco-list-row");
    // The list shows every binding until the search has run: wait until each row shown has the key.
    const squash = (t: string) => t.replace(/\s+/g, "").toLowerCase();
    const labels = await waitFor("the list filtered to the key's bindings, Probe Selection among them", async () => {
      const v = (await rows.allInnerTexts()).map((t) => t.replace(/\s+/g, " ").trim());
      return v.length > 0 && v.every((t) => squash(t).includes(squash(KEY))) && v.some((t) => /Probe Selection/.test(t)) && v;
    });
    await wb.screenshot("firstrun keybinding search");
    assert.strictEqual(labels.length, 1, `only Probe Selection has ${KEY}: ${JSON.stringify(labels)}`);
    await wb.closeAllEditors();
  });

  it("a selection inside a comment of a prompt file is probed with a hint saying how it is read", async () => {
    const { wb, folder } = s!;
    fs.copyFileSync(path.join(REPO, "demo/ioi.introspect"), path.join(folder, "ioi.introspect"));
    await wb.waitForStatus("Introspect", /Introspect: demo-llama/, 120000);
    await wb.openFile("ioi.introspect");
    await wb.selectText("ioi.introspect", "Indirect-object");
    await wb.editorContextMenu("Probe Selection");
    const hint = await wb.waitForNotification(/The selection is in a comment/, 60000);
    assert.match(hint, /select inside a prompt block/);
    await wb.screenshot("firstrun comment hint");
  });
});
