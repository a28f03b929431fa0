// Workspace trust, both ways, in code-server with trust on (the shared e2e session runs with
// --disable-workspace-trust, so this file starts its own). The workspace's .vscode/settings.json
// names a model inside the workspace: untrusted, the host must load the bundled demo model instead
// and say why; once trust is granted, the workspace's model loads without a reload; after a reload
// (trust remembered) it loads from the start.
//   INTROSPECT_E2E_RUN=trust npx mocha --no-config -r tsx/cjs --extension ts --timeout 300000 --exit test/e2e/trust.e2e.ts
import * as assert from "assert";
import type { Context } from "mocha";
import * as path from "path";
import { REPO, windowModelHosts } from "./harness/codeServer";
import { startSession, usesBundledModel, type Session } from "./harness/session";

const INFO = "Introspect: Model Info";
const WORKSPACE_MODEL = "models/workspace-model";
/** A complete small model (graph, config.json, tokenizer.json) to put inside the workspace. */
const TINY_LLAMA = path.join(REPO, "test/fixtures/local/tiny-llama");

describe("workspace trust (code-server with trust on)", function () {
  this.timeout(300000);
  let s: Session | undefined;

  before(async function () {
    this.timeout(300000);
    if (!usesBundledModel()) {
      console.log("      (skipped: the bundled demo model models/demo-llama is not built)");
      this.skip();
    }
    s = await startSession(
      `${process.env.INTROSPECT_E2E_RUN || "e2e"}-trust`,
      {},
      {
        workspaceTrust: true,
        workspaceSettings: { "introspect.model": WORKSPACE_MODEL },
        copyIntoWorkspace: { [WORKSPACE_MODEL]: TINY_LLAMA },
      },
    );
  });
  afterEach(async function (this: Context) {
    const t = this.currentTest;
    if (s && t) await s.wb.screenshot(`${t.fullTitle()}${t.state === "failed" ? ".FAILED" : ""}`).catch(() => undefined);
  });
  after(async () => {
    await s?.close();
  });

  async function onnxFileShown(): Promise<string> {
    const { wb } = s!;
    await wb.runCommand("Introspect: Show Model Info");
    // The panel may still show an earlier answer: wait for the ready state, then read the file.
    const frame = await wb.webview(INFO);
    await frame.locator("#model-state", { hasText: /^ready$/ }).waitFor({ timeout: 60000 });
    return (await frame.locator("#onnx-file").innerText()).trim();
  }

  it("untrusted: the workspace's model is not loaded, the demo model is, and a message says why", async () => {
    const { wb, server, folder } = s!;
    await wb.page.locator(".statusbar-item", { hasText: "Restricted Mode" }).first().waitFor({ timeout: 60000 });
    const status = await wb.waitForStatus("Introspect", /Introspect: (demo-llama|workspace-model)/, 120000);
    assert.match(status, /Introspect: demo-llama/, "restricted mode must not load the workspace's model");
    const toast = await wb.waitForNotification(/not trusted, so its setting introspect\.model/, 30000);
    assert.match(toast, /loads the bundled demo model instead/);
    const file = await onnxFileShown();
    assert.match(file, /models\/demo-llama\/onnx\/model\.onnx$/);
    assert.ok(!file.startsWith(folder), `the host opened ${file}, inside the untrusted workspace`);
    assert.strictEqual(windowModelHosts(server.pgid).length, 1, "the model host runs (limited support)");
    await wb.closeAllEditors();
  });

  it("granting trust loads the workspace's model without a reload", async () => {
    const { wb, folder } = s!;
    await wb.runCommand("Workspaces: Manage Workspace Trust");
    const trust = wb.page.locator(".workspace-trust-editor .monaco-button", { hasText: /^Trust$/ }).first();
    await trust.waitFor({ timeout: 30000 });
    await trust.click();
    await wb.page.locator(".statusbar-item", { hasText: "Restricted Mode" }).first().waitFor({ state: "hidden", timeout: 30000 });
    // The trust editor opens as a modal editor, which blocks the palette until it is closed.
    await wb.page.locator('[aria-label^="Close Modal Editor"]').first().click();
    await wb.page.locator(".monaco-modal-editor-block").waitFor({ state: "hidden", timeout: 15000 });
    await wb.waitForStatus("Introspect", /Introspect: workspace-model/, 120000);
    assert.strictEqual(await onnxFileShown(), `${folder}/${WORKSPACE_MODEL}/onnx/model.onnx`);
  });

  it("trusted from the start (after a reload, trust is remembered): the workspace's model loads, with no message", async () => {
    const { wb, folder } = s!;
    await wb.reloadWindow();
    await wb.waitForStatus("Introspect", /Introspect: workspace-model/, 120000);
    assert.strictEqual(await wb.page.locator(".statusbar-item", { hasText: "Restricted Mode" }).count(), 0);
    assert.strictEqual(await wb.page.locator(".notification-toast", { hasText: /not trusted/ }).count(), 0);
    assert.strictEqual(await onnxFileShown(), `${folder}/${WORKSPACE_MODEL}/onnx/model.onnx`);
  });
});
