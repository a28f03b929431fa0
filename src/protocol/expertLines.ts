// A prompt file's `experts` lines (as the host's prompt-file answers carry them) turned into
// interventions on the loaded model: a layer's bias entries need its expert count, and each line is
// checked against the model (one sentence for the first that does not fit).
import { RequestType } from "vscode-languageserver-protocol";
import type { ExpertIntervention, ExpertLine } from "../engine/shapes";

export type { ExpertIntervention, ExpertLine };

/** Client -> host request: the lines as interventions on the loaded model, checked. */
export namespace ExpertLinesRequest {
  export const method = "introspect/experts/fromLines" as const;
  export const type = new RequestType<{ lines: ExpertLine[] }, ExpertIntervention[], void>(method);
}
