// What the status-bar item says; pure (no vscode import) so unit tests can check every state.
import * as path from "path";
import type { ModelState } from "../protocol/lsp";
import type { HostPhase } from "./hostClient";

/** Pure so it can be unit-tested: what the item says for a phase and state. */
export function describe(phase: HostPhase, state: ModelState, restarts: number): { text: string; tooltip: string; error: boolean } {
  const restarted = restarts > 0 ? ` (host restarted${restarts > 1 ? ` ${restarts}×` : ""})` : "";
  switch (phase.kind) {
    case "starting":
      return { text: "$(loading~spin) Introspect: starting", tooltip: "Starting the model host", error: false };
    case "restarting":
      return {
        text: "$(sync~spin) Introspect: restarting host",
        tooltip: "The model host stopped unexpectedly; restarting it",
        error: false,
      };
    case "stopped":
      return { text: "$(error) Introspect: host stopped", tooltip: `${phase.reason}\nClick to restart.`, error: true };
    case "running":
      break;
  }
  switch (state.kind) {
    case "none":
      return {
        text: `$(circle-slash) Introspect: no model${restarted}`,
        tooltip: "No model configured: set introspect.model",
        error: false,
      };
    case "loading":
      return {
        text: `$(loading~spin) Introspect: loading ${path.basename(state.path)}${restarted}`,
        tooltip: `Loading ${state.path}`,
        error: false,
      };
    case "ready":
      return {
        // The model's id: its folder's name, or org/name for a hub snapshot, with the variant when not fp32.
        text: `$(pulse) Introspect: ${state.info.id}${restarted}`,
        tooltip: `${state.info.id} (${state.info.architecture}, ${state.info.numLayers} layers)\nClick to select a model.`,
        error: false,
      };
    case "failed":
      return { text: `$(error) Introspect: model failed${restarted}`, tooltip: state.reason, error: true };
  }
}
