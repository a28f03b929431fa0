// Execution providers: where onnxruntime runs the model (introspect.executionProvider, the CLI's
// --provider). CPU always works; the others exist only in some onnxruntime-node builds (CUDA on
// Linux x64 once installed with onnxruntime-node-install=cuda12, CoreML on macOS, DirectML on
// Windows, WebGPU where bundled). A provider that this build lacks, or that fails to start, falls
// back to CPU with one sentence saying why; the provider in use is recorded for Model Info.
import * as ort from "onnxruntime-node";
import { IntrospectError } from "../types";

export const EXECUTION_PROVIDERS = ["cpu", "cuda", "coreml", "dml", "webgpu"] as const;
export type ExecutionProviderName = (typeof EXECUTION_PROVIDERS)[number];

/** The provider asked for, the one in use, and why they differ. */
export interface ProviderState {
  requested: string;
  used: ExecutionProviderName;
  /** Set when `used` is not `requested`: one sentence. */
  fallback?: string;
}

/** Backend names this onnxruntime-node binding was built with (onnxruntime's listSupportedBackends). */
export function bindingBackends(): string[] {
  const list = (ort as unknown as { listSupportedBackends?: () => Array<{ name: string }> }).listSupportedBackends;
  return typeof list === "function" ? list().map((b) => b.name) : ["cpu"];
}

const PLATFORM = `${process.platform}-${process.arch}`;

/** Picks the provider to try: the requested one when this build has it, else CPU with the reason. */
export function chooseProvider(requested: string | undefined, backends: string[] = bindingBackends(), platform = PLATFORM): ProviderState {
  const want = (requested ?? "cpu").trim().toLowerCase() || "cpu";
  if (want === "cpu") return { requested: want, used: "cpu" };
  if (!(EXECUTION_PROVIDERS as readonly string[]).includes(want))
    return {
      requested: want,
      used: "cpu",
      fallback: `"${requested}" is not an execution provider Introspect knows (${EXECUTION_PROVIDERS.join(", ")}): running on CPU.`,
    };
  if (!backends.includes(want))
    return {
      requested: want,
      used: "cpu",
      fallback: `onnxruntime-node on ${platform} has no ${want} execution provider (it has ${backends.join(", ")}): running on CPU.`,
    };
  return { requested: want, used: want as ExecutionProviderName };
}

/**
 * Creates a session on `state.used`; when that provider fails to start (its libraries are missing,
 * no device), records the fallback on `state` and creates the session on CPU. A model that fails on
 * CPU too throws the CPU error.
 */
export async function createWithProvider(
  file: string,
  options: ort.InferenceSession.SessionOptions,
  state: ProviderState,
  create: typeof ort.InferenceSession.create = ort.InferenceSession.create,
): Promise<ort.InferenceSession> {
  if (state.used !== "cpu") {
    try {
      return await create(file, { ...options, executionProviders: [state.used] });
    } catch (e) {
      const why = ((e as Error).message ?? String(e)).split("\n")[0].trim();
      state.fallback = `The ${state.used} execution provider could not start (${why}): running on CPU.`;
      state.used = "cpu";
    }
  }
  return create(file, { ...options, executionProviders: ["cpu"] });
}

/** Refuses a provider name that is not a string (settings can hold anything). */
export function providerSetting(value: unknown): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string")
    throw new IntrospectError(
      "bad-input",
      `introspect.executionProvider must be one of ${EXECUTION_PROVIDERS.join(", ")}, not ${JSON.stringify(value)}.`,
    );
  return value;
}

/** "cpu", or "cuda (requested)", or "cpu (cuda requested: <why>)". */
export function describeProvider(s: ProviderState): string {
  return s.fallback ? `${s.used} (${s.requested} requested: ${s.fallback})` : s.used;
}
