// Logit lens with the reduction inside onnxruntime: the model's own tail (final norm + unembedding,
// as in lens.ts) followed by LogSoftmax, TopK, the entropy and the log-probability of the next
// token, so a layer's lens returns [rows, k] ids and probabilities plus two numbers per row instead
// of [rows, vocab] logits that JavaScript then softmaxes (at 1,024 tokens and a 128 k vocabulary,
// 525 MB per layer). Rows go through in chunks, so the [chunk, vocab] intermediates stay bounded.
import * as ort from "onnxruntime-node";
import { create } from "@bufbuild/protobuf";
import { NodeProtoSchema, type NodeProto } from "onnx-buf";
import type { ActivationTensor, CancelToken } from "../types";
import { throwIfCancelled } from "../types";
import { elemType } from "../onnx/modelFile";
import { emptyLensLayer, type LensLayer } from "../analysis/cache";
import type { LoadedModel } from "./loaded";
import { buildTailPlan, residTensor, subgraphSession } from "./lens";
import { int64Tensor } from "./tensors";

const P = "introspect/lensk/";
const K_IN = `${P}k`;
const NEXT_IN = `${P}next`;
const LENS_IN = "introspect/lens/resid";
const LENS_ZERO = "introspect/lens/zero_skip";

/** Rows per tail run: [rows, vocab] floats a few times over (128 rows x 128 k = 64 MB each). */
export const LENS_CHUNK_ROWS = 128;

interface TopKTail {
  session: ort.InferenceSession;
  extraInputs: Array<{ name: string; elemType: number }>;
  needsZeroSkip: boolean;
}

const tails = new WeakMap<LoadedModel, Promise<TopKTail>>();

type Attr = { name: string; type: number; i?: bigint; ints?: bigint[] };
function node(opType: string, input: string[], output: string[], attribute: Attr[] = []): NodeProto {
  return create(NodeProtoSchema, { opType, name: output[0], input, output, attribute });
}
const ints = (name: string, v: number[]): Attr => ({ name, type: 7, ints: v.map(BigInt) });
const int = (name: string, v: number): Attr => ({ name, type: 2, i: BigInt(v) });

function topKTail(model: LoadedModel): Promise<TopKTail> {
  let t = tails.get(model);
  if (!t) {
    t = (async () => {
      const { plan, keep, needsZeroSkip } = buildTailPlan(model);
      const logitsOut = model.map.logitsOutput;
      const outInfo = model.scanned.outputs.find((o) => o.name === logitsOut);
      let logits = logitsOut;
      if (outInfo && elemType(outInfo) !== 1) {
        plan.added.push(node("Cast", [logits], [`${P}f32`], [int("to", 1)]));
        logits = `${P}f32`;
      }
      // Sums over the vocabulary as a product with a ones vector (ReduceSum's axes moved from an
      // attribute to an input at opset 13; MatMul reads the same everywhere).
      plan.added.push(
        node("LogSoftmax", [logits], [`${P}logp`], [int("axis", -1)]),
        node("TopK", [`${P}logp`, K_IN], [`${P}topv`, `${P}topi`], [int("axis", -1)]),
        node("Exp", [`${P}logp`], [`${P}p`]),
        node("Mul", [`${P}p`, `${P}logp`], [`${P}plogp`]),
        node("Shape", [logits], [`${P}shape`]),
        node("Constant", [], [`${P}last`], [ints("value_ints", [-1])]),
        node("Constant", [], [`${P}end`], [ints("value_ints", [2 ** 31 - 1])]),
        node("Slice", [`${P}shape`, `${P}last`, `${P}end`], [`${P}vshape`]),
        node("ConstantOfShape", [`${P}vshape`], [`${P}zeros`]),
        node("Exp", [`${P}zeros`], [`${P}ones1`]),
        node("Constant", [], [`${P}col`], [ints("value_ints", [-1, 1])]),
        node("Reshape", [`${P}ones1`, `${P}col`], [`${P}ones`]),
        node("MatMul", [`${P}plogp`, `${P}ones`], [`${P}negent`]),
        node("GatherElements", [`${P}logp`, NEXT_IN], [`${P}nextlp`], [int("axis", -1)]),
      );
      plan.newInputs.push({ name: K_IN, elemType: 7 }, { name: NEXT_IN, elemType: 7 });
      plan.outputs = new Map([
        ["topv", `${P}topv`],
        ["topi", `${P}topi`],
        ["negent", `${P}negent`],
        ["nextlp", `${P}nextlp`],
      ]);
      const session = await subgraphSession(model, plan, keep, "logit-lens-topk");
      return { session, extraInputs: plan.newInputs.filter((i) => !i.name.startsWith("introspect/")), needsZeroSkip };
    })();
    tails.set(model, t);
    t.catch(() => tails.delete(model));
  }
  return t;
}

/**
 * What logitLensLayer computes (top-k ids and probabilities, next-token probability, entropy of the
 * full distribution), for `resid` rows [n, d] (a layer's residual over the shown tokens), with the
 * softmax and top-k done by onnxruntime in chunks of LENS_CHUNK_ROWS rows. nextIds[i] = -1 where no
 * token follows (nextProb NaN there).
 */
export async function lensTopK(
  model: LoadedModel,
  resid: ActivationTensor,
  nextIds: Int32Array,
  k: number,
  cancel?: CancelToken,
): Promise<LensLayer> {
  const t = await topKTail(model);
  const d = resid.dims[resid.dims.length - 1];
  const n = resid.data.length / d;
  const kk = Math.min(k, model.info.vocabSize);
  const out = emptyLensLayer(n, kk);
  for (let r0 = 0; r0 < n; r0 += LENS_CHUNK_ROWS) {
    throwIfCancelled(cancel);
    const rows = Math.min(LENS_CHUNK_ROWS, n - r0);
    const x = residTensor({ dims: [1, rows, d], data: resid.data.subarray(r0 * d, (r0 + rows) * d) }, model.map.residDtype);
    const feeds: Record<string, ort.Tensor> = {
      [LENS_IN]: x,
      [K_IN]: int64Tensor([kk], [1]),
      [NEXT_IN]: int64Tensor(
        Array.from(nextIds.subarray(r0, r0 + rows), (v) => Math.max(0, v)),
        [1, rows, 1],
      ),
    };
    if (t.needsZeroSkip) feeds[LENS_ZERO] = residTensor({ dims: [1, rows, d], data: new Float32Array(rows * d) }, model.map.residDtype);
    for (const i of t.extraInputs) {
      // Graph inputs the tail reads only for shapes (lens.ts): zeros stay inside any position table.
      if (i.name === "attention_mask") feeds[i.name] = int64Tensor(new Array(rows).fill(1), [1, rows]);
      else feeds[i.name] = int64Tensor(new Array(rows).fill(0), [1, rows]);
    }
    const o = await t.session.run(feeds);
    const topv = o[`${P}topv`].data as Float32Array;
    const topi = o[`${P}topi`].data as BigInt64Array;
    const negent = o[`${P}negent`].data as Float32Array;
    const nextlp = o[`${P}nextlp`].data as Float32Array;
    for (let j = 0; j < rows * kk; j++) {
      out.ids[r0 * kk + j] = Number(topi[j]);
      out.probs[r0 * kk + j] = Math.exp(topv[j]);
    }
    for (let j = 0; j < rows; j++) {
      out.entropy[r0 + j] = -negent[j];
      out.nextProb[r0 + j] = nextIds[r0 + j] >= 0 ? Math.exp(nextlp[j]) : NaN;
    }
  }
  return out;
}
