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

  // Until the probe panel lands this echoes the selection into the info panel.
  reg("introspect.probeSelection", () => {
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      void vscode.window.showInformationMessage("Open a file and select text to probe.");
      return;
    }
    const doc = editor.document;
    const range = editor.selection.isEmpty ? doc.lineAt(editor.selection.active.line).range : editor.selection;
    return info.show({ text: doc.getText(range), uri: doc.uri.toString(), start: doc.offsetAt(range.start), end: doc.offsetAt(range.end) });
  });
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
