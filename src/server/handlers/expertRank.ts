// introspect/experts/rank and introspect/experts/effect: the expert ranking of a prompt file's
// contrast block (engine: src/engine/experts/contrast.ts) and the effect of switching experts off on
// a metric over the block's + prompts and over its - prompts, with progress notifications.
import {
  checkInterventions,
  expertContrast,
  findBlock,
  IntrospectError,
  metricEffect,
  parsePromptFile,
  type ContrastBlock,
  type LoadedModel,
  type TextTokenizer,
} from "../../engine";
import { ExpertEffectRequest, ExpertRankProgress, ExpertRankRequest, type ExpertRankResult } from "../../protocol/expertRanking";
import { toWire } from "../../protocol/wire";
import type { HostContext } from "../context";
import { userError } from "./errors";

/** The block's + and - prompts as token ids; one sentence when the block is not a usable contrast. */
function contrastPrompts(source: string, name: string, tok: TextTokenizer): { block: ContrastBlock; pos: number[][]; neg: number[][] } {
  const block = findBlock(parsePromptFile(source), name);
  if (!block || block.kind !== "contrast")
    throw new IntrospectError("bad-input", `The prompt file has no contrast block named “${name}” any more: save the file and rank again.`);
  const enc = (t: string) => tok.encode(t).map((x) => x.id);
  const pos = block.positive.map((p) => enc(p.text)).filter((ids) => ids.length > 0);
  const neg = block.negative.map((p) => enc(p.text)).filter((ids) => ids.length > 0);
  return { block, pos, neg };
}

export function register(ctx: HostContext): void {
  const progress = (done: number, total: number) => void ctx.connection.sendNotification(ExpertRankProgress.type, { done, total });
  const modelAndTokenizer = async (): Promise<[LoadedModel, TextTokenizer]> => {
    const model = await ctx.engine.get("rank again");
    return [model, await ctx.engine.tokenizer(model)];
  };

  ctx.connection.onRequest(ExpertRankRequest.type, async (p, token) => {
    try {
      const [model, tok] = await modelAndTokenizer();
      const { block, pos, neg } = contrastPrompts(p.source, p.block, tok);
      const count = p.count ?? block.count?.value ?? "topk";
      const r = await expertContrast(model, pos, neg, { count, cancel: token, onProgress: progress });
      const result: ExpertRankResult = {
        ...r,
        count,
        model: model.info.id,
        block: p.block,
        prompts: { positive: pos.length, baseline: neg.length },
      };
      return toWire(result);
    } catch (e) {
      throw userError(e, "The expert ranking", token);
    }
  });

  ctx.connection.onRequest(ExpertEffectRequest.type, async (p, token) => {
    try {
      const [model, tok] = await modelAndTokenizer();
      const { pos, neg } = contrastPrompts(p.source, p.block, tok);
      if (p.experts.length === 0) throw new IntrospectError("bad-input", "Choose at least one expert to switch off.");
      checkInterventions(model.graph, model.map, model.info.id, p.experts);
      const metric = { kind: p.metric };
      let done = 0;
      const total = pos.length + neg.length;
      const step = () => progress(++done, total);
      const positive = await metricEffect(model, pos, metric, p.experts, token, step);
      const control = await metricEffect(model, neg, metric, p.experts, token, step);
      return { metric: p.metric, positive, control };
    } catch (e) {
      throw userError(e, "The expert effect", token);
    }
  });
}
