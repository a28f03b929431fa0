// What the figures share: the model, the prompts, and measurements made once per run
// (plain forward, the PyTorch reference, the engine model), each computed on first use.

import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { EngineModel, loadEngine, SweepSpec } from "./engine";
import { BenchModel } from "./models";
import { maxAbsDiff, PlainModel, THREADS, top2Last } from "./ort";
import { corrupt, randomIds, rng } from "./prompts";
import { ReferenceResult, runReference } from "./reference";
import { Stat, time } from "./stats";

export interface Options {
  quick: boolean;
  /** Figure ids to run; all when empty. */
  only: string[];
  /** Skip the PyTorch side (figures needing it say so). */
  noReference: boolean;
  /** Sweep: further layer-cut counts timed in the same run as the default (--cuts 6,12). */
  cuts?: number[];
}

export interface Sizes {
  plainRepeats: number;
  longRepeats: number;
  sweepRepeats: number;
  sweepLayers: number;
  sweepPositions: number;
  genTokens: number;
  genPrompt: number;
  genRepeats: number;
}

export function sizesFor(quick: boolean, layers: number): Sizes {
  return quick
    ? {
        plainRepeats: 3,
        longRepeats: 2,
        sweepRepeats: 1,
        sweepLayers: Math.min(3, layers),
        sweepPositions: 32,
        genTokens: 16,
        genPrompt: 16,
        genRepeats: 2,
      }
    : {
        plainRepeats: 10,
        longRepeats: 5,
        sweepRepeats: 3,
        sweepLayers: layers,
        sweepPositions: 32,
        genTokens: 32,
        genPrompt: 16,
        genRepeats: 5,
      };
}

export type ReferenceTask = "plain" | "capture" | "sweep" | "generate";

export class Ctx {
  readonly sizes: Sizes;
  readonly prompts: Record<"p64" | "p512" | "check" | "gen", number[]>;
  readonly referenceTasks = new Set<ReferenceTask>();
  readonly checks: Record<string, number | string> = {};
  private memo = new Map<string, Promise<unknown>>();
  /** Steering vector shared by both sides: seeded normal * scale, at the middle layer. */
  readonly steer: { layer: number; scale: number; seed: number };

  constructor(
    readonly model: BenchModel,
    readonly opts: Options,
    readonly log: (s: string) => void,
  ) {
    this.sizes = sizesFor(opts.quick, model.layers);
    const avoid = model.eosId === undefined ? [] : [model.eosId];
    this.prompts = {
      p64: randomIds(64, model.vocab, 64, avoid),
      p512: randomIds(Math.min(512, model.maxPositions), model.vocab, 512, avoid),
      check: randomIds(16, model.vocab, 16, avoid),
      gen: randomIds(this.sizes.genPrompt, model.vocab, 7, avoid),
    };
    this.steer = { layer: Math.floor(model.layers / 2), scale: 4, seed: 0 };
  }

  private once<T>(key: string, f: () => Promise<T>): Promise<T> {
    if (!this.memo.has(key)) this.memo.set(key, f());
    return this.memo.get(key) as Promise<T>;
  }

  plainModel(): Promise<PlainModel> {
    return this.once("plainModel", () => PlainModel.open(this.model.onnx, this.model.kv));
  }

  /** Tokens of the "64" or "512" prompt (the long one is shorter for models with fewer positions). */
  len(n: 64 | 512): number {
    return n === 64 ? this.prompts.p64.length : this.prompts.p512.length;
  }

  /** Seconds for one plain onnxruntime forward of `n` tokens on the unmodified graph. */
  plainForward(n: 64 | 512): Promise<Stat> {
    return this.once(`plain${n}`, async () => {
      const m = await this.plainModel();
      const ids = n === 64 ? this.prompts.p64 : this.prompts.p512;
      const s = await time(() => m.forward(ids), n === 64 ? this.sizes.plainRepeats : this.sizes.longRepeats);
      this.log(`onnxruntime plain forward ${ids.length} tokens: ${(s.median * 1000).toFixed(1)} ms`);
      return s;
    });
  }

