// The patching panel on the extension side: one panel beside the editor (reused, restored after a
// reload from the last run saved in the extension's storage), the sweep request with progress
// and cancel, the host's streamed cells forwarded to the page, and the page's requests (a cell's
// top tokens, exports, rerun, cancel). The page is webview/patch.
import * as vscode from "vscode";
import { HeadPatchRequest } from "../../protocol/headPatch";
import { PatchCellRequest, PatchProgressNotification, PatchRunRequest } from "../../protocol/lsp";
import {
  gridsToWebview,
  runToWebview,
  type PatchExperiment,
  type PatchGrid,
  type PatchHeader,
  type PatchProgressData,
  type PatchRun,
  type PatchSiteKind,
} from "../../protocol/patchData";
import { fromWire, type Wire } from "../../protocol/wire";
import type { FromWebview } from "../../protocol/webview";
import type { HostClient } from "../hostClient";
import { runFailureAction, showFailure } from "../userErrors";
import { isCancellation, LastResult, messageOf, ReusedPanel, saveExport } from "../panels/panelSupport";

const VIEW_TYPE = "introspect.patch";
const TITLE = "Introspect: Activation Patching";

interface Active {
  runId: number;
  cts: vscode.CancellationTokenSource;
  progress?: vscode.Progress<{ message?: string; increment?: number }>;
  reported: number;
}

export class PatchPanel implements vscode.Disposable {
  private readonly panel: ReusedPanel;
  private current: PatchRun | undefined;
  private active: Active | undefined;
  private nextRunId = 1;
  private readonly disposables: vscode.Disposable[] = [];
  /** The last run, so that a reloaded window can redraw it. */
  private readonly last: LastResult<PatchRun>;

  constructor(
    context: vscode.ExtensionContext,
    private readonly host: HostClient,
  ) {
    this.last = new LastResult<PatchRun>(context, "last-patch.json", (run) => {
      // A run interrupted by the reload shows what it had, marked as stopped.
      if (run.status.kind === "running") run.status = { kind: "cancelled" };
      return run;
    });
    this.panel = new ReusedPanel(
      context.extensionUri,
      {
        viewType: VIEW_TYPE,
        title: TITLE,
        app: "patch",
        onMessage: (msg) => this.onMessage(msg),
        handlers: {
          "introspect/patchCell": (p) => {
            const run = this.current;
            if (!run) throw new Error("No patching run is shown: run the experiment again.");
            const h = run.header;
            return this.host.client.sendRequest(PatchCellRequest.type, {
              experiment: h.experiment,
              correct: h.correct.id,
              wrong: h.wrong.id,
              ...p,
              k: 10,
            });
          },
          "introspect/patchHeads": async () => {
            const h = this.current?.header;
            if (!h) throw new Error("No patching run is shown: run the experiment again.");
            return await vscode.window.withProgress(
              { location: vscode.ProgressLocation.Notification, title: "Introspect: patching each head", cancellable: true },
              (_p, token) =>
                this.host.client.sendRequest(
                  HeadPatchRequest.type,
                  { experiment: h.experiment, correct: h.correct.id, wrong: h.wrong.id },
                  token,
                ),
            );
          },
          "introspect/export": saveExport,
        },
      },
      () => {
        const last = this.current ?? this.last.read();
        return last && { type: "introspect/patchRun", run: runToWebview(last) };
      },
    );
    this.disposables.push(
      this.panel,
      this.host.client.onNotification(PatchProgressNotification.type, (n) => this.onProgress(n)),
    );
  }

  /** The run shown now (tests and the exthost suite read it). */
  get run(): PatchRun | undefined {
    return this.current;
  }

