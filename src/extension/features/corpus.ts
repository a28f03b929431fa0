// The corpus a feature command reads (top snippets, building a dictionary): the one last used in
// this workspace, else the introspect.features.corpus setting, else one chosen in the open dialog.
import * as path from "node:path";
import * as vscode from "vscode";

const CORPUS_KEY = "introspect.features.lastCorpus";

function corpusSetting(): string | undefined {
  const v = vscode.workspace.getConfiguration("introspect").get<string>("features.corpus");
  if (!v) return undefined;
  const root = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  return path.isAbsolute(v) || !root ? v : path.join(root, v);
}

/** The corpus last used in this workspace, else the introspect.features.corpus setting. */
export function knownCorpus(context: vscode.ExtensionContext): string | undefined {
  return context.workspaceState.get<string>(CORPUS_KEY) ?? corpusSetting();
}

/** The open dialog for a corpus; the answer is remembered for the workspace. */
export async function askCorpus(context: vscode.ExtensionContext, openLabel: string): Promise<string | undefined> {
  const picked = await vscode.window.showOpenDialog({
    canSelectFiles: true,
    canSelectFolders: true,
    canSelectMany: false,
    openLabel,
    title: 'A folder of text files or a JSONL file ({"text": ...} per line)',
  });
  const target = picked?.[0]?.fsPath;
  if (target) await context.workspaceState.update(CORPUS_KEY, target);
  return target;
}

/** A corpus for a command: the known one (confirmed in a quick pick) or one chosen in the dialog. */
export async function corpusFor(context: vscode.ExtensionContext, openLabel: string): Promise<string | undefined> {
  const known = knownCorpus(context);
  if (known) {
    const choice = await vscode.window.showQuickPick(
      [
        { label: path.basename(known), description: known, use: known },
        { label: "Choose another corpus…", use: undefined },
      ],
      { title: "Corpus: the texts the features are learned from", ignoreFocusOut: true },
    );
    if (!choice) return undefined;
    if (choice.use) return choice.use;
  }
  return askCorpus(context, openLabel);
}