  /** The clean/corrupted pair and answers for the patching sweep (answers from onnxruntime's logits). */
  sweepSpec(): Promise<SweepSpec> {
    return this.once("sweepSpec", async () => {
      const m = await this.plainModel();
      const clean = this.prompts.p64;
      const n = clean.length;
      // Corrupted before the swept window (and once inside it), as in a name-swap task: every swept
      // cell can change the answer except layer 0's untouched positions, which the engine may skip.
      const corrupted = corrupt(clean, [10, 20, n - 19], this.model.vocab, 99);
      const [correct, second] = top2Last(await m.logits(clean), this.model.vocab);
      const [top] = top2Last(await m.logits(corrupted), this.model.vocab);
      const positions = Array.from({ length: this.sizes.sweepPositions }, (_, i) => n - this.sizes.sweepPositions + i);
      const layers = Array.from({ length: this.sizes.sweepLayers }, (_, i) => i);
      return { clean, corrupted, layers, positions, correct, wrong: top === correct ? second : top };
    });
  }

  /** The steering vector, made here and handed to both sides so they add the same numbers. */
  steerVector(): Float32Array {
    return (this.vector ??= gaussian(this.model.dModel, this.steer.seed, this.steer.scale));
  }
  private vector?: Float32Array;

  /** Runs the PyTorch reference once, with every task some selected figure asked for. */
  reference(): Promise<ReferenceResult> {
    return this.once("reference", async () => {
      if (this.opts.noReference) throw new Error("skipped (--no-reference)");
      const sw = await this.sweepSpec();
      const checkFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "introspect-check-")), "logits.f32");
      const z = this.sizes;
      const spec = {
        model_dir: this.model.dir,
        onnx: this.model.onnx,
        threads: THREADS,
        repeats: z.plainRepeats,
        warmup: 1,
        tasks: ["check", ...this.referenceTasks],
        check: { ids: this.prompts.check, out: checkFile },
        plain: { inputs: { "64": this.prompts.p64, "512": this.prompts.p512 } },
        capture: { inputs: { "64": this.prompts.p64, "512": this.prompts.p512 } },
        sweep: { ...sw, layers: sw.layers.length, repeats: z.sweepRepeats },
        generate: {
          prompt: this.prompts.gen,
          new_tokens: z.genTokens,
          steer_layer: this.steer.layer,
          steer_vector: Array.from(this.steerVector()),
          repeats: z.genRepeats,
        },
      };
      this.log(`running the PyTorch reference (${spec.tasks.join(", ")})...`);
      const r = await runReference(spec);
      const torchLogits = new Float32Array(fs.readFileSync(checkFile).buffer.slice(0));
      fs.rmSync(path.dirname(checkFile), { recursive: true, force: true });
      const ortLogits = await (await this.plainModel()).logits(this.prompts.check);
      this.checks["logits max |onnxruntime - PyTorch|"] = maxAbsDiff(ortLogits, torchLogits);
      this.checks["PyTorch matmul 64x768x3072 GFLOP/s"] = r.env.gflops_64x768x3072;
      this.checks["PyTorch uses OpenBLAS"] = String(r.env.openblas);
      return r;
    });
  }

  engineModel(): Promise<EngineModel | { reason: string }> {
    return this.once("engineModel", async () => {
      const e = await loadEngine();
      if (!e.api) return { reason: e.reason ?? "engine not available" };
      try {
        return await e.api.open(this.model.dir);
      } catch (err) {
        return { reason: `the engine could not open ${this.model.name}: ${(err as Error).message}` };
      }
    });
  }

  async close(): Promise<void> {
    if (this.memo.has("plainModel")) await (await this.plainModel()).release();
    if (this.memo.has("engineModel")) {
      const m = await this.engineModel();
      if ("close" in m) await m.close();
    }
  }
}

/** Seeded standard normal vector (Box-Muller over mulberry32), times `scale`. */
export function gaussian(n: number, seed: number, scale: number): Float32Array {
  const r = rng(seed + 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(r(), 1e-12);
    v[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r()) * scale;
  }
  return v;
}
