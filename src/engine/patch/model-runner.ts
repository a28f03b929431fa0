// The patching sweep's runner over the engine's LoadedModel. Batched patched runs feed the
// edited session directly: every batch row carries its own position mask (the cell it patches)
// while the replacement values are one [1, T, d] tensor shared by all rows.
//
// Work that cannot change is skipped:
// - the session unembeds only the last position (the metric reads nothing else);
// - prefix reuse: patching position p cannot change anything before p (causal attention), so when
//   the prompt's key/value cache is known (remembered from capture()), a row whose first patched
//   position is p feeds only tokens p..T-1 after the cached keys/values of 0..p-1. Rows are grouped
//   by p, so a cell's numbers never depend on which other cells share its batch.
// - layer cuts (layerCut.ts): a row whose patches are all at layer L or later starts at the nearest
//   kept cut at or below L, from the prompt's captured residual there, and runs only the layers
//   from the cut on. Such rows are fed from the start of their first patched position's block of
//   POSITION_BLOCK positions (rows grouped by cut and block), so runs keep several rows each; the
//   sweep orders its cells in the same blocks (sweep.ts).

import * as ort from "onnxruntime-node";
import type { LoadedModel } from "../model/loaded";
import { int64Tensor, zerosTensor, float32Tensor, toActivation } from "../model/tensors";
import { patchMaskInput, patchValueInput } from "../surgery/surgery";
import { HookName, IntrospectError } from "../types";
import type { BatchPatch, PatchRunner } from "./sweep";
import { POSITION_BLOCK } from "./sweep";
import { cutLayers, layerCut, presentOf, siteLayer, type LayerCut } from "./layerCut";
import { expertRouting } from "../experts/routing";
import { routerSiteLayer, routingFeeds } from "./routing";

export interface PatchRunnerOptions {
  /** Reuse the captured prompt's key/value cache before the first patched position (default true). */
  reusePrefix?: boolean;
  /** Unembed only the last position (default true). */
  lastLogitsOnly?: boolean;
  /** Start layers kept as layer cuts, evenly spaced (default 4; 1: every run feeds the whole graph).
   * Each cut is a session holding the weights of the layers after it. */
  layerCuts?: number;
}

/** Prompts whose key/value cache is remembered (the clean and the corrupted one). */
const MAX_PREFIXES = 2;

interface Past {
  from: number;
  tensors: Map<string, ort.Tensor>;
}

