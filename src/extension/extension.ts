// Entry point in VS Code's extension host. Stays thin: wire the model host client, the status
// bar, panels and commands; the real work happens in the host process.
import * as vscode from "vscode";
import { registerCommands } from "./commands";
import { setFeatureSteerView } from "./features/handlers";
import { registerFileModel } from "./fileModel";
import { registerFirstRun } from "./firstRun";
import { HostClient } from "./hostClient";
import { InfoPanel } from "./panels/infoPanel";
import { registerPatchCommands } from "./patch/commands";
import { registerExpertRanking } from "./experts/rankPanel";
import { registerProbeCommands } from "./probe/commands";
import { registerFeatureCommands } from "./features/buildCommand";
import { StatusBar } from "./statusBar";
import { registerSteerCommands } from "./steer/commands";
import { runExthostSuiteIfAsked } from "./testHook";

/** Defined by esbuild.mjs: false in --production builds, where the test hook below is compiled out. */
declare const __INTROSPECT_TEST_HOOKS__: boolean;

/** What activate() returns; extension-host tests reach the running pieces through it. */
export interface IntrospectApi {
  host: HostClient;
}

export async function activate(context: vscode.ExtensionContext): Promise<IntrospectApi> {
  const output = vscode.window.createOutputChannel("Introspect Model Host", { log: true });
  const host = new HostClient(context, output);
  const info = new InfoPanel(context.extensionUri, host);
  context.subscriptions.push(output, host, new StatusBar(host), { dispose: () => info.dispose() });
  registerCommands(context, host, info);
  registerProbeCommands(context, host);
  registerFeatureCommands(context, host);
  setFeatureSteerView(registerSteerCommands(context, host));
  registerPatchCommands(context, host);
  registerExpertRanking(context, host);
  registerFileModel(context, host);
  registerFirstRun(context);
  // Do not block activation on the host: the status bar shows progress.
  void host.start().catch((e: unknown) => {
    void vscode.window.showErrorMessage(`Introspect could not start its model host: ${e instanceof Error ? e.message : String(e)}`);
  });
  const api: IntrospectApi = { host };
  if (__INTROSPECT_TEST_HOOKS__) runExthostSuiteIfAsked();
  return api;
}

export function deactivate(): void {
  // Disposables in context.subscriptions stop the host.
}
