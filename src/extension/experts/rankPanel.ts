// The expert ranking panel: "Rank experts" on a prompt file's contrast block ranks every (layer,
// expert) by how much more the block's + prompts are routed to it than its - prompts (the host's
// introspect/experts/rank), with progress and cancel; the panel (webview/experts) draws the
// heatmap and the list, and its "Switch off top n" asks for the metric effect on both prompt sets.
// The last ranking is kept so a reloaded window draws it again.
import * as vscode from "vscode";
import { commandRegistrar } from "../commands";
import { ExpertEffectRequest, ExpertRankProgress, ExpertRankRequest, type ExpertRankResult } from "../../protocol/expertRanking";
import type { BlockRef } from "../../protocol/promptFile";
import { PromptFileCommands } from "../../protocol/promptFile";
import { fromWire } from "../../protocol/wire";
import { ensureModelFor } from "../fileModel";
import type { HostClient } from "../hostClient";
import { LastResult, messageOf, ReusedPanel, saveExport } from "../panels/panelSupport";

const VIEW_TYPE = "introspect.experts";
const TITLE = "Introspect: Experts";

interface Shown {
  result: ExpertRankResult;
  uri: string;
}

export function registerExpertRanking(context: vscode.ExtensionContext, host: HostClient): void {
  const last = new LastResult<Shown>(context, "last-expert-ranking.json");
  let shown: Shown | undefined;
  /** Reports prompts done to the progress notification of the run in flight. */
  let onProgress: ((done: number, total: number) => void) | undefined;
  const panel = new ReusedPanel(
    context.extensionUri,
    {
      viewType: VIEW_TYPE,
      title: TITLE,
      app: "experts",
      handlers: {
        "introspect/export": saveExport,
        "introspect/expertEffect": async (p) => {
          const s = shown ?? last.read();
          if (!s) throw new Error("Rank the experts of a contrast block first.");
          const source = (await vscode.workspace.openTextDocument(vscode.Uri.parse(s.uri))).getText();
          return withProgress(`switching ${p.experts.length} expert${p.experts.length === 1 ? "" : "s"} off`, (token) =>
            host.client.sendRequest(
              ExpertEffectRequest.type,
              { source, block: s.result.block, experts: p.experts, metric: p.metric },
              token,
            ),
          );
        },
      },
    },
    () => {
      const s = shown ?? last.read();
      return s && { type: "introspect/expertRank", result: s.result };
    },
  );
  context.subscriptions.push(
    panel,
    host.client.onNotification(ExpertRankProgress.type, (n) => onProgress?.(n.done, n.total)),
  );

  async function withProgress<T>(what: string, run: (token: vscode.CancellationToken) => Promise<T>): Promise<T> {
    return vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Introspect: ${what}`, cancellable: true },
      async (progress, token) => {
        let reported = 0;
        onProgress = (done, total) => {
          const pct = (100 * done) / Math.max(1, total);
          progress.report({ message: `${done} of ${total} prompts`, increment: pct - reported });
          reported = pct;
          void panel.post({
            type: "introspect/expertRankStatus",
            status: { kind: "running", message: `${what}: ${done} of ${total} prompts…` },
          });
        };
        try {
          return await run(token);
        } finally {
          onProgress = undefined;
        }
      },
    );
  }

  const reg = commandRegistrar(context, (e) => {
    const msg = messageOf(e, "Cancelled.");
    void panel.post({ type: "introspect/expertRankStatus", status: { kind: "failed", message: msg } });
    return /^Cancelled\.?$/.test(msg) ? undefined : msg;
  });
  reg(PromptFileCommands.rankExperts, async (raw: unknown) => {
    const args = raw as BlockRef | undefined;
    if (!args?.uri || !args.blockName)
      throw new Error("This command ranks the experts of a contrast block: use the “Rank experts” lens in a .introspect file.");
    if (!host.isRunning) throw new Error('The model host is not running: run "Introspect: Restart Model Host".');
    const open = panel.open();
    void open.post({
      type: "introspect/expertRankStatus",
      status: { kind: "running", message: `Ranking the experts of “${args.blockName}”…` },
    });
    await ensureModelFor(context, host, args.uri);
    const source = (await vscode.workspace.openTextDocument(vscode.Uri.parse(args.uri))).getText();
    const wire = await withProgress(`ranking the experts of “${args.blockName}”`, (token) =>
      host.client.sendRequest(ExpertRankRequest.type, { source, block: args.blockName }, token),
    );
    shown = { result: fromWire(wire), uri: args.uri };
    last.save(shown);
    await open.post({ type: "introspect/expertRank", result: shown.result });
  });
}
