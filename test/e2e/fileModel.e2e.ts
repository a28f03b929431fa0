// Each prompt file runs on its own model, and failures say what to do, in code-server:
// the "Probe" lens of demo/moe-topics.introspect (`model demo-moe`) switches the host to demo-moe
// and the panel shows the Experts view, with no setting touched; the mismatch warning's quick fix
// switches back; the model setting is on the User tab and takes names; a wrong model path gives a
// sentence with a "Select Model" button that works, in the notification and in the panel.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { eventually } from "../waitFor";
import { REPO } from "./harness/codeServer";
import { shotBothThemes } from "./harness/themes";
import { session } from "./hooks";

const PANEL = "Introspect: Probe";

function copyDemo(name: string): string {
  const { folder } = session();
  fs.mkdirSync(path.join(folder, "demo"), { recursive: true });
  fs.copyFileSync(path.join(REPO, "demo", name), path.join(folder, "demo", name));
  return `demo/${name}`;
}

/** The workspace settings file and the introspect.* user settings (VS Code itself migrates others, e.g. extensions.autoUpdate). */
const settingsFiles = () => {
  const s = session();
  const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, "utf8") : "");
  const user = read(path.join(s.server.userDataDir, "User/settings.json"));
  const ours = user ? Object.entries(JSON.parse(user) as Record<string, unknown>).filter(([k]) => k.startsWith("introspect.")) : [];
  return [read(path.join(s.folder, ".vscode/settings.json")), JSON.stringify(ours)];
};

