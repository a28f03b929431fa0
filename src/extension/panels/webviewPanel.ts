// A base for webview panels: CSP with a nonce, localResourceRoots, theme variables, the typed
// message protocol of src/protocol/webview.ts, and disposal. Each panel's browser code is
// webview/<app>/main.ts, bundled to dist/webview/<app>.js (optional media/<app>.css, after the
// shared sheets listed in styles.ts).
import * as crypto from "crypto";
import * as fs from "fs";
import * as vscode from "vscode";
import { answerRequest, isRequest, type FromWebview, type RequestHandlers, type ToWebview } from "../../protocol/webview";
import { stylesheetsFor } from "./styles";

export interface PanelOptions {
  /** Panel type id, e.g. "introspect.info"; also the serializer's key. */
  viewType: string;
  title: string;
  /** Folder name under webview/ (bundled to dist/webview/<app>.js). */
  app: string;
  column?: vscode.ViewColumn;
  /** Requests the webview may send (see WebviewRequests). */
  handlers?: RequestHandlers;
  /** Other messages from the webview (not ready, not requests), e.g. introspect/tint. */
  onMessage?: (msg: FromWebview) => void;
  /** A panel VS Code restored after a reload (WebviewPanelSerializer); adopted instead of creating one. */
  existing?: vscode.WebviewPanel;
}

export class WebviewPanel implements vscode.Disposable {
  readonly panel: vscode.WebviewPanel;
  private readonly disposables: vscode.Disposable[] = [];
  private ready: Promise<void>;
  private readonly disposeEmitter = new vscode.EventEmitter<void>();
  readonly onDidDispose = this.disposeEmitter.event;

  constructor(
    extensionUri: vscode.Uri,
    private readonly options: PanelOptions,
  ) {
    const webviewOptions = {
      enableScripts: true,
      retainContextWhenHidden: false,
      localResourceRoots: [vscode.Uri.joinPath(extensionUri, "dist", "webview"), vscode.Uri.joinPath(extensionUri, "media")],
    };
    if (options.existing) options.existing.webview.options = webviewOptions;
    this.panel =
      options.existing ??
      vscode.window.createWebviewPanel(
        options.viewType,
        options.title,
        { viewColumn: options.column ?? vscode.ViewColumn.Beside, preserveFocus: true },
        webviewOptions,
      );
    let markReady!: () => void;
    this.ready = new Promise((resolve) => (markReady = resolve));
    this.disposables.push(
      this.panel.webview.onDidReceiveMessage((msg: FromWebview) => {
        if (msg.type === "introspect/ready") markReady();
        else if (isRequest(msg)) void answerRequest(msg, options.handlers ?? {}, (r) => void this.panel.webview.postMessage(r));
        else options.onMessage?.(msg);
      }),
      this.panel.onDidDispose(() => this.dispose()),
    );
    this.panel.webview.html = renderHtml(this.panel.webview, extensionUri, options.app, options.title);
  }

  /** Posts once the page's script has said it is ready, so no message is lost. */
  async post(msg: ToWebview): Promise<void> {
    await this.ready;
    await this.panel.webview.postMessage(msg);
  }

  reveal(): void {
    this.panel.reveal(this.options.column ?? vscode.ViewColumn.Beside, true);
  }

  dispose(): void {
    const ds = this.disposables.splice(0);
    if (!ds.length) return;
    ds.forEach((d) => d.dispose());
    this.panel.dispose();
    this.disposeEmitter.fire();
    this.disposeEmitter.dispose();
  }
}

/** The page shell: strict CSP, one nonce'd script, theme colours only through var(--vscode-*). */
export function renderHtml(webview: vscode.Webview, extensionUri: vscode.Uri, app: string, title: string): string {
  const nonce = crypto.randomBytes(16).toString("base64");
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, "dist", "webview", `${app}.js`));
  const css = stylesheetsFor(app)
    .map((name) => vscode.Uri.joinPath(extensionUri, "media", `${name}.css`))
    .filter((uri) => fs.existsSync(uri.fsPath))
    .map((uri) => `<link rel="stylesheet" href="${webview.asWebviewUri(uri).toString()}">`)
    .join("\n");
  const csp = [
    "default-src 'none'",
    `img-src ${webview.cspSource} data: blob:`,
    `style-src ${webview.cspSource} 'nonce-${nonce}'`,
    `font-src ${webview.cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join("; ");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${escapeHtml(title)}</title>
<style nonce="${nonce}">
  body { color: var(--vscode-foreground); background: var(--vscode-editor-background); font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); padding: 0 16px; }
  code, .mono { font-family: var(--vscode-editor-font-family); }
  table { border-collapse: collapse; }
  th, td { text-align: left; padding: 2px 12px 2px 0; border-bottom: 1px solid var(--vscode-panel-border); }
  .error { color: var(--vscode-errorForeground); }
  .muted { color: var(--vscode-descriptionForeground); }
</style>
${css}
</head>
<body>
<main id="root" aria-live="polite"></main>
<script nonce="${nonce}" src="${script.toString()}"></script>
</body>
</html>`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
