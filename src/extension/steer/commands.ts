// Steering commands: the prompt-file lenses (introspect.buildVector, introspect.openVector), the
// palette entries (open the panel, a vector from two selections, save/load, GGUF import/export,
// combine, sweep) and the panel's buttons, which arrive as steerAction messages.
import type { ExpertIntervention } from "../../engine";
import * as vscode from "vscode";
import { commandRegistrar } from "../commands";
import {
  SteerBuildRequest,
  SteerCombineRequest,
  SteerExportRequest,
  SteerLayersRequest,
  SteerLoadRequest,
  SteerPairRequest,
} from "../../protocol/lsp";
import { PromptFileCommands, type BuildVectorArgs, type OpenVectorArgs } from "../../protocol/promptFile";
import type { SteerAction } from "../../protocol/steerData";
import { ensureModelFor } from "../fileModel";
import type { HostClient } from "../hostClient";
import { promptBlocksAt } from "../promptFiles";
import { defaultPrompt } from "./prompt";
import { steerKit, type SteerKit } from "./kit";
import { sweepCommand } from "./sweepCommand";
import { SteerView } from "./view";

export function registerSteerCommands(context: vscode.ExtensionContext, host: HostClient): SteerView {
  const view = new SteerView(context, host);
  context.subscriptions.push(view);
  // A cancellation the user asked for is not an error.
  const reg = commandRegistrar(context, (e) => {
    const msg = e instanceof Error ? e.message : String(e);
    return /^Cancelled\.?$/.test(msg) ? undefined : msg;
  });
  const kit = steerKit(context, host, view);
  reg(PromptFileCommands.buildVector, (raw) => buildVector(kit, raw));
  reg(PromptFileCommands.openVector, (raw) => openVector(kit, raw));
  reg("introspect.steer.addExpert", (raw, prompt) => addExpert(kit, raw, prompt));
  reg("introspect.steer.open", async () => {
    // The prompt is the user's: opening the panel fills it only while it is empty (the panel's
    // "from editor" button replaces it on request).
    if (!view.currentPrompt) await kit.promptFromEditor();
    await view.reveal();
  });
  reg("introspect.steer.fromSelections", () => fromSelections(kit));
  reg("introspect.steer.saveVector", (id) => saveVector(kit, id));
  reg("introspect.steer.loadVector", (arg) => loadVector(kit, arg));
  reg("introspect.steer.exportGguf", () => exportGguf(kit));
  reg("introspect.steer.combine", () => combine(kit));
  reg("introspect.steer.sweep", (id) => sweepCommand(kit, id));
  view.onAction = (a) => onPanelAction(kit, a);
  return view;
}

/** The "Build steering vector" lens of a contrast block: one vector per listed layer, saved in the workspace. */
async function buildVector(kit: SteerKit, raw: unknown): Promise<void> {
  const { context, host, view } = kit;
  const args = raw as BuildVectorArgs | undefined;
  if (!args?.spec)
    throw new Error("This command builds a vector from a contrast block: use the “Build steering vector” lens in a .introspect file.");
  kit.needHost();
  await ensureModelFor(context, host, args.uri);
  const uri = vscode.Uri.parse(args.uri);
  const file = uri.path.split("/").pop() ?? args.uri;
  const results = await vscode.window.withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: `Introspect: building steering vector “${args.spec.name}”`,
      cancellable: true,
    },
    (_p, token) =>
      host.client.sendRequest(SteerBuildRequest.type, { spec: args.spec, source: `${file}#${args.blockName}`, uri: args.uri }, token),
  );
  const saved: string[] = [];
  for (const r of results) {
    const where = await kit.saveInWorkspace(r, uri);
    if (where) saved.push(vscode.workspace.asRelativePath(where));
    // The host keys the block's lens by the contrast name (spec.name); one vector per layer, the first one opens.
    view.add([r], where, true, r === results[0] ? { uri: args.uri, block: args.spec.name } : undefined);
  }
  if (!view.currentPrompt) {
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === args.uri);
    const d =
      doc &&
      defaultPrompt(
        { text: doc.getText(), languageId: doc.languageId, fileName: doc.fileName, selected: "", cursorLine: -1 },
        await promptBlocksAt(host, doc, { line: -1, character: 0 }),
      );
    if (d) view.setPrompt(d.prompt, d.source);
  }
  await view.reveal();
  void vscode.window.showInformationMessage(
    `Built ${results.map((r) => `${r.vector.name} at ${r.vector.site}`).join(", ")}${saved.length ? `; saved to ${saved.join(", ")}` : ""}.`,
  );
}