export function modelPatchRunner(model: LoadedModel, sites: HookName[], opts: PatchRunnerOptions = {}): PatchRunner {
  const info = model.info;
  const allSites = [...new Set(sites)].sort();
  // Router-logit sites (routing decisions) go through the expert inputs (routing.ts), the rest through patch inputs.
  const prepared = allSites.filter((s) => routerSiteLayer(s) === undefined);
  const routerSites = allSites.filter((s) => routerSiteLayer(s) !== undefined);
  const routerLayers = routerSites.map((s) => routerSiteLayer(s)!);
  const routings = expertRouting(model.graph, model.map).filter((r) => routerLayers.includes(r.layer));
  if (routings.length !== routerLayers.length)
    throw new IntrospectError(
      "bad-input",
      `This model has no router at ${routerSites.find((s) => !routings.some((r) => routerSiteLayer(s) === r.layer))}.`,
    );
  /** Each prompt's own router logits (the corrupted run's, to which patched rows add clean - corrupted). */
  const routerActs = new Map<string, Map<HookName, Float32Array>>();
  const prefixes = new Map<string, Map<string, ort.Tensor>>();
  const variant = { lastLogits: opts.lastLogitsOnly ?? true, ...(routerLayers.length ? { experts: routerLayers } : {}) };
  const width = (site: HookName) => (routerSiteLayer(site) !== undefined ? (model.info.numExperts ?? 0) : info.dModel);
  // Routing patches feed the full graph's expert inputs (routingFeeds), which no cut carries: an
  // experiment with router sites runs every row on the whole graph.
  const starts = routerSites.length
    ? []
    : cutLayers(info.numLayers, opts.layerCuts ?? 4).filter((l) => l > 0 && model.map.sites.has(`blocks.${l}.hook_resid_pre`));
  /** The unpatched prompt's residual entering each cut layer, by prompt. */
  const resids = new Map<string, Map<number, ort.Tensor>>();
  const cutFor = (layer: number): Promise<LayerCut | undefined> =>
    layerCut(model, layer, { patch: prepared, lastLogits: variant.lastLogits });
  const usePrefix = (session: ort.InferenceSession) =>
    (opts.reusePrefix ?? true) && info.hasKvCache && model.pastInputs.length > 0 && session.inputNames.includes("attention_mask");

  /** Rows `members` of a batch, fed from `past.from` (0: the whole prompt). */
  async function runRows(
    session: ort.InferenceSession,
    ids: number[],
    members: number[],
    rows: number,
    patches: Map<HookName, BatchPatch>,
    past: Past | undefined,
    fetch: string[],
    resid?: { name: string; tensor: ort.Tensor },
  ): Promise<ort.InferenceSession.OnnxValueMapType> {
    const names = new Set(session.inputNames);
    const S = ids.length;
    const d = info.dModel;
    const R = members.length;
    const from = past?.from ?? 0;
    const n = S - from;
    const tail = ids.slice(from);
    const flat: number[] = [];
    for (let b = 0; b < R; b++) flat.push(...tail);
    const feeds: Record<string, ort.Tensor> = { input_ids: int64Tensor(flat, [R, n]) };
    if (names.has("attention_mask")) feeds.attention_mask = int64Tensor(new Array(R * S).fill(1), [R, S]);
    if (names.has("position_ids"))
      feeds.position_ids = int64Tensor(
        Array.from({ length: R * n }, (_, i) => from + (i % n)),
        [R, n],
      );
    for (const p of model.pastInputs)
      if (names.has(p.name)) feeds[p.name] = past?.tensors.get(p.name) ?? zerosTensor(p.elemType, [R, p.heads, 0, p.headDim]);
    if (resid) feeds[resid.name] = rowsOf(resid.tensor, from, R);
    for (const site of prepared) {
      if (!names.has(patchMaskInput(site))) continue;
      const p: BatchPatch | undefined = patches.get(site);
      if (!p) {
        feeds[patchMaskInput(site)] = new ort.Tensor("bool", new Uint8Array(1), [1]);
        feeds[patchValueInput(site)] = float32Tensor(new Float32Array(1), [1]);
        continue;
      }
      // A mask one value per position ([rows x T], broadcast over the site) or per element ([rows x T x width]).
      const w = p.width ?? d;
      const mw = p.width ? p.width : 1;
      let mask = p.mask;
      if (from > 0 || R !== rows) {
        mask = new Uint8Array(R * n * mw);
        members.forEach((b, k) => mask.set(p.mask.subarray((b * S + from) * mw, (b + 1) * S * mw), k * n * mw));
      }
      feeds[patchMaskInput(site)] = new ort.Tensor("bool", mask, [R, n, mw]);
      feeds[patchValueInput(site)] = float32Tensor(from > 0 ? p.values.subarray(from * w) : p.values, [1, n, w]);
    }
    if (routings.length)
      Object.assign(feeds, routingFeeds(routings, patches, routerActs.get(ids.join(",")) ?? new Map(), members, S, from));
    try {
      return await session.run(feeds, [...new Set([model.map.logitsOutput, ...fetch])]);
    } catch (e) {
      throw new IntrospectError("internal", `A patched forward pass failed in onnxruntime: ${(e as Error).message.split("\n")[0]}`);
    }
  }

  /** Each row's last position's logits [R x V], whether the graph returns every position or only the last. */
  function lastRows(raw: ort.InferenceSession.OnnxValueMapType, R: number): Float32Array {
    const t = raw[model.map.logitsOutput] as ort.Tensor;
    const V = t.dims[t.dims.length - 1];
    const data = toActivation(t).data;
    const stride = data.length / R;
    const out = new Float32Array(R * V);
    for (let b = 0; b < R; b++) out.set(data.subarray((b + 1) * stride - V, (b + 1) * stride), b * V);
    return out;
  }

  return {
    numLayers: info.numLayers,
    dModel: info.dModel,
    vocabSize: info.vocabSize,
    width,
    async capture(ids, capture) {
      // The same edited session as the patched runs (all-false masks are no-ops), so one session serves the sweep.
      if (ids.length === 0) throw new IntrospectError("bad-input", "Nothing to run: the prompt has no tokens.");
      for (const c of capture)
        if (!model.map.sites.has(c)) throw new IntrospectError("bad-input", `The site ${c} does not exist in this model.`);
      const { session, outputs } = await model.session([], prepared, variant);
      const prefix = usePrefix(session);
      const presents = prefix ? model.pastInputs.map((p) => presentOf(p.name)) : [];
      const cutOuts = starts.map((l) => outputs.get(`blocks.${l}.hook_resid_pre`)!);
      const raw = await runRows(session, ids, [0], 1, new Map(), undefined, [
        ...capture.map((c) => outputs.get(c)!),
        ...presents,
        ...cutOuts,
      ]);
      const acts = new Map<HookName, Float32Array>();
      for (const c of capture) acts.set(c, toActivation(raw[outputs.get(c)!] as ort.Tensor).data);
      const rkey = ids.join(",");
      resids.delete(rkey);
      resids.set(rkey, new Map(starts.map((l, i) => [l, raw[cutOuts[i]] as ort.Tensor])));
      while (resids.size > MAX_PREFIXES) resids.delete(resids.keys().next().value as string);
      if (routerSites.length) {
        const own = new Map(routerSites.map((s) => [s, acts.get(s)!] as const));
        if (routerSites.every((s) => own.get(s))) remember(routerActs, ids.join(","), own);
      }
      if (prefix) {
        const key = ids.join(",");
        prefixes.delete(key);
        prefixes.set(key, new Map(model.pastInputs.map((p, i) => [p.name, raw[presents[i]] as ort.Tensor])));
        while (prefixes.size > MAX_PREFIXES) prefixes.delete(prefixes.keys().next().value as string);
      }
      return { logits: lastRows(raw, 1), acts };
    },
    async runPatched(ids, rows, patches) {
      // A routing patch adds clean - corrupted: the prompt's own router logits first (once).
      if (routerSites.length && !routerActs.has(ids.join(","))) await this.capture(ids, routerSites);
      const { session } = await model.session([], prepared, variant);
      const S = ids.length;
      for (const [site, p] of patches) {
        if (!allSites.includes(site)) throw new IntrospectError("internal", `The site ${site} was not prepared for patching.`);
        if (p.mask.length !== rows * S * (p.width ?? 1) || p.values.length !== S * (p.width ?? width(site)))
          throw new IntrospectError("internal", `Patch inputs for ${site} have the wrong size.`);
      }
      const key = ids.join(",");
      const prefix = usePrefix(session) ? prefixes.get(key) : undefined;
      const base = resids.get(key);
      const all = Array.from({ length: rows }, (_, b) => b);
      const V = info.vocabSize;
      const out = new Float32Array(rows * V);
      // Group key: the cut a row starts at (0: the whole graph) and the position it is fed from.
      const groups = new Map<string, { cut: number; from: number; members: number[] }>();
      for (const b of all) {
        const first = prefix ? firstPatched(patches, b, S) : 0;
        const start = startLayer(patches, b, S);
        const cut = base ? Math.max(0, ...starts.filter((l) => l <= start && base.has(l))) : 0;
        const from = cut > 0 && first > 0 ? first - (first % POSITION_BLOCK) : first;
        const k = `${cut}:${from}`;
        const g = groups.get(k) ?? { cut, from, members: [] };
        g.members.push(b);
        groups.set(k, g);
      }
      for (const { cut, from, members: group } of groups.values()) {
        const c = cut > 0 ? await cutFor(cut) : undefined;
        const run = c?.session ?? session;
        const resid = c ? { name: c.residInput, tensor: base!.get(cut)! } : undefined;
        // Graphs whose attention continues several tokens after a past only for one row get one run per row.
        const split = prefix && model.singleRowContinuation && from > 0 && S - from > 1 && group.length > 1;
        for (const members of split ? group.map((b) => [b]) : [group]) {
          const past = prefix ? pastFor(prefix, model, S, members.length, from, new Set(run.inputNames)) : undefined;
          const logits = lastRows(await runRows(run, ids, members, rows, patches, past, [], resid), members.length);
          if (logits.length !== members.length * V)
            throw new IntrospectError("internal", `A patched run returned ${logits.length} logits, expected ${members.length} x ${V}.`);
          members.forEach((b, k) => out.set(logits.subarray(k * V, (k + 1) * V), b * V));
        }
      }
      return out;
    },
  };
}

