// introspect/experts/fromLines: a prompt file's `experts` lines as interventions on the loaded
// model (the probe and the steering panel apply them), checked against its routers.
import { checkInterventions, interventionsFromFile } from "../../engine";
import { ExpertLinesRequest } from "../../protocol/expertLines";
import type { HostContext } from "../context";
import { userError } from "./errors";

export function register(ctx: HostContext): void {
  ctx.connection.onRequest(ExpertLinesRequest.type, async (p, token) => {
    try {
      const model = await ctx.engine.get("try again");
      const list = interventionsFromFile(p.lines, model.info.numExperts ?? 0);
      checkInterventions(model.graph, model.map, model.info.id, list);
      return list;
    } catch (e) {
      throw userError(e, "The prompt file's experts lines", token);
    }
  });
}
