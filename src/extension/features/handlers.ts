// The probe panel's feature requests on the extension side: dictionary chooser, readings and
// cards from the host, corpus scans (the corpus from introspect.features.corpus or a dialog,
// results cached in the extension's global storage), and "Add to steering panel".
import * as fs from "node:fs";
import * as path from "node:path";
import * as vscode from "vscode";
import { fromWire } from "../../protocol/wire";
import {
  FeatureCardRequest,
  FeatureClampRequest,
  FeatureListRequest,
  FeatureReadRequest,
  FeatureScanRequest,
  FeatureVectorRequest,
  SteerLoadRequest,
} from "../../protocol/lsp";
import type { RequestHandlers } from "../../protocol/webview";
import type { HostClient } from "../hostClient";
import type { SteerView } from "../steer/view";
import { builtDictionaries } from "./buildCommand";
import { askCorpus, knownCorpus } from "./corpus";

/** Set once the steering panel exists (it is created after the probe panel). */
let steerView: SteerView | undefined;
export function setFeatureSteerView(v: SteerView): void {
  steerView = v;
}

export function featureHandlers(context: vscode.ExtensionContext, host: HostClient): RequestHandlers {
  const cacheDir = context.globalStorageUri.fsPath;
  const corpus = () => knownCorpus(context);
  return {
    "introspect/featureList": async () => {
      const beside = await host.client.sendRequest(FeatureListRequest.type);
      const have = new Set(beside.dictionaries.map((d) => d.path));
      const built = builtDictionaries(context).filter((d) => !have.has(d.path) && fs.existsSync(path.join(d.path, "cfg.json")));
      return { dictionaries: [...beside.dictionaries, ...built] };
    },
    "introspect/featureChoose": async () => {
      const picked = await vscode.window.showOpenDialog({
        canSelectFiles: true,
        canSelectFolders: true,
        canSelectMany: false,
        openLabel: "Use dictionary",
        title: "A SAELens folder (cfg.json) or a Gemma Scope params.safetensors",
      });
      return { path: picked?.[0]?.fsPath ?? "" };
    },
    "introspect/featureRead": async (p) => fromWire(await host.client.sendRequest(FeatureReadRequest.type, p)),
    "introspect/featureCard": (p) => host.client.sendRequest(FeatureCardRequest.type, { ...p, cacheDir, corpus: corpus() }),
    "introspect/featureScan": async (p) => {
      const target = (p.choose ? undefined : corpus()) ?? (await askCorpus(context, "Scan corpus"));
      if (!target) return null;
      return host.client.sendRequest(FeatureScanRequest.type, { path: p.path, corpus: target, cacheDir });
    },
    "introspect/featureAddToSteering": async (p) => {
      if (!steerView) throw new Error("The steering panel is not ready yet: try again in a moment.");
      const v = await host.client.sendRequest(FeatureVectorRequest.type, { ...p, cacheDir, corpus: corpus() });
      await steerView.ensureRegistered();
      const r = await host.client.sendRequest(SteerLoadRequest.type, { format: "ivec", base64: v.ivec, label: `feature ${p.feature}` });
      steerView.add(r.vectors);
      await steerView.reveal();
      return { name: r.vectors[0]?.vector.name ?? `feature ${p.feature}`, typical: v.typical, typicalSource: v.typicalSource };
    },
    "introspect/featureClamp": (p) => host.client.sendRequest(FeatureClampRequest.type, p),
  };
}