describe("Introspect: each prompt file on its own model (code-server)", function () {
  this.timeout(240000);

  before(async () => {
    await session().wb.waitForStatus("Introspect", /Introspect: demo-llama/, 120000);
  });

  it("probing demo/moe-topics.introspect shows the Experts view on demo-moe without touching settings", async () => {
    const { wb } = session();
    const file = copyDemo("moe-topics.introspect");
    const settingsBefore = settingsFiles();
    await wb.closeAllEditors();
    await wb.openFile(file);
    // While demo-llama is loaded, the model line carries a warning (not an information squiggle).
    await wb.activeEditor().locator(".squiggly-warning").first().waitFor({ timeout: 60000 });
    const lens = wb.page.locator(".codelens-decoration a", { hasText: /Probe$/ }).first();
    await lens.waitFor({ timeout: 90000 });
    await lens.click();
    await wb.waitForNotification(/switched to demo-moe, the model moe-topics\.introspect names/, 120000);
    await wb.waitForStatus("Introspect", /Introspect: demo-moe/, 120000);
    const frame = await wb.webview(PANEL);
    await frame.locator("#root[data-probe-id][data-render-ms]").waitFor({ timeout: 120000 });
    const header = (await frame.locator(".probe-header h1").innerText()).trim();
    assert.match(header, /demo-moe/, "the probe ran on demo-moe");
    const experts = frame.locator('[data-view="moe"] [data-heatmap="experts"]').first();
    await experts.waitFor({ timeout: 30000 });
    const config = JSON.parse(fs.readFileSync(path.join(REPO, "models/demo-moe/config.json"), "utf8")) as { num_hidden_layers: number };
    assert.strictEqual(Number(await experts.getAttribute("data-rows")), config.num_hidden_layers, "expert rows = demo-moe's layers");
    assert.deepStrictEqual(settingsFiles(), settingsBefore, "no settings file was written");
    await frame.locator('[data-view="moe"]').scrollIntoViewIfNeeded();
    await shotBothThemes(session(), "filemodel moe-topics probed on demo-moe", [frame]);
  });

  it('a file naming another model than the loaded one gets a warning whose quick fix "Switch to demo-llama" loads it', async () => {
    const { wb } = session();
    const file = copyDemo("ioi.introspect");
    await wb.openFile(file);
    const squiggle = wb.activeEditor().locator(".squiggly-warning").first();
    await squiggle.waitFor({ timeout: 60000 });
    // The model line is line 5 ("model demo-llama"); the quick-fix menu opens at the cursor.
    const lines = fs.readFileSync(path.join(session().folder, file), "utf8").split("\n");
    await wb.goTo(lines.findIndex((l) => l.startsWith("model ")) + 1, 8);
    await wb.page.keyboard.press("Control+.");
    const fix = wb.page.locator(".action-widget .monaco-list-row", { hasText: "Switch to demo-llama" }).first();
    await fix.waitFor({ timeout: 30000 });
    await wb.screenshot("filemodel quick fix switch to demo-llama");
    await fix.click();
    await wb.waitForStatus("Introspect", /Introspect: demo-llama/, 120000);
    await squiggle.waitFor({ state: "detached", timeout: 60000 });
  });

  it("the model setting is on the User tab of the Settings editor", async () => {
    const { wb } = session();
    await wb.runCommand("Preferences: Open User Settings");
    const search = wb.page.locator(".settings-editor .search-container .monaco-editor").first();
    await search.waitFor({ timeout: 30000 });
    await search.click();
    await wb.page.keyboard.type("introspect.model");
    const userTab = wb.page.locator(".settings-editor .settings-tabs-widget .action-label", { hasText: /^User/ }).first();
    await eventually("the User tab selected", async () => /\bchecked\b/.test((await userTab.getAttribute("class")) ?? ""), true);
    const item = wb.page.locator(".settings-editor .setting-item-contents", { hasText: "bundled model's name" }).first();
    await item.waitFor({ timeout: 30000 });
    await wb.screenshot("filemodel setting on the user tab");
    await wb.page.keyboard.press("Escape");
    await wb.closeAllEditors();
  });

  it('a wrong model path: one sentence and a working "Select Model" button, in the notification and in the panel', async () => {
    const s = session();
    const { wb } = s;
    const missing = path.join(s.folder, "no-such-model");
    const settings = path.join(s.folder, ".vscode/settings.json");
    fs.mkdirSync(path.dirname(settings), { recursive: true });
    fs.writeFileSync(settings, JSON.stringify({ "introspect.model": missing }, null, 2));
    try {
      const toast = wb.page.locator(".notification-toast", { hasText: "The model could not be loaded" }).first();
      await toast.waitFor({ timeout: 120000 });
      const text = (await toast.innerText()).trim();
      assert.match(text, /Model not found at .*no-such-model/);
      assert.doesNotMatch(text, /Request introspect\/|failed with message/);
      await wb.screenshot("filemodel wrong model notification");
      await toast.locator(".monaco-button", { hasText: "Select Model" }).click();
      await selectModelOpened();

      // The probe panel: the sentence and the buttons in place of a result, no RPC wording.
      await wb.closeAllEditors();
      await wb.openFile("sample.txt");
      await wb.selectText("sample.txt", fs.readFileSync(path.join(s.folder, "sample.txt"), "utf8").split("\n")[0].slice(0, 12));
      await wb.editorContextMenu("Probe Selection");
      const frame = await wb.webview(PANEL);
      const failure = frame.locator(".failure").first();
      await failure.waitFor({ timeout: 60000 });
      const sentence = (await failure.locator(".error").innerText()).trim();
      assert.match(sentence, /could not be loaded/);
      assert.doesNotMatch(sentence, /Request introspect\/|failed with message/);
      assert.strictEqual(await frame.locator("[data-heatmap]").count(), 0, "no stale heatmap beside the failure");
      await shotBothThemes(s, "filemodel wrong model in the probe panel", [frame]);
      await failure.locator('button[data-action="selectModel"]').click();
      await selectModelOpened();
    } finally {
      fs.rmSync(settings, { force: true });
    }
    await wb.waitForStatus("Introspect", /Introspect: demo-llama/, 120000);
    await wb.closeAllEditors();
  });
});

/** "Select Model" runs the model picker (introspect.selectModel) where it exists, else opens the setting. */
async function selectModelOpened(): Promise<void> {
  const { wb } = session();
  const picker = wb.page.locator(".quick-input-widget .quick-input-title", { hasText: /model/i }).first();
  const setting = wb.page.locator(".settings-editor .setting-item-contents", { hasText: "bundled model's name" }).first();
  const which = await eventually(
    "the model picker or the introspect.model setting",
    async () => ((await picker.isVisible()) ? "picker" : (await setting.isVisible()) ? "setting" : "neither"),
    /^(picker|setting)$/,
  );
  await wb.screenshot(`filemodel select model opened the ${which}`);
  await wb.page.keyboard.press("Escape");
  if (which === "setting") await wb.closeAllEditors();
}
