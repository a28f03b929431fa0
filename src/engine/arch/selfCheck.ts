// The architecture map checks itself: what the graph's topology says (layers, width, experts,
// attention in every layer) is compared with every other account of the same model that is
// available: config.json, onnxruntime-genai's genai_config.json, the past_key_values inputs / present
// outputs, the head counts on fused grouped-query attention, and the layer numbers in node names or
// dynamo metadata. Any disagreement stops the model from opening with a sentence
// that says which counts disagree and where each came from; a map that cannot be confirmed is
// never shown. A user who knows config.json is wrong overrides it explicitly (OpenOptions.config).
import type { ArchMap } from "./archMap";
import type { GraphIndex } from "../onnx/graph";
import { IntrospectError } from "../types";
import type { GenaiDecoder } from "../model/resolve";
import { FUSED_ATTENTION, attentionSoftmax } from "./patterns";

export interface MapCheck {
  /** What is compared: "layers", "width", "experts", "attention", "vocabulary", "heads", "kv heads". */
  what: string;
  /** The value the map found in the graph's topology. */
  graph: number | string;
  /** The other account's value. */
  other: number | string;
  /** Where the other value comes from, e.g. "config.json num_hidden_layers". */
  source: string;
  verdict: "agree" | "disagree";
}

const LAYER_KEYS = ["num_hidden_layers", "n_layer", "num_layers", "n_layers"];
const WIDTH_KEYS = ["hidden_size", "n_embd", "d_model", "dim"];
const EXPERT_KEYS = ["num_local_experts", "num_experts", "n_routed_experts", "moe_num_experts"];

function configValue(config: Record<string, unknown>, keys: string[]): [string, number] | undefined {
  for (const k of keys) {
    const v = config[k];
    if (typeof v === "number" && Number.isFinite(v)) return [k, v];
  }
  // Nested text configs (multimodal wrappers) and DBRX-style sub-configs.
  for (const sub of ["text_config", "ffn_config"]) {
    const s = config[sub];
    if (s && typeof s === "object") {
      const r = configValue(s as Record<string, unknown>, keys);
      if (r) return [`${sub}.${r[0]}`, r[1]];
    }
  }
  return undefined;
}

/** Layer indices named in key/value cache inputs or outputs (past_key_values.3.key, present.3.value ...). */
function kvLayers(names: string[]): Set<number> {
  const out = new Set<number>();
  for (const n of names) {
    if (!/^(past|present)/.test(n)) continue;
    const m = /(\d+)/.exec(n);
    if (m) out.add(Number(m[1]));
  }
  return out;
}

/** Layer indices in module paths: node names (TorchScript, onnxruntime-genai) or dynamo's namespace
 * metadata. The residual joins themselves are left out: a fused norm that adds a layer's output is
 * named after the norm that owns it, which belongs to the next layer (onnxruntime-genai's final norm is
 * `/model/layers.{n}/final_norm_layernorm`, one past the last layer). */
function nameLayers(g: GraphIndex, joins: Set<number>): { layers: Set<number>; source: string } {
  const re = /(?:^|[./_])(?:layers|layer|h|blocks|block)[._](\d+)(?=[./_]|$)/;
  const fromNames = new Set<number>();
  const fromMeta = new Set<number>();
  for (const [i, n] of g.nodes.entries()) {
    if (joins.has(i)) continue;
    const m = re.exec(n.name);
    if (m) fromNames.add(Number(m[1]));
    const scope = n.metadataProps.find((p) => p.key === "pkg.torch.onnx.name_scopes" || p.key === "namespace")?.value;
    const s = scope && re.exec(scope);
    if (s) fromMeta.add(Number(s[1]));
  }
  return fromMeta.size >= fromNames.size
    ? { layers: fromMeta, source: "dynamo module metadata" }
    : { layers: fromNames, source: "node names" };
}

