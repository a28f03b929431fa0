// quantize_dynamic's int8 / uint8 exports gather integer embedding rows; a DequantizeLinear makes the
// float stream, and the first layer's projections read the integer rows directly. The map must
// start the stream after the DequantizeLinear (or it reads layer 0's attention as a position
// embedding and refuses the model), and an edit at blocks.0.hook_resid_pre must reach those
// projections too (they then read QuantizeLinear(edited) with the same scale and zero point).
import * as assert from "assert";
import * as path from "path";
import { openModel, LoadedModel } from "../../../src/engine";

const FOLDER = path.resolve(__dirname, "../../fixtures/zoo/olmo3-torchscript");
const IDS = [5, 17, 200, 33, 8, 91, 120, 7, 64, 300, 12, 45];
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

describe("quantised embedding (quantize_dynamic int8 / uint8)", function () {
  this.timeout(120000);
  let fp32: LoadedModel;
  const quant: Record<string, LoadedModel> = {};
  before(async () => {
    fp32 = await openModel(FOLDER);
    for (const v of ["int8", "uint8"]) quant[v] = await openModel(FOLDER, { variant: v });
  });
  after(async () => {
    await fp32?.dispose();
    for (const m of Object.values(quant)) await m.dispose();
  });

  for (const v of ["int8", "uint8"]) {
    it(`${v}: the map has attention in layer 0 and the site layout of the float32 graph`, () => {
      const m = quant[v];
      assert.strictEqual(m.map.numLayers, 3);
      assert.deepStrictEqual([...m.map.sites.keys()].sort(), [...fp32.map.sites.keys()].sort());
      assert.ok(m.map.sites.has("blocks.0.attn.hook_pattern"), "layer 0 attention not mapped");
    });

    it(`${v}: steering at blocks.0.hook_resid_pre reaches layer 0's attention`, async () => {
      const m = quant[v];
      const site = "blocks.0.hook_resid_pre";
      const capture = ["blocks.0.hook_attn_out" as const];
      const base = await m.run({ ids: IDS, capture: [site, ...capture] });
      const e = base.captures.get(site)!;
      const d = e.dims[e.dims.length - 1];
      let norm = 0;
      for (let i = 0; i < d; i++) norm += e.data[i] * e.data[i];
      const vec = new Float32Array(d).map((_, i) => Math.sin(i * 1.7 + 0.3));
      const vn = Math.hypot(...vec);
      for (let i = 0; i < d; i++) vec[i] *= Math.sqrt(norm) / vn;
      // A zero vector changes nothing: the requantised rows are the original integers.
      const zero = await m.run({ ids: IDS, capture, steer: [{ site, vector: new Float32Array(d), scale: 1 }] });
      assert.ok(maxDiff(zero.logits.data, base.logits.data) <= 1e-6, "a zero steer changed the logits");
      const steered = await m.run({ ids: IDS, capture, steer: [{ site, vector: vec, scale: 2 }] });
      const ref = await fp32.run({ ids: IDS, capture, steer: [{ site, vector: vec, scale: 2 }] });
      const refBase = await fp32.run({ ids: IDS, capture });
      const a = steered.captures.get(capture[0])!.data;
      const moved = maxDiff(refBase.captures.get(capture[0])!.data, ref.captures.get(capture[0])!.data);
      const err = maxDiff(a, ref.captures.get(capture[0])!.data);
      const quantErr = maxDiff(base.captures.get(capture[0])!.data, refBase.captures.get(capture[0])!.data);
      // Without the edit reaching the projections, attn_out stays the unsteered one: err ~ moved.
      assert.ok(moved > 0.1, `the float32 attention output hardly moved (${moved})`);
      assert.ok(
        err < 0.25 * moved,
        `steered ${v} attn_out is ${err} from float32's (steering moved it ${moved}, quantisation alone ${quantErr})`,
      );
    });
  }
});
