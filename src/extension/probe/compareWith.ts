// "Compare with…" (the probe panel's button and introspect.compareWith): the probe shown is run again
// through a second model the user picks (the other variants of the loaded model's folder, the
// models of the same architecture the picker knows, or Browse…) and the panel draws the two-model
// diff under it. The host computes it (introspect/compareModels); the probed text and the last
// comparison are kept in the extension's storage so both come back after a reload.
import * as path from "path";
import * as vscode from "vscode";
import type { CandidateModel } from "../../engine/shapes";
import { CompareModelsRequest, type CompareFromWebview, type ModelComparison, type ModelRef } from "../../protocol/compareModels";
import { ModelInfoRequest } from "../../protocol/lsp";
import type { ProbeResult } from "../../protocol/probeData";
import type { FromWebview, ToWebview } from "../../protocol/webview";
import { fromWire } from "../../protocol/wire";
import { ensureModelFor } from "../fileModel";
import type { HostClient } from "../hostClient";
import { describeCandidate, sizeText, windowCandidates } from "../modelPicker";
import { LastResult, messageOf } from "../panels/panelSupport";
import { showFailure } from "../userErrors";

/** What a comparison needs of the probe shown: its result, the text it ran on and the document it came from. */
export interface ProbedText {
  probeId: string;
  text: string;
  uri: string;
}

interface Poster {
  open(): { post(msg: ToWebview): Promise<void> };
}

