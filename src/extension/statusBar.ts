// One status-bar item showing the model host's life and the model's state.
import * as vscode from "vscode";
import type { HostClient, HostPhase } from "./hostClient";
import { describe } from "./statusText";

export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem("introspect.status", vscode.StatusBarAlignment.Left, 10);
  private phase: HostPhase = { kind: "starting" };
  private readonly subscriptions: vscode.Disposable[];

  constructor(private readonly host: HostClient) {
    this.item.name = "Introspect";
    this.item.command = "introspect.selectModel";
    this.subscriptions = [
      host.onDidChangePhase((p) => {
        this.phase = p;
        this.render();
      }),
      host.onDidChangeModelState(() => this.render()),
    ];
    this.render();
    this.item.show();
  }

  private render(): void {
    const { text, tooltip, error } = describe(this.phase, this.host.state, this.host.restarts);
    this.item.text = text;
    this.item.tooltip = tooltip;
    this.item.backgroundColor = error ? new vscode.ThemeColor("statusBarItem.errorBackground") : undefined;
    this.item.command = this.phase.kind === "stopped" ? "introspect.restartHost" : "introspect.selectModel";
  }

  dispose(): void {
    this.subscriptions.forEach((s) => s.dispose());
    this.item.dispose();
  }
}
