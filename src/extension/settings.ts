// Reads the introspect.* settings. Defaults live in package.json (contributes.configuration).
import * as vscode from "vscode";
import type { ConfigureParams } from "../protocol/lsp";
import { chooseModel } from "./modelChoice";

/** The bundled demo model, used when introspect.model is empty. */
export const DEMO_MODEL = "models/demo-llama";

/**
 * The model to configure, as modelChoice.ts decides it: in an untrusted workspace, settings from the
 * workspace are not used (`ignored` says so).
 */
export function modelSettings(context: vscode.ExtensionContext): ConfigureParams & { ignored?: string } {
  const config = vscode.workspace.getConfiguration("introspect");
  return chooseModel({
    trusted: vscode.workspace.isTrusted,
    model: config.inspect<string>("model"),
    variant: config.inspect<string>("variant"),
    workspaceFolder: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath,
    demoModel: context.asAbsolutePath(DEMO_MODEL),
    extensionPath: (rel) => context.asAbsolutePath(rel),
    home: process.env.HOME,
  });
}
