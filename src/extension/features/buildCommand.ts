// "Build Feature Dictionary…": SNMF of one layer's MLP neurons, or a sparse autoencoder on its
// residual stream, made by the host from a corpus the user names, in a notification with progress
// and Cancel, saved where the user says (a new or empty folder, SAELens layout). The folders made
// are remembered per workspace and offered in the probe panel's Dictionary list.
import * as path from "node:path";
import * as vscode from "vscode";
import { WorkDoneProgress } from "vscode-languageclient";
import type { FeatureBuildParams, FeatureBuildResult } from "../../protocol/featureData";
import { FeatureBuildRequest } from "../../protocol/lsp";
import { commandRegistrar } from "../commands";
import { isCancellation, messageOf } from "../panels/panelSupport";
import type { HostClient } from "../hostClient";
import { corpusFor } from "./corpus";

export const BUILT_KEY = "introspect.features.built";

type Method = FeatureBuildParams["method"];
const METHODS: Array<vscode.QuickPickItem & { method: Method; site: string; features: number }> = [
  {
    label: "SNMF of the MLP neurons",
    detail: "Semi-nonnegative factorisation of mlp.hook_post: each feature a sparse combination of neurons (the SNMF paper)",
    method: "snmf",
    site: "mlp_post",
    features: 32,
  },
  {
    label: "TopK sparse autoencoder",
    detail: "On hook_resid_post; 16 features per token; trained with Adam",
    method: "topk",
    site: "resid_post",
    features: 256,
  },
  {
    label: "ReLU + L1 sparse autoencoder",
    detail: "On hook_resid_post; an L1 penalty makes it sparse; trained with Adam",
    method: "relu-l1",
    site: "resid_post",
    features: 256,
  },
];

/** Dictionaries built in this workspace that are still on disk. */
export function builtDictionaries(context: vscode.ExtensionContext): Array<{ path: string; name: string }> {
  return (context.workspaceState.get<string[]>(BUILT_KEY) ?? []).map((p) => ({ path: p, name: `${path.basename(p)} (built here)` }));
}

export function registerFeatureCommands(context: vscode.ExtensionContext, host: HostClient): void {
  // A cancel the user asked for shows nothing; every other failure is one sentence.
  const reg = commandRegistrar(context, (e) => (isCancellation(e) ? undefined : messageOf(e)));
  reg("introspect.features.build", () => buildCommand(context, host));
}

async function buildCommand(context: vscode.ExtensionContext, host: HostClient): Promise<void> {
  if (host.state.kind !== "ready") throw new Error("No model is loaded yet: open one first (Introspect: Select Model).");
  const info = host.state.info;
  const pick = await vscode.window.showQuickPick(METHODS, { title: "Build feature dictionary: method", ignoreFocusOut: true });
  if (!pick) return;
  const mid = Math.floor(info.numLayers / 2);
  const layerPick = await vscode.window.showQuickPick(
    Array.from({ length: info.numLayers }, (_, l) => ({ label: `Layer ${l}`, description: l === mid ? "middle" : undefined, layer: l })),
    { title: `Build feature dictionary: layer of ${info.id}`, placeHolder: `blocks.N.${pick.site}`, ignoreFocusOut: true },
  );
  if (!layerPick) return;
  const featuresText = await vscode.window.showInputBox({
    title: "Build feature dictionary: number of features",
    value: String(pick.features),
    ignoreFocusOut: true,
    validateInput: (v) => (/^\d+$/.test(v.trim()) && +v >= 2 && +v <= 16384 ? undefined : "A whole number from 2 to 16,384."),
  });
  if (featuresText === undefined) return;
  const corpus = await corpusFor(context, "Build from this corpus");
  if (!corpus) return;
  const root = vscode.workspace.workspaceFolders?.[0]?.uri;
  const suggested = `${info.id.replace(/[^\w.-]+/g, "-")}-${pick.method}-L${layerPick.layer}-${featuresText.trim()}`;
  const out = await vscode.window.showSaveDialog({
    title: "Folder for the dictionary (SAELens layout: cfg.json, sae_weights.safetensors); it must be new or empty",
    saveLabel: "Save dictionary here",
    defaultUri: root ? vscode.Uri.joinPath(root, "dictionaries", suggested) : undefined,
  });
  if (!out) return;
  const params: FeatureBuildParams = {
    method: pick.method,
    layer: layerPick.layer,
    features: Number(featuresText.trim()),
    corpus,
    out: out.fsPath,
  };
  const r = await runBuild(host, params);
  const built = [r.folder, ...(context.workspaceState.get<string[]>(BUILT_KEY) ?? []).filter((p) => p !== r.folder)].slice(0, 20);
  await context.workspaceState.update(BUILT_KEY, built);
  const answer = await vscode.window.showInformationMessage(
    `Introspect: ${r.dSae} features at ${r.site} saved to ${r.folder}. On ${r.heldOutRows ? `${r.heldOutRows} tokens of ` : ""}${r.qualityOn}: ` +
      `explained variance ${r.quality.explainedVariance.toFixed(3)}, L0 ${r.quality.l0.toFixed(1)}, ${r.quality.dead} never fired ` +
      `(${r.rows} tokens, ${r.seconds.toFixed(0)} s). It is in the probe panel's Dictionary list.`,
    "Reveal in Explorer",
  );
  if (answer === "Reveal in Explorer") await vscode.commands.executeCommand("revealInExplorer", vscode.Uri.file(r.folder));
}

/** The host's build in a cancellable notification; the host reports on a work-done token. */
async function runBuild(host: HostClient, params: FeatureBuildParams): Promise<FeatureBuildResult> {
  return vscode.window.withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: `Introspect: building ${params.features} features at layer ${params.layer}`,
      cancellable: true,
    },
    async (progress, cancel) => {
      const workDoneToken = `introspect-build-${Date.now()}-${Math.random().toString(36).slice(2)}`;
      let shown = 0;
      const sub = host.client.onProgress(WorkDoneProgress.type, workDoneToken, (v) => {
        if (v.kind === "end") return;
        const pct = v.percentage ?? shown;
        progress.report({ message: v.message, increment: Math.max(0, pct - shown) });
        shown = Math.max(shown, pct);
      });
      try {
        return await host.client.sendRequest(FeatureBuildRequest.type, { ...params, workDoneToken }, cancel);
      } finally {
        sub.dispose();
      }
    },
  );
}
