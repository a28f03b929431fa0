// Pure helpers (no vscode) that turn what the user has -- a prompt file's patch block (as the host
// read it), editor selections -- into a PatchExperiment, and describe positions for the quick picks.
import type { PatchSpec } from "../../protocol/promptFile";
import {
  DEFAULT_SITES,
  siteKindOf,
  type PatchExperiment,
  type PatchMetricName,
  type PatchPreview,
  type PatchSiteKind,
} from "../../protocol/patchData";

const METRIC_OF: Record<PatchSpec["metric"], PatchMetricName> = {
  "logit-diff": "normalised",
  "raw-logit-diff": "logitDiff",
  prob: "pCorrect",
};

/** A prompt file's patch block as an experiment; unknown site names become one error sentence. */
export function fromPatchSpec(spec: PatchSpec, source: string): PatchExperiment {
  const sites: PatchSiteKind[] = [];
  const unknown: string[] = [];
  for (const s of spec.sites) {
    const k = siteKindOf(s);
    if (k) sites.push(k);
    else unknown.push(s);
  }
  if (unknown.length) {
    throw new Error(
      `The patch block names sites that cannot be patched layer by layer: ${unknown.join(", ")}. Use resid_pre, attn_out, mlp_out, resid_mid, resid_post or (mixture-of-experts models) router_logits.`,
    );
  }
  return {
    clean: spec.clean,
    corrupt: spec.corrupt,
    ...(spec.answer !== undefined ? { answer: spec.answer } : {}),
    ...(spec.wrong !== undefined ? { wrong: spec.wrong } : {}),
    sites: sites.length ? [...new Set(sites)] : DEFAULT_SITES,
    ...(spec.layers.length ? { layers: spec.layers } : {}),
    metric: METRIC_OF[spec.metric] ?? "normalised",
    source,
  };
}

/** Label of a corrupted position for pickers: index, token, and the clean token when it differs. */
export function positionLabel(p: PatchPreview, k: number): { label: string; differs: boolean } {
  const pos = p.positions[k];
  const cor = p.corruptTokens[pos]?.text ?? "";
  const cl = p.cleanTokens[p.cleanPositions[k]]?.text ?? "";
  const differs = p.corruptTokens[pos]?.id !== p.cleanTokens[p.cleanPositions[k]]?.id;
  return { label: differs ? `${pos}: ${JSON.stringify(cl)} → ${JSON.stringify(cor)}` : `${pos}: ${JSON.stringify(cor)}`, differs };
}

/** What an answer input box returns: undefined when the user kept the model's top-1 default. */
export function answerInput(typed: string, preview: { text: string; given: boolean }): string | undefined {
  return typed === preview.text && !preview.given ? undefined : typed;
}
