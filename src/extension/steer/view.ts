// The steering side view (activity bar "Introspect" > "Steering"): a WebviewViewProvider that owns
// the panel's state (vectors with sliders and toggles, the prompt, sampling) and the live paired
// generation: every change restarts it through LatestWins (running one cancelled, not awaited),
// and host step notifications are forwarded to the page when their generation id is current.
// The panel (vectors with their .ivec bytes, strengths, toggles, prompt, sampling) is kept in the
// workspace state, so a window reload brings it back; the restarted host gets the vectors again.
import { ExpertRows } from "./experts";
import type { ExpertIntervention } from "../../engine";
import * as vscode from "vscode";
import { SteerGenerateRequest, SteerLoadRequest, SteerStepNotification, type SteerVectorResult } from "../../protocol/lsp";
import type { SteerLiveInput, SteerPanelState, SteerRow, SteerSettings } from "../../protocol/steerData";
import type { FromWebview, ToWebview } from "../../protocol/webview";
import type { HostClient } from "../hostClient";
import { messageOf } from "../panels/panelSupport";
import { renderHtml } from "../panels/webviewPanel";
import { LatestWins } from "./coalesce";

export const VIEW_ID = "introspect.steer";

interface Entry extends Omit<SteerRow, "file"> {
  /** The vector's .ivec bytes, re-sent to a restarted host. */
  ivec: string;
  /** Its file, when saved. */
  uri?: string;
  /** The host generation it was registered with (0: not yet, e.g. restored after a reload). */
  epoch: number;
  /** The prompt file and contrast block it was built from (for that block's lens). */
  builtFrom?: { uri: string; block: string };
}

const STATE_KEY = "introspect.steer.panel";
/** What is kept across window reloads. */
interface Saved {
  version: 1;
  entries: Omit<Entry, "epoch" | "error">[];
  prompt: string;
  promptSource: string;
  sampling: SteerLiveInput["sampling"];
}

