// The probe panel on the extension side: one panel beside the editor (reused, restored after a
// reload), the probe request with progress and cancel, and the panel's requests (other layers,
// other heads, exports, editor tint). The panel's page is webview/probe.
import { describeIntervention } from "../../protocol/experts";
import * as vscode from "vscode";
import {
  ProbeAttentionRequest,
  ProbeLensRequest,
  ProbeNeuronsRequest,
  ProbeRequest,
  SparsityRequest,
  type ProbeParams,
} from "../../protocol/lsp";
import { mergeLensChunk, type ProbeResult } from "../../protocol/probeData";
import { fromWire } from "../../protocol/wire";
import { ExpertLinesRequest } from "../../protocol/expertLines";
import type { FromWebview, ToWebview } from "../../protocol/webview";
import { ensureModelFor } from "../fileModel";
import type { HostClient } from "../hostClient";
import { featureHandlers } from "../features/handlers";
import { describeFailure, runFailureAction, showFailure } from "../userErrors";
import { LastResult, messageOf, ReusedPanel, saveExport } from "../panels/panelSupport";
import { blockIdentity } from "./blockIdentity";
import { ModelCompare } from "./compareWith";
import { ProbeStore } from "./pins";
import { ProbeRecorder, type ProbeTiming } from "./record";
import type { ProbeTarget } from "./target";
import { EditorTint } from "./tint";

const VIEW_TYPE = "introspect.probe";
const TITLE = "Introspect: Probe";

interface Current {
  result: ProbeResult;
  target: ProbeTarget;
  uri: string;
}

/** The block (or selection) the shown result is of. */
interface Shown {
  key: string;
  label: string;
}

