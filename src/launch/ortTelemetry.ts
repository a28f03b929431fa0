// onnxruntime's telemetry, off in every process that loads it.
//
// onnxruntime-node 1.30 on Linux queues telemetry events (session creations with model file names,
// errors) in ~/.cache/Microsoft/DeveloperTools/.onnxruntime/onnxruntime.db and a device id beside
// it. An offline tool for looking inside local models has no business doing that. The Node binding
// exposes no session or environment option for it; onnxruntime reads ORT_DISABLE_TELEMETRY when it
// creates its environment (at the first InferenceSession), so setting it in process.env before then
// is enough, and child processes inherit it. Entry points call disableOrtTelemetry() first thing
// (the model host, the CLI and its worker, the bench), openModel() calls it too, and processes
// started with an explicit environment get withoutOrtTelemetry(env).

export const ORT_TELEMETRY_VAR = "ORT_DISABLE_TELEMETRY";

/** Turns onnxruntime's telemetry off for this process and the processes it starts. */
export function disableOrtTelemetry(env: NodeJS.ProcessEnv = process.env): void {
  env[ORT_TELEMETRY_VAR] = "1";
}

/** `env` with onnxruntime's telemetry off, for spawn/fork options. */
export function withoutOrtTelemetry(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...env, [ORT_TELEMETRY_VAR]: "1" };
}
