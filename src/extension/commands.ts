// Command handlers. Each command id is declared in package.json (contributes.commands) with
// category "Introspect"; menus and `when` clauses live there too.
import * as vscode from "vscode";
import type { HostClient } from "./hostClient";
import type { InfoPanel } from "./panels/infoPanel";

export function registerCommands(context: vscode.ExtensionContext, host: HostClient, info: InfoPanel): void {
  const reg = (id: string, fn: (...args: unknown[]) => unknown) =>
    context.subscriptions.push(vscode.commands.registerCommand(id, guard(fn)));

  reg("introspect.restartHost", async () => {
    await host.restart();
    void vscode.window.showInformationMessage("Introspect's model host was restarted.");
  });

  reg("introspect.showModelInfo", () => info.show());

  // introspect.probeSelection, introspect.probeText and introspect.clearTokenTint: src/extension/probe/commands.ts.
}

/** Errors from commands become one readable message instead of an unhandled rejection. */
function guard(fn: (...args: unknown[]) => unknown): (...args: unknown[]) => Promise<unknown> {
  return async (...args) => {
    try {
      return await fn(...args);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      void vscode.window.showErrorMessage(`Introspect: ${message}`);
      return undefined;
    }
  };
}
