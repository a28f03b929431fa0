// Data of the steering side panel (webview/steer) as it crosses between the extension and the
// page. Browser-safe: types only. The LSP side is in lsp.ts (introspect/steer*).
import type { SteerStep, SteerSweepResult, SteerVectorInfo } from "./lsp";
import type { ExpertIntervention } from "../engine/shapes";

export type { SteerStep, SteerSweepResult, SteerVectorInfo };

/** One row of the panel: a vector, its slider value and its toggle. */
export interface SteerRow {
  info: SteerVectorInfo;
  alpha: number;
  enabled: boolean;
  /** Workspace-relative path of its file, when saved. */
  file?: string;
  /** Why the vector cannot be used now (e.g. built on another model), shown on its row. */
  error?: string;
}

export interface SteerSettings {
  /** Sliders go from -range to +range. */
  range: number;
  step: number;
  maxTokens: number;
}

export type SteerSamplingUi = { kind: "greedy" } | { kind: "sample"; seed: number; temperature: number };

/** An expert intervention listed beside the vectors (mixture-of-experts models). */
export interface SteerExpertRow {
  id: string;
  /** `off L4:E3`, `force L1:E2@5`, `bias L2 [...]`. */
  label: string;
  intervention: ExpertIntervention;
  enabled: boolean;
}

/** Everything the panel shows except the streaming steps. */
export interface SteerPanelState {
  rows: SteerRow[];
  prompt: string;
  /** Where the prompt came from ("selection", "sentiment.introspect: neutral", "typed"). */
  promptSource: string;
  sampling: SteerSamplingUi;
  settings: SteerSettings;
  model?: string;
  /** Layers of the loaded model (for the per-layer weight editor). */
  numLayers?: number;
  /** Expert interventions applied to the steered side, in the order added. */
  experts?: SteerExpertRow[];
}

/** Live inputs from the panel: every slider/toggle/prompt change sends the whole set (latest wins). */
export interface SteerLiveInput {
  alphas: { id: string; alpha: number; enabled: boolean }[];
  prompt: string;
  sampling: SteerSamplingUi;
  /** Expert rows' toggles and, for router biases, the slider's scale. */
  experts?: { id: string; enabled: boolean; scale?: number }[];
}

export type SteerGenStatus =
  | { kind: "running" }
  | { kind: "done"; steps: number; firstTokenMs?: number }
  | { kind: "cancelled" }
  | { kind: "failed"; message: string }
  | { kind: "idle"; message: string };

/** Row buttons and panel buttons that the extension carries out. */
export type SteerAction =
  | { kind: "remove" | "save" | "negate" | "sweep"; id: string }
  /** Removes an expert intervention row. */
  | { kind: "removeExpert"; id: string }
  /** Per-layer weights for a vector (null: back to its own site alone). */
  | { kind: "layers"; id: string; weights: { layer: number; weight: number }[] | null }
  | { kind: "load" | "exportGguf" | "combine" | "fromSelections" | "promptFromEditor" };
