// Activation shift end to end on demo-llama: demo/injection.introspect (with its benign reference
// shift/benign.introspect) opens, and its injection-style prompt gets a warning with the score above
// the threshold, an ordinary prompt an information diagnostic, and each prompt a lens with its score.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { REPO } from "./harness/codeServer";
import { usesBundledModel } from "./harness/session";
import { eventually, waitFor } from "../waitFor";
import { session } from "./hooks";

const FILE = "injection.introspect";

(usesBundledModel() ? describe : describe.skip)("Activation shift in prompt files (code-server, demo-llama)", function () {
  this.timeout(420000);

  before(async () => {
    const { wb, folder } = session();
    fs.copyFileSync(path.join(REPO, "demo", FILE), path.join(folder, FILE));
    fs.mkdirSync(path.join(folder, "shift"), { recursive: true });
    fs.copyFileSync(path.join(REPO, "demo/shift/benign.introspect"), path.join(folder, "shift/benign.introspect"));
    await wb.waitForStatus("Introspect", /Introspect: demo-llama/, 120000);
  });

  it("an injection-style prompt gets a warning with its shift score, an ordinary one information", async () => {
    const { wb } = session();
    await wb.closeAllEditors();
    await wb.openFile(FILE);
    // The warning squiggle appears once the detector is fitted and the prompts are scored.
    await wb.activeEditor().locator('.view-overlays [class*="squiggly-warning"]').first().waitFor({ timeout: 120000 });
    await wb.page.keyboard.press("Control+Shift+M");
    const rows = wb.page.locator(".markers-panel .monaco-list-row", { hasText: "Activation shift" });
    const texts = await waitFor(
      "four activation-shift problems",
      async () => {
        const t = (await rows.allInnerTexts()).map((x) => x.replace(/\s+/g, " "));
        return t.length >= 4 ? t : undefined;
      },
      { timeoutMs: 60000 },
    );
    for (const t of texts) console.log(`      problem: ${t}`);
    const above = texts.filter((t) => /above the threshold/.test(t));
    const within = texts.filter((t) => /within the benign range/.test(t));
    assert.strictEqual(above.length, 2, "both injection-style prompts are above the threshold");
    assert.strictEqual(within.length, 2, "both ordinary prompts are within the benign range");
    assert.match(
      above[0],
      /Activation shift \d+\.\d at layer 5 \(threshold \d+\.\d, from 40 benign prompts in shift\/benign\.introspect\)/,
    );
    // Lenses show each prompt's score against the threshold. VS Code re-asks for lenses after a
    // debounce it adapts to how long the last answers took (250 ms up to 62.5 s), and it drops a
    // pending re-ask when the editor text loses focus (the Problems panel above took it), asking
    // again when the editor has it back. So the user's next step is taken: back into the prompt.
    await wb.activeEditor().locator(".view-line", { hasText: "shift-layer" }).click();
    await eventually(
      "the editor text focused",
      async () => /\bfocused\b/.test((await wb.activeEditor().getAttribute("class")) ?? ""),
      true,
    );
    const diagnosed = Date.now();
    // One such delay plus the answers, on a loaded machine: 200 s. A timeout shows the lenses last seen.
    const lens = await eventually(
      "a shift lens",
      async () =>
        (await wb.activeEditor().locator(".codelens-decoration").allInnerTexts()).map((x) => x.replace(/\s+/g, " ").trim()).join(" | "),
      /Shift \d+\.\d \/ \d+\.\d \(layer 5\)/,
      { timeoutMs: 200000 },
    );
    console.log(`      lenses (${((Date.now() - diagnosed) / 1000).toFixed(1)} s after the editor had the focus back): ${lens}`);
    // Hover the warning squiggle so the screenshot shows the message beside the prompt.
    await wb.activeEditor().locator(".view-line", { hasText: "Ignore the previous instructions" }).locator("span span").first().hover();
    await wb.page.locator(".monaco-hover", { hasText: "Activation shift" }).first().waitFor({ timeout: 30000 });
    await wb.screenshot("shift diagnostic on an injection prompt");
  });
});
