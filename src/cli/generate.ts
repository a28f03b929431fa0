// introspect generate: greedy or sampled continuation, optionally with a steering vector active
// at every step.

import * as fs from "node:fs";
import * as path from "node:path";
import { generate } from "../engine";
import { stopIdsOf } from "../engine";
import { roomFor } from "../engine";
import { modelDecoderFactory } from "../engine";
import type { SamplingOptions } from "../engine";
import type { LoadedModel } from "../engine";
import { importControlVector } from "../engine";
import { loadVector } from "../engine";
import type { ActiveVector } from "../engine";
import { IntrospectError } from "../engine";
import { type Command, threadsOption, UsageError, intOption, numOption, readTextOption, required } from "./common";
import { MODEL_HELP, modelOptions, openFromOptions } from "./model";

/** The largest steering strength accepted (|--alpha|). */
export const MAX_ALPHA = 1e6;

export const generateCommand: Command = {
  name: "generate",
  summary: "continue a text, optionally steered by a vector at every step",
  help: `introspect generate --model PATH --text TEXT [--steer FILE --alpha A] [--max-tokens N] [--json]

Generates a continuation of TEXT (greedy unless --temperature is given) and streams it to
stdout. With --steer, the vector is added (times --alpha) at its site in every forward pass.

${MODEL_HELP}
  --text TEXT         the prompt; "-" reads standard input
  --text-file FILE    read the prompt from FILE instead
  --chat              wrap TEXT as a user message with the model's chat template
  --steer FILE        steering vector: .ivec (saved by Introspect) or a llama.cpp / repeng
                      control vector (.gguf)
  --alpha A           strength of the steering vector (default 1)
  --max-tokens N      tokens to generate (default 32)
  --temperature T     sample with temperature T (default: greedy)
  --top-k K           with --temperature: keep the K most likely tokens
  --top-p P           with --temperature: keep the smallest set with probability >= P
  --seed S            with --temperature: random seed (default 0)
  --no-kv             recompute the whole sequence each step instead of using past_key_values
  --json              print {prompt: {text, ids}, steer, tokens: [{index, id, text, p, entropy}], text}`,
  options: modelOptions(
    ["text", "text-file", "steer", "alpha", "max-tokens", "temperature", "top-k", "top-p", "seed"],
    ["chat", "no-kv", "json"],
  ),
  async run(values, io) {
    const cmd = "generate";
    const modelPath = required(values, "model", cmd);
    const text = await readTextOption(values, io, cmd);
    const maxTokens = intOption(values, "max-tokens", cmd, 32, 0);
    const alpha = numOption(values, "alpha", cmd, 1, MAX_ALPHA, "stronger steering only overflows the activations");
    const threads = threadsOption(values, cmd);
    if (values.alpha !== undefined && values.steer === undefined) throw new UsageError("--alpha needs --steer FILE", cmd);
    const sampling = samplingOf(values, cmd);
    const { model, tok } = await openFromOptions(modelPath, values, threads, io.err);
    try {
      const steer = values.steer ? loadSteer(values.steer as string, model, alpha) : [];
      const prompt = values.chat ? tok.applyChatTemplate([{ role: "user", content: text }], { addGenerationPrompt: true }) : text;
      const ids = tok.encode(prompt, { addSpecialTokens: !values.chat }).map((t) => t.id);
      const stopIds = stopIdsOf(model.resolved.folder, tok.eosTokenId);
      const make = modelDecoderFactory(model, { useKvCache: !values["no-kv"] });
      const room = roomFor(make, ids.length, maxTokens);
      if (room < maxTokens)
        io.err(
          `introspect: --max-tokens ${maxTokens} cut to ${room}: the prompt has ${ids.length} tokens and the model has ${make.contextLength} positions\n`,
        );
      const produced: { index: number; id: number; text: string; p: number; entropy: number }[] = [];
      let shown = "";
      for await (const t of generate(make, ids, { maxTokens, steer, sampling, stopIds, cancel: io.cancel })) {
        if (!Number.isFinite(t.p)) {
          throw new IntrospectError(
            "bad-input",
            steer.length
              ? `The steered forward pass produced non-finite values (NaN or infinity) at step ${produced.length + 1}: --alpha ${alpha} is too strong for this vector. Try a smaller strength.`
              : `The forward pass produced non-finite values (NaN or infinity) at step ${produced.length + 1}; the model's weights may be damaged.`,
          );
        }
        produced.push({ ...t, text: tok.tokenText(t.id) });
        if (values.json) continue;
        // Print what the tokens so far decode to, holding back an unfinished multi-byte character.
        const now = tok.decode(
          produced.map((p) => p.id),
          { skipSpecialTokens: true },
        );
        const safe = now.endsWith("\ufffd") ? now.slice(0, now.lastIndexOf("\ufffd")) : now;
        if (safe.startsWith(shown) && safe.length > shown.length) {
          io.out(safe.slice(shown.length));
          shown = safe;
        }
      }
      const full = produced.length
        ? tok.decode(
            produced.map((p) => p.id),
            { skipSpecialTokens: true },
          )
        : "";
      if (values.json) {
        const steerInfo = steer.map((a) => ({ name: a.vector.name, site: a.vector.site, alpha: a.alpha }));
        io.out(JSON.stringify({ prompt: { text: prompt, ids }, steer: steerInfo, tokens: produced, text: full }) + "\n");
      } else {
        if (full.startsWith(shown) && full.length > shown.length) io.out(full.slice(shown.length));
        io.out("\n");
      }
      return 0;
    } finally {
      await model.dispose();
    }
  },
};

function samplingOf(values: Record<string, unknown>, cmd: string): SamplingOptions {
  if (values.temperature === undefined) {
    for (const o of ["top-k", "top-p", "seed"]) if (values[o] !== undefined) throw new UsageError(`--${o} needs --temperature`, cmd);
    return { kind: "greedy" };
  }
  const temperature = numOption(values, "temperature", cmd, 1);
  if (temperature <= 0) throw new UsageError("--temperature must be above 0 (leave it out for greedy decoding)", cmd);
  return {
    kind: "sample",
    seed: intOption(values, "seed", cmd, 0, 0),
    temperature,
    ...(values["top-k"] !== undefined ? { topK: intOption(values, "top-k", cmd, 0, 1) } : {}),
    ...(values["top-p"] !== undefined ? { topP: numOption(values, "top-p", cmd, 1) } : {}),
  };
}

function loadSteer(file: string, model: LoadedModel, alpha: number): ActiveVector[] {
  if (!fs.existsSync(file)) throw new IntrospectError("bad-input", `Steering vector file ${file} does not exist.`);
  if (file.toLowerCase().endsWith(".gguf")) {
    const cv = importControlVector(fs.readFileSync(file), {
      name: path.basename(file, ".gguf"),
      modelId: model.info.id,
      model: model.info,
      label: file,
    });
    return cv.vectors.map((vector) => ({ vector, alpha }));
  }
  return [{ vector: loadVector(file, model.info), alpha }];
}
