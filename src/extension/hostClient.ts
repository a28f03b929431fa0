// Starts the model host (dist/server.js) as a child process over IPC and keeps it alive:
// a crash restarts it and tells the user; repeated crashes stop the retries with a reason.
import * as vscode from "vscode";
import {
  CloseAction,
  ErrorAction,
  LanguageClient,
  State,
  TransportKind,
  type CloseHandlerResult,
  type ErrorHandler,
  type ErrorHandlerResult,
  type ForkOptions,
  type LanguageClientOptions,
  type ServerOptions,
} from "vscode-languageclient/node";
import { withMallocTuning } from "../launch/mallocTuning";
import { withoutOrtTelemetry } from "../launch/ortTelemetry";
import { ConfigureRequest, StatusNotification, type ConfigureParams, type ModelState } from "../protocol/lsp";
import { BINARY_WIRE_ARG } from "../protocol/wire";
import { modelSettings, untrustedModelSettings } from "./settings";
import { showFailure, UserFacingError } from "./userErrors";

/** Host life as the status bar shows it, on top of the model state the host reports. */
export type HostPhase =
  { kind: "starting" } | { kind: "running" } | { kind: "restarting"; crashes: number } | { kind: "stopped"; reason: string };

const MAX_CRASHES = 4;
const CRASH_WINDOW_MS = 3 * 60 * 1000;

export class HostClient implements vscode.Disposable {
  readonly client: LanguageClient;
  private readonly crashTimes: number[] = [];
  /** Crashes since the last manual restart, shown in the status bar. */
  restarts = 0;
  private stoppingOnPurpose = false;
  private readonly phaseEmitter = new vscode.EventEmitter<HostPhase>();
  private readonly stateEmitter = new vscode.EventEmitter<ModelState>();
  readonly onDidChangePhase = this.phaseEmitter.event;
  readonly onDidChangeModelState = this.stateEmitter.event;
  private modelState: ModelState = { kind: "none" };
  /** The last "not used in an untrusted workspace" sentence shown. */
  private toldIgnored: string | undefined;
  private readonly disposables: vscode.Disposable[] = [this.phaseEmitter, this.stateEmitter];

  constructor(
    private readonly context: vscode.ExtensionContext,
    output: vscode.LogOutputChannel,
  ) {
    const module = context.asAbsolutePath("dist/server.js");
    // glibc malloc settings that keep the host's freed memory for the next forward pass: each pass's
    // outputs are copied into fresh buffers, and on some machines faulting those in costs more than
    // the extra outputs themselves (src/launch/mallocTuning.ts, BENCHMARKS.md "Capture").
    // And onnxruntime's telemetry off (the host also sets it itself: src/launch/ortTelemetry.ts).
    // Edited graphs go to the extension's global storage, never beside the user's model (editCache.ts).
    const env = {
      ...withoutOrtTelemetry(withMallocTuning(process.env)),
      INTROSPECT_CACHE_DIR: vscode.Uri.joinPath(context.globalStorageUri, "cache").fsPath,
    };
    // Node's IPC channel with V8 serialisation: the host's results cross with their typed arrays as
    // raw bytes, not base64 in JSON (src/protocol/wire.ts; about 3.5x faster through the pipe,
    // BENCHMARKS.md "Transfer"). The client spreads these options into child_process.fork, whose
    // `serialization` its ForkOptions type does not name. INTROSPECT_HOST_WIRE=text (benchmarks'
    // before/after only) keeps the JSON channel.
    const binary = process.env.INTROSPECT_HOST_WIRE !== "text";
    const serialization = binary ? "advanced" : "json";
    const args = binary ? [BINARY_WIRE_ARG] : [];
    const run: ForkOptions & { serialization: string } = { env, serialization };
    const debug: ForkOptions & { serialization: string } = { env, serialization, execArgv: ["--nolazy", "--inspect=6009"] };
    const serverOptions: ServerOptions = {
      run: { module, args, transport: TransportKind.ipc, options: run },
      debug: { module, args, transport: TransportKind.ipc, options: debug },
    };
    const clientOptions: LanguageClientOptions = {
      // Prompt-file languages are whatever this extension contributes; the host serves those documents.
      documentSelector: contributedLanguages(context).map((language) => ({ language })),
      outputChannel: output,
      errorHandler: this.errorHandler(),
      // The restart is announced by the error handler; the client's own popup would repeat it.
      revealOutputChannelOn: 4 /* RevealOutputChannelOn.Never */,
    };
    this.client = new LanguageClient("introspect", "Introspect Model Host", serverOptions, clientOptions);
    this.client.onNotification(StatusNotification.type, (s) => {
      this.modelState = s;
      this.stateEmitter.fire(s);
    });
    this.disposables.push(
      this.client.onDidChangeState((e) => {
        if (e.newState === State.Running) {
          this.setRunningContext(true);
          this.phaseEmitter.fire({ kind: "running" });
          void this.configure();
        } else if (e.newState === State.Stopped) {
          this.setRunningContext(false);
        }
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (
          e.affectsConfiguration("introspect.model") ||
          e.affectsConfiguration("introspect.variant") ||
          e.affectsConfiguration("introspect.executionProvider")
        ) {
          // A changed setting is the user's latest word on the model.
          this.fileModel = undefined;
          void this.configure();
        }
      }),
      // Settings an untrusted workspace could not use count once it is trusted (modelChoice.ts).
      vscode.workspace.onDidGrantWorkspaceTrust(() => void this.configure()),
    );
  }

