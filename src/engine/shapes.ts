// The engine's second entry point: its data shapes, types only, for code that must not load the
// engine itself: the protocol (src/protocol) and, through it, the webviews, which type-check
// without Node (webview/tsconfig.json). Everything reached from here is pure TypeScript; the one
// value is a data table, which analysis view the probe panel draws in which order.
export type * from "./types";
export type * from "./analysis/result";
export type * from "./promptfile/model";
export type { ContrastSpec, PatchSpec } from "./promptfile/specs";
export type * from "./experts/types";
export type * from "./model/candidateShapes";
export type * from "./features/shapes";
export type * from "./shift/shapes";
export { ANALYSIS_VIEWS, panelViews, type AnalysisField } from "./analysis/views";
