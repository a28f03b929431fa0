// Patching commands: "Run Activation Patching" (palette; prompts from a patch block under the
// cursor, the selection(s) or input boxes) and the prompt-file lens "Run patching"
// (introspect.runPatching, which runs the block as written), plus "Cancel Activation Patching".
import * as path from "path";
import * as vscode from "vscode";
import { commandRegistrar } from "../commands";
import { PromptFileCommands, type RunPatchingArgs } from "../../protocol/promptFile";
import type { HostClient } from "../hostClient";
import { ensureModelFor } from "../fileModel";
import { messageOf } from "../panels/panelSupport";
import { chooseExperiment } from "./choose";
import { fromPatchSpec } from "./experiment";
import { PatchPanel } from "./patchPanel";

export const PATCH_COMMANDS = {
  run: "introspect.runActivationPatching",
  cancel: "introspect.cancelActivationPatching",
} as const;

export function registerPatchCommands(context: vscode.ExtensionContext, host: HostClient): PatchPanel {
  const panel = new PatchPanel(context, host);
  context.subscriptions.push(panel);
  const reg = commandRegistrar(context, (e) => messageOf(e));

  reg(PATCH_COMMANDS.run, async () => {
    if (!host.isRunning) throw new Error('The model host is not running: run "Introspect: Restart Model Host".');
    await ensureModelFor(context, host, vscode.window.activeTextEditor?.document.uri);
    const experiment = await chooseExperiment(host, vscode.window.activeTextEditor);
    if (experiment) return panel.start(experiment);
    return undefined;
  });

  reg(PromptFileCommands.runPatching, async (raw: unknown) => {
    const args = raw as RunPatchingArgs | undefined;
    if (!args?.spec || typeof args.spec.clean !== "string")
      throw new Error("This command runs a patch block: use the “Run patching” lens above a patch block in a .introspect file.");
    const file = args.uri ? path.basename(vscode.Uri.parse(args.uri).path) : "prompt file";
    await ensureModelFor(context, host, args.uri);
    return panel.start(fromPatchSpec(args.spec, `${file}#${args.blockName}`));
  });

  reg(PATCH_COMMANDS.cancel, () => panel.cancel());
  return panel;
}
