// First run: the walkthrough (package.json contributes.walkthroughs) and the demo README open once,
// on the first start after install; "Introspect: Open Demo Prompts" opens the demo files that ship
// with the extension (in place: nothing is copied into the workspace).
import * as vscode from "vscode";

export const WALKTHROUGH = "introspect.introspect#gettingStarted";
const WELCOMED = "introspect.welcomed";

export function registerFirstRun(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    vscode.commands.registerCommand("introspect.openDemo", async () => {
      const demo = vscode.Uri.joinPath(context.extensionUri, "demo");
      await vscode.commands.executeCommand("markdown.showPreview", vscode.Uri.joinPath(demo, "README.md"));
      const doc = await vscode.workspace.openTextDocument(vscode.Uri.joinPath(demo, "ioi.introspect"));
      await vscode.window.showTextDocument(doc, { preview: false, viewColumn: vscode.ViewColumn.One });
    }),
  );
  const enabled = vscode.workspace.getConfiguration("introspect").get<boolean>("welcome.onFirstRun", true);
  if (!enabled || context.globalState.get<boolean>(WELCOMED)) return;
  void context.globalState.update(WELCOMED, true);
  void (async () => {
    await vscode.commands.executeCommand("workbench.action.openWalkthrough", WALKTHROUGH, false);
    const readme = vscode.Uri.joinPath(context.extensionUri, "demo", "README.md");
    await vscode.commands.executeCommand("markdown.showPreviewToSide", readme);
  })().catch(() => undefined);
}