/** The "Open in steering panel" lens: shows the panel and turns the block's vector on. */
async function openVector({ view }: SteerKit, raw: unknown): Promise<void> {
  const args = raw as OpenVectorArgs | undefined;
  await view.reveal();
  if (args?.vectorId && !view.enable(args.vectorId)) {
    void vscode.window.showInformationMessage("That vector is not in the steering panel any more: build it again with its lens.");
  }
}

/** From the probe's expert view: an expert intervention joins the panel (its prompt: the probed text when the panel has none). */
async function addExpert({ view }: SteerKit, raw: unknown, prompt?: unknown): Promise<void> {
  const iv = raw as ExpertIntervention | undefined;
  if (!iv || !["off", "force", "bias", "topk"].includes(iv.kind) || !Number.isInteger(iv.layer))
    throw new Error("No expert intervention was given: use the context menu of the probe's expert view.");
  if (!view.currentPrompt.trim() && typeof prompt === "string" && prompt.trim()) view.setPrompt(prompt, "probe");
  view.addExpert(iv);
  await view.reveal();
}

/** A vector from two selections: the first the positive side, the second the negative. */
async function fromSelections(kit: SteerKit): Promise<void> {
  const { host, view } = kit;
  kit.needHost();
  const ed = vscode.window.activeTextEditor;
  const sels = ed?.selections.filter((s) => !s.isEmpty) ?? [];
  if (!ed || sels.length !== 2) {
    throw new Error(
      "Select two pieces of text (the second with Alt+drag or Ctrl+D): the first is the positive side, the second the negative.",
    );
  }
  const [positive, negative] = sels.map((s) => ed.document.getText(s));
  const layers = host.state.kind === "ready" ? host.state.info.numLayers : 0;
  const site = await vscode.window.showInputBox({
    title: "Steering vector from two selections: site",
    value: `blocks.${Math.floor(layers / 2)}.hook_resid_post`,
    prompt: "Where to read and add the vector (e.g. blocks.2.hook_resid_post)",
  });
  if (!site) return;
  const name = await vscode.window.showInputBox({ title: "Name of the vector", value: `${short(positive)}-vs-${short(negative)}` });
  if (!name) return;
  const r = await host.client.sendRequest(SteerPairRequest.type, { name, positive, negative, site, pooling: "mean" });
  view.add([r], await kit.saveInWorkspace(r, ed.document.uri));
  await view.reveal();
}

async function saveVector(kit: SteerKit, id?: unknown): Promise<void> {
  const { view } = kit;
  const e = await kit.pickVector("Save which vector?", typeof id === "string" ? id : undefined);
  if (!e) return;
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  const target = await vscode.window.showSaveDialog({
    defaultUri: folder && vscode.Uri.joinPath(folder, ".introspect", "vectors", `${e.info.name.replace(/[^\w.@-]+/g, "_")}.ivec`),
    filters: { "Introspect vector": ["ivec"] },
  });
  if (!target) return;
  await vscode.workspace.fs.writeFile(target, Buffer.from(e.ivec, "base64"));
  view.setFile(e.info.id, target);
}

async function loadVector(kit: SteerKit, arg?: unknown): Promise<void> {
  const { host, view } = kit;
  kit.needHost();
  const picked =
    arg instanceof vscode.Uri
      ? [arg]
      : await vscode.window.showOpenDialog({
          canSelectMany: true,
          filters: { "Steering vectors": ["ivec", "gguf"] },
          title: "Load steering vectors",
        });
  for (const uri of picked ?? []) {
    const bytes = await vscode.workspace.fs.readFile(uri);
    const format = uri.path.toLowerCase().endsWith(".gguf") ? "gguf" : "ivec";
    const label = uri.path.split("/").pop() ?? uri.toString();
    const r = await host.client.sendRequest(SteerLoadRequest.type, { format, base64: Buffer.from(bytes).toString("base64"), label });
    view.add(r.vectors, uri, format === "ivec");
    for (const w of r.warnings) void vscode.window.showWarningMessage(`Introspect: ${w}`);
  }
  if (picked?.length) await view.reveal();
}

