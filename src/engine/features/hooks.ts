// Hook names in dictionary files -> the model's sites, and the check that a dictionary fits the
// loaded model. Files name their site in TransformerLens style (`blocks.3.hook_resid_post`,
// `blocks.3.ln2.hook_normalized`) or, in Gemma Scope 2 and circuit-tracer configs, by HF module
// path (`model.layers.3.output`, `model.layers.3.mlp`).

import { HookName, IntrospectError, ModelInfo, SiteKind, hookName, parseHookName } from "../types";
import type { Dictionary } from "./dictionary";

const TL_ALIASES: Record<string, SiteKind> = {
  hook_resid_pre: "hook_resid_pre",
  hook_resid_mid: "hook_resid_mid",
  hook_resid_post: "hook_resid_post",
  hook_attn_out: "hook_attn_out",
  hook_mlp_out: "hook_mlp_out",
  "mlp.hook_post": "mlp.hook_post",
  "attn.hook_z": "attn.hook_z",
};

/** Sites no ONNX graph here exposes, with what the user can use instead. */
const NOT_CAPTURED: Record<string, string> = {
  "ln2.hook_normalized":
    "the MLP's normalised input, which Introspect does not capture (blocks.L.hook_resid_mid is the stream before that norm)",
  "ln1.hook_normalized":
    "the attention's normalised input, which Introspect does not capture (blocks.L.hook_resid_pre is the stream before that norm)",
  hook_mlp_in: "the MLP's input, which Introspect does not capture separately (blocks.L.hook_resid_mid is the stream it reads)",
  "mlp.hook_pre": "the MLP's pre-activation, which Introspect does not capture (mlp.hook_post is the activation after the nonlinearity)",
  "attn.hook_q": "the attention queries, which Introspect does not capture",
  "attn.hook_k": "the attention keys, which Introspect does not capture",
  "attn.hook_v": "the attention values, which Introspect does not capture",
};

/** HF module-path forms (Gemma Scope 2 `hf_hook_point_in`, circuit-tracer) -> site kinds. */
const HF_FORMS: Array<[RegExp, SiteKind]> = [
  [/^model\.layers\.(\d+)(\.output)?$/, "hook_resid_post"],
  [/^model\.layers\.(\d+)\.input$/, "hook_resid_pre"],
  [/^model\.layers\.(\d+)\.(self_attn|self_attn\.o_proj)(\.output)?$/, "hook_attn_out"],
  [/^model\.layers\.(\d+)\.mlp(\.output)?$/, "hook_mlp_out"],
  [/^model\.layers\.(\d+)\.mlp\.down_proj\.input$/, "mlp.hook_post"],
];

/** The model site a file's hook name means, or an error sentence naming what is wrong. */
export function siteForHook(hook: string, info: Pick<ModelInfo, "sites" | "numLayers">): HookName {
  const name = hook.trim();
  let site: HookName | undefined;
  const tl = /^blocks\.(\d+)\.(.+)$/.exec(name);
  if (tl) {
    const layer = Number(tl[1]);
    const kind = TL_ALIASES[tl[2]];
    if (!kind) {
      const why = NOT_CAPTURED[tl[2]];
      throw new IntrospectError(
        "bad-input",
        why
          ? `The dictionary reads ${name}, ${why}.`
          : `The dictionary reads ${name}, which is not a site Introspect knows (use hook_resid_pre/mid/post, hook_attn_out, hook_mlp_out or mlp.hook_post).`,
      );
    }
    site = hookName(layer, kind);
    // resid_pre of layer L is resid_post of layer L-1 where the graph has no separate output.
    if (!info.sites.includes(site) && kind === "hook_resid_pre" && layer > 0) site = hookName(layer - 1, "hook_resid_post");
  } else {
    for (const [re, kind] of HF_FORMS) {
      const m = re.exec(name);
      if (m) site = hookName(Number(m[1]), kind);
    }
    if (!site) {
      if (/^model\.layers\.\d+\.(pre_feedforward_layernorm|post_attention_layernorm)/.test(name)) {
        throw new IntrospectError("bad-input", `The dictionary reads ${name}, ${NOT_CAPTURED["ln2.hook_normalized"]}.`);
      }
      throw new IntrospectError(
        "bad-input",
        `The dictionary's hook "${name}" is not a TransformerLens name like blocks.3.hook_resid_post nor a module path like model.layers.3.output.`,
      );
    }
  }
  const parsed = parseHookName(site)!;
  if (parsed.layer >= info.numLayers) {
    throw new IntrospectError(
      "bad-input",
      `The dictionary reads ${name}, layer ${parsed.layer}, but the loaded model has ${info.numLayers} layers (0 to ${info.numLayers - 1}).`,
    );
  }
  if (!info.sites.includes(site))
    throw new IntrospectError("bad-input", `The dictionary reads ${name} (${site}), which the loaded model's graph does not expose.`);
  return site;
}

/** Width of a site in the loaded model. */
export function siteWidth(site: HookName, info: Pick<ModelInfo, "dModel" | "dMlp" | "numHeads">): number | undefined {
  const p = parseHookName(site);
  if (!p) return undefined;
  if (p.kind === "mlp.hook_post") return info.dMlp;
  if (p.kind === "attn.hook_pattern" || p.kind === "moe.hook_router_logits") return undefined;
  return info.dModel;
}

function canonicalName(s: string): string {
  const base = s.replace(/\\/g, "/").split("/").filter(Boolean).pop() ?? s;
  return base.toLowerCase().replace(/[^a-z0-9]/g, "");
}

/**
 * Binds a dictionary to a model: resolves its sites and checks its widths. Throws one sentence on
 * a width mismatch; returns notes (a different model name is a note: folders get renamed).
 */
export function fitToModel(d: Dictionary, info: ModelInfo, modelFolder?: string): string[] {
  d.site = siteForHook(d.hookIn, info);
  d.outSite = d.hookOut ? siteForHook(d.hookOut, info) : undefined;
  const w = siteWidth(d.site, info);
  if (w !== undefined && w !== d.dIn) {
    throw new IntrospectError(
      "bad-input",
      `${d.name} has d_in ${d.dIn} but ${d.site} of ${info.id} is ${w} wide: it was made for another model.`,
    );
  }
  if (d.outSite) {
    const wo = siteWidth(d.outSite, info);
    if (wo !== undefined && wo !== d.dOut) {
      throw new IntrospectError(
        "bad-input",
        `${d.name} writes ${d.dOut} values but ${d.outSite} of ${info.id} is ${wo} wide: it was made for another model.`,
      );
    }
  }
  const notes: string[] = [];
  if (d.modelName) {
    const names = [info.id, modelFolder ?? ""].filter(Boolean).map(canonicalName);
    const want = canonicalName(d.modelName);
    if (!names.some((n) => n === want || n.startsWith(want) || want.startsWith(n))) {
      notes.push(
        `${d.name} says it was trained on ${d.modelName}, and the loaded model is ${info.id}: its widths fit, but its features may mean nothing here.`,
      );
    }
  }
  return notes;
}
