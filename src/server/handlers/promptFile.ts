// Prompt-file questions from the extension (src/protocol/promptQueries.ts): the extension does not
// parse prompt files, the host does (src/server/language/promptQueries.ts).
import { PromptBlocksRequest, PromptTargetRequest } from "../../protocol/promptQueries";
import type { HostContext } from "../context";
import { promptBlocks, promptTarget } from "../language/promptQueries";

export function register(ctx: HostContext): void {
  ctx.connection.onRequest(PromptTargetRequest.type, (params) => promptTarget(params));
  ctx.connection.onRequest(PromptBlocksRequest.type, (params) => promptBlocks(params));
}
