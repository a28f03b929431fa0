// Steering vectors: types, building, combining, files (.ivec and GGUF control vectors).
export * from "./vector";
export { pool, mean, diffOfMeans, fromPair, pcaOfPairs, powerIteration, type BuildOptions, type PcaOptions } from "./build";
export { capturePooled, buildFromContrast, wordTokenIds, type ContrastBuild } from "./from-model";
export { encodeIvec, decodeIvec, saveVector, loadVector } from "./ivec";
export { importControlVector, exportControlVector, controlLayerOf, type ControlVectorFile } from "./controlvector";
export { readGguf, writeGguf, GgufType, type GgufFile, type GgufTensor, type GgufValue } from "./gguf";
