// Generation with steering, paired steered/unsteered runs, read-outs, sampling and sweeps.
export { roomFor, type Decoder, type DecoderFactory } from "./decoder";
export { modelDecoderFactory, type ModelDecoderOptions } from "./model-decoder";
export {
  generate,
  generatePaired,
  toAdditions,
  type GenerateOptions,
  type GeneratedToken,
  type PairedOptions,
  type PairedStep,
} from "./generate";
export { UnsteeredCache, UnsteeredRun, type UnsteeredCacheOptions, type UnsteeredStep } from "./unsteered";
export { steeringSweep, type SteeringSweepOptions, type SweepCell, type SweepGrid, type SweepScore } from "./sweep";
export * from "./readout";
export { makeSampler, mulberry32, checkSampling, GREEDY, type SamplingOptions } from "./sample";
export { stopIdsOf } from "./stopIds";
