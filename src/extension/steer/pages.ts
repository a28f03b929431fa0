// The pages showing the steering panel: the side-bar view and, on request, an editor tab
// ("Introspect: Open Steering in Editor", for sweeps that need the width). Both are the same app
// over the same state: everything the panel sends goes to every page, and a change made on one
// page is shown on the others, so they stay in sync.
import * as vscode from "vscode";
import type { FromWebview, ToWebview } from "../../protocol/webview";
import { renderHtml } from "../panels/webviewPanel";

/** The editor tab's type and title (not a prefix of the side view's "Introspect: Steering"). */
export const TAB_VIEW_TYPE = "introspect.steerTab";
export const TAB_TITLE = "Introspect: Steer (editor)";

interface Page {
  webview: vscode.Webview;
  ready: Promise<void>;
}

export class SteerPages {
  private readonly pages: Page[] = [];
  private tab: vscode.WebviewPanel | undefined;

  constructor(
    private readonly extensionUri: vscode.Uri,
    /** A message from a page; `from` tells which, so a change can be shown on the others. */
    private readonly onMessage: (msg: FromWebview, from: vscode.Webview) => void,
    /** The last page went away. */
    private readonly onEmpty: () => void,
  ) {}

  get any(): boolean {
    return this.pages.length > 0;
  }

  /** Loads the app into `webview` and keeps it until `onDispose` fires. */
  attach(webview: vscode.Webview, title: string, onDispose: vscode.Event<void>): void {
    const root = this.extensionUri;
    webview.options = {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(root, "dist", "webview"), vscode.Uri.joinPath(root, "media")],
    };
    let markReady!: () => void;
    const page: Page = { webview, ready: new Promise((r) => (markReady = r)) };
    this.pages.push(page);
    const sub = webview.onDidReceiveMessage((msg: FromWebview) => {
      if (msg.type === "introspect/ready") markReady();
      this.onMessage(msg, webview);
    });
    onDispose(() => {
      sub.dispose();
      const i = this.pages.indexOf(page);
      if (i >= 0) this.pages.splice(i, 1);
      if (!this.pages.length) this.onEmpty();
    });
    webview.html = renderHtml(webview, root, "steer", title);
  }

  /** Opens (or brings forward) the steering panel as an editor tab. */
  openTab(): void {
    if (this.tab) {
      this.tab.reveal();
      return;
    }
    const tab = vscode.window.createWebviewPanel(TAB_VIEW_TYPE, TAB_TITLE, vscode.ViewColumn.Active, { retainContextWhenHidden: true });
    tab.iconPath = vscode.Uri.joinPath(this.extensionUri, "media", "steer-icon.svg");
    this.tab = tab;
    tab.onDidDispose(() => (this.tab = undefined));
    this.attach(tab.webview, TAB_TITLE, tab.onDidDispose);
  }

  /** Sends `msg` to every page (once it is ready), except `except`. */
  async post(msg: ToWebview, except?: vscode.Webview): Promise<void> {
    await Promise.all(
      this.pages
        .filter((p) => p.webview !== except)
        .map(async (p) => {
          await p.ready;
          if (this.pages.includes(p)) await p.webview.postMessage(msg);
        }),
    );
  }

  dispose(): void {
    this.tab?.dispose();
  }
}
