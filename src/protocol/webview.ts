// Messages between the extension (src/extension) and its webview panels (webview/<app>).
// Two discriminated unions, one per direction, plus a small request/response helper that
// both sides use. Browser-safe: imports types only, never `vscode` or Node modules.
// Large tensors travel as ArrayBuffer (postMessage structured-clones them; no JSON arrays).
import type { ExpertIntervention } from "../engine/shapes";
import type { FidelityResult, ModelInfoResult, SparsityParams, SparsityResult } from "./lsp";

export type { WebviewTensor } from "./webviewTensor";
import type {
  FeatureCardResult,
  FeatureClampParams,
  FeatureClampResult,
  FeatureListResult,
  FeatureReadParams,
  FeatureReadResult,
  FeatureScanResult,
} from "./featureData";
import type {
  AttentionData,
  AttentionRequest,
  ExportRequest,
  LensChunk,
  NeuronData,
  NeuronRequest,
  ProbeResult,
  TintRequest,
} from "./probeData";
import type { SteerAction, SteerGenStatus, SteerLiveInput, SteerPanelState, SteerStep, SteerSweepResult } from "./steerData";
import type { CompareFromWebview, CompareToWebview } from "./compareModels";
import type { PatchCellResult, PatchExperiment, PatchSiteKind, PatchStatus, WebviewGrid, WebviewPatchRun } from "./patchData";

/** Requests a webview may send to the extension, by method: params and result types. */
export interface WebviewRequests {
  /** Webview -> extension: fetch the model host's runtime and model description. */
  "introspect/modelInfo": { params: Record<string, never>; result: ModelInfoResult };
  /** Info panel -> extension: the loaded variant's fidelity badge against the folder's fp32 model. */
  "introspect/fidelity": { params: Record<string, never>; result: FidelityResult };
  /** Probe panel -> extension: MLP activation sparsity per layer over the probed tokens. */
  "introspect/sparsity": { params: SparsityParams; result: SparsityResult };
  /** Probe panel -> extension: rank the MLP neurons of another layer of the current probe. */
  "introspect/probeNeurons": { params: NeuronRequest; result: NeuronData };
  /** Probe panel -> extension: the logit lens of selected-token columns [start, end) of the current probe. */
  "introspect/probeLens": { params: { start: number; end: number }; result: LensChunk };
  /** Probe panel -> extension: the attention pattern of another layer/head of the current probe. */
  "introspect/probeAttention": { params: AttentionRequest; result: AttentionData };
  /** Any panel -> extension: save exported PNG/CSV/JSON through a save dialog; resolves with the path, or "" if cancelled. */
  "introspect/export": { params: ExportRequest; result: { path: string } };
  /** Patching panel -> extension: top next tokens of the shown run's corrupted prompt with one cell patched. */
  "introspect/patchCell": { params: { site: PatchSiteKind; layer: number; position: number }; result: PatchCellResult };
  /** Patching panel -> extension: the shown run's layer x head grid, each head's attn.hook_z patched from clean. */
  "introspect/patchHeads": { params: Record<string, never>; result: import("./headPatch").HeadPatchData };
  /** Probe panel -> extension: act on an expert from the expert view (listed in the steering panel). */
  "introspect/expertIntervene": { params: { intervention: ExpertIntervention }; result: { label: string } };
  /** Expert ranking panel -> extension: the metric effect of switching the top-n experts off (src/protocol/expertRanking.ts). */
  "introspect/expertEffect": import("./expertRanking").ExpertEffectWebviewRequest;
  /** Probe panel -> extension: feature dictionaries beside the loaded model. */
  "introspect/featureList": { params: Record<string, never>; result: FeatureListResult };
  /** Probe panel -> extension: pick a dictionary folder or file with the open dialog; "" if cancelled. */
  "introspect/featureChoose": { params: Record<string, never>; result: { path: string } };
  /** Probe panel -> extension: a dictionary's reading of the probed tokens. */
  "introspect/featureRead": { params: FeatureReadParams; result: FeatureReadResult };
  /** Probe panel -> extension: a feature's card (the extension adds its cache folder and the corpus). */
  "introspect/featureCard": { params: { path: string; feature: number }; result: FeatureCardResult };
  /** Probe panel -> extension: choose a corpus (dialog) and scan it in the background; null if none chosen. */
  "introspect/featureScan": { params: { path: string; choose: boolean }; result: FeatureScanResult | null };
  /** Probe panel -> extension: the feature's decoder direction as a vector in the steering panel. */
  "introspect/featureAddToSteering": {
    params: { path: string; feature: number; fallbackTypical: number };
    result: { name: string; typical: number; typicalSource: string };
  };
  /** Probe panel -> extension: continuation of the probed text with the feature clamped, and without. */
  "introspect/featureClamp": { params: FeatureClampParams; result: FeatureClampResult };
}

