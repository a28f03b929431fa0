// Command handlers. Each command id is declared in package.json (contributes.commands) with
// category "Introspect"; menus and `when` clauses live there too.
import * as vscode from "vscode";
import { ClearCacheRequest } from "../protocol/lsp";
import type { HostClient } from "./hostClient";
import type { InfoPanel } from "./panels/infoPanel";
import { messageOf } from "./panels/panelSupport";
import { showFailure } from "./userErrors";
import { selectModel } from "./modelPicker";

export function registerCommands(context: vscode.ExtensionContext, host: HostClient, info: InfoPanel): void {
  const reg = commandRegistrar(context);

  reg("introspect.restartHost", async () => {
    await host.restart();
    void vscode.window.showInformationMessage("Introspect's model host was restarted.");
  });

  reg("introspect.showModelInfo", () => info.show());

  reg("introspect.selectModel", () => selectModel(context, host, info));

  reg("introspect.clearCache", async () => {
    if (!host.isRunning) throw new Error('The model host is not running: run "Introspect: Restart Model Host" first.');
    const r = await host.client.sendRequest(ClearCacheRequest.type);
    void vscode.window.showInformationMessage(
      r.removed
        ? `Introspect: cleared the cache (${r.removed} ${r.removed === 1 ? "entry" : "entries"}, ${(r.bytes / 2 ** 20).toFixed(1)} MiB of edited graphs) in ${r.dir}.`
        : `Introspect: the cache in ${r.dir} was already empty.`,
    );
  });

  reg("introspect.showLog", () => host.client.outputChannel.show(true));

  // introspect.probeSelection, introspect.probeText and introspect.clearTokenTint: src/extension/probe/commands.ts.
}

/**
 * `reg(id, fn)` for a feature's commands: registered with the context, and a failure becomes one
 * error message (`describe` turns the error into the sentence; undefined shows nothing, e.g. for
 * a cancellation the user asked for).
 */
export function commandRegistrar(
  context: vscode.ExtensionContext,
  describe: (e: unknown) => string | undefined = (e) => messageOf(e),
): (id: string, fn: (...args: unknown[]) => unknown) => void {
  return (id, fn) => {
    context.subscriptions.push(
      vscode.commands.registerCommand(id, async (...args: unknown[]) => {
        try {
          return await fn(...args);
        } catch (e) {
          const message = describe(e);
          if (message !== undefined) showFailure(e, message);
          return undefined;
        }
      }),
    );
  };
}
