// Runs inside a real extension host with the real `vscode` API (test-electron or code-server).
import * as assert from "assert";
import * as path from "path";
import * as vscode from "vscode";
import { ModelInfoRequest, type ModelState } from "../../../src/protocol/lsp";
import type { IntrospectApi } from "../../../src/extension/extension";

const EXTENSION_ID = "introspect.introspect";

async function api(): Promise<IntrospectApi> {
  const ext = vscode.extensions.getExtension<IntrospectApi>(EXTENSION_ID);
  assert.ok(ext, `${EXTENSION_ID} is not installed`);
  return ext.activate();
}

async function waitFor<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, timeoutMs = 30000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe("Introspect in the extension host", () => {
  it("activates and registers every command its manifest declares", async () => {
    await api();
    const declared = (
      vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON as { contributes: { commands: { command: string }[] } }
    ).contributes.commands.map((c) => c.command);
    assert.ok(declared.length >= 10, `declared: ${declared.join(", ")}`);
    const commands = new Set(await vscode.commands.getCommands(true));
    assert.deepStrictEqual(
      declared.filter((id) => !commands.has(id)),
      [],
      "declared in package.json but not registered",
    );
  });

  it("loads the model its settings name (empty: the bundled demo), and introspect.variant picks the graph file", async () => {
    const { host } = await api();
    const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
    const config = vscode.workspace.getConfiguration("introspect");
    const configured = config.get<string>("model") ?? "";
    const expected = configured
      ? path.resolve(vscode.workspace.workspaceFolders![0].uri.fsPath, configured)
      : path.join(ext.extensionPath, "models/demo-llama");
    const ready = await waitFor("a loaded model", () => (host.state.kind === "ready" ? host.state : undefined));
    assert.strictEqual(path.resolve(ready.path), expected, "the model the settings name");
    const before = config.inspect<string>("variant")?.workspaceValue;
    try {
      await config.update("variant", "no_such", vscode.ConfigurationTarget.Workspace);
      const failed = await waitFor("the missing variant refused", () => (host.state.kind === "failed" ? host.state : undefined));
      assert.match(failed.reason, /^No no_such\.onnx in .+: check introspect\.model and introspect\.variant\.$/);
      assert.ok(failed.reason.includes(expected), `names the folder looked in: ${failed.reason}`);
    } finally {
      await config.update("variant", before, vscode.ConfigurationTarget.Workspace);
    }
    const again = await waitFor("the default variant loaded again", () => (host.state.kind === "ready" ? host.state : undefined));
    assert.strictEqual(path.resolve(again.path), expected);
  });

  it("the model host answers introspect/modelInfo with the loaded model's inputs", async () => {
    const { host } = await api();
    const state = await waitFor<ModelState>("a loaded model", () =>
      host.state.kind === "ready" || host.state.kind === "failed" ? host.state : undefined,
    );
    assert.strictEqual(state.kind, "ready", state.kind === "failed" ? state.reason : "");
    const info = await host.client.sendRequest(ModelInfoRequest.type);
    assert.match(info.ortVersion, /^\d+\.\d+\.\d+/);
    assert.ok(
      info.inputs.some((i) => i.name === "input_ids"),
      `inputs: ${info.inputs.map((i) => i.name).join(", ")}`,
    );
    assert.ok(
      info.outputs.some((o) => o.name === "logits"),
      `outputs: ${info.outputs.map((o) => o.name).join(", ")}`,
    );
    assert.notStrictEqual(info.hostPid, process.pid, "the model must run in its own process");
    assert.strictEqual(info.mallocTuned, true, "the host is started with the glibc malloc settings (GLIBC_TUNABLES)");
  });

  it("opens the model info webview", async () => {
    await vscode.commands.executeCommand("introspect.showModelInfo");
    const tab = await waitFor("an Introspect webview tab", () =>
      vscode.window.tabGroups.all
        .flatMap((g) => g.tabs)
        .find((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.includes("introspect.info")),
    );
    assert.strictEqual(tab.label, "Introspect: Model Info");
    await vscode.commands.executeCommand("workbench.action.closeAllEditors");
  });

  it("a bad model path fails with a sentence, and the host recovers", async () => {
    const { host } = await api();
    const config = vscode.workspace.getConfiguration("introspect");
    const before = config.inspect<string>("model")?.workspaceValue;
    try {
      await config.update("model", "/nonexistent/model", vscode.ConfigurationTarget.Workspace);
      const failed = await waitFor("failed state", () => (host.state.kind === "failed" ? host.state : undefined));
      assert.match(failed.reason, /Model not found at \/nonexistent\/model: set introspect\.model/);
    } finally {
      await config.update("model", before, vscode.ConfigurationTarget.Workspace);
    }
    await waitFor("ready again", () => (host.state.kind === "ready" ? true : undefined));
  });
});
