// introspect/feature*: feature dictionaries for the probe panel. Dictionaries are loaded once per
// path (reloaded when the file changes) and bound to the host's engine model; corpus scans are
// written as JSON under the cache folder the extension names, keyed by dictionary, corpus and model.
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { CancelToken, LoadedModel } from "../../engine";
import {
  buildDictionary,
  decoderDirection,
  encode,
  featureVector,
  fitToModel,
  generateClamped,
  loadDictionary,
  readCorpus,
  readFeatures,
  scanCorpus,
  featureSites,
  type CorpusScan,
  type Dictionary,
} from "../../engine";
import { unembedResidual } from "../../engine";
import { encodeIvec } from "../../engine";
import { IntrospectError } from "../../engine";
import type * as data from "../../protocol/featureData";
import type { Wire } from "../../protocol/wireType";
import * as lsp from "../../protocol/lsp";
import { toWire } from "../../protocol/wire";
import type { WorkDoneProgressReporter } from "vscode-languageserver";
import type { HostContext } from "../context";
import { anyCancelled } from "./errors";

interface Bound {
  dict: Dictionary;
  model: LoadedModel;
  stamp: string;
  notes: string[];
}

function stampOf(file: string): string {
  const st = fs.statSync(file);
  return `${st.size}:${st.mtimeMs}`;
}

function weightsFile(target: string): string {
  if (fs.statSync(target).isDirectory()) {
    const sae = path.join(target, "sae_weights.safetensors");
    return fs.existsSync(sae) ? sae : path.join(target, "params.safetensors");
  }
  return target;
}

function userError(e: unknown): Error {
  if (e instanceof IntrospectError) return new Error(e.message);
  const msg = e instanceof Error ? e.message : String(e);
  return new Error(`The feature request failed: ${msg.split("\n")[0]}.`);
}

/** What the feature requests share: dictionaries loaded once per path and bound to the host's engine model. */
class FeatureSession {
  private readonly bound = new Map<string, Bound>();

  constructor(readonly ctx: HostContext) {}

  /** The dictionary at `p`, loaded again when its file or the engine model changed. */
  async dictionary(p: string): Promise<Bound> {
    const model = await this.ctx.engine.get("try again");
    let stamp: string;
    try {
      stamp = stampOf(weightsFile(p));
    } catch {
      throw new IntrospectError("bad-input", `The dictionary ${p} is not there any more.`);
    }
    const have = this.bound.get(p);
    if (have && have.model === model && have.stamp === stamp) return have;
    const dict = loadDictionary(p);
    const notes = [...dict.notes, ...fitToModel(dict, model.info, model.resolved.folder)];
    const b = { dict, model, stamp, notes };
    this.bound.set(p, b);
    return b;
  }
}

function info(p: string, b: Bound): data.DictionaryInfo {
  const d = b.dict;
  return {
    path: p,
    name: d.name,
    format: d.format,
    architecture: d.architecture,
    site: d.site,
    outSite: d.outSite,
    dIn: d.dIn,
    dSae: d.dSae,
    notes: b.notes,
  };
}

function cacheFile(cacheDir: string, p: string, corpus: string, b: Bound): string {
  const key = crypto
    .createHash("sha256")
    .update(JSON.stringify([path.resolve(p), b.stamp, path.resolve(corpus), stampOf(corpus), b.model.info.id]))
    .digest("hex")
    .slice(0, 24);
  return path.join(cacheDir, "features", `${key}.json`);
}

function cachedScan(cacheDir: string, p: string, corpus: string | undefined, b: Bound): CorpusScan | undefined {
  if (!corpus) return undefined;
  try {
    return JSON.parse(fs.readFileSync(cacheFile(cacheDir, p, corpus, b), "utf8")) as CorpusScan;
  } catch {
    return undefined;
  }
}

export function register(ctx: HostContext): void {
  const session = new FeatureSession(ctx);
  ctx.connection.onRequest(lsp.FeatureListRequest.type, () => list(session));
  ctx.connection.onRequest(lsp.FeatureReadRequest.type, (p, token) => read(session, p, token));
  ctx.connection.onRequest(lsp.FeatureCardRequest.type, (p) => card(session, p));
  ctx.connection.onRequest(lsp.FeatureScanRequest.type, (p, token) => scan(session, p, token));
  ctx.connection.onRequest(lsp.FeatureVectorRequest.type, (p) => vector(session, p));
  ctx.connection.onRequest(lsp.FeatureClampRequest.type, (p, token) => clamp(session, p, token));
  ctx.connection.onRequest(lsp.FeatureBuildRequest.type, (p, token) => build(session, p, token));
}