export type RequestMethod = keyof WebviewRequests;

/** A pinned probe and what it was of: a prompt block ("demo.introspect · clean") or a selection. */
export interface ProbePin {
  key: string;
  label: string;
  result: ProbeResult;
}

/** Extension -> webview. */
export type ToWebview =
  /** Extension -> info panel: what the model host said about itself and the model. */
  | { type: "introspect/showModelInfo"; info: ModelInfoResult; selection?: SelectionEcho }
  /** Extension -> any panel: the host's model state changed (same payload as introspect/status). */
  | { type: "introspect/state"; state: ModelInfoResult["state"] }
  /** Extension -> probe panel: a probe finished; the panel draws it (also re-sent after a reload). */
  | {
      type: "introspect/probeResult";
      result: ProbeResult;
      pinned?: ProbeResult;
      /** Every pin (the first is `pinned`), each labelled by its prompt block or selection; and the blocks with a saved result. */
      pins?: ProbePin[];
      blocks?: { key: string; label: string; current: boolean }[];
    }
  /** Extension -> probe panel: a probe started (message) or failed (error sentence). */
  | {
      type: "introspect/probeStatus";
      status: { kind: "running"; message: string } | { kind: "failed"; message: string; actions?: FailureAction[] };
    }
  /** Extension -> patching panel: a whole run (a new sweep's header, a finished run, or the saved run after a reload). */
  | { type: "introspect/patchRun"; run: WebviewPatchRun }
  /** Extension -> patching panel: more cells of run `runId` finished; grids of the sites that changed, NaN where pending. */
  | { type: "introspect/patchProgress"; runId: number; done: number; total: number; grids: Partial<Record<PatchSiteKind, WebviewGrid>> }
  /** Extension -> patching panel: run `runId` ended (done, cancelled, failed), or a run is being prepared (runId 0). */
  | { type: "introspect/patchStatus"; runId: number; status: PatchStatus | { kind: "preparing"; message: string } }
  /** Extension -> steering view: vectors, sliders, prompt and settings (after any change made outside the page). */
  | { type: "introspect/steerState"; state: SteerPanelState }
  /** Extension -> steering view: one paired step of generation `genId` (stale ids are ignored). */
  | { type: "introspect/steerStep"; genId: number; step: SteerStep }
  /** Extension -> steering view: generation `genId` started, ended, was cancelled or failed. */
  | { type: "introspect/steerGen"; genId: number; status: SteerGenStatus }
  /** Extension -> steering view: a sweep's grid of scores and continuations (null clears it). */
  | { type: "introspect/steerSweep"; sweep: SteerSweepResult | null }
  /** Extension -> expert ranking panel: a ranking or its status (src/protocol/expertRanking.ts). */
  | import("./expertRanking").ExpertRankMessage
  /** Extension -> probe panel: a comparison with a second model ("Compare with…", src/protocol/compareModels.ts). */
  | CompareToWebview
  /** Extension -> webview: the answer to a FromWebview request. */
  | ResponseMessage;

