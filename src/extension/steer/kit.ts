// What the steering commands share: the panel, the host, and the checks and dialogs they all use.
import * as vscode from "vscode";
import type { SteerVectorResult } from "../../protocol/lsp";
import type { HostClient } from "../hostClient";
import { promptBlocksAt } from "../promptFiles";
import { defaultPrompt } from "./prompt";
import type { SteerView } from "./view";

export interface SteerKit {
  context: vscode.ExtensionContext;
  host: HostClient;
  view: SteerView;
  /** Throws the sentence the user sees when the model host is not running. */
  needHost(): void;
  /** The host runs and holds the panel's vectors (those restored after a window reload reach it first). */
  needVectors(): Promise<void>;
  /** Saves a vector under .introspect/vectors/ of the workspace folder of `near` (or the first folder). */
  saveInWorkspace(r: SteerVectorResult, near?: vscode.Uri): Promise<vscode.Uri | undefined>;
  /** The vector `id`, or one the user picks from the panel's. */
  pickVector(title: string, id?: string): Promise<ReturnType<SteerView["entry"]>>;
  /** Fills the panel's prompt from the active editor (its selection, or the prompt block at the cursor). */
  promptFromEditor(fallbackToAny?: boolean): Promise<void>;
}

export function steerKit(context: vscode.ExtensionContext, host: HostClient, view: SteerView): SteerKit {
  const needHost = () => {
    if (!host.isRunning) throw new Error('The model host is not running: run "Introspect: Restart Model Host".');
  };
  return {
    context,
    host,
    view,
    needHost,
    async needVectors() {
      needHost();
      await view.ensureRegistered();
    },
    async saveInWorkspace(r, near) {
      const folder = (near && vscode.workspace.getWorkspaceFolder(near)) ?? vscode.workspace.workspaceFolders?.[0];
      if (!folder) return undefined;
      const safe = r.vector.name.replace(/[^\w.@-]+/g, "_");
      const uri = vscode.Uri.joinPath(folder.uri, ".introspect", "vectors", `${safe}.ivec`);
      await vscode.workspace.fs.writeFile(uri, Buffer.from(r.ivec, "base64"));
      return uri;
    },
    async pickVector(title, id) {
      if (id) return view.entry(id);
      if (view.rows.length === 0)
        throw new Error("The steering panel has no vectors yet: build one with a contrast block's lens, or load a vector file.");
      const pick = await vscode.window.showQuickPick(
        view.rows.map((r) => ({ label: r.info.name, description: r.info.site, id: r.info.id })),
        { title },
      );
      return pick && view.entry(pick.id);
    },
    async promptFromEditor(fallbackToAny = false) {
      const ed = vscode.window.activeTextEditor ?? (fallbackToAny ? vscode.window.visibleTextEditors[0] : undefined);
      if (!ed) return;
      const selected = ed.document.getText(ed.selection);
      const e = {
        text: ed.document.getText(),
        languageId: ed.document.languageId,
        fileName: ed.document.fileName,
        selected,
        cursorLine: ed.selection.active.line,
      };
      const d = defaultPrompt(e, selected.trim() ? undefined : await promptBlocksAt(host, ed.document, ed.selection.active));
      if (d) view.setPrompt(d.prompt, d.source);
    },
  };
}