/** Keeps the newest MAX_PREFIXES entries. */
function remember<T>(m: Map<string, T>, key: string, value: T): void {
  m.delete(key);
  m.set(key, value);
  while (m.size > MAX_PREFIXES) m.delete(m.keys().next().value as string);
}

/** The earliest position row `b` patches (S - 1 when it patches nothing: only the last position is read). */
function firstPatched(patches: Map<HookName, BatchPatch>, b: number, S: number): number {
  let first = S - 1;
  for (const p of patches.values()) {
    const mw = p.width ?? 1;
    for (let i = 0; i < first; i++) {
      const at = (b * S + i) * mw;
      for (let j = 0; j < mw; j++) if (p.mask[at + j]) first = i;
    }
  }
  return first;
}

/** The lowest layer row `b` patches (the last layer when it patches nothing). */
function startLayer(patches: Map<HookName, BatchPatch>, b: number, S: number): number {
  let low = Infinity;
  for (const [site, p] of patches) {
    const l = siteLayer(site);
    if (!(l < low)) continue;
    const mw = p.width ?? 1;
    const row = p.mask.subarray(b * S * mw, (b + 1) * S * mw);
    if (row.some((m) => m !== 0)) low = Number.isNaN(l) ? 0 : l;
  }
  return Number.isFinite(low) ? low : Number.MAX_SAFE_INTEGER;
}

