// Each prompt file runs on its own model: a command on a `*.introspect` file whose `model` line
// names a model (`model demo-moe`, a folder relative to the file or the workspace, a path) loads
// that model first, and says so; a command on any other file goes back to the settings' model.
// The host holds one model at a time, so a switch reloads it (a second or two for the demo models).
// The mismatch diagnostic's quick fix ("Switch to demo-moe") runs introspect.useFileModel.
import * as fs from "fs";
import * as path from "path";
import * as vscode from "vscode";
import type { ConfigureParams } from "../protocol/lsp";
import { PromptModelRequest } from "../protocol/promptQueries";
import type { HostClient } from "./hostClient";
import { modelCandidates, modelLabel, resolveModelName } from "./modelName";
import { showFailure, UserFacingError } from "./userErrors";

export const USE_FILE_MODEL = "introspect.useFileModel";

/** The model a document's `model` line names, resolved; undefined when it has none (or is not a prompt file). */
export async function fileModelOf(
  host: HostClient,
  doc: Pick<vscode.TextDocument, "languageId" | "uri" | "getText">,
  bundledModels: string,
): Promise<ConfigureParams | undefined> {
  if (doc.languageId !== "introspect") return undefined;
  // The host parses prompt files; the extension only resolves the name it answers.
  const named = await host.client.sendRequest(PromptModelRequest.type, { source: doc.getText() });
  if (!named) return undefined;
  const at = {
    fileDir: doc.uri.scheme === "file" ? path.dirname(doc.uri.fsPath) : undefined,
    workspaceFolder: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath,
    bundledModels,
    home: process.env.HOME,
    trusted: vscode.workspace.isTrusted,
    exists: (p: string) => fs.existsSync(p),
  };
  const found = resolveModelName(named, at);
  if (!found) {
    const where = modelCandidates(named, at).length
      ? "next to the file, in the workspace or among the bundled models"
      : "in an untrusted workspace";
    throw new UserFacingError(
      `${path.basename(doc.uri.fsPath)} names model '${named}', which was not found ${where}: fix its model line or select a model.`,
      ["selectModel"],
    );
  }
  return { modelPath: found, variant: "" };
}

/** Loads the model for the document at `uri` (its model line, else the settings') before a command runs on it. */
export async function ensureModelFor(
  context: vscode.ExtensionContext,
  host: HostClient,
  uri: string | vscode.Uri | undefined,
): Promise<void> {
  if (!host.isRunning) return;
  let doc: vscode.TextDocument | undefined;
  if (uri) {
    const u = typeof uri === "string" ? vscode.Uri.parse(uri) : uri;
    doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === u.toString());
    doc ??= await Promise.resolve(vscode.workspace.openTextDocument(u)).catch(() => undefined);
  }
  const wanted = doc ? await fileModelOf(host, doc, context.asAbsolutePath("models")) : undefined;
  const switched = await host.useModel(wanted);
  if (!switched) return;
  const state = host.state;
  const label = modelLabel((await host.wantedModel()).modelPath);
  if (state.kind === "failed")
    throw new UserFacingError(`The model ${label} could not be loaded: ${state.reason}`, ["selectModel", "showLog"]);
  const why = wanted && doc ? `, the model ${path.basename(doc.uri.fsPath)} names` : ", the model of the introspect.model setting";
  void vscode.window.setStatusBarMessage(`Introspect: switched to ${label}${why}`, 8000);
  void vscode.window.showInformationMessage(`Introspect: switched to ${label}${why}.`);
}

/** The quick fix of the "names model … but … is loaded" diagnostic. */
export function registerFileModel(context: vscode.ExtensionContext, host: HostClient): void {
  context.subscriptions.push(
    vscode.commands.registerCommand(USE_FILE_MODEL, async (uri?: string) => {
      try {
        await ensureModelFor(context, host, uri ?? vscode.window.activeTextEditor?.document.uri);
      } catch (e) {
        showFailure(e);
      }
    }),
    vscode.languages.registerCodeActionsProvider(
      { language: "introspect" },
      {
        provideCodeActions(doc, _range, ctx) {
          const d = ctx.diagnostics.find((x) => x.code === "other-model");
          if (!d) return [];
          const named = doc.getText(d.range).trim() || "the file's model";
          const fix = new vscode.CodeAction(`Switch to ${modelLabel(named)}`, vscode.CodeActionKind.QuickFix);
          fix.diagnostics = [d];
          fix.isPreferred = true;
          fix.command = { command: USE_FILE_MODEL, title: fix.title, arguments: [doc.uri.toString()] };
          return [fix];
        },
      },
      { providedCodeActionKinds: [vscode.CodeActionKind.QuickFix] },
    ),
  );
}
