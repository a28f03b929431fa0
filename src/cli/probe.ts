// introspect probe: one forward pass with captures, the layer map, and a logit-lens summary.

import { logitLens } from "../engine";
import { writeSafetensors, type WritableTensor } from "../engine";
import type { ActivationTensor, HookName } from "../engine";
import { IntrospectError, parseHookName } from "../engine";
import { describeProvider } from "../engine";
import {
  type Command,
  threadsOption,
  UsageError,
  checkOutPath,
  clip,
  intOption,
  quoteToken,
  readTextOption,
  required,
  table,
} from "./common";
import { MODEL_HELP, modelOptions, layerMap, openFromOptions, rowTop1 } from "./model";
import { tokensJson } from "./tokenize";

const SHOWN_POSITIONS = 8;
/** The most logit-lens candidates per layer and position (--top). */
export const MAX_TOP = 100;

export const probeCommand: Command = {
  name: "probe",
  summary: "run a text through the model: captured sites, layer map, logit lens",
  help: `introspect probe --model PATH --text TEXT [--sites LIST] [--out FILE.safetensors] [--json]

Runs TEXT through the model once, captures activation sites, and prints the tokens, the layer
map the engine found, and a logit lens: each layer's residual (hook_resid_post) read through the
model's own final norm and unembedding, top-1 token per layer at each position. The last layer's
row equals the model's own prediction.

${MODEL_HELP}
  --text TEXT       the prompt; "-" reads standard input
  --text-file FILE  read the prompt from FILE instead
  --sites LIST      comma-separated sites to capture (default resid_post): full names such as
                    blocks.2.hook_resid_post, or short forms meaning every layer: resid_pre,
                    resid_mid, resid_post, attn_out, mlp_out, mlp_post, pattern, router_logits,
                    ln_final
  --top K           logit-lens tokens per layer and position in --json (default 1)
  --out FILE        write each captured site (under its name), "logits" and "input_ids" to a
                    safetensors file; metadata holds the model id, text and token offsets
  --all-positions   show every position in the lens table (default: the last ${SHOWN_POSITIONS})
  --json            print JSON: model, tokens (ids, strings, offsets), layerMap, captured,
                    logitLens {sites, k, layers: [{layer, site, top: [[{id, text, p}] per position]}]},
                    prediction (the model's own top-1 per position)`,
  options: modelOptions(["text", "text-file", "sites", "top", "out"], ["all-positions", "json"]),
  async run(values, io) {
    const modelPath = required(values, "model", "probe");
    const text = await readTextOption(values, io, "probe");
    const k = intOption(values, "top", "probe", 1, 1, MAX_TOP, "logit-lens tokens per layer and position");
    const threads = threadsOption(values, "probe");
    const siteList = ((values.sites as string | undefined) ?? "resid_post")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    if (siteList.length === 0) throw new UsageError("--sites is empty", "probe");
    const out = values.out as string | undefined;
    if (out !== undefined && !out.endsWith(".safetensors")) throw new UsageError("--out must name a .safetensors file", "probe");
    if (out !== undefined) checkOutPath(out);

    const { model, tok } = await openFromOptions(modelPath, values, threads);
    try {
      if (k > model.info.vocabSize)
        throw new IntrospectError("bad-input", `--top ${k} is more than this model's vocabulary of ${model.info.vocabSize} tokens.`);
      const tokens = tok.encode(text);
      const ids = tokens.map((t) => t.id);
      const requested = model.expandSites(siteList);
      const lensSites = model.expandSites(["resid_post"]);
      const capture = [...new Set([...requested, ...lensSites])];
      const run = await model.run({ ids, capture, cancel: io.cancel });
      const V = run.logits.dims[run.logits.dims.length - 1];
      const lens = await logitLens(model, run.captures, { sites: lensSites, k, cancel: io.cancel });
      const prediction = rowTop1(run.logits.data, V).map((t) => ({ ...t, text: tok.tokenText(t.id) }));
      const S = lens.seq;
      const lensLayers = lens.sites.map((site, si) => ({
        layer: parseHookName(site)?.layer ?? si,
        site,
        top: Array.from({ length: S }, (_, pos) =>
          Array.from({ length: k }, (_, j) => {
            const id = lens.topIds[(si * S + pos) * k + j];
            return { id, text: tok.tokenText(id), p: lens.topProbs[(si * S + pos) * k + j] };
          }),
        ),
      }));
      if (out)
        writeOut(out, requested, run.captures, run.logits, ids, { model: model.info.id, text, tokens: JSON.stringify(tokensJson(tokens)) });
      const info = model.info;
      const map = layerMap(info.sites, info.numLayers);
      if (values.json) {
        const result = {
          model: {
            id: info.id,
            path: model.resolved.onnxPath,
            architecture: info.architecture,
            numLayers: info.numLayers,
            dModel: info.dModel,
            vocabSize: info.vocabSize,
            exportStyle: info.exportStyle,
            executionProvider: info.executionProvider,
            hasKvCache: info.hasKvCache,
            notes: info.notes,
          },
          text,
          tokens: tokensJson(tokens),
          layerMap: map,
          captured: requested.map((site) => ({ site, dims: run.captures.get(site)?.dims ?? [] })),
          logitLens: { sites: lens.sites, k, layers: lensLayers },
          prediction,
          ...(out ? { out } : {}),
        };
        io.out(JSON.stringify(result) + "\n");
        return 0;
      }
      io.out(
        `${info.id}: ${info.architecture}, ${info.numLayers} layers, d_model ${info.dModel}, vocabulary ${info.vocabSize}, export ${info.exportStyle}\n`,
      );
      io.out(`execution provider: ${describeProvider(model.provider)}\n`);
      for (const n of info.notes) io.out(`  note: ${n}\n`);
      io.out(`tokens (${tokens.length}): ${tokens.map((t) => quoteToken(t.text)).join(" ")}\n`);
      const kinds = new Set(map.layers.flatMap((l) => l.sites.map((s) => s.replace(/^blocks\.\d+\./, ""))));
      io.out(
        `layer map: ${[...kinds].join(", ")} in each of ${info.numLayers} layers${map.other.length ? `; ${map.other.join(", ")}` : ""}\n`,
      );
      io.out(`captured: ${requested.map((s) => `${s} [${run.captures.get(s)?.dims.join("x") ?? "?"}]`).join(", ")}\n`);
      const first = values["all-positions"] === true ? 0 : Math.max(0, S - SHOWN_POSITIONS);
      const cols = Array.from({ length: S - first }, (_, j) => first + j);
      const rows: string[][] = [["logit lens", ...cols.map((p) => `${p}:${clip(quoteToken(tokens[p]?.text ?? ""), 10)}`)]];
      for (const l of lensLayers) rows.push([`layer ${l.layer}`, ...cols.map((p) => clip(quoteToken(l.top[p][0].text), 12))]);
      rows.push(["model", ...cols.map((p) => clip(quoteToken(prediction[p].text), 12))]);
      io.out(table(rows) + "\n");
      if (out) io.out(`wrote ${requested.length} sites and logits to ${out}\n`);
      return 0;
    } finally {
      await model.dispose();
    }
  },
};

function writeOut(
  file: string,
  sites: HookName[],
  captures: Map<HookName, ActivationTensor>,
  logits: ActivationTensor,
  ids: number[],
  metadata: Record<string, string>,
): void {
  const tensors: Record<string, WritableTensor> = {};
  for (const s of sites) {
    const t = captures.get(s);
    if (t) tensors[s] = { shape: t.dims, data: t.data };
  }
  tensors.logits = { shape: logits.dims, data: logits.data };
  tensors.input_ids = { dtype: "I64", shape: [ids.length], data: ids };
  writeSafetensors(file, tensors, metadata);
}
