// "Introspect: Show Model Info": what the model host reports about onnxruntime and the model.
// One panel, reused; "Probe Selection" also opens it (echoing the selection) until probing lands.
import * as vscode from "vscode";
import type { ModelInfoResult } from "../../protocol/lsp";
import { FidelityRequest, ModelInfoRequest } from "../../protocol/lsp";
import type { SelectionEcho } from "../../protocol/webview";
import type { HostClient } from "../hostClient";
import { WebviewPanel } from "./webviewPanel";

export class InfoPanel {
  private current: WebviewPanel | undefined;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly host: HostClient,
  ) {}

  async show(selection?: SelectionEcho): Promise<void> {
    const info = await this.fetchInfo();
    if (!this.current) {
      this.current = new WebviewPanel(this.extensionUri, {
        viewType: "introspect.info",
        title: "Introspect: Model Info",
        app: "info",
        handlers: {
          "introspect/modelInfo": () => this.fetchInfo(),
          "introspect/fidelity": async () => {
            if (!this.host.isRunning) throw new Error('The model host is not running: run "Introspect: Restart Model Host".');
            return this.host.client.sendRequest(FidelityRequest.type);
          },
        },
      });
      this.current.onDidDispose(() => (this.current = undefined));
    } else {
      this.current.reveal();
    }
    await this.current.post({ type: "introspect/showModelInfo", info, selection });
  }

  private async fetchInfo(): Promise<ModelInfoResult> {
    if (!this.host.isRunning) {
      throw new Error('The model host is not running: run "Introspect: Restart Model Host".');
    }
    return this.host.client.sendRequest(ModelInfoRequest.type);
  }

  dispose(): void {
    this.current?.dispose();
  }
}