  get state(): ModelState {
    return this.modelState;
  }

  get isRunning(): boolean {
    return this.client.state === State.Running;
  }

  async start(): Promise<void> {
    this.phaseEmitter.fire({ kind: "starting" });
    await this.client.start();
  }

  /** Manual restart: resets the crash budget. */
  async restart(): Promise<void> {
    this.crashTimes.length = 0;
    this.restarts = 0;
    this.stoppingOnPurpose = true;
    try {
      if (this.client.state !== State.Stopped) await this.client.stop();
    } finally {
      this.stoppingOnPurpose = false;
    }
    await this.start();
  }

  /**
   * The model a prompt file's `model` line asked for (fileModel.ts), used instead of the settings'
   * one until a command runs on a file without one or the settings change.
   */
  private fileModel: ConfigureParams | undefined;
  /** What the last configure sent. */
  private configured: ConfigureParams | undefined;

  /** The model the next configure loads: a prompt file's choice, else the settings'. */
  async wantedModel(): Promise<ConfigureParams> {
    if (this.fileModel) return this.fileModel;
    const { ignored: _ignored, ...params } = modelSettings(this.context, await untrustedModelSettings());
    return params;
  }

  /**
   * Loads `model` (undefined: the settings' model) unless the host already has it; resolves once it
   * is loaded or failed, with whether the host switched.
   */
  async useModel(model: ConfigureParams | undefined): Promise<boolean> {
    const before = this.configured;
    this.fileModel = model;
    const want = await this.wantedModel();
    if (before && before.modelPath === want.modelPath && before.variant === want.variant && this.modelState.kind !== "failed") return false;
    await this.configure(false);
    return true;
  }

  /** Sends the current settings; the host answers once the model is loaded (or failed). */
  async configure(notifyFailure = true): Promise<ModelState | undefined> {
    if (!this.isRunning) return undefined;
    const { ignored, ...fromSettings } = modelSettings(this.context, await untrustedModelSettings());
    const params = this.fileModel ?? fromSettings;
    this.configured = params;
    if (ignored && ignored !== this.toldIgnored) {
      // Once per setting: every host restart configures again.
      this.toldIgnored = ignored;
      void vscode.window.showWarningMessage(`Introspect: ${ignored}`, "Manage Workspace Trust").then((pick) => {
        if (pick) void vscode.commands.executeCommand("workbench.trust.manage");
      });
    }
    const config = vscode.workspace.getConfiguration("introspect");
    const executionProvider = config.get<string>("executionProvider") || undefined;
    const cacheMaxBytes = config.get<number>("cache.maxBytes");
    const state = await this.client.sendRequest(ConfigureRequest.type, {
      ...params,
      ...(executionProvider ? { executionProvider } : {}),
      ...(cacheMaxBytes ? { cacheMaxBytes } : {}),
    });
    // The reason where the user looks, not only in the status bar's tooltip; once per model and reason.
    if (state.kind === "failed" && notifyFailure && this.toldFailure !== `${state.path}\n${state.reason}`) {
      this.toldFailure = `${state.path}\n${state.reason}`;
      showFailure(new UserFacingError(`The model could not be loaded: ${state.reason}`, ["selectModel", "openSettings", "showLog"]));
    }
    return state;
  }
  private toldFailure: string | undefined;

  private errorHandler(): ErrorHandler {
    return {
      // A broken message is not a reason to kill the host; the close handler deals with real exits.
      error: (): ErrorHandlerResult => ({ action: ErrorAction.Continue, handled: true }),
      closed: (): CloseHandlerResult => {
        this.setRunningContext(false);
        if (this.stoppingOnPurpose) return { action: CloseAction.DoNotRestart, handled: true };
        const now = Date.now();
        this.crashTimes.push(now);
        while (this.crashTimes.length && now - this.crashTimes[0] > CRASH_WINDOW_MS) this.crashTimes.shift();
        if (this.crashTimes.length > MAX_CRASHES) {
          const reason = `The model host stopped ${this.crashTimes.length} times in ${CRASH_WINDOW_MS / 60000} minutes, so Introspect stopped restarting it. See the "Introspect Model Host" output, then run "Introspect: Restart Model Host".`;
          this.phaseEmitter.fire({ kind: "stopped", reason });
          void vscode.window.showErrorMessage(reason, "Restart Model Host", "Show Output").then((pick) => {
            if (pick === "Restart Model Host") void vscode.commands.executeCommand("introspect.restartHost");
            if (pick === "Show Output") this.client.outputChannel.show();
          });
          return { action: CloseAction.DoNotRestart, handled: true };
        }
        this.restarts++;
        this.phaseEmitter.fire({ kind: "restarting", crashes: this.restarts });
        void vscode.window.showWarningMessage("Introspect's model host stopped unexpectedly and was restarted.");
        return { action: CloseAction.Restart, handled: true };
      },
    };
  }

  private setRunningContext(running: boolean): void {
    void vscode.commands.executeCommand("setContext", "introspect.hostRunning", running);
  }

  dispose(): void {
    this.stoppingOnPurpose = true;
    void this.client.stop().catch(() => undefined);
    for (const d of this.disposables) d.dispose();
  }
}

function contributedLanguages(context: vscode.ExtensionContext): string[] {
  const pkg = context.extension.packageJSON as { contributes?: { languages?: { id: string }[] } };
  return (pkg.contributes?.languages ?? []).map((l) => l.id);
}
