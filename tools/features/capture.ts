// Captures one site of a demo model over models/data/feature-corpus.jsonl into a safetensors file
// (train: every document but the last 200, heldout: the last 200), for train_demo_saes.py.
//
//   npx tsx tools/features/capture.ts demo-llama blocks.2.hook_resid_post OUT.safetensors
import * as path from "node:path";
import { collectActivations, readCorpus } from "../../src/engine/features";
import { openModel } from "../../src/engine/model/open";
import { writeSafetensors } from "../../src/engine/safetensors";
import { loadTokenizer } from "../../src/engine/tokenizer";

async function main(): Promise<void> {
  const [name, site, out] = process.argv.slice(2);
  const root = path.resolve(__dirname, "../..");
  const folder = path.join(root, "models", name);
  const model = await openModel(folder);
  const tok = await loadTokenizer(folder);
  const ids = readCorpus(path.join(root, "models/data/feature-corpus.jsonl")).map((t) => tok.encode(t).map((x) => x.id));
  const onProgress = (d: number, n: number) => d % 200 === 0 && console.log(`${name}: ${d} of ${n} documents`);
  const train = await collectActivations(model, ids.slice(0, -200), site, { onProgress });
  const held = await collectActivations(model, ids.slice(-200), site);
  writeSafetensors(out, {
    train: { shape: [train.data.length / train.width, train.width], data: train.data },
    heldout: { shape: [held.data.length / held.width, held.width], data: held.data },
  });
  console.log(`${name} ${site}: ${train.data.length / train.width} train, ${held.data.length / held.width} held-out tokens -> ${out}`);
  await model.dispose();
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