/** Dictionaries under the model folder's saes/ (three levels deep at most). */
async function list(session: FeatureSession): Promise<data.FeatureListResult> {
  const model = await session.ctx.engine.get("try again");
  const root = path.join(model.resolved.folder, "saes");
  const out: Array<{ path: string; name: string }> = [];
  const walk = (dir: string, depth: number) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    if (entries.some((e) => e.isFile() && (e.name === "cfg.json" || e.name === "params.safetensors"))) {
      out.push({ path: dir, name: path.relative(root, dir) || path.basename(dir) });
      return;
    }
    if (depth < 3) for (const e of entries) if (e.isDirectory()) walk(path.join(dir, e.name), depth + 1);
  };
  walk(root, 0);
  return { dictionaries: out.sort((a, b) => a.name.localeCompare(b.name)) };
}

/** The dictionary's reading of the probed tokens. */
async function read(session: FeatureSession, p: data.FeatureReadParams, token: CancelToken): Promise<Wire<data.FeatureReadResult>> {
  try {
    const b = await session.dictionary(p.path);
    const { captures } = await b.model.run({ ids: p.ids, capture: featureSites(b.dict), cancel: token });
    // Rows are the strongest features over the selection; `full` has them over every probed token.
    const sel = new Map(
      [...captures].map(([k, t]) => [
        k,
        { dims: [p.end - p.start, t.dims[1]], data: t.data.slice(p.start * t.dims[1], p.end * t.dims[1]) },
      ]),
    );
    const reading = readFeatures(b.dict, sel, { rows: p.rows ?? 24 });
    const f = encode(b.dict, captures.get(b.dict.site)!.data);
    const T = p.ids.length;
    const full = new Float32Array(reading.features.length * T);
    reading.features.forEach((j, i) => {
      for (let t = 0; t < T; t++) full[i * T + t] = f[t * b.dict.dSae + j];
    });
    return toWire({ dictionary: info(p.path, b), reading, full });
  } catch (e) {
    throw userError(e);
  }
}

/** One feature's card: the tokens its decoder direction promotes and suppresses, its density and snippets. */
async function card(session: FeatureSession, p: data.FeatureCardParams): Promise<data.FeatureCardResult> {
  try {
    const b = await session.dictionary(p.path);
    const dir = decoderDirection(b.dict, p.feature);
    const logits = await unembedResidual(b.model, { dims: [1, dir.length], data: dir });
    const tok = await session.ctx.engine.tokenizer(b.model);
    const vocab = logits.data.length;
    const order = Array.from({ length: vocab }, (_, i) => i).sort((a, c) => logits.data[c] - logits.data[a]);
    const label = (i: number) => ({ token: tok.decode([i]), logit: logits.data[i] });
    const scan = cachedScan(p.cacheDir, p.path, p.corpus, b);
    const stats = scan?.features[p.feature];
    const fromFile = b.dict.logSparsity ? 10 ** b.dict.logSparsity[p.feature] : undefined;
    return {
      feature: p.feature,
      promotes: order.slice(0, 10).map(label),
      suppresses: order.slice(-10).reverse().map(label),
      density: stats?.density ?? fromFile,
      densitySource: stats ? "corpus" : fromFile !== undefined ? "sparsity file" : "none",
      meanActive: stats?.meanActive,
      snippets: stats?.top,
      corpus: scan ? p.corpus : undefined,
    };
  } catch (e) {
    throw userError(e);
  }
}

