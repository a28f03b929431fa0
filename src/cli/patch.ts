// introspect patch: activation patching from a clean prompt into a corrupted one, per layer,
// position and site, scored by the normalised logit difference of answer vs wrong answer.

import { modelPatchRunner } from "../engine";
import { DEFAULT_PATCH_SITE_KINDS, type PatchSiteKind, siteName } from "../engine";
import { patchingSweep } from "../engine";
import { writeSafetensors, type WritableTensor } from "../engine";
import type { TextTokenizer } from "../engine";
import { IntrospectError, RESIDUAL_SHORT_NAMES, SITE_SHORT_NAMES } from "../engine";
import { type Command, threadsOption, UsageError, checkOutPath, clip, intOption, quoteToken, required, table } from "./common";
import { MODEL_HELP, modelOptions, openFromOptions } from "./model";

const KINDS: Record<string, PatchSiteKind> = Object.fromEntries(RESIDUAL_SHORT_NAMES.map((n) => [n, SITE_SHORT_NAMES[n]]));

export const patchCommand: Command = {
  name: "patch",
  summary: "activation patching: which layer and position restore the clean answer",
  help: `introspect patch --model PATH --clean TEXT --corrupt TEXT --answer TOK --wrong TOK [--sites LIST] [--out FILE] [--json]

Runs CLEAN and CORRUPT, then for every site, layer and position copies the clean activation
into the corrupted run and measures how much of the answer it restores: the normalised logit
difference logit(ANSWER) - logit(WRONG) at the last position, 0 = corrupted, 1 = clean.
Prompts of different token counts are paired from the end.

${MODEL_HELP}
  --clean TEXT     the prompt whose answer is ANSWER
  --corrupt TEXT   the prompt that leads to WRONG
  --answer TOK     the clean answer: one token, as text (" Paris") or as an id (#1234)
  --wrong TOK      the corrupted answer, the same way
  --sites LIST     comma-separated site kinds (default resid_pre,attn_out,mlp_out); also
                   resid_mid, resid_post
  --batch N        patched runs per forward pass (default 32)
  --out FILE       write each site's [layers, positions] grid (normalised, logit_diff) to a
                   safetensors file
  --json           print {layers, positions, cleanPositions, baselines, grids: {site: [[...]]}}`,
  options: modelOptions(["clean", "corrupt", "answer", "wrong", "sites", "batch", "out"], ["json"]),
  async run(values, io) {
    const cmd = "patch";
    const modelPath = required(values, "model", cmd);
    const clean = required(values, "clean", cmd);
    const corrupt = required(values, "corrupt", cmd);
    const answer = required(values, "answer", cmd);
    const wrong = required(values, "wrong", cmd);
    const batchSize = intOption(values, "batch", cmd, 32, 1);
    const threads = threadsOption(values, cmd);
    const out = values.out as string | undefined;
    if (out !== undefined && !out.endsWith(".safetensors")) throw new UsageError("--out must name a .safetensors file", cmd);
    if (out !== undefined) checkOutPath(out);
    const sites = values.sites
      ? (values.sites as string).split(",").map((s) => {
          const k = KINDS[s.trim()] ?? (Object.values(KINDS).includes(s.trim() as PatchSiteKind) ? (s.trim() as PatchSiteKind) : undefined);
          if (!k) throw new UsageError(`--sites: unknown site kind "${s.trim()}"; use ${Object.keys(KINDS).join(", ")}`, cmd);
          return k;
        })
      : DEFAULT_PATCH_SITE_KINDS;
    const { model, tok } = await openFromOptions(modelPath, values, threads, io.err);
    try {
      const cleanIds = tok.encode(clean).map((t) => t.id);
      const corruptIds = tok.encode(corrupt).map((t) => t.id);
      const correct = oneToken(tok, answer, "--answer");
      const wrongId = oneToken(tok, wrong, "--wrong");
      const names = sites.flatMap((s) => Array.from({ length: model.info.numLayers }, (_, l) => siteName(l, s)));
      for (const n of names) {
        if (!model.info.sites.includes(n))
          throw new IntrospectError("bad-input", `This model has no ${n} site, so it cannot be patched there; choose other --sites.`);
      }
      const runner = modelPatchRunner(model, names);
      const r = await patchingSweep(
        runner,
        { cleanIds, corruptIds, correct, wrong: wrongId, sites },
        { batchSize, extra: ["logit-diff"], cancel: io.cancel },
      );
      const P = r.positions.length;
      const grid = (a: Float32Array | undefined): number[][] =>
        a ? r.layers.map((_, li) => Array.from(a.subarray(li * P, (li + 1) * P), (v) => (Number.isNaN(v) ? null : v) as number)) : [];
      if (out) {
        const tensors: Record<string, WritableTensor> = {};
        for (const [site, g] of Object.entries(r.grids)) {
          tensors[`${site}/normalised`] = { shape: [r.layers.length, P], data: g!.normalised };
          if (g!.logitDiff) tensors[`${site}/logit_diff`] = { shape: [r.layers.length, P], data: g!.logitDiff };
        }
        tensors.positions = { dtype: "I64", shape: [P], data: r.positions };
        writeSafetensors(out, tensors, { model: model.info.id, clean, corrupt, answer, wrong });
      }
      if (values.json) {
        io.out(
          JSON.stringify({
            layers: r.layers,
            positions: r.positions,
            cleanPositions: r.cleanPositions,
            note: r.note,
            answer: { id: correct, text: tok.tokenText(correct) },
            wrong: { id: wrongId, text: tok.tokenText(wrongId) },
            baselines: r.baselines,
            grids: Object.fromEntries(
              Object.entries(r.grids).map(([s, g]) => [s, { normalised: grid(g!.normalised), logitDiff: grid(g!.logitDiff) }]),
            ),
            forwardPasses: r.forwardPasses,
            ...(out ? { out } : {}),
          }) + "\n",
        );
        return 0;
      }
      const ctoks = tok.encode(corrupt);
      io.out(
        `answer ${quoteToken(tok.tokenText(correct))} vs ${quoteToken(tok.tokenText(wrongId))}; logit difference clean ${r.baselines.clean.logitDiff.toFixed(3)}, corrupted ${r.baselines.corrupt.logitDiff.toFixed(3)}\n`,
      );
      if (r.note) io.out(`note: ${r.note}\n`);
      for (const [site, g] of Object.entries(r.grids)) {
        const rows = [[site, ...r.positions.map((p) => `${p}:${clip(quoteToken(ctoks[p]?.text ?? ""), 8)}`)]];
        r.layers.forEach((l, li) =>
          rows.push([
            `layer ${l}`,
            ...Array.from(g!.normalised.subarray(li * P, (li + 1) * P), (v) => (Number.isNaN(v) ? "-" : v.toFixed(2))),
          ]),
        );
        io.out(table(rows) + "\n\n");
      }
      io.out(`${r.forwardPasses} forward passes${out ? `; wrote ${out}` : ""}\n`);
      return 0;
    } finally {
      await model.dispose();
    }
  },
};

/** A single token given as text or as #id; says how it splits when it is several tokens. */
function oneToken(tok: TextTokenizer, s: string, flag: string): number {
  const m = /^#(\d+)$/.exec(s);
  if (m) {
    const id = Number(m[1]);
    if (id >= tok.vocabSize) throw new IntrospectError("bad-input", `${flag} ${s} is outside this vocabulary (0..${tok.vocabSize - 1}).`);
    return id;
  }
  const direct = tok.pieceToId(s);
  const toks = tok.encode(s, { addSpecialTokens: false });
  if (toks.length === 1) return toks[0].id;
  if (direct !== undefined) return direct;
  throw new IntrospectError(
    "bad-input",
    `${flag} ${JSON.stringify(s)} is ${toks.length} tokens (${toks.map((t) => JSON.stringify(t.text)).join(" ")}): give one token, e.g. with a leading space, or an id as #1234.`,
  );
}
