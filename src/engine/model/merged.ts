// A merged decoder (decoder_model_merged*.onnx) as one LoadedModel: each pass runs the branch the
// merged graph would take for it. A pass without past (a full run, the first decode step) runs the
// flattened else_branch; a pass after a non-empty past runs the flattened then_branch. Both are
// mapped and self-checked; their sites must agree, so captures, steering and patching read and edit
// the same names in either.
//
// The choice is made per pass from the feeds, inside the session this model hands out: every caller
// (run, decodeStep, the generation decoders and the patching runner, which feed past tensors
// themselves) gets one session object whose run() sends the feeds to the right branch's edited
// session and returns outputs under the names the caller asked for.
import * as crypto from "crypto";
import type * as ort from "onnxruntime-node";
import type { HookName, ModelInfo } from "../types";
import { IntrospectError } from "../types";
import type { ArchMap } from "../arch/archMap";
import type { GraphIndex } from "../onnx/graph";
import type { ScannedModel } from "../onnx/modelFile";
import type { FileBytes } from "../onnx/wire";
import { LoadedModel, type EditedSession, type SessionOptions, type SessionVariant } from "./loaded";
import type { ResolvedModel } from "./resolve";

/** The cache folder of one branch: the file's fingerprint and the branch, as 32 hex digits like any model's. */
export function branchFingerprint(fp: string, branch: string): string {
  return crypto.createHash("sha256").update(`${fp}|${branch}`).digest("hex").slice(0, 32);
}

/** What the with-past branch needs to be a model of its own. */
export interface BranchModel {
  map: ArchMap;
  scanned: ScannedModel;
  graph: GraphIndex;
  src: FileBytes;
  fp: string;
}

export class MergedDecoder extends LoadedModel {
  /** The with-past branch (then_branch), opened as a model of its own over the same file. */
  readonly withPast: LoadedModel;
  private readonly joined = new WeakMap<EditedSession, EditedSession>();

  constructor(
    info: ModelInfo,
    map: ArchMap,
    resolved: ResolvedModel,
    scanned: ScannedModel,
    graph: GraphIndex,
    src: FileBytes,
    fp: string,
    options: SessionOptions,
    past: BranchModel,
  ) {
    super(info, map, resolved, scanned, graph, src, fp, options);
    const a = [...map.sites.keys()].sort();
    const b = [...past.map.sites.keys()].sort();
    if (a.join() !== b.join()) {
      const only = (x: string[], y: string[]) =>
        x
          .filter((s) => !y.includes(s))
          .slice(0, 4)
          .join(", ") || "none";
      throw new IntrospectError(
        "map-check-failed",
        `The two branches of merged decoder ${info.id} map to different sites (only without past: ${only(a, b)}; only with past: ${only(b, a)}), so a capture would mean different things in different passes.`,
      );
    }
    this.withPast = new LoadedModel(info, past.map, resolved, past.scanned, past.graph, past.src, past.fp, options);
  }

  /** The no-past branch's edited session, joined with the with-past branch's (made on the first pass that needs it). */
  override async session(steer: HookName[] = [], patch: HookName[] = [], variant: SessionVariant = {}): Promise<EditedSession> {
    const noPast = await super.session(steer, patch, variant);
    let j = this.joined.get(noPast);
    if (!j) {
      j = { session: this.branchSession(noPast, steer, patch, variant), outputs: noPast.outputs };
      this.joined.set(noPast, j);
    }
    return j;
  }

  /** Whether any past tensor fed holds positions: then the merged graph would take then_branch. */
  hasPast(feeds: Record<string, ort.Tensor>): boolean {
    return this.pastInputs.some((p) => (feeds[p.name]?.dims[2] ?? 0) > 0);
  }

  private branchSession(noPast: EditedSession, steer: HookName[], patch: HookName[], variant: SessionVariant): ort.InferenceSession {
    const siteOf = new Map([...noPast.outputs].map(([site, tensor]) => [tensor, site]));
    const runOn = async (e: EditedSession, feeds: Record<string, ort.Tensor>, fetch: string[]) => {
      e.busy = (e.busy ?? 0) + 1;
      try {
        return await e.session.run(feeds, fetch);
      } finally {
        e.busy--;
        if (e.evicted && e.busy === 0) void e.session.release().catch(() => undefined);
      }
    };
    const joined = {
      inputNames: noPast.session.inputNames,
      outputNames: noPast.session.outputNames,
      run: async (feeds: Record<string, ort.Tensor>, fetches?: readonly string[]) => {
        const names = [...(fetches ?? noPast.session.outputNames)];
        if (!this.hasPast(feeds)) return runOn(noPast, feeds, names);
        const wp = await this.withPast.session(steer, patch, variant);
        const asked = names.map((n) => (siteOf.has(n) ? wp.outputs.get(siteOf.get(n)!)! : n));
        const raw = await runOn(wp, feeds, [...new Set(asked)]);
        return Object.fromEntries(names.map((n, i) => [n, raw[asked[i]]]));
      },
      // Each branch's sessions belong to its model and are released there.
      release: async () => undefined,
    };
    return joined as unknown as ort.InferenceSession;
  }

  override async dispose(): Promise<void> {
    await this.withPast.dispose();
    await super.dispose();
  }

  override removeWrittenFiles(): void {
    this.withPast.removeWrittenFiles();
    super.removeWrittenFiles();
  }
}