/** Scans a corpus once per dictionary, corpus and model; the scan is cached as JSON. */
async function scan(session: FeatureSession, p: data.FeatureScanParams, token: CancelToken): Promise<data.FeatureScanResult> {
  const progress = await session.ctx.connection.window.createWorkDoneProgress();
  progress.begin("Introspect: finding top-activating snippets", 0, "reading the corpus", true);
  try {
    const b = await session.dictionary(p.path);
    const file = cacheFile(p.cacheDir, p.path, p.corpus, b);
    const have = cachedScan(p.cacheDir, p.path, p.corpus, b);
    if (have) return { corpus: p.corpus, texts: have.texts, tokens: have.tokens, cached: true };
    const texts = readCorpus(p.corpus);
    const tok = await session.ctx.engine.tokenizer(b.model);
    const cancel = {
      get isCancellationRequested() {
        return token.isCancellationRequested || progress.token.isCancellationRequested;
      },
    };
    const scan = await scanCorpus(b.model, tok, b.dict, texts, {
      cancel,
      onProgress: (done, total) => progress.report(Math.floor((100 * done) / total), `${done} of ${total} texts`),
    });
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file + ".tmp", JSON.stringify(scan));
    fs.renameSync(file + ".tmp", file);
    return { corpus: p.corpus, texts: scan.texts, tokens: scan.tokens, cached: false };
  } catch (e) {
    if (token.isCancellationRequested || progress.token.isCancellationRequested) throw new Error("Cancelled.");
    throw userError(e);
  } finally {
    progress.done();
  }
}

async function vector(session: FeatureSession, p: data.FeatureVectorParams): Promise<data.FeatureVectorResult> {
  try {
    const b = await session.dictionary(p.path);
    const stats = cachedScan(p.cacheDir, p.path, p.corpus, b)?.features[p.feature];
    const typical = stats && stats.meanActive > 0 ? stats.meanActive : p.fallbackTypical;
    const typicalSource =
      stats && stats.meanActive > 0 ? "mean activation when firing, over the corpus" : "largest activation on the probed tokens";
    if (!(typical > 0))
      throw new IntrospectError(
        "bad-input",
        `Feature ${p.feature} never fired here, so it has no typical activation to scale by: scan a corpus first.`,
      );
    const v = featureVector(b.dict, p.feature, typical, b.model.info.id);
    return { ivec: encodeIvec(v).toString("base64"), typical, typicalSource };
  } catch (e) {
    throw userError(e);
  }
}

/** Greedy continuation with one feature clamped, and without. */
async function clamp(session: FeatureSession, p: data.FeatureClampParams, token: CancelToken): Promise<data.FeatureClampResult> {
  try {
    const b = await session.dictionary(p.path);
    const tok = await session.ctx.engine.tokenizer(b.model);
    const ids = tok.encode(p.text).map((t) => t.id);
    const n = p.maxNewTokens ?? 8;
    const plain = await generateClamped(b.model, b.dict, ids, { feature: p.feature, value: undefined, maxNewTokens: n, cancel: token });
    const clamped = await generateClamped(b.model, b.dict, ids, { feature: p.feature, value: p.value, maxNewTokens: n, cancel: token });
    return { plain: tok.decode(plain), clamped: tok.decode(clamped) };
  } catch (e) {
    throw userError(e);
  }
}

/** Makes a dictionary from a corpus (activations, then the fit), with progress and cancel; writes the folder only at the end. */
async function build(session: FeatureSession, p: data.FeatureBuildParams, token: CancelToken): Promise<data.FeatureBuildResult> {
  // The extension shows the progress in its own cancellable notification when it sends a token.
  const conn = session.ctx.connection;
  let progress: WorkDoneProgressReporter;
  let cancel = token;
  if (p.workDoneToken) progress = conn.window.attachWorkDoneProgress(p.workDoneToken);
  else {
    const own = await conn.window.createWorkDoneProgress();
    cancel = anyCancelled(token, own.token);
    progress = own;
  }
  progress.begin(`Introspect: building a ${p.features}-feature dictionary at layer ${p.layer}`, 0, "reading the corpus", true);
  try {
    const model = await session.ctx.engine.get("try again");
    const tok = await session.ctx.engine.tokenizer(model);
    const texts = readCorpus(p.corpus);
    const { workDoneToken: _, ...options } = p;
    const r = await buildDictionary(model, tok, {
      ...options,
      texts,
      cancel,
      // Activations are the first half of the bar, the fit the second.
      onProgress: (q) =>
        progress.report(
          Math.floor((q.phase === "activations" ? 0 : 50) + (50 * q.done) / q.total),
          `${q.phase === "activations" ? "activations" : "fitting"}: ${q.detail}`,
        ),
    });
    return r;
  } catch (e) {
    if (cancel.isCancellationRequested) throw new Error("Cancelled.");
    throw userError(e);
  } finally {
    progress.done();
  }
}
