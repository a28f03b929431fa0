// Reads the introspect.* settings. Defaults live in package.json (contributes.configuration).
import * as fs from "fs";
import * as vscode from "vscode";
import type { ConfigureParams } from "../protocol/lsp";
import { chooseModel } from "./modelChoice";

/** The bundled demo model, used when introspect.model is empty. */
export const DEMO_MODEL = "models/demo-llama";

/**
 * The model to configure, as modelChoice.ts decides it: in an untrusted workspace, settings from the
 * workspace are not used (`ignored` says so).
 */
export function modelSettings(context: vscode.ExtensionContext, workspaceMentions: string[] = []): ConfigureParams & { ignored?: string } {
  const config = vscode.workspace.getConfiguration("introspect");
  return chooseModel({
    workspaceMentions,
    trusted: vscode.workspace.isTrusted,
    model: config.inspect<string>("model"),
    variant: config.inspect<string>("variant"),
    workspaceFolder: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath,
    demoModel: context.asAbsolutePath(DEMO_MODEL),
    extensionPath: (rel) => context.asAbsolutePath(rel),
    home: process.env.HOME,
    exists: (p) => fs.existsSync(p),
  });
}

const MODEL_SETTINGS = ["introspect.model", "introspect.variant"];

/**
 * In an untrusted workspace: which model settings its folders' .vscode/settings.json name (a plain
 * text search for the quoted keys; the files are not evaluated). Empty when trusted.
 */
export async function untrustedModelSettings(): Promise<string[]> {
  if (vscode.workspace.isTrusted) return [];
  const found = new Set<string>();
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    let text: string;
    try {
      const uri = vscode.Uri.joinPath(folder.uri, ".vscode", "settings.json");
      const stat = await vscode.workspace.fs.stat(uri);
      if (stat.type !== vscode.FileType.File || stat.size > 1 << 20) continue;
      text = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
    } catch {
      continue;
    }
    for (const key of MODEL_SETTINGS) if (text.includes(`"${key}"`)) found.add(key);
  }
  return [...found];
}
