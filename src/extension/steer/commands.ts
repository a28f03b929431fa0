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
  SteerSweepRequest,
  type SteerVectorResult,
} from "../../protocol/lsp";
import { PromptFileCommands, type BuildVectorArgs, type OpenVectorArgs } from "../../protocol/promptFile";
import type { SteerAction } from "../../protocol/steerData";
import { ensureModelFor } from "../fileModel";
import type { HostClient } from "../hostClient";
import { promptBlocksAt } from "../promptFiles";
import { ExpertLinesRequest } from "../../protocol/expertLines";
import type { PromptBlocksResult } from "../../protocol/promptQueries";
import { defaultPrompt } from "./prompt";
import { SteerView } from "./view";

export function registerSteerCommands(context: vscode.ExtensionContext, host: HostClient): SteerView {
  const view = new SteerView(context, host);
  context.subscriptions.push(view);
  // A cancellation the user asked for is not an error.
  const reg = commandRegistrar(context, (e) => {
    const msg = e instanceof Error ? e.message : String(e);
    return /^Cancelled\.?$/.test(msg) ? undefined : msg;
  });
  const needHost = () => {
    if (!host.isRunning) throw new Error('The model host is not running: run "Introspect: Restart Model Host".');
  };
  const promptFromEditor = async (fallbackToAny = false) => {
    const ed = vscode.window.activeTextEditor ?? (fallbackToAny ? vscode.window.visibleTextEditors[0] : undefined);
    if (!ed) return;
    const selected = ed.document.getText(ed.selection);
    const e = {
      text: ed.document.getText(),
      languageId: ed.document.languageId,
      fileName: ed.document.fileName,
      selected,
      cursorLine: ed.selection.active.line,
    };
    const blocks = selected.trim() ? undefined : await promptBlocksAt(host, ed.document, ed.selection.active);
    const d = defaultPrompt(e, blocks);
    if (d) view.setPrompt(d.prompt, d.source);
    if (d && blocks) await addFileExperts(blocks);
  };
  /** A prompt file's `experts` lines join the panel's expert rows when the panel takes its prompt from that file. */
  const addFileExperts = async (blocks: PromptBlocksResult) => {
    if (!blocks.experts?.length) return;
    view.addExpert(...(await host.client.sendRequest(ExpertLinesRequest.type, { lines: blocks.experts })));
  };

  /** Saves a vector under .introspect/vectors/ of the workspace folder of `near` (or the first folder). */
  const saveInWorkspace = async (r: SteerVectorResult, near?: vscode.Uri): Promise<vscode.Uri | undefined> => {
    const folder = (near && vscode.workspace.getWorkspaceFolder(near)) ?? vscode.workspace.workspaceFolders?.[0];
    if (!folder) return undefined;
    const safe = r.vector.name.replace(/[^\w.@-]+/g, "_");
    const uri = vscode.Uri.joinPath(folder.uri, ".introspect", "vectors", `${safe}.ivec`);
    await vscode.workspace.fs.writeFile(uri, Buffer.from(r.ivec, "base64"));
    return uri;
  };
  /** Vectors restored after a window reload reach the host before a request names them. */
  const needVectors = async () => {
    needHost();
    await view.ensureRegistered();
  };

  reg(PromptFileCommands.buildVector, async (raw: unknown) => {
    const args = raw as BuildVectorArgs | undefined;
    if (!args?.spec)
      throw new Error("This command builds a vector from a contrast block: use the “Build steering vector” lens in a .introspect file.");
    needHost();
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
      const where = await saveInWorkspace(r, uri);
      if (where) saved.push(vscode.workspace.asRelativePath(where));
      // The host keys the block's lens by the contrast name (spec.name); one vector per layer, the first one opens.
      view.add([r], where, true, r === results[0] ? { uri: args.uri, block: args.spec.name } : undefined);
    }
    if (!view.currentPrompt) {
      const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === args.uri);
      const blocks = doc && (await promptBlocksAt(host, doc, { line: -1, character: 0 }));
      const d =
        doc &&
        defaultPrompt({ text: doc.getText(), languageId: doc.languageId, fileName: doc.fileName, selected: "", cursorLine: -1 }, blocks);
      if (d) view.setPrompt(d.prompt, d.source);
      if (d && blocks) await addFileExperts(blocks);
    }
    await view.reveal();
    void vscode.window.showInformationMessage(
      `Built ${results.map((r) => `${r.vector.name} at ${r.vector.site}`).join(", ")}${saved.length ? `; saved to ${saved.join(", ")}` : ""}.`,
    );
  });

  reg(PromptFileCommands.openVector, async (raw: unknown) => {
    const args = raw as OpenVectorArgs | undefined;
    await view.reveal();
    if (args?.vectorId && !view.enable(args.vectorId)) {
      void vscode.window.showInformationMessage("That vector is not in the steering panel any more: build it again with its lens.");
    }
  });

  // From the probe's expert view: an expert intervention joins the panel (its prompt: the probed text when the panel has none).
  reg("introspect.steer.addExpert", async (raw: unknown, prompt?: unknown) => {
    const iv = raw as ExpertIntervention | undefined;
    if (!iv || !["off", "force", "bias", "topk"].includes(iv.kind) || !Number.isInteger(iv.layer))
      throw new Error("No expert intervention was given: use the context menu of the probe's expert view.");
    if (!view.currentPrompt.trim() && typeof prompt === "string" && prompt.trim()) view.setPrompt(prompt, "probe");
    view.addExpert(iv);
    await view.reveal();
  });

  reg("introspect.steer.open", async () => {
    // The prompt is the user's: opening the panel fills it only while it is empty (the panel's
    // "from editor" button replaces it on request).
    if (!view.currentPrompt) await promptFromEditor();
    await view.reveal();
  });

  reg("introspect.steer.fromSelections", async () => {
    needHost();
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
    view.add([r], await saveInWorkspace(r, ed.document.uri));
    await view.reveal();
  });

  const pickVector = async (title: string, id?: string) => {
    if (id) return view.entry(id);
    if (view.rows.length === 0)
      throw new Error("The steering panel has no vectors yet: build one with a contrast block's lens, or load a vector file.");
    const pick = await vscode.window.showQuickPick(
      view.rows.map((r) => ({ label: r.info.name, description: r.info.site, id: r.info.id })),
      { title },
    );
    return pick && view.entry(pick.id);
  };

  reg("introspect.steer.saveVector", async (id?: unknown) => {
    const e = await pickVector("Save which vector?", typeof id === "string" ? id : undefined);
    if (!e) return;
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const target = await vscode.window.showSaveDialog({
      defaultUri: folder && vscode.Uri.joinPath(folder, ".introspect", "vectors", `${e.info.name.replace(/[^\w.@-]+/g, "_")}.ivec`),
      filters: { "Introspect vector": ["ivec"] },
    });
    if (!target) return;
    await vscode.workspace.fs.writeFile(target, Buffer.from(e.ivec, "base64"));
    view.setFile(e.info.id, target);
  });

  reg("introspect.steer.loadVector", async (arg?: unknown) => {
    needHost();
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
  });

  reg("introspect.steer.exportGguf", async () => {
    await needVectors();
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
  });

  reg("introspect.steer.combine", async () => {
    await needVectors();
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
    view.add([r], await saveInWorkspace(r));
  });

  const negate = async (id: string) => {
    const e = view.entry(id);
    if (!e) return;
    await needVectors();
    const r = await host.client.sendRequest(SteerCombineRequest.type, { name: `-${e.info.name}`, parts: [{ id, coef: -1 }] });
    view.add([r], await saveInWorkspace(r));
  };

  reg("introspect.steer.sweep", async (id?: unknown) => {
    await needVectors();
    const e = await pickVector("Sweep which vector?", typeof id === "string" ? id : undefined);
    if (!e) return;
    if (!view.currentPrompt.trim()) throw new Error("Type a prompt in the steering panel first: the sweep continues it.");
    const { range } = view.settings();
    const n = host.state.kind === "ready" ? host.state.info.numLayers : 1;
    const own = Number(/^blocks\.(\d+)\./.exec(e.info.site)?.[1] ?? 0);
    const layersText = await vscode.window.showInputBox({
      title: "Sweep: layers",
      value: [own - 1, own, own + 1].filter((l) => l >= 0 && l < n).join(" "),
      prompt: `Layers to move the vector to (0-${n - 1}), separated by spaces`,
    });
    if (layersText === undefined) return;
    const layers = [
      ...new Set(
        layersText
          .split(/[\s,]+/)
          .filter(Boolean)
          .map(Number),
      ),
    ];
    if (!layers.length || layers.some((l) => !Number.isInteger(l) || l < 0 || l >= n))
      throw new Error(`Layers must be whole numbers from 0 to ${n - 1}.`);
    const scorePick = await vscode.window.showQuickPick(
      [
        { label: "Probability of words…", score: "words" as const },
        { label: "KL(steered || unsteered)", score: "kl" as const },
      ],
      { title: "Sweep: score of each cell (on the first generated token)" },
    );
    if (!scorePick) return;
    let score: { kind: "kl" } | { kind: "words"; words: string[] } = { kind: "kl" };
    if (scorePick.score === "words") {
      const words = await vscode.window.showInputBox({
        title: "Sweep: words whose probability is the score",
        value: "good great wonderful lovely excellent",
      });
      if (!words?.trim()) return;
      score = { kind: "words", words: words.split(/[\s,]+/).filter(Boolean) };
    }
    const alphas = Array.from({ length: 7 }, (_, i) => Number((-range + (2 * range * i) / 6).toFixed(3)));
    await view.reveal();
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Introspect: sweeping “${e.info.name}”`, cancellable: true },
      (_p, token) =>
        host.client.sendRequest(
          SteerSweepRequest.type,
          { vectorId: e.info.id, prompt: view.currentPrompt, alphas, layers, score, maxTokens: 6 },
          token,
        ),
    );
    await view.postSweep({ type: "introspect/steerSweep", sweep: result });
  });

  /** New layer weights for a vector; its auto-saved file under .introspect/vectors/ follows, a file the user chose does not. */
  const setLayers = async (id: string, weights: { layer: number; weight: number }[] | null) => {
    const e = view.entry(id);
    if (!e) return;
    await needVectors();
    const r = await host.client.sendRequest(SteerLayersRequest.type, { id, weights });
    const file = e.uri ? vscode.Uri.parse(e.uri) : undefined;
    const auto = file && /\/\.introspect\/vectors\/[^/]+\.ivec$/.test(file.path) ? file : undefined;
    if (auto) await vscode.workspace.fs.writeFile(auto, Buffer.from(r.ivec, "base64"));
    view.replace(r, auto);
  };

  view.onAction = (a: SteerAction) => {
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
        return void negate(a.id).catch(report);
      case "layers":
        return void setLayers(a.id, a.weights).catch(report);
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
        return promptFromEditor(true);
    }
  };
  return view;
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
