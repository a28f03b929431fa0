// introspect/listModels: the model folders the picker offers (bundled, workspace, Hugging Face hub
// cache), each with its facts, from config.json and file stats only (engine/model/candidates.ts).
import { describeModelFolder, listCandidateModels, type CandidateModel } from "../../engine";
import { ListModelsRequest } from "../../protocol/lsp";
import type { HostContext } from "../context";

export function register(ctx: HostContext): void {
  ctx.connection.onRequest(ListModelsRequest.type, async (params): Promise<CandidateModel[]> => {
    if (params.folders)
      return params.folders.map(
        (f) => describeModelFolder(f, "workspace") ?? { source: "workspace", name: f, path: f, variants: [], bytes: 0 },
      );
    return listCandidateModels({ demoRoots: params.demoRoots, workspaceFolders: params.workspaceFolders });
  });
}