export class ModelCompare {
  private readonly texts: LastResult<ProbedText>;
  private readonly last: LastResult<ModelComparison>;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly host: HostClient,
    private readonly panel: Poster,
    /** The probe the panel shows now (the current one, or the one restored after a reload). */
    private readonly shown: () => ProbeResult | undefined,
  ) {
    this.texts = new LastResult(context, "last-probe-text.json");
    this.last = new LastResult(context, "last-comparison.json");
  }

  /** Remembers the text of a probe that was just drawn (a later Compare with… runs on it, also after a reload). */
  probed(result: ProbeResult, text: string, uri: string): void {
    if (result.id) this.texts.save({ probeId: result.id, text, uri });
  }

  /** The saved comparison, when it belongs to `probeId` (what a reloaded panel gets back). */
  restoreFor(probeId: string | undefined): ToWebview[] {
    const c = this.last.read();
    return c && probeId && c.probeId === probeId ? [{ type: "introspect/modelComparison", comparison: c }] : [];
  }

  /** Handles the panel's Compare with… and Close; false for other messages. */
  onMessage(msg: FromWebview): boolean {
    const m = msg as CompareFromWebview;
    if (m.type === "introspect/compareWith") {
      void this.run().catch((e) => showFailure(e, messageOf(e)));
      return true;
    }
    if (m.type === "introspect/compareClose") {
      this.last.clear();
      void this.panel.open().post({ type: "introspect/modelComparison", comparison: null });
      return true;
    }
    return false;
  }

  /** Picks model B, compares, and shows the result in the panel (a failure there too, in one sentence). */
  async run(): Promise<void> {
    const result = this.shown();
    const probed = this.texts.read();
    if (!result?.id || !probed || probed.probeId !== result.id)
      throw new Error("Probe a selection first: Compare with… runs the probed text through a second model.");
    if (!this.host.isRunning) throw new Error('The model host is not running: run "Introspect: Restart Model Host".');
    await ensureModelFor(this.context, this.host, probed.uri);
    const modelB = await this.pick(result);
    if (!modelB) return;
    const panel = this.panel.open();
    const name = modelB.variant ? `${path.basename(modelB.path)} (${modelB.variant})` : path.basename(modelB.path);
    void panel.post({
      type: "introspect/modelComparisonStatus",
      probeId: result.id,
      status: { kind: "running", message: `Comparing with ${name}…` },
    });
    try {
      const wire = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Introspect: comparing with ${name}`, cancellable: true },
        (_p, token) =>
          this.host.client.sendRequest(
            CompareModelsRequest.type,
            {
              text: probed.text,
              ids: result.tokens.map((t) => t.id),
              selection: result.selection,
              modelId: result.model.id,
              probeId: result.id,
              modelB,
            },
            token,
          ),
      );
      const comparison = fromWire<ModelComparison>(wire);
      this.last.save(comparison);
      await panel.post({ type: "introspect/modelComparison", comparison });
    } catch (e) {
      const message = messageOf(e, "Comparison cancelled.");
      await panel.post({ type: "introspect/modelComparisonStatus", probeId: result.id, status: { kind: "failed", message } });
      if (message !== "Comparison cancelled.") showFailure(e, message);
    }
  }

  /** The quick pick of model B; undefined when dismissed. */
  private async pick(result: ProbeResult): Promise<ModelRef | undefined> {
    const items = await compareItems(this.context, this.host, result);
    const pick = await vscode.window.showQuickPick(items, {
      title: `Introspect: Compare ${result.model.id} with…`,
      placeHolder: "A model of the same architecture and tokenizer (another variant, a fine-tuned copy)",
      matchOnDescription: true,
    });
    if (!pick) return undefined;
    if (pick.ref) return pick.ref;
    const uris = await vscode.window.showOpenDialog({
      title: "Introspect: a model folder or .onnx file to compare with",
      canSelectFolders: true,
      canSelectFiles: true,
      canSelectMany: false,
      openLabel: "Compare",
    });
    if (!uris?.[0]) return undefined;
    const chosen = uris[0].fsPath;
    if (chosen.endsWith(".onnx")) return { path: chosen };
    const variants = (await windowCandidates(this.context, this.host, [chosen]))[0]?.variants ?? [];
    if (variants.length <= 1) return { path: chosen, ...(variants[0] ? { variant: variants[0].variant } : {}) };
    const v = await vscode.window.showQuickPick(
      variants.map((x) => ({ label: x.variant, description: path.basename(x.file), detail: sizeText(x.bytes) })),
      { title: `Introspect: Variant of ${path.basename(chosen)}` },
    );
    return v && { path: chosen, variant: v.label };
  }
}

interface CompareItem extends vscode.QuickPickItem {
  ref?: ModelRef;
}

/**
 * The choices: the other variants of the loaded model's folder, then every variant of the other
 * folders the model picker lists (bundled, workspace, Hugging Face cache) whose config names the same
 * architecture, then Browse…. Models of another shape are not offered (the host would refuse them).
 */
export async function compareItems(context: vscode.ExtensionContext, host: HostClient, result: ProbeResult): Promise<CompareItem[]> {
  const info = await host.client.sendRequest(ModelInfoRequest.type);
  const onnx = info.onnxFile ? path.resolve(info.onnxFile) : undefined;
  const folder = onnx ? (path.basename(path.dirname(onnx)) === "onnx" ? path.dirname(path.dirname(onnx)) : path.dirname(onnx)) : undefined;
  const all = await windowCandidates(context, host);
  const own = folder
    ? (all.find((c) => path.resolve(c.path) === folder) ?? (await windowCandidates(context, host, [folder]))[0])
    : undefined;
  const items: CompareItem[] = [];
  const others = own?.variants.filter((v) => path.resolve(v.file) !== onnx) ?? [];
  if (others.length) items.push({ label: `Variants of ${own!.name}`, kind: vscode.QuickPickItemKind.Separator });
  for (const v of others)
    items.push({
      label: v.variant,
      description: `${path.basename(v.file)} · ${sizeText(v.bytes)}`,
      ref: { path: own!.path, variant: v.variant },
    });
  const arch = own?.architecture ?? result.model.architecture;
  const same = all.filter((c: CandidateModel) => path.resolve(c.path) !== folder && c.architecture === arch && !c.problem);
  if (same.length) items.push({ label: `Same architecture (${arch})`, kind: vscode.QuickPickItemKind.Separator });
  for (const c of same)
    for (const v of c.variants)
      items.push({
        label: c.variants.length > 1 ? `${c.name} · ${v.variant}` : c.name,
        description: describeCandidate(c).description,
        detail: `${path.basename(v.file)} · ${sizeText(v.bytes)} · ${c.source === "demo" ? "bundled" : c.path}`,
        ref: { path: c.path, variant: v.variant },
      });
  items.push(
    { label: "", kind: vscode.QuickPickItemKind.Separator },
    { label: "$(folder-opened) Browse…", description: "a model folder or .onnx file", alwaysShow: true },
  );
  return items;
}