export class SteerView implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: vscode.WebviewView | undefined;
  private ready: Promise<void> = new Promise(() => undefined);
  private readonly entries: Entry[] = [];
  /** Expert interventions beside the vectors (applied to the steered side). */
  readonly experts = new ExpertRows();
  private prompt = "";
  private promptSource = "";
  private sampling: SteerLiveInput["sampling"] = { kind: "greedy" };
  private genId = 0;
  /** Host generation the vectors were registered with; a restarted host gets them again. */
  private hostEpoch = 1;
  private saveTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly live: LatestWins<SteerLiveInput>;
  private readonly disposables: vscode.Disposable[] = [];
  /** Buttons of the page, carried out by the commands module. */
  onAction: (msg: Extract<FromWebview, { type: "introspect/steerAction" }>["action"]) => void = () => undefined;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly host: HostClient,
  ) {
    this.live = new LatestWins((input, token) => this.generate(input, token as vscode.CancellationToken), {
      newSource: () => new vscode.CancellationTokenSource(),
    });
    this.restore();
    this.disposables.push(
      vscode.window.registerWebviewViewProvider(VIEW_ID, this, { webviewOptions: { retainContextWhenHidden: true } }),
      host.client.onNotification(SteerStepNotification.type, (n) => {
        if (n.genId === this.genId) void this.post({ type: "introspect/steerStep", genId: n.genId, step: n.step });
      }),
      host.onDidChangePhase((p) => p.kind === "running" && this.hostEpoch++),
      host.onDidChangeModelState((s) => {
        if (s.kind === "ready") {
          this.hostEpoch++;
          this.restart();
        }
      }),
      vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration("introspect.steer") && this.pushState()),
    );
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    const root = this.context.extensionUri;
    view.webview.options = {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(root, "dist", "webview"), vscode.Uri.joinPath(root, "media")],
    };
    let markReady!: () => void;
    this.ready = new Promise((r) => (markReady = r));
    view.webview.onDidReceiveMessage((msg: FromWebview) => {
      if (msg.type === "introspect/ready") {
        markReady();
        this.pushState();
        this.restart();
      } else if (msg.type === "introspect/steerInput") this.input(msg.input);
      else if (msg.type === "introspect/steerAction") this.onAction(msg.action);
    });
    view.onDidDispose(() => {
      this.view = undefined;
      this.live.stop();
    });
    view.webview.html = renderHtml(view.webview, root, "steer", "Introspect: Steering");
  }

  get rows(): readonly Entry[] {
    return this.entries;
  }

  /** Opens the view (and the activity bar container). */
  async reveal(): Promise<void> {
    await vscode.commands.executeCommand(`${VIEW_ID}.focus`);
  }

  setPrompt(prompt: string, source: string): void {
    this.prompt = prompt;
    this.promptSource = source;
    this.pushState();
    this.restart();
  }

  get currentPrompt(): string {
    return this.prompt;
  }

  /** Adds vectors (or replaces ones of the same name and site) and turns them on at strength 1. */
  add(results: SteerVectorResult[], file?: vscode.Uri, enable = true, builtFrom?: Entry["builtFrom"]): void {
    for (const r of results) {
      const old = this.entries.findIndex((e) => e.info.name === r.vector.name && e.info.site === r.vector.site);
      const entry: Entry = {
        info: r.vector,
        ivec: r.ivec,
        alpha: enable ? 1 : 0,
        enabled: enable,
        epoch: this.hostEpoch,
        ...(file ? { uri: file.toString() } : {}),
        ...(builtFrom ? { builtFrom } : {}),
      };
      if (old >= 0) this.entries.splice(old, 1, entry);
      else this.entries.push(entry);
    }
    this.pushState();
    this.restart();
  }

  /** The host changed a vector in place (same id: new layer weights); strength and toggle stay. */
  replace(r: SteerVectorResult, file?: vscode.Uri): void {
    const e = this.entry(r.vector.id);
    if (!e) return;
    e.info = r.vector;
    e.ivec = r.ivec;
    e.epoch = this.hostEpoch;
    if (file) e.uri = file.toString();
    else delete e.uri;
    this.pushState();
    this.restart();
  }

  remove(id: string): void {
    const i = this.entries.findIndex((e) => e.info.id === id);
    if (i >= 0) this.entries.splice(i, 1);
    this.pushState();
    this.restart();
  }

  entry(id: string): Entry | undefined {
    return this.entries.find((e) => e.info.id === id);
  }

  setFile(id: string, file: vscode.Uri): void {
    const e = this.entry(id);
    if (e) e.uri = file.toString();
    this.pushState();
  }

  /** Enables a vector by id (the "Open in steering panel" lens). */
  enable(id: string): boolean {
    const e = this.entry(id);
    if (!e) return false;
    e.enabled = true;
    if (e.alpha === 0) e.alpha = 1;
    this.pushState();
    this.restart();
    return true;
  }

  settings(): SteerSettings {
    const c = vscode.workspace.getConfiguration("introspect.steer");
    const range = Math.abs(c.get<number>("range") ?? 4) || 4;
    const step = Math.abs(c.get<number>("step") ?? 0.1) || 0.1;
    return { range, step, maxTokens: Math.max(1, Math.min(256, Math.round(c.get<number>("maxTokens") ?? 24))) };
  }

  async postSweep(msg: Extract<ToWebview, { type: "introspect/steerSweep" }>): Promise<void> {
    await this.post(msg);
  }

  private state(): SteerPanelState {
    const m = this.host.state;
    const rows: SteerRow[] = this.entries.map(({ info, alpha, enabled, error, uri }) => ({
      info,
      alpha,
      enabled,
      ...(error ? { error } : {}),
      ...(uri ? { file: vscode.workspace.asRelativePath(vscode.Uri.parse(uri)) } : {}),
    }));
    return {
      rows,
      prompt: this.prompt,
      promptSource: this.promptSource,
      sampling: this.sampling,
      settings: this.settings(),
      ...(m.kind === "ready" ? { model: m.info.id, numLayers: m.info.numLayers } : {}),
      experts: [...this.experts.list],
    };
  }

  /**
   * Saves, then shows, a change made on this side (a vector added, a prompt set): rare, so written
   * at once, and a window reloaded after the page shows it gets it back.
   */
  private pushState(): void {
    void this.persist();
    void this.post({ type: "introspect/steerState", state: this.state() });
  }

  /** Writes the panel to the workspace state soon (coalesced: a slider drag writes once). */
  private persistSoon(): void {
    clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(() => void this.persist(), 250);
  }

  private persist(): Thenable<void> {
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    const saved: Saved = {
      version: 1,
      entries: this.entries.map(({ info, ivec, alpha, enabled, uri, builtFrom }) => ({
        info,
        ivec,
        alpha,
        enabled,
        ...(uri ? { uri } : {}),
        ...(builtFrom ? { builtFrom } : {}),
      })),
      prompt: this.prompt,
      promptSource: this.promptSource,
      sampling: this.sampling,
    };
    return this.context.workspaceState.update(STATE_KEY, saved);
  }

  /** Brings back the panel of the last window (its vectors are registered with the host before the next use). */
  private restore(): void {
    const saved = this.context.workspaceState.get<Saved>(STATE_KEY);
    if (saved?.version !== 1 || !Array.isArray(saved.entries)) return;
    for (const e of saved.entries) {
      if (typeof e?.ivec !== "string" || typeof e.info?.id !== "string") continue;
      this.entries.push({ ...e, alpha: Number(e.alpha) || 0, enabled: e.enabled !== false, epoch: 0 });
    }
    this.prompt = typeof saved.prompt === "string" ? saved.prompt : "";
    this.promptSource = typeof saved.promptSource === "string" ? saved.promptSource : "";
    if (saved.sampling?.kind === "greedy" || saved.sampling?.kind === "sample") this.sampling = saved.sampling;
  }

  private async post(msg: ToWebview): Promise<void> {
    if (!this.view) return;
    await this.ready;
    await this.view?.webview.postMessage(msg);
  }

  /** A change from the page: record it and restart (latest wins). */
  private input(input: SteerLiveInput): void {
    for (const a of input.alphas) {
      const e = this.entry(a.id);
      if (e) {
        e.alpha = a.alpha;
        e.enabled = a.enabled;
      }
    }
    this.experts.apply(input.experts);
    // A prompt the user edits is theirs: the page's "from …" label says so at once.
    const retyped = input.prompt !== this.prompt && this.promptSource !== "typed";
    if (input.prompt !== this.prompt) this.promptSource = "typed";
    this.prompt = input.prompt;
    this.sampling = input.sampling;
    if (retyped) this.pushState();
    else this.persistSoon();
    this.live.change(input);
  }

  /** Restart with the current state (after vectors or the prompt changed outside the page). */
  restart(): void {
    if (!this.view) return;
    this.live.change({
      alphas: this.entries.map((e) => ({ id: e.info.id, alpha: e.alpha, enabled: e.enabled })),
      prompt: this.prompt,
      sampling: this.sampling,
      experts: this.experts.live(),
    });
  }

  /** Adds an expert intervention (from the probe's expert view), shows it and restarts the generation. */
  addExpert(iv: ExpertIntervention): string {
    const label = this.experts.add(iv);
    this.pushState();
    this.restart();
    return label;
  }

  removeExpert(id: string): void {
    if (!this.experts.remove(id)) return;
    this.pushState();
    this.restart();
  }

  private async generate(input: SteerLiveInput, token: vscode.CancellationToken): Promise<void> {
    const genId = ++this.genId;
    if (!input.prompt.trim()) {
      await this.post({
        type: "introspect/steerGen",
        genId,
        status: { kind: "idle", message: "Type a prompt, or select text and run “Introspect: Open Steering Panel”." },
      });
      return;
    }
    if (!this.host.isRunning || this.host.state.kind !== "ready") {
      await this.post({ type: "introspect/steerGen", genId, status: { kind: "idle", message: "Waiting for the model to load…" } });
      return;
    }
    await this.post({ type: "introspect/steerGen", genId, status: { kind: "running" } });
    try {
      await this.ensureRegistered();
      const vectors = input.alphas
        .filter((a) => this.entry(a.id) && !this.entry(a.id)!.error)
        .map((a) => ({ id: a.id, alpha: a.enabled ? a.alpha : 0 }));
      const r = await this.host.client.sendRequest(
        SteerGenerateRequest.type,
        {
          genId,
          prompt: input.prompt,
          vectors,
          maxTokens: this.settings().maxTokens,
          sampling: input.sampling,
          ...(this.experts.active().length ? { experts: this.experts.active() } : {}),
        },
        token,
      );
      if (genId !== this.genId) return;
      await this.post({
        type: "introspect/steerGen",
        genId,
        status: r.stopped === "done" ? { kind: "done", steps: r.steps, firstTokenMs: r.firstTokenMs } : { kind: "cancelled" },
      });
    } catch (e) {
      if (token.isCancellationRequested || genId !== this.genId) return;
      await this.post({
        type: "introspect/steerGen",
        genId,
        status: { kind: "failed", message: messageOf(e) },
      });
    }
  }

  /**
   * After a host restart, a model change or a window reload, the host lacks some of our vectors:
   * send them again (under their ids). A vector that does not fit the model shows why on its row.
   */
  async ensureRegistered(): Promise<void> {
    const epoch = this.hostEpoch;
    let changed = false;
    for (const e of this.entries.filter((x) => x.epoch !== epoch)) {
      e.epoch = epoch;
      try {
        await this.host.client.sendRequest(SteerLoadRequest.type, {
          format: "ivec",
          base64: e.ivec,
          label: e.info.name,
          id: e.info.id,
          ...(e.builtFrom ? { builtFrom: e.builtFrom } : {}),
        });
        changed ||= e.error !== undefined;
        delete e.error;
      } catch (err) {
        e.error = err instanceof Error ? err.message : String(err);
        changed = true;
      }
    }
    if (changed) this.pushState();
  }

  dispose(): void {
    if (this.saveTimer) void this.persist();
    this.live.stop();
    this.disposables.forEach((d) => d.dispose());
  }
}
