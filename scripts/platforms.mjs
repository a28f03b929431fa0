// The platform packages: for each VS Code target, the onnxruntime-node binaries it ships (paths
// under node_modules/onnxruntime-node/bin/napi-v6/). Shared by scripts/package.mjs and its test.
// darwin: the binding loads @rpath/libonnxruntime.1.dylib; npm unpacks libonnxruntime.1.30.0.dylib
// beside it as a second full copy (no symlinks in the tarball), which is left out.
export const TARGETS = {
  "linux-x64": { dir: "linux/x64", files: ["onnxruntime_binding.node", "libonnxruntime.so.1"] },
  "linux-arm64": { dir: "linux/arm64", files: ["onnxruntime_binding.node", "libonnxruntime.so.1"] },
  "darwin-arm64": { dir: "darwin/arm64", files: ["onnxruntime_binding.node", "libonnxruntime.1.dylib"] },
  "win32-x64": { dir: "win32/x64", files: ["onnxruntime_binding.node", "onnxruntime.dll", "DirectML.dll", "dxcompiler.dll", "dxil.dll"] },
  "win32-arm64": {
    dir: "win32/arm64",
    files: ["onnxruntime_binding.node", "onnxruntime.dll", "DirectML.dll", "dxcompiler.dll", "dxil.dll"],
  },
};

export const BIN = "node_modules/onnxruntime-node/bin/napi-v6";
/** The .vscodeignore line that whitelists the linux-x64 binaries of the default package. */
export const DEFAULT_BIN_LINE = `!${BIN}/linux/x64/**`;

/** .vscodeignore for `target`: the default whitelist with that target's binaries instead of linux-x64's. */
export function ignoreFileFor(target, base) {
  const t = TARGETS[target];
  if (!t) throw new Error(`unknown target ${target}: one of ${Object.keys(TARGETS).join(", ")}`);
  if (!base.includes(DEFAULT_BIN_LINE)) throw new Error(`.vscodeignore has no line ${DEFAULT_BIN_LINE}`);
  return base.replace(DEFAULT_BIN_LINE, t.files.map((f) => `!${BIN}/${t.dir}/${f}`).join("\n"));
}

export const packageName = (target) => `introspect-${target}.vsix`;
