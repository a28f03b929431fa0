// Custom LSP messages between the extension (client, src/extension) and the model host
// (server, src/server). Both sides import them from here; each is declared in its family's file.
// Each message: who sends it, and why. Large tensors are never JSON number arrays here:
// results carrying them are typed Wire<T> and travel through toWire / fromWire
// (src/protocol/wire.ts: typed arrays as bytes on the IPC channel, tagged base64 on a text one),
// or stay in the host.
//
// One file per message family; adding a message touches the family's file only.
export * from "./modelMessages";
export * from "./probeMessages";
export * from "./steerMessages";
export * from "./patchMessages";
export * from "./featureMessages";
export { CompareModelsRequest, type CompareModelsParams, type ModelComparison } from "./compareModels"; // "Compare with…" (probe panel)
