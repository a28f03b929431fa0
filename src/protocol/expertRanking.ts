// The expert ranking (MoTE) of a prompt file's contrast block, as it travels host -> extension ->
// the ranking panel (webview/experts): the ranking itself, and the effect of switching the top-n
// experts off on a metric over the block's positive prompts and over its negative (control) prompts.
import { NotificationType, RequestType } from "vscode-languageserver-protocol";
import type { ContrastResult, CountMode, ExpertIntervention, MetricEffect } from "../engine/shapes";
import type { Wire } from "./wireType";

export type { ContrastResult, CountMode, ExpertIntervention, MetricEffect };

export interface ExpertRankParams {
  /** The prompt file's text (as the editor has it) and the contrast block's name. */
  source: string;
  block: string;
  /** What counts as routed; default the block's `count`, else topk. */
  count?: CountMode;
}

export interface ExpertRankResult extends ContrastResult {
  model: string;
  block: string;
  count: CountMode;
  prompts: { positive: number; baseline: number };
}

/** The metrics the panel offers (a word list needs words the panel does not ask for). */
export type RankMetric = "logprob" | "kl";

export interface ExpertEffectParams {
  source: string;
  block: string;
  experts: ExpertIntervention[];
  metric: RankMetric;
}

export interface ExpertEffectResult {
  metric: RankMetric;
  /** Over the block's + prompts, and over its - prompts (the control set). */
  positive: MetricEffect;
  control: MetricEffect;
}

/** Client -> host request: rank every (layer, expert) by how much more the block's + prompts are routed to it. */
export namespace ExpertRankRequest {
  export const method = "introspect/experts/rank" as const;
  export const type = new RequestType<ExpertRankParams, Wire<ExpertRankResult>, void>(method);
}

/** Client -> host request: a metric without and with the interventions, on both prompt sets. */
export namespace ExpertEffectRequest {
  export const method = "introspect/experts/effect" as const;
  export const type = new RequestType<ExpertEffectParams, ExpertEffectResult, void>(method);
}

/** Host -> client notification: prompts done of a ranking or an effect run. */
export namespace ExpertRankProgress {
  export const method = "introspect/experts/progress" as const;
  export const type = new NotificationType<{ done: number; total: number }>(method);
}

/** Extension -> ranking panel messages. */
export type ExpertRankMessage =
  | { type: "introspect/expertRank"; result: ExpertRankResult }
  | { type: "introspect/expertRankStatus"; status: { kind: "running"; message: string } | { kind: "failed"; message: string } };

/** Ranking panel -> extension request (listed in WebviewRequests). */
export interface ExpertEffectWebviewRequest {
  params: { experts: ExpertIntervention[]; metric: RankMetric };
  result: ExpertEffectResult;
}
