// "Sweep vector": one vector over strengths x layers, each cell scored and continued a few tokens;
// the layers and the score are asked for in the palette, the grid is drawn in the steering panel.
import * as vscode from "vscode";
import { SteerSweepRequest, type SteerSweepParams } from "../../protocol/lsp";
import type { SteerKit } from "./kit";

export async function sweepCommand(kit: SteerKit, id?: unknown): Promise<void> {
  const { host, view } = kit;
  await kit.needVectors();
  const e = await kit.pickVector("Sweep which vector?", typeof id === "string" ? id : undefined);
  if (!e) return;
  if (!view.currentPrompt.trim()) throw new Error("Type a prompt in the steering panel first: the sweep continues it.");
  const { range } = view.settings();
  const n = host.state.kind === "ready" ? host.state.info.numLayers : 1;
  const own = Number(/^blocks\.(\d+)\./.exec(e.info.site)?.[1] ?? 0);
  const layers = await askLayers(own, n);
  if (!layers) return;
  const score = await askScore();
  if (!score) return;
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
}

/** The layers to move the vector to (default: its own and the two beside it); undefined when dismissed. */
async function askLayers(own: number, n: number): Promise<number[] | undefined> {
  const layersText = await vscode.window.showInputBox({
    title: "Sweep: layers",
    value: [own - 1, own, own + 1].filter((l) => l >= 0 && l < n).join(" "),
    prompt: `Layers to move the vector to (0-${n - 1}), separated by spaces`,
  });
  if (layersText === undefined) return undefined;
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
  return layers;
}

/** The score of each cell: KL, or the probability of words the user types; undefined when dismissed. */
async function askScore(): Promise<SteerSweepParams["score"] | undefined> {
  const scorePick = await vscode.window.showQuickPick(
    [
      { label: "Probability of words…", score: "words" as const },
      { label: "KL(steered || unsteered)", score: "kl" as const },
    ],
    { title: "Sweep: score of each cell (on the first generated token)" },
  );
  if (!scorePick) return undefined;
  if (scorePick.score === "kl") return { kind: "kl" };
  const words = await vscode.window.showInputBox({
    title: "Sweep: words whose probability is the score",
    value: "good great wonderful lovely excellent",
  });
  if (!words?.trim()) return undefined;
  return { kind: "words", words: words.split(/[\s,]+/).filter(Boolean) };
}
