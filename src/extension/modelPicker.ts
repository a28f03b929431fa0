// "Introspect: Select Model…" (also the status-bar item): the bundled demo models, model folders in
// the workspace and the Hugging Face hub cache (src/engine/model/candidates.ts: config.json and file
// stats only, no model is opened), plus Browse…; then the variants the chosen folder holds. The
// choice goes to the workspace's settings (the user's when no folder is open); the host loads it and
// Model Info shows the map's self-check.
import * as path from "path";
import * as vscode from "vscode";
import type { CandidateModel } from "../engine";
import { ListModelsRequest } from "../protocol/lsp";
import type { HostClient } from "./hostClient";
import type { InfoPanel } from "./panels/infoPanel";
import type { ModelState } from "../protocol/lsp";
import { DEMO_MODEL, modelSettings } from "./settings";

const SOURCE_TITLE: Record<CandidateModel["source"], string> = {
  demo: "Bundled demo models",
  workspace: "In this workspace",
  hub: "Hugging Face cache",
};

interface ModelItem extends vscode.QuickPickItem {
  model?: CandidateModel;
  browse?: true;
}

/** Bytes as the picker shows them. */
export function sizeText(n: number): string {
  if (n < 2 ** 20) return `${(n / 1024).toFixed(0)} KB`;
  if (n < 2 ** 30) return `${(n / 2 ** 20).toFixed(1)} MB`;
  return `${(n / 2 ** 30).toFixed(2)} GB`;
}

/** What one candidate says in the list: architecture, layers, width; variants and size on disk. */
export function describeCandidate(c: CandidateModel): { description: string; detail: string } {
  const facts = [
    c.architecture ?? "unknown architecture",
    c.layers !== undefined ? `${c.layers} layers` : undefined,
    c.width ? `width ${c.width}` : undefined,
  ];
  const variants = c.variants.map((v) => v.variant).join(", ");
  const where = c.source === "hub" ? `revision ${c.revision?.slice(0, 10)}` : c.source === "demo" ? "bundled" : c.path;
  return {
    description: facts.filter(Boolean).join(" · "),
    detail: [`variants: ${variants}`, sizeText(c.bytes), where, c.problem].filter(Boolean).join(" · "),
  };
}

/** The candidates for this window (demo models, workspace folders, the hub cache), listed by the host; no model is opened. */
export function windowCandidates(context: vscode.ExtensionContext, host: HostClient, folders?: string[]): Promise<CandidateModel[]> {
  if (!host.isRunning) throw new Error('The model host is not running: run "Introspect: Restart Model Host" first.');
  return host.client.sendRequest(ListModelsRequest.type, {
    demoRoots: [context.asAbsolutePath(path.dirname(DEMO_MODEL))],
    workspaceFolders: (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath),
    ...(folders ? { folders } : {}),
  });
}

export async function selectModel(context: vscode.ExtensionContext, host: HostClient, info: InfoPanel): Promise<void> {
  const items: ModelItem[] = [];
  let last: CandidateModel["source"] | undefined;
  for (const c of await windowCandidates(context, host)) {
    if (c.source !== last) items.push({ label: SOURCE_TITLE[c.source], kind: vscode.QuickPickItemKind.Separator });
    last = c.source;
    items.push({ label: c.name, ...describeCandidate(c), model: c });
  }
  items.push(
    { label: "", kind: vscode.QuickPickItemKind.Separator },
    { label: "$(folder-opened) Browse…", browse: true, alwaysShow: true },
  );
  const pick = await vscode.window.showQuickPick(items, {
    title: "Introspect: Select Model",
    placeHolder: "A model folder (Transformers.js / Optimum / onnxruntime-genai layout)",
    matchOnDescription: true,
    matchOnDetail: true,
  });
  if (!pick) return;
  let folder: string;
  let source: CandidateModel["source"] | "browse" = "browse";
  if (pick.browse) {
    const uris = await vscode.window.showOpenDialog({
      title: "Introspect: a model folder or .onnx file",
      canSelectFolders: true,
      canSelectFiles: true,
      canSelectMany: false,
      openLabel: "Select Model",
    });
    if (!uris?.[0]) return;
    folder = uris[0].fsPath;
  } else {
    folder = pick.model!.path;
    source = pick.model!.source;
  }
  const variants = folder.endsWith(".onnx")
    ? []
    : pick.browse
      ? (await windowCandidates(context, host, [folder]))[0].variants
      : pick.model!.variants;
  let variant = "";
  if (variants.length > 1) {
    const v = await vscode.window.showQuickPick(
      variants.map((x) => ({ label: x.variant, description: path.basename(x.file), detail: sizeText(x.bytes), file: x.file })),
      {
        title: `Introspect: Variant of ${pick.browse ? path.basename(folder) : pick.label}`,
        placeHolder: "Which of the folder's graphs to load",
      },
    );
    if (!v) return;
    // introspect.variant names the file without .onnx (model_fp16, decoder_model_merged_q4, ...).
    variant = path.basename(v.file, ".onnx");
  }
  const ws = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  const target = ws ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
  // A workspace folder's model is saved relative to it; the bundled default as empty (the setting's default).
  const saved =
    source === "demo" && path.resolve(folder) === path.resolve(context.asAbsolutePath(DEMO_MODEL))
      ? ""
      : source === "workspace" && ws && !path.relative(ws, folder).startsWith("..")
        ? path.relative(ws, folder)
        : folder;
  const config = vscode.workspace.getConfiguration("introspect");
  const before = modelSettings(context);
  const next = loadedNext(host);
  await config.update("variant", variant, target);
  await config.update("model", saved, target);
  const after = modelSettings(context);
  if (after.modelPath !== before.modelPath || after.variant !== before.variant) {
    // The host loads the new model on the settings change; Model Info follows it to its self-check.
    const state = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Introspect: loading ${pick.browse ? path.basename(folder) : pick.label}…` },
      () => next(after.modelPath),
    );
    if (state.kind === "failed") throw new Error(state.reason);
  }
  await info.show();
}

/** A wait, subscribed now, for the host's next state that has loaded (or failed to load) a model path. */
function loadedNext(host: HostClient): (modelPath: string) => Promise<ModelState> {
  const seen: ModelState[] = [];
  let wake: (() => void) | undefined;
  const sub = host.onDidChangeModelState((s) => {
    seen.push(s);
    wake?.();
  });
  return async (modelPath) => {
    const done = (s: ModelState) => (s.kind === "ready" || s.kind === "failed") && path.resolve(s.path) === path.resolve(modelPath);
    try {
      for (;;) {
        const hit = seen.find(done);
        if (hit) return hit;
        await new Promise<void>((r) => (wake = r));
      }
    } finally {
      sub.dispose();
    }
  };
}
