// Commands that the model host's code lenses on prompt files (`*.introspect`) ask the client to
// run. The host (src/server/language/codeLens.ts) sends them; the extension registers them.
// Each lens carries one argument object, shown below with its type.
import type { ContrastSpec, PatchSpec, Range } from "../engine/shapes";

export type { ContrastSpec, PatchSpec };

export const PromptFileCommands = {
  /** "Probe" on a `prompt` block: probe `text` and open the probe panel. Argument: ProbeTextArgs. */
  probeText: "introspect.probeText",
  /** "Build steering vector" on a `contrast` block. Argument: BuildVectorArgs. */
  buildVector: "introspect.buildVector",
  /** "Run patching" on a `patch` block. Argument: RunPatchingArgs. */
  runPatching: "introspect.runPatching",
  /** "Open in steering panel" on a `contrast` block whose vector is built. Argument: OpenVectorArgs. */
  openVector: "introspect.openVector",
  /** "Rank experts" on a `contrast` block (mixture-of-experts models). Argument: BlockRef. */
  rankExperts: "introspect.rankExperts",
} as const;

/** Which block of which file a lens belongs to. */
export interface BlockRef {
  /** The prompt file's URI, as the editor gave it. */
  uri: string;
  blockName: string;
  /** The file's `model` option as written (a folder relative to the file, a path or a name); absent when unset. */
  model?: string;
}

export interface ProbeTextArgs extends BlockRef {
  /** The exact prompt text (lines joined with "\n", escapes resolved). */
  text: string;
  /** Where the text is in the file, so the panel can link back to it. */
  range: Range;
}

export interface BuildVectorArgs extends BlockRef {
  spec: ContrastSpec;
}

export interface RunPatchingArgs extends BlockRef {
  spec: PatchSpec;
}

export interface OpenVectorArgs extends BlockRef {
  /** The id the host gave the built vector (LanguageModelFacade.builtVector). */
  vectorId: string;
}
