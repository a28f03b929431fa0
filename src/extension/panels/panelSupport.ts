// What the analysis panels (probe, patching) share on the extension side: one panel reused and
// restored after a reload, the last result kept in the extension's storage so that a reloaded
// window can redraw it, exports through a save dialog, and turning errors into sentences.
import * as fs from "fs";
import * as path from "path";
import * as vscode from "vscode";
import { type ExportRequest } from "../../protocol/probeData";
import { fromWire, toJsonWire } from "../../protocol/wire";
import type { ToWebview } from "../../protocol/webview";
import { unwrapRpcMessage } from "../failureActions";
import { WebviewPanel, type PanelOptions } from "./webviewPanel";

/**
 * The one panel of a kind: `open()` reveals it when it is showing and creates it otherwise. After
 * a window reload VS Code hands back the panel it restored (a serializer for `viewType`); it is
 * adopted and sent what `restore` returns (e.g. the last result), in order.
 */
export class ReusedPanel implements vscode.Disposable {
  private panel: WebviewPanel | undefined;
  private readonly serializer: vscode.Disposable;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly options: Omit<PanelOptions, "existing">,
    restore: () => ToWebview | ToWebview[] | undefined,
  ) {
    this.serializer = vscode.window.registerWebviewPanelSerializer(options.viewType, {
      // Resolves at once: VS Code keeps the restored panel loading until this promise settles, so
      // waiting here for the page's "ready" (inside post) would never end.
      deserializeWebviewPanel: async (existing) => {
        const panel = this.open(existing);
        for (const msg of [restore() ?? []].flat()) void panel.post(msg);
      },
    });
  }

  /** Shows the panel (creating it, or adopting `existing`, one VS Code restored). */
  open(existing?: vscode.WebviewPanel): WebviewPanel {
    if (this.panel && !existing) {
      this.panel.reveal();
      return this.panel;
    }
    this.panel?.dispose();
    const panel = new WebviewPanel(this.extensionUri, { ...this.options, existing });
    panel.onDidDispose(() => {
      if (this.panel === panel) this.panel = undefined;
    });
    this.panel = panel;
    return panel;
  }

  /** Posts to the panel if it is showing; a closed panel gets nothing. */
  async post(msg: ToWebview): Promise<void> {
    await this.panel?.post(msg);
  }

  dispose(): void {
    this.serializer.dispose();
    this.panel?.dispose();
  }
}

/**
 * The last result a panel showed, as toJsonWire JSON in a file of the extension's global storage.
 * Only a convenience for reloads: a write that fails (a full disk) never fails the run, and a
 * missing or unreadable file reads as undefined. `revive` adjusts what was read (e.g. a run the
 * reload interrupted); if it throws, that too reads as undefined.
 */
export class LastResult<T> {
  constructor(
    private readonly context: Pick<vscode.ExtensionContext, "globalStorageUri">,
    private readonly fileName: string,
    private readonly revive: (value: T) => T = (value) => value,
  ) {}

  private get file(): string {
    return path.join(this.context.globalStorageUri.fsPath, this.fileName);
  }

  save(value: T): void {
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      fs.writeFileSync(this.file, JSON.stringify(toJsonWire(value)));
    } catch {
      // See the class comment: saving is best effort.
    }
  }

  /** Forgets the saved value (best effort, like save). */
  clear(): void {
    fs.rmSync(this.file, { force: true });
  }

  read(): T | undefined {
    try {
      return this.revive(fromWire<T>(JSON.parse(fs.readFileSync(this.file, "utf8"))));
    } catch {
      return undefined;
    }
  }
}

/** Saves a panel's export where the user picks (PNG, CSV or JSON); resolves with the path, or "" when dismissed. */
export async function saveExport(req: ExportRequest): Promise<{ path: string }> {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  const filters: Record<string, string[]> = { png: { PNG: ["png"] }, csv: { CSV: ["csv"] }, json: { JSON: ["json"] } }[req.format];
  const target = await vscode.window.showSaveDialog({
    defaultUri: folder ? vscode.Uri.joinPath(folder, path.basename(req.suggestedName)) : undefined,
    filters,
    title: `Export ${req.format.toUpperCase()}`,
  });
  if (!target) return { path: "" };
  const bytes = typeof req.data === "string" ? Buffer.from(req.data, "utf8") : new Uint8Array(req.data);
  await vscode.workspace.fs.writeFile(target, bytes);
  return { path: target.fsPath };
}

/** A request that ended because it was cancelled: by VS Code, by LSP (RequestCancelled), or by the host ("Cancelled."). */
export function isCancellation(e: unknown): boolean {
  if (e instanceof vscode.CancellationError) return true;
  if ((e as { code?: unknown } | null | undefined)?.code === -32800 /* RequestCancelled */) return true;
  return textOf(e) === "Cancelled.";
}

/** A request cut off because the model host process went away (crashed or was killed) mid-request. */
export function hostStopped(e: unknown): boolean {
  const t = textOf(e);
  return /connection got disposed|Connection is (closed|disposed)|connection.*(closed|ended)|write after end|EPIPE/i.test(t);
}

export const HOST_STOPPED =
  "The model host stopped while this was running, so the result is incomplete. It restarts by itself: run it again once the status bar shows the model.";

/** A sentence for the user: LSP errors carry the host's message; with `cancelled`, a cancellation says that instead. */
export function messageOf(e: unknown, cancelled?: string): string {
  if (cancelled !== undefined && isCancellation(e)) return cancelled;
  if (hostStopped(e)) return HOST_STOPPED;
  return textOf(e);
}

function textOf(e: unknown): string {
  return unwrapRpcMessage(e instanceof Error ? e.message : String(e));
}
