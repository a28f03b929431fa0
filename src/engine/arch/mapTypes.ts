// The architecture map's types: the sites it found, the residual steps it walked, the whole map.
import type { HookName } from "../types";

export interface SiteRef {
  hook: HookName;
  /** Tensor name in the graph (synthetic `introspect/...` names are created by the base edit). */
  tensor: string;
  /** When set, the tensor is output 3 of this fused Skip*LayerNormalization node (index): steer and
   * patch through its skip input so the normalised output sees the change too. */
  fusedSkipNode?: number;
}

export type StepKind = "attn" | "mlp" | "moe" | "parallel";

export interface ResidualStep {
  kind: StepKind;
  /** Stream tensor going in, branch output, stream tensor coming out. */
  input: string;
  branch: string;
  output: string;
  /** Node index of the Add or Skip*LayerNormalization. */
  node: number;
  fused: boolean;
  /** Parallel blocks written as (x + a(x)) + b(x): the two branches, each added on its own. */
  parts?: [string, string];
  /** Parallel blocks only: the attention and MLP parts of the branch. */
  attnBranch?: string;
  mlpBranch?: string;
  /** Parallel blocks only: the MLP part is a mixture of experts (Cohere 2 MoE). */
  mlpMoe?: boolean;
}

export interface ArchMap {
  sites: Map<HookName, SiteRef>;
  numLayers: number;
  steps: ResidualStep[];
  embedOutput: string;
  /** Stream tensor that enters the final norm (resid_post of the last layer). */
  finalResid: string;
  /** Output of the final norm that enters the unembedding. */
  finalNormOut: string;
  unembedNode: number;
  logitsOutput: string;
  /** Fused norms whose optional sum output (3) is absent: the base edit adds it under this name. */
  addSumOutputs: Array<{ node: number; name: string }>;
  dModel: number;
  vocabSize: number;
  dMlp?: number;
  numExperts?: number;
  expertsPerToken?: number;
  /** TensorProto data type of the residual stream (1 float, 10 float16, 16 bfloat16). */
  residDtype: number;
  exportStyle: string;
  notes: string[];
}