/** Positions from..S-1 of a [1, S, d] residual, repeated for `rows` rows. */
function rowsOf(t: ort.Tensor, from: number, rows: number): ort.Tensor {
  const [, S, d] = t.dims.length === 3 ? t.dims : [1, t.dims[0], t.dims[1]];
  const src = (t.data as Float32Array | Uint16Array).subarray(from * d, S * d);
  const out = new (src.constructor as Float32ArrayConstructor | Uint16ArrayConstructor)(rows * src.length);
  for (let b = 0; b < rows; b++) out.set(src, b * src.length);
  return new ort.Tensor(t.type as "float32", out as Float32Array, [rows, S - from, d]);
}

/** The cached keys/values of positions 0..from-1, repeated for `rows`; undefined when the layout is not [1, heads, S, headDim]. */
function pastFor(
  prefix: Map<string, ort.Tensor>,
  model: LoadedModel,
  S: number,
  rows: number,
  from: number,
  inputs?: Set<string>,
): Past | undefined {
  if (from <= 0) return undefined;
  const tensors = new Map<string, ort.Tensor>();
  for (const p of model.pastInputs) {
    if (inputs && !inputs.has(p.name)) continue;
    const t = prefix.get(p.name);
    if (!t || t.dims.length !== 4 || t.dims[0] !== 1 || t.dims[2] !== S) return undefined;
    const [, H, , hd] = t.dims;
    const src = t.data as Float32Array | Uint16Array;
    const out = new (src.constructor as Float32ArrayConstructor | Uint16ArrayConstructor)(rows * H * from * hd);
    for (let h = 0; h < H; h++) {
      const part = src.subarray(h * S * hd, (h * S + from) * hd);
      for (let b = 0; b < rows; b++) out.set(part, (b * H + h) * from * hd);
    }
    tensors.set(p.name, new ort.Tensor(t.type as "float32", out as Float32Array, [rows, H, from, hd]));
  }
  return { from, tensors };
}