async function exportGguf(kit: SteerKit): Promise<void> {
  const { host, view } = kit;
  await kit.needVectors();
  const active = view.rows.filter((r) => r.enabled && r.alpha !== 0 && !r.error);
  if (!active.length)
    throw new Error("Turn on at least one vector with a non-zero strength: the export writes the active vectors times their strengths.");
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  const target = await vscode.window.showSaveDialog({
    defaultUri: folder && vscode.Uri.joinPath(folder, "control-vector.gguf"),
    filters: { "GGUF control vector": ["gguf"] },
  });
  if (!target) return;
  const r = await host.client.sendRequest(SteerExportRequest.type, { vectors: active.map((a) => ({ id: a.info.id, alpha: a.alpha })) });
  await vscode.workspace.fs.writeFile(target, Buffer.from(r.base64, "base64"));
  void vscode.window.showInformationMessage(`Saved ${vscode.workspace.asRelativePath(target)} (llama.cpp --control-vector).`);
}

async function combine(kit: SteerKit): Promise<void> {
  const { host, view } = kit;
  await kit.needVectors();
  const picks = await vscode.window.showQuickPick(
    view.rows.map((r) => ({ label: r.info.name, description: `${r.info.site} · strength ${r.alpha}`, id: r.info.id, alpha: r.alpha })),
    { canPickMany: true, title: "Combine vectors: each is added times its current slider value" },
  );
  if (!picks?.length) return;
  const name = await vscode.window.showInputBox({
    title: "Name of the combination",
    value: picks.map((p) => `${p.alpha}*${p.label}`).join("+"),
  });
  if (!name) return;
  const r = await host.client.sendRequest(SteerCombineRequest.type, { name, parts: picks.map((p) => ({ id: p.id, coef: p.alpha })) });
  view.add([r], await kit.saveInWorkspace(r));
}

async function negate(kit: SteerKit, id: string): Promise<void> {
  const { host, view } = kit;
  const e = view.entry(id);
  if (!e) return;
  await kit.needVectors();
  const r = await host.client.sendRequest(SteerCombineRequest.type, { name: `-${e.info.name}`, parts: [{ id, coef: -1 }] });
  view.add([r], await kit.saveInWorkspace(r));
}

/** New layer weights for a vector; its auto-saved file under .introspect/vectors/ follows, a file the user chose does not. */
async function setLayers(kit: SteerKit, id: string, weights: { layer: number; weight: number }[] | null): Promise<void> {
  const { host, view } = kit;
  const e = view.entry(id);
  if (!e) return;
  await kit.needVectors();
  const r = await host.client.sendRequest(SteerLayersRequest.type, { id, weights });
  const file = e.uri ? vscode.Uri.parse(e.uri) : undefined;
  const auto = file && /\/\.introspect\/vectors\/[^/]+\.ivec$/.test(file.path) ? file : undefined;
  if (auto) await vscode.workspace.fs.writeFile(auto, Buffer.from(r.ivec, "base64"));
  view.replace(r, auto);
}

/** The panel's buttons (steerAction messages). */
function onPanelAction(kit: SteerKit, a: SteerAction): void | Promise<void> {
  const { view } = kit;
  const report = (e: Error) => void vscode.window.showErrorMessage(`Introspect: ${e.message}`);
  const run = (id: string, ...args: unknown[]) => void vscode.commands.executeCommand(id, ...args);
  switch (a.kind) {
    case "remove":
      return view.remove(a.id);
    case "removeExpert":
      return view.removeExpert(a.id);
    case "save":
      return run("introspect.steer.saveVector", a.id);
    case "negate":
      return void negate(kit, a.id).catch(report);
    case "layers":
      return void setLayers(kit, a.id, a.weights).catch(report);
    case "sweep":
      return run("introspect.steer.sweep", a.id);
    case "load":
      return run("introspect.steer.loadVector");
    case "exportGguf":
      return run("introspect.steer.exportGguf");
    case "combine":
      return run("introspect.steer.combine");
    case "fromSelections":
      return run("introspect.steer.fromSelections");
    case "promptFromEditor":
      return kit.promptFromEditor(true);
  }
}

function short(s: string): string {
  return (
    s
      .trim()
      .split(/\s+/)
      .slice(0, 2)
      .join("_")
      .replace(/[^\w-]+/g, "")
      .slice(0, 16) || "text"
  );
}
