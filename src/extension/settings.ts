// Reads the introspect.* settings. Defaults live in package.json (contributes.configuration).
import * as path from "path";
import * as vscode from "vscode";
import type { ConfigureParams } from "../protocol/lsp";

/** The bundled demo model, used when introspect.model is empty. */
export const DEMO_MODEL = "models/demo-llama";

export function modelSettings(context: vscode.ExtensionContext): ConfigureParams {
  const config = vscode.workspace.getConfiguration("introspect");
  const configured = (config.get<string>("model") ?? "").trim();
  return { modelPath: resolveModelPath(context, configured), variant: (config.get<string>("variant") ?? "").trim() };
}

/** Empty: the demo model; relative: against the first workspace folder; `~` expands to home. */
export function resolveModelPath(context: vscode.ExtensionContext, configured: string): string {
  if (!configured) return context.asAbsolutePath(DEMO_MODEL);
  if (configured.startsWith("~")) configured = path.join(process.env.HOME ?? "", configured.slice(1));
  if (path.isAbsolute(configured)) return configured;
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  return folder ? path.join(folder, configured) : context.asAbsolutePath(configured);
}
