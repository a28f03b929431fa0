// Model candidates for the picker as data (types only): what the protocol carries to the extension.

export type CandidateSource = "demo" | "workspace" | "hub";

export interface VariantFile {
  /** Transformers.js name: fp32, fp16, q4, int8, quantized, ... */
  variant: string;
  file: string;
  /** The .onnx file plus its external data files. */
  bytes: number;
}

export interface CandidateModel {
  source: CandidateSource;
  /** Folder name; for the hub `org/name`. */
  name: string;
  /** The folder to open (for the hub the snapshot folder). */
  path: string;
  /** Hub snapshot revision (the snapshot folder's name). */
  revision?: string;
  architecture?: string;
  layers?: number;
  width?: number;
  variants: VariantFile[];
  /** Bytes of the folder's files on disk (each file once). */
  bytes: number;
  /** Something about the folder that will not load as it is, in one sentence. */
  problem?: string;
}
