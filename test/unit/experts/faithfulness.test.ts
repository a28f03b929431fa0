// Expert interventions (off, forced, router bias, top-k, all together) against PyTorch hooks on the
// same weights (tools/models/experts_ref.py): logits within 1e-4 and greedy ids equal, for every
// zoo MoE folder whose reference has experts.json, and demo-moe. Dynamo exports fix k in their shapes
// and PhiMoE's sparsemixer has no top-k: those top-k cases must be refused with a sentence.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { openModel, type LoadedModel } from "../../../src/engine";
import { readSafetensors, toFloat32 } from "../../../src/engine";
import type { ExpertIntervention } from "../../../src/engine";

const ROOT = path.resolve(__dirname, "../../..");
// A zoo kept out of the repository (tools/models/README.md, "Held out") is checked the same way with
// INTROSPECT_EXPERTS_ZOO=OUT/zoo INTROSPECT_EXPERTS_REFS=DIR (DIR/<type>/experts.json from experts_ref.py).
const REF = process.env.INTROSPECT_EXPERTS_REFS ?? path.join(ROOT, "test/fixtures/reference");
const ZOO = process.env.INTROSPECT_EXPERTS_ZOO ?? path.join(ROOT, "test/fixtures/zoo");

interface Case {
  name: string;
  interventions: ExpertIntervention[];
  greedy?: number[];
  logits?: string;
  refused?: boolean;
  error?: string;
}
interface Manifest {
  prompt_ids: number[];
  cases: Case[];
  logits_rows: string;
}

function targets(): Array<{ label: string; folder: string; ref: string; exporter: string }> {
  const out = process.env.INTROSPECT_EXPERTS_ZOO
    ? []
    : [{ label: "demo-moe", folder: path.join(ROOT, "models/demo-moe"), ref: "demo-moe", exporter: "torchscript" }];
  const index = JSON.parse(fs.readFileSync(path.join(ZOO, "index.json"), "utf8")) as Record<
    string,
    { reference: string; exporter: string; variant: string; expect: { experts?: number } }
  >;
  for (const [folder, e] of Object.entries(index)) {
    if (!e.expect.experts || e.variant !== "fp32") continue;
    if (!fs.existsSync(path.join(REF, e.reference, "experts.json"))) continue;
    out.push({ label: folder, folder: path.join(ZOO, folder), ref: e.reference, exporter: e.exporter });
  }
  return out;
}

async function greedy(m: LoadedModel, ids: number[], experts: ExpertIntervention[], steps: number): Promise<number[]> {
  const seq = [...ids];
  const L = m.info.numLayers;
  for (let s = 0; s < steps; s++) {
    const { logits } = await m.run({ ids: seq, experts, prepare: { experts: layersOf(m, L) } });
    const V = logits.dims[1];
    const row = logits.data.subarray((seq.length - 1) * V, seq.length * V);
    let best = 0;
    for (let i = 1; i < V; i++) if (row[i] > row[best]) best = i;
    seq.push(best);
  }
  return seq.slice(ids.length);
}

function layersOf(m: LoadedModel, L: number): number[] {
  return Array.from({ length: L }, (_, i) => i).filter((i) => m.info.sites.includes(`blocks.${i}.moe.hook_router_logits`));
}

describe("expert interventions match PyTorch hooks", function () {
  this.timeout(600000);
  const list = targets();
  let cache: string;
  before(() => (cache = fs.mkdtempSync(path.join(os.tmpdir(), "introspect-experts-"))));
  after(() => fs.rmSync(cache, { recursive: true, force: true }));

  it("has references for demo-moe and the zoo's MoE families", () => {
    assert.ok(list.length >= 1, "no experts.json references found");
  });

  for (const t of list) {
    it(`${t.label}: every intervention kind, logits within 1e-4 and greedy ids equal`, async () => {
      const man = JSON.parse(fs.readFileSync(path.join(REF, t.ref, "experts.json"), "utf8")) as Manifest;
      const tensors = readSafetensors(path.join(REF, t.ref, "experts.safetensors")).tensors;
      const m = await openModel(t.folder, { cacheDir: cache, intraOpThreads: 1 });
      const kinds = new Set<string>();
      let worst = 0;
      try {
        const prepare = { experts: layersOf(m, m.info.numLayers) };
        for (const c of man.cases) {
          assert.ok(!c.error, `the reference failed for ${c.name}: ${c.error}`);
          const topk = c.interventions.some((iv) => iv.kind === "topk");
          const dynamoTopK = topk && t.exporter === "dynamo";
          if (c.refused || dynamoTopK) {
            await assert.rejects(
              m.run({ ids: man.prompt_ids, experts: c.interventions, prepare }),
              (e: Error) => /^Top-k cannot be changed in .+: .+\.$/.test(e.message) && !e.message.includes("\n"),
              `${c.name} should be refused with one sentence`,
            );
            kinds.add("topk-refused");
            continue;
          }
          const { logits } = await m.run({ ids: man.prompt_ids, experts: c.interventions, prepare });
          const want = tensors.get(c.logits!)!;
          const w = toFloat32(want);
          const [rows, V] = want.shape;
          const got = logits.data.subarray(logits.data.length - rows * V);
          let maxRef = 1;
          let d = 0;
          for (let i = 0; i < w.length; i++) {
            maxRef = Math.max(maxRef, Math.abs(w[i]));
            d = Math.max(d, Math.abs(got[i] - w[i]));
          }
          worst = Math.max(worst, d);
          assert.ok(d <= 1e-4 * maxRef, `${c.name}: logits differ by ${d.toExponential(2)} (max |ref| ${maxRef.toFixed(2)})`);
          const ids = await greedy(m, man.prompt_ids, c.interventions, c.greedy!.length);
          assert.deepStrictEqual(ids, c.greedy, `${c.name}: greedy ids`);
          for (const iv of c.interventions) kinds.add(iv.kind);
        }
      } finally {
        await m.dispose();
      }
      const need = ["off", "force", "bias", ...(kinds.has("topk-refused") ? [] : ["topk"])];
      for (const k of need) assert.ok(kinds.has(k), `no ${k} case compared`);
      console.log(`      ${t.label}: ${man.cases.length} cases, max |logits - PyTorch| ${worst.toExponential(2)}`);
    });
  }
});
