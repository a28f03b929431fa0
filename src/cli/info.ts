// introspect info: the architecture map of a model, each of its self-checks and the verdict.

import { describeProvider } from "../engine";
import { describeCheck, openModel } from "../engine";
import { type Command, EXIT, required, table } from "./common";
import { MODEL_HELP, modelOptions, layerMap, parseConfigOverrides } from "./model";

export const infoCommand: Command = {
  name: "info",
  summary: "the architecture map of a model, its self-checks and whether it can be used",
  help: `introspect info --model PATH [--variant NAME] [--config KEY=VALUE,...] [--json]

Reads the model's graph and prints what the architecture map found: layers, residual width,
vocabulary, experts, export style, the sites of each layer, then every self-check (the graph's
layer count, width and experts against config.json, the past_key_values inputs and present
outputs, and the layer numbers in node names or dynamo metadata; attention recognised in every
layer) with its verdict. Exit code 0 when every check agrees, 2 when the map cannot be
confirmed (the other commands then refuse the model with the same sentence).

${MODEL_HELP}
  --json            print {info, checks, verdict, refusal?} as JSON`,
  options: modelOptions([], ["json"]),
  async run(values, io) {
    const modelPath = required(values, "model", "info");
    const model = await openModel(modelPath, {
      variant: values.variant as string | undefined,
      warm: false,
      allowUnconfirmed: true,
      config: parseConfigOverrides(values.config as string | undefined),
      executionProvider: values.provider as string | undefined,
    });
    try {
      // A provider other than CPU is only known to work once a session starts on it.
      if (model.provider.requested !== "cpu" && !model.info.unconfirmed) await model.session();
      const info = model.info;
      const checks = info.checks ?? [];
      const verdict = info.unconfirmed ? "refused" : "confirmed";
      if (values.json) {
        io.out(JSON.stringify({ info, checks, verdict, ...(info.unconfirmed ? { refusal: info.unconfirmed } : {}) }, null, 1) + "\n");
        return info.unconfirmed ? EXIT.input : EXIT.ok;
      }
      const { layers, other } = layerMap(info.sites, info.numLayers);
      io.out(
        table([
          ["model", info.id],
          ["architecture", info.architecture],
          ["export style", info.exportStyle],
          ["layers", String(info.numLayers)],
          ["residual width", String(info.dModel)],
          ["MLP width", info.dMlp ? String(info.dMlp) : "-"],
          ["vocabulary", String(info.vocabSize)],
          ["experts", info.numExperts ? `${info.numExperts}${info.expertsPerToken ? `, top-${info.expertsPerToken}` : ""}` : "-"],
          ["KV cache inputs", info.hasKvCache ? "yes" : "no"],
          ["execution provider", describeProvider(model.provider)],
        ]) + "\n\n",
      );
      const short = (s: string) => s.replace(/^blocks\.\d+\./, "");
      io.out(
        table([["layer", "sites"], ...layers.map((l) => [String(l.layer), l.sites.map(short).join(" ")]), ["-", other.join(" ")]]) + "\n\n",
      );
      if (info.notes.length) io.out(info.notes.map((n) => `note: ${n}`).join("\n") + "\n\n");
      io.out(
        table([
          ["check", "graph", "other", "source", "verdict"],
          ...checks.map((c) => [c.what, String(c.graph), String(c.other), c.source, c.verdict === "agree" ? "agree" : "DISAGREE"]),
        ]) + "\n\n",
      );
      if (info.unconfirmed) {
        io.out(
          `verdict: refused. ${checks
            .filter((c) => c.verdict === "disagree")
            .map(describeCheck)
            .join("; ")}\n${info.unconfirmed}\n`,
        );
        return EXIT.input;
      }
      io.out(`verdict: confirmed by ${checks.length} checks\n`);
      return EXIT.ok;
    } finally {
      await model.dispose();
    }
  },
};