export class ProbePanel implements vscode.Disposable {
  private readonly panel: ReusedPanel;
  private current: Current | undefined;
  private readonly tint = new EditorTint();
  private readonly recorder = ProbeRecorder.fromEnv();
  private timing: ProbeTiming | undefined;
  /** Cancels the lens chunks asked for by the page for the probe shown. */
  private lensFill: vscode.CancellationTokenSource | undefined;
  /** Probes running now (from the command until their result is shown or failed). */
  private probingCount = 0;
  private get probing(): boolean {
    return this.probingCount > 0;
  }
  private readonly disposables: vscode.Disposable[] = [this.tint];
  /** The last result, so that a reloaded window can redraw it. */
  private readonly last: LastResult<ProbeResult>;
  /** Pins (compared with each new result) and each prompt block's last result, kept across reloads (pins.ts). */
  private readonly store: ProbeStore;
  private readonly shownStore: LastResult<Shown>;
  private shown: Shown | undefined;
  /** "Compare with…": the shown probe through a second model (compareWith.ts). */
  private readonly compare: ModelCompare;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly host: HostClient,
  ) {
    this.last = new LastResult(context, "last-probe.json");
    this.store = new ProbeStore(context);
    this.shownStore = new LastResult(context, "last-probe-block.json");
    this.shown = this.shownStore.read();
    this.panel = new ReusedPanel(
      context.extensionUri,
      {
        viewType: VIEW_TYPE,
        title: TITLE,
        app: "probe",
        onMessage: (msg) => this.onMessage(msg),
        handlers: {
          "introspect/sparsity": (p) => this.host.client.sendRequest(SparsityRequest.type, p),
          "introspect/probeNeurons": async (p) =>
            fromWire(await this.host.client.sendRequest(ProbeNeuronsRequest.type, { ...p, probeId: this.probeId() })),
          "introspect/probeLens": async (p) => {
            // A new probe cancels the fill (see probe()): the host stops the chunk between layers, and a
            // chunk asked for while that probe runs (the page had not seen its status yet) is refused.
            if (this.probing) throw new Error("A new probe is running: the lens of the one shown is no longer filled.");
            const probeId = this.probeId();
            this.lensFill ??= new vscode.CancellationTokenSource();
            const chunk = fromWire(await this.host.client.sendRequest(ProbeLensRequest.type, { ...p, probeId }, this.lensFill.token));
            // The kept result gains the columns too, so a reload or an export of it has them.
            const cur = this.current?.result;
            if (cur?.id === probeId) {
              mergeLensChunk(cur, chunk);
              if (!cur.logitLens.computed) this.last.save(cur);
            }
            return chunk;
          },
          "introspect/probeAttention": async (p) =>
            fromWire(await this.host.client.sendRequest(ProbeAttentionRequest.type, { ...p, probeId: this.probeId() })),
          "introspect/export": saveExport,
          "introspect/expertIntervene": async (p) => {
            await vscode.commands.executeCommand("introspect.steer.addExpert", p.intervention, this.current?.target.text);
            return { label: describeIntervention(p.intervention) };
          },
          ...featureHandlers(context, host),
        },
      },
      () => {
        const last = this.current?.result ?? this.last.read();
        return last && [this.resultMessage(last), ...this.compare.restoreFor(last.id)];
      },
    );
    this.compare = new ModelCompare(context, host, this.panel, () => this.current?.result ?? this.last.read());
    this.disposables.push(this.panel);
  }

  /** Probes `target` (from document `uri`) and shows the result; errors are shown in the panel and as a message. */
  async probe(target: ProbeTarget, uri: string, startedAt = performance.now()): Promise<void> {
    this.probingCount++;
    try {
      await this.runProbe(target, uri, startedAt);
    } finally {
      this.probingCount--;
    }
  }

  private async runProbe(target: ProbeTarget, uri: string, startedAt: number): Promise<void> {
    const config = vscode.workspace.getConfiguration("introspect");
    const params: ProbeParams = {
      uri,
      text: target.text,
      selection: target.selection,
      maxTokens: config.get<number>("probe.maxTokens") ?? 1024,
      lensTokens: config.get<number>("probe.lensTokens") ?? 16,
    };
    const panel = this.panel.open();
    const timing: ProbeTiming = { startedAt, chars: target.selection.end - target.selection.start };
    this.timing = timing;
    void panel.post({ type: "introspect/probeStatus", status: { kind: "running", message: `Probing ${describeSource(target)}…` } });
    // The shown probe's lens fill gives way (the page stops asking on this status): its chunks would share the cores with this probe.
    this.lensFill?.cancel();
    this.lensFill?.dispose();
    this.lensFill = undefined;
    if (!this.host.isRunning) return this.fail('The model host is not running: run "Introspect: Restart Model Host".');
    let result: ProbeResult;
    try {
      // A prompt file's model line picks the model (fileModel.ts); elsewhere the settings' model.
      await ensureModelFor(this.context, this.host, uri);
      // A prompt file's `experts` lines: checked against the model by the host, then probed with.
      if (target.experts?.length) params.experts = await this.host.client.sendRequest(ExpertLinesRequest.type, { lines: target.experts });
      result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: "Introspect: probing", cancellable: true },
        async (_progress, token) => {
          timing.sentAt = performance.now();
          const wire = await this.host.client.sendRequest(ProbeRequest.type, params, token);
          timing.repliedAt = performance.now();
          const decoded = fromWire(wire);
          timing.decodedAt = performance.now();
          return decoded;
        },
      );
    } catch (e) {
      return this.fail(probeErrorMessage(e), e);
    }
    this.current = { result, target, uri };
    this.tint.clear();
    timing.probeId = result.id;
    timing.tokens = result.selection.end - result.selection.start;
    timing.forwardMs = result.timing?.forwardMs;
    timing.analysisMs = result.timing?.analysisMs;
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri);
    this.shown = blockIdentity(target, uri, doc?.getText());
    this.store.saveBlock(this.shown.key, this.shown.label, result);
    this.shownStore.save(this.shown);
    await panel.post(this.resultMessage(result));
    timing.postedAt = performance.now();
    this.last.save(result);
    this.compare.probed(result, target.text, uri);
    this.recorder?.result(params, result);
  }

  /** "Compare with…" on the probe shown (the palette command; the panel's button posts introspect/compareWith). */
  compareWith(): Promise<void> {
    return this.compare.run();
  }

  private onMessage(msg: FromWebview): void {
    if (this.compare.onMessage(msg)) return;
    if (msg.type === "introspect/pin") {
      const shown = this.current?.result ?? this.last.read();
      if (msg.pin && shown) this.store.pin({ key: this.shown?.key ?? "probe", label: this.shown?.label ?? "probe", result: shown });
      else if (!msg.pin) this.store.unpin(msg.probeId ?? shown?.id);
      if (shown) void this.panel.post(this.resultMessage(shown));
    } else if (msg.type === "introspect/showBlock") {
      const b = this.store.block(msg.key);
      if (!b) return void vscode.window.showInformationMessage("That block's result is no longer saved: probe it again.");
      // A saved result has no live session on the host: follow-ups (other layers) need a new probe.
      this.current = undefined;
      this.tint.clear();
      this.shown = { key: msg.key, label: b.label };
      this.shownStore.save(this.shown);
      this.last.save(b.result);
      void this.panel.post(this.resultMessage(b.result));
    } else if (msg.type === "introspect/failureAction") {
      void runFailureAction(msg.action);
    } else if (msg.type === "introspect/tint") {
      const n = this.tint.apply(this.current, msg.tint);
      if (msg.tint && n === 0)
        void vscode.window.showInformationMessage(
          this.current ? "Open the probed file in an editor to see the tint." : "Probe the selection again to tint it.",
        );
    } else if (msg.type === "introspect/rendered") {
      const t = this.timing;
      if (!t || t.probeId !== msg.probeId || t.renderedAt) return;
      t.renderedAt = performance.now();
      t.renderMs = msg.renderMs;
      this.recorder?.timing(t);
    }
  }

  private resultMessage(result: ProbeResult): ToWebview {
    const pins = this.store.pins;
    // `pinned`: the latest pin that is not the result itself (what a single-pin page compares with).
    const pinned = [...pins].reverse().find((p) => p.result.id !== result.id)?.result ?? pins[pins.length - 1]?.result;
    return { type: "introspect/probeResult", result, pinned, pins, blocks: this.store.blocks(this.shown?.key) };
  }

  private probeId(): string {
    const id = this.current?.result.id;
    if (!id) throw new Error("This panel's probe is no longer available: probe the selection again.");
    return id;
  }

  /** Tints the last probe's tokens in the editor (null clears); used by the clear command. */
  clearTint(): void {
    this.tint.clear();
  }

  /** The failure replaces the panel's result (a stale result would read as this probe's), with the same buttons as the notification. */
  private async fail(message: string, error?: unknown): Promise<void> {
    const f = describeFailure(error, message);
    this.current = undefined;
    this.tint.clear();
    await this.panel.post({ type: "introspect/probeStatus", status: { kind: "failed", message: f.message, actions: f.actions } });
    this.recorder?.failure(message);
    if (f.actions.length || !/cancelled/i.test(message)) showFailure(error, message);
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }
}

/** A sentence for the user: LSP errors carry the host's message; cancellations say so. */
export function probeErrorMessage(e: unknown): string {
  return messageOf(e, "Probe cancelled.");
}

function describeSource(t: ProbeTarget): string {
  const n = t.selection.end - t.selection.start;
  const what = `${n} selected character${n === 1 ? "" : "s"}`;
  const experts = t.experts?.length ? ` with the file's ${t.experts.length} expert intervention${t.experts.length === 1 ? "" : "s"}` : "";
  return t.source === "file" ? `${what} in the file's context` : t.source === "prompt block" ? `${what} of a prompt block${experts}` : what;
}
