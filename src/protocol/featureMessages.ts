// Host messages of feature dictionaries (answered by src/server/handlers/features.ts).
// Declared once, re-exported by src/protocol/lsp.ts; each message says who sends it and why.
import { RequestType, RequestType0 } from "vscode-languageserver-protocol";
import type * as featureData from "./featureData";
import type { Wire } from "./wireType";

/** Client -> host request: dictionaries under the loaded model's `saes/` folder. */
export namespace FeatureListRequest {
  export const method = "introspect/featureList" as const;
  export const type = new RequestType0<featureData.FeatureListResult, void>(method);
}

/** Client -> host request: a dictionary's reading of the probed tokens (heatmap, top features, error, L0). */
export namespace FeatureReadRequest {
  export const method = "introspect/featureRead" as const;
  export const type = new RequestType<featureData.FeatureReadParams, Wire<featureData.FeatureReadResult>, void>(method);
}

/** Client -> host request: one feature's card (logit-lens tokens, density, cached top snippets). */
export namespace FeatureCardRequest {
  export const method = "introspect/featureCard" as const;
  export const type = new RequestType<featureData.FeatureCardParams, featureData.FeatureCardResult, void>(method);
}

/** Client -> host request: scan a corpus with a dictionary once (progress, cancel), cached in the extension's cache folder. */
export namespace FeatureScanRequest {
  export const method = "introspect/featureScan" as const;
  export const type = new RequestType<featureData.FeatureScanParams, featureData.FeatureScanResult, void>(method);
}

/** Client -> host request: a feature's decoder direction, scaled to its typical activation, as .ivec bytes. */
export namespace FeatureVectorRequest {
  export const method = "introspect/featureVector" as const;
  export const type = new RequestType<featureData.FeatureVectorParams, featureData.FeatureVectorResult, void>(method);
}

/** Client -> host request: greedy continuation with one feature clamped (and without), for the feature card. */
export namespace FeatureClampRequest {
  export const method = "introspect/featureClamp" as const;
  export const type = new RequestType<featureData.FeatureClampParams, featureData.FeatureClampResult, void>(method);
}

/** Client -> host request: make a dictionary (SNMF or an SAE) from a corpus and save it as a SAELens folder (progress, cancel). */
export namespace FeatureBuildRequest {
  export const method = "introspect/featureBuild" as const;
  export const type = new RequestType<featureData.FeatureBuildParams, featureData.FeatureBuildResult, void>(method);
}