  /** Runs the sweep and shows it filling in; a run already going is cancelled first. */
  async start(experiment: PatchExperiment): Promise<PatchRun | undefined> {
    this.active?.cts.cancel();
    const runId = this.nextRunId++;
    const panel = this.panel.open();
    const config = vscode.workspace.getConfiguration("introspect");
    const exp: PatchExperiment = { ...experiment, batchSize: experiment.batchSize ?? config.get<number>("patch.batchSize") ?? 32 };
    void panel.post({
      type: "introspect/patchStatus",
      runId: 0,
      status: { kind: "preparing", message: "Running the clean and corrupted prompts…" },
    });
    if (!this.host.isRunning) return this.fail(runId, 'The model host is not running: run "Introspect: Restart Model Host".');
    const active: Active = { runId, cts: new vscode.CancellationTokenSource(), reported: 0 };
    this.active = active;
    try {
      const wire = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: "Introspect: activation patching", cancellable: true },
        async (progress, token) => {
          active.progress = progress;
          token.onCancellationRequested(() => active.cts.cancel());
          return this.host.client.sendRequest(PatchRunRequest.type, { runId, experiment: exp }, active.cts.token);
        },
      );
      if (this.active !== active) return undefined;
      const run = fromWire(wire);
      this.current = run;
      await this.panel.post({ type: "introspect/patchRun", run: runToWebview(run) });
      this.last.save(run);
      return run;
    } catch (e) {
      if (this.active !== active) return undefined;
      if (active.cts.token.isCancellationRequested || isCancellation(e)) {
        const cur = this.current?.header.runId === runId ? this.current : undefined;
        if (cur) {
          cur.status = { kind: "cancelled" };
          this.last.save(cur);
        }
        await this.panel.post({ type: "introspect/patchStatus", runId, status: { kind: "cancelled" } });
        void vscode.window.showInformationMessage(
          cur ? `Introspect: patching cancelled after ${cur.done} of ${cur.header.total} cells.` : "Introspect: patching cancelled.",
        );
        return cur;
      }
      return this.fail(runId, messageOf(e));
    } finally {
      if (this.active === active) this.active = undefined;
      active.cts.dispose();
    }
  }

  /** Stops the running sweep (the host stops within one batch). */
  cancel(): void {
    this.active?.cts.cancel();
  }

  private onProgress(n: { runId: number; header?: Wire<PatchHeader>; progress?: Wire<PatchProgressData> }): void {
    const active = this.active;
    if (!active || n.runId !== active.runId) return;
    if (n.header) {
      const header = fromWire(n.header);
      const cells = header.layers.length * header.positions.length;
      const grids: PatchRun["grids"] = {};
      for (const s of header.runSites) {
        const blank = () => new Float32Array(cells).fill(NaN);
        grids[s] = { normalised: blank(), logitDiff: blank(), pCorrect: blank() };
      }
      this.current = { header, grids, done: 0, status: { kind: "running" } };
      void this.panel.post({ type: "introspect/patchRun", run: runToWebview(this.current) });
      active.progress?.report({ message: `0 / ${header.total} cells` });
      return;
    }
    const run = this.current;
    if (!n.progress || !run || run.header.runId !== n.runId) return;
    const p = fromWire(n.progress);
    for (const [k, g] of Object.entries(p.grids) as [PatchSiteKind, PatchGrid][]) run.grids[k] = g;
    run.done = p.done;
    const rows = run.header.layers.length;
    const cols = run.header.positions.length;
    void this.panel.post({
      type: "introspect/patchProgress",
      runId: n.runId,
      done: p.done,
      total: p.total,
      grids: gridsToWebview(p.grids, rows, cols),
    });
    const pct = (100 * p.done) / Math.max(1, p.total);
    active.progress?.report({ message: `${p.done} / ${p.total} cells`, increment: pct - active.reported });
    active.reported = pct;
  }

  private onMessage(msg: FromWebview): void {
    if (msg.type === "introspect/patchCancel") {
      if (this.active?.runId === msg.runId) this.cancel();
    } else if (msg.type === "introspect/patchRerun") {
      void this.start(msg.experiment);
    } else if (msg.type === "introspect/failureAction") {
      void runFailureAction(msg.action);
    }
  }

  private async fail(runId: number, message: string): Promise<undefined> {
    if (this.current?.header.runId === runId) this.current.status = { kind: "failed", message };
    await this.panel.post({ type: "introspect/patchStatus", runId, status: { kind: "failed", message } });
    showFailure(undefined, message);
    return undefined;
  }

  dispose(): void {
    this.active?.cts.cancel();
    this.disposables.forEach((d) => d.dispose());
  }
}
