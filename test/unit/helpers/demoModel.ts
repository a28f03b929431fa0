// The demo model for tests that run it: opened once per suite, disposed after it, and the suite
// skipped when the model has not been built (models/demo-llama/onnx/model.onnx). Also reads the
// demo workspace's prompt files.
import * as fs from "fs";
import * as path from "path";
import type { LoadedModel } from "../../../src/engine";
import { openModel } from "../../../src/engine";
import { findBlock, parsePromptFile, type Block } from "../../../src/engine";
import { loadTokenizer, type TextTokenizer } from "../../../src/engine";

export const ROOT = path.resolve(__dirname, "../../..");
export const DEMO_LLAMA = path.join(ROOT, "models/demo-llama");

export interface DemoModel {
  model: LoadedModel;
  tok: TextTokenizer;
}

/**
 * Adds before/after hooks to the calling suite: before opens the model and its tokenizer (or skips
 * the suite when the model is missing), after disposes it. The returned object is filled in by the
 * before hook, so read its fields inside tests, not at describe time.
 */
export function useDemoModel(dir = DEMO_LLAMA): DemoModel {
  const demo = {} as DemoModel;
  before(async function () {
    if (!fs.existsSync(path.join(dir, "onnx/model.onnx"))) this.skip();
    demo.model = await openModel(dir);
    demo.tok = await loadTokenizer(dir);
  });
  after(async () => {
    if (demo.model) await demo.model.dispose();
  });
  return demo;
}

/** The block called `name` in demo/<file> (e.g. "ioi.introspect"); fails when it is not there. */
export function demoBlock<B extends Block>(file: string, name: string): B {
  const parsed = parsePromptFile(fs.readFileSync(path.join(ROOT, "demo", file), "utf8"));
  const block = findBlock(parsed, name);
  if (!block) throw new Error(`demo/${file} has no block named '${name}'`);
  return block as B;
}
