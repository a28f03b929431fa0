// Host messages of activation patching. Data types: src/protocol/patchData.ts; grids cross as toWire (src/protocol/wire.ts).
// Declared once, re-exported by src/protocol/lsp.ts; each message says who sends it and why.
import { NotificationType, RequestType } from "vscode-languageserver-protocol";
import type {
  PatchCellParams,
  PatchCellResult,
  PatchExperiment,
  PatchHeader,
  PatchPreview,
  PatchProgressData,
  PatchRun,
} from "./patchData";
import type { Wire } from "./wireType";

/** Client -> host request: tokenise both prompts, find the default answers (top-1 of each run) and the patchable sites. */
export namespace PatchPrepareRequest {
  export const method = "introspect/patchPrepare" as const;
  export const type = new RequestType<PatchExperiment, PatchPreview, void>(method);
}

/**
 * Client -> host request: run the layer x position sweep; answers toWire(PatchRun) when done.
 * Cells stream as PatchProgressNotification with the same runId; cancelling stops within one batch.
 */
export namespace PatchRunRequest {
  export const method = "introspect/patchRun" as const;
  export const type = new RequestType<{ runId: number; experiment: PatchExperiment }, Wire<PatchRun>, void>(method);
}

/** Host -> client notification: run `runId` started (toWire(PatchHeader)) or finished more cells (toWire(PatchProgressData)). */
export namespace PatchProgressNotification {
  export const method = "introspect/patchProgress" as const;
  export const type = new NotificationType<{ runId: number; header?: Wire<PatchHeader>; progress?: Wire<PatchProgressData> }>(method);
}

/** Client -> host request: the top next tokens of the corrupted run with one cell patched (a click in the heatmap). */
export namespace PatchCellRequest {
  export const method = "introspect/patchCell" as const;
  export const type = new RequestType<PatchCellParams, PatchCellResult, void>(method);
}