/** Every cross-check that can be made for this map. */
export function checkMap(g: GraphIndex, map: ArchMap, config: Record<string, unknown>, genai?: GenaiDecoder): MapCheck[] {
  const checks: MapCheck[] = [];
  const add = (what: string, graph: number | string, other: number | string, source: string) =>
    checks.push({ what, graph, other, source, verdict: graph === other ? "agree" : "disagree" });

  const cl = configValue(config, LAYER_KEYS);
  if (cl) add("layers", map.numLayers, cl[1], `config.json ${cl[0]}`);
  const kvIn = kvLayers(g.m.inputs.map((i) => i.name));
  if (kvIn.size) add("layers", map.numLayers, kvIn.size, "past_key_values inputs (one key/value pair per layer)");
  const kvOut = kvLayers(g.m.outputs.map((o) => o.name));
  if (kvOut.size) add("layers", map.numLayers, kvOut.size, "present outputs (one key/value pair per layer)");
  const named = nameLayers(g, new Set(map.steps.map((s) => s.node)));
  // Names count layers only when they number them 0..n-1 (wrappers may add unrelated numbers).
  if (named.layers.size >= 2 && Math.max(...named.layers) === named.layers.size - 1)
    add("layers", map.numLayers, named.layers.size, `layer numbers in ${named.source}`);

  const cw = configValue(config, WIDTH_KEYS);
  if (cw) add("width", map.dModel, cw[1], `config.json ${cw[0]}`);
  const cv = typeof config.vocab_size === "number" ? config.vocab_size : undefined;
  if (cv !== undefined && map.vocabSize > 0) add("vocabulary", map.vocabSize, cv, "config.json vocab_size");

  // onnxruntime-genai's own account of the decoder.
  if (genai?.num_hidden_layers !== undefined)
    add("layers", map.numLayers, genai.num_hidden_layers, "genai_config.json model.decoder.num_hidden_layers");
  if (genai?.hidden_size !== undefined) add("width", map.dModel, genai.hidden_size, "genai_config.json model.decoder.hidden_size");
  if (genai?.vocab_size !== undefined && map.vocabSize > 0)
    add("vocabulary", map.vocabSize, genai.vocab_size, "genai_config.json model.vocab_size");

  // Head counts written on fused grouped-query attention ops (the same in every layer).
  const gqa = g.nodes.find((n) => n.opType === "GroupQueryAttention");
  if (gqa) {
    const attr = (name: string) => Number(gqa.attribute.find((a) => a.name === name)?.i ?? NaN);
    const heads: Array<[string, number, unknown, unknown, string]> = [
      ["heads", attr("num_heads"), config.num_attention_heads, genai?.num_attention_heads, "num_attention_heads"],
      ["kv heads", attr("kv_num_heads"), config.num_key_value_heads, genai?.num_key_value_heads, "num_key_value_heads"],
    ];
    for (const [what, graph, cfg, gen, key] of heads) {
      if (!Number.isFinite(graph)) continue;
      if (typeof cfg === "number") add(what, graph, cfg, `config.json ${key}`);
      if (typeof gen === "number") add(what, graph, gen, `genai_config.json model.decoder.${key}`);
    }
  }

  const moeLayers = map.steps.filter((s) => s.kind === "moe" || s.mlpMoe).length;
  const ce = configValue(config, EXPERT_KEYS);
  if (ce && ce[1] > 1) {
    if (moeLayers === 0) add("experts", "no mixture-of-experts layer", `${ce[1]} experts`, `config.json ${ce[0]}`);
    else add("experts", map.numExperts ?? "unknown", ce[1], `config.json ${ce[0]}`);
  }

  // Every layer must hold attention that was recognised by what it computes (or a fused op).
  const stop = new Set<string>([map.embedOutput, ...map.steps.flatMap((s) => [s.input, s.output])]);
  let unrecognised = 0;
  for (let l = 0; l < map.numLayers; l++) {
    const out = map.sites.get(`blocks.${l}.hook_attn_out`);
    if (!out) {
      unrecognised++;
      continue;
    }
    const set = g.between(out.tensor, stop);
    const ok = [...set].some(
      (k) => FUSED_ATTENTION.has(g.node(k).opType) || (g.node(k).opType === "Softmax" && attentionSoftmax(g, k, set)),
    );
    if (!ok) unrecognised++;
  }
  add(
    "attention",
    map.numLayers - unrecognised,
    map.numLayers,
    "layers whose attention (scores, softmax, values, or a fused op) was recognised",
  );
  return checks;
}

/** One check in words. */
export function describe(c: MapCheck): string {
  if (c.what === "attention")
    return `attention was recognised in ${c.graph} of ${c.other} layers (no scores -> softmax -> values computation or fused attention op was found in the others)`;
  return `${c.what}: the graph gives ${c.graph}, ${c.source} says ${c.other}`;
}

/** The refusal sentence for a map whose checks disagree, or undefined when all agree. */
export function refusal(checks: MapCheck[], modelName: string): IntrospectError | undefined {
  const bad = checks.filter((c) => c.verdict === "disagree");
  if (!bad.length) return undefined;
  const said = bad.map(describe).join("; ");
  const agree = checks.filter((c) => c.verdict === "agree").map((c) => `${c.what} (${c.source})`);
  const configOnly = bad.every((c) => c.source.startsWith("config.json") || c.source.startsWith("genai_config.json"));
  return new IntrospectError(
    "map-check-failed",
    `Introspect could not confirm the architecture map of ${modelName}, so it will not show one. ${said}.` +
      (agree.length ? ` These agree: ${agree.join(", ")}.` : "") +
      (configOnly
        ? " If config.json is wrong for this graph, override it explicitly (CLI: --config key=value; setting introspect.configOverrides)."
        : " The graph may use an attention or layer pattern Introspect does not recognise; please report it with `introspect info --model PATH`."),
  );
}