/** Webview -> extension. */
export type FromWebview =
  /** Webview -> extension: the page has loaded its script and can receive messages. */
  | { type: "introspect/ready" }
  /** Probe panel -> extension: tint the probed tokens in the editor with one value per token (null clears). */
  | { type: "introspect/tint"; tint: TintRequest | null }
  /** Probe panel -> extension: a result was drawn (first frame after it); the extension times probes with it. */
  | { type: "introspect/rendered"; probeId?: string; renderMs: number }
  /** Patching panel -> extension: stop the running sweep (it stops within one batch). */
  | { type: "introspect/patchCancel"; runId: number }
  /** Patching panel -> extension: run again with changed options (prompts, answers, sites, positions). */
  | { type: "introspect/patchRerun"; experiment: PatchExperiment }
  /** Steering view -> extension: a slider, toggle, prompt or sampling change; restarts the steered run (latest wins). */
  | { type: "introspect/steerInput"; input: SteerLiveInput }
  /** Steering view -> extension: a button (save, negate, sweep, load, export GGUF, ...). */
  | { type: "introspect/steerAction"; action: SteerAction }
  /** Probe panel -> extension: pin the result shown (kept for comparison, across reloads), or unpin. */
  | { type: "introspect/pin"; pin: boolean; probeId?: string }
  /** Probe panel -> extension: show the saved result of another prompt block (ProbePin.key). */
  | { type: "introspect/showBlock"; key: string }
  /** Any panel -> extension: a button under a failure sentence (Select Model, Open Settings, Show Log, Restart Model Host). */
  | { type: "introspect/failureAction"; action: FailureAction }
  /** Probe panel -> extension: "Compare with…" on the shown probe, or close its comparison. */
  | CompareFromWebview
  /** Webview -> extension: a typed request; answered with a ResponseMessage. */
  | RequestMessage;

/** What a failure offers to do about it (src/extension/failureActions.ts picks them from the sentence). */
export type FailureAction = "selectModel" | "openSettings" | "showLog" | "restartHost";

/** Text the user selected when they ran "Probe Selection", echoed by the info panel until probing lands. */
export interface SelectionEcho {
  text: string;
  uri: string;
  start: number;
  end: number;
}

export interface RequestMessage<M extends RequestMethod = RequestMethod> {
  type: "request";
  id: number;
  method: M;
  params: WebviewRequests[M]["params"];
}

export type ResponseMessage =
  { type: "response"; id: number; ok: true; result: unknown } | { type: "response"; id: number; ok: false; error: string };

/**
 * Sender side of the request helper: `request()` posts a RequestMessage and resolves when the
 * matching ResponseMessage is passed to `handleResponse()`. Used by webviews (and any worker).
 */
export class RequestClient {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor(private readonly post: (msg: RequestMessage) => void) {}

  request<M extends RequestMethod>(method: M, params: WebviewRequests[M]["params"]): Promise<WebviewRequests[M]["result"]> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.post({ type: "request", id, method, params } as RequestMessage);
    });
  }

  /** Returns true when `msg` was a response this client was waiting for. */
  handleResponse(msg: unknown): boolean {
    if (!isResponse(msg)) return false;
    const waiter = this.pending.get(msg.id);
    if (!waiter) return false;
    this.pending.delete(msg.id);
    if (msg.ok) waiter.resolve(msg.result);
    else waiter.reject(new Error(msg.error));
    return true;
  }
}

export type RequestHandlers = {
  [M in RequestMethod]?: (params: WebviewRequests[M]["params"]) => Promise<WebviewRequests[M]["result"]>;
};

/**
 * Receiver side: answers a RequestMessage with the matching handler and posts the response.
 * Errors become `{ ok: false, error }` with the error's message (a sentence for the user).
 */
export async function answerRequest(msg: RequestMessage, handlers: RequestHandlers, post: (msg: ResponseMessage) => void): Promise<void> {
  const handler = handlers[msg.method] as ((p: unknown) => Promise<unknown>) | undefined;
  if (!handler) {
    post({ type: "response", id: msg.id, ok: false, error: `No handler for ${msg.method}.` });
    return;
  }
  try {
    post({ type: "response", id: msg.id, ok: true, result: await handler(msg.params) });
  } catch (e) {
    post({ type: "response", id: msg.id, ok: false, error: e instanceof Error ? e.message : String(e) });
  }
}

export function isResponse(msg: unknown): msg is ResponseMessage {
  return typeof msg === "object" && msg !== null && (msg as { type?: unknown }).type === "response";
}

export function isRequest(msg: unknown): msg is RequestMessage {
  return typeof msg === "object" && msg !== null && (msg as { type?: unknown }).type === "request";
}
