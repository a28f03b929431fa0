// Probe commands: "Probe Selection" (context menu, palette, keybinding), the prompt-file code
// lens "Probe" (introspect.probeText) and "Clear Token Tint".
import * as vscode from "vscode";
import { commandRegistrar } from "../commands";
import { PromptFileCommands, type ProbeTextArgs } from "../../protocol/promptFile";
import type { HostClient } from "../hostClient";
import { commentHint } from "./commentHint";
import { ProbePanel, probeErrorMessage } from "./probePanel";
import { plainPosition, promptTextTarget as askTarget } from "../promptFiles";
import { probeTarget, promptTextTarget, type ProbeContext, type ProbeTarget } from "./target";

export function registerProbeCommands(context: vscode.ExtensionContext, host: HostClient): ProbePanel {
  const panel = new ProbePanel(context, host);
  const reg = commandRegistrar(context, probeErrorMessage);
  context.subscriptions.push(panel);

  reg("introspect.probeSelection", async () => {
    const started = performance.now();
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      void vscode.window.showInformationMessage("Open a file and select text to probe.");
      return;
    }
    const doc = editor.document;
    // Nothing selected: the current line.
    const range = editor.selection.isEmpty ? doc.lineAt(editor.selection.active.line).range : editor.selection;
    const start = doc.offsetAt(range.start);
    const end = doc.offsetAt(range.end);
    if (start === end) {
      void vscode.window.showInformationMessage("The current line is empty: select some text to probe.");
      return;
    }
    const setting = vscode.workspace.getConfiguration("introspect", doc.uri).get<string>("probe.context");
    const mode: ProbeContext = setting === "selection" ? "selection" : "file";
    const text = doc.getText();
    const inBlock =
      doc.languageId === "introspect"
        ? await askTarget(host, text, { selection: { start: plainPosition(range.start), end: plainPosition(range.end) } })
        : null;
    const target = probeTarget({ text, languageId: doc.languageId, positionAt: (o) => doc.positionAt(o) }, start, end, mode, inBlock);
    const hint = target.source !== "prompt block" ? commentHint(doc.lineAt(range.start.line).text, doc.languageId) : undefined;
    if (hint) void vscode.window.showInformationMessage(`Introspect: ${hint}`);
    return panel.probe(target, doc.uri.toString(), started);
  });

  reg(PromptFileCommands.probeText, async (raw: unknown) => {
    const started = performance.now();
    const args = raw as ProbeTextArgs | undefined;
    if (!args || typeof args.text !== "string" || !args.uri)
      throw new Error("This command probes a prompt block: use the “Probe” lens above a prompt in a .introspect file.");
    return panel.probe(await blockTarget(host, args), args.uri, started);
  });

  reg("introspect.clearTokenTint", () => panel.clearTint());
  reg("introspect.compareWith", () => panel.compareWith());
  return panel;
}

/**
 * The lens's text, mapped back to the document for the tint: the host finds, in the file as it is
 * now, the text value that starts where the lens says; if the file changed since, the tint lands
 * on the text's first line only.
 */
async function blockTarget(host: HostClient, args: ProbeTextArgs): Promise<ProbeTarget> {
  let source: string | undefined;
  try {
    source = (await vscode.workspace.openTextDocument(vscode.Uri.parse(args.uri))).getText();
  } catch {
    source = undefined;
  }
  const value = source ? await askTarget(host, source, { value: { text: args.text, start: plainPosition(args.range.start) } }) : null;
  if (value) return promptTextTarget(value);
  const at = args.range.start;
  return {
    text: args.text,
    selection: { start: 0, end: args.text.length },
    // One-line text written as is: characters map one to one; otherwise the whole text's range.
    toDocument: (s, e) =>
      !args.text.includes("\n") && args.range.start.line === args.range.end.line
        ? { start: { line: at.line, character: at.character + s }, end: { line: at.line, character: at.character + e } }
        : { start: at, end: args.range.end },
    source: "prompt block",
  };
}
