// One linter for every TypeScript part. Type-aware rules are left out to keep CI fast on 2 cores.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const VSCODE = { name: "vscode", message: "Only src/extension talks to VS Code." };
const ENGINE =
  "src/engine imports nothing above it: protocol, host, extension, CLI and webview code depend on the engine, not the reverse.";
const EXTENSION = "The extension runs no engine code: it asks the model host (src/protocol); type-only imports of engine types are fine.";
const ENTRY =
  "Outside src/engine, import the engine through its entry points: src/engine/index.ts, or src/engine/shapes.ts for types in browser-safe code.";
const ENGINE_FILES = { group: ["**/engine/*", "**/engine/**", "!**/engine/shapes"], message: ENTRY };
const WEBVIEW = "Webview code runs in the browser: no Node built-ins, host, CLI or extension code.";
const NODE_BUILTINS = [
  "fs",
  "path",
  "os",
  "child_process",
  "crypto",
  "http",
  "https",
  "net",
  "stream",
  "url",
  "util",
  "worker_threads",
  "zlib",
];

export default tseslint.config(
  { ignores: ["dist/**", "out/**", ".e2e/**", ".test-output/**", "node_modules/**", "models/**", "**/*.js", "**/*.mjs"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      // Namespaces are how protocol messages are declared (`namespace X { method; type }`).
      "@typescript-eslint/no-namespace": "off",
      "no-constant-condition": ["error", { checkLoops: false }],
    },
  },
  {
    // The `vscode` module may only be used by the extension side and its tests.
    // Outside code reaches the engine only through its entry point.
    files: ["src/server/**/*.ts", "src/cli/**/*.ts", "src/protocol/**/*.ts", "src/launch/**/*.ts"],
    rules: { "no-restricted-imports": ["error", { paths: [VSCODE], patterns: [ENGINE_FILES] }] },
  },
  {
    // The engine is pure TypeScript at the bottom: it imports no protocol, host, extension or webview code.
    files: ["src/engine/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [VSCODE],
          patterns: [{ group: ["**/protocol/**", "**/server/**", "**/extension/**", "**/webview/**", "**/cli/**"], message: ENGINE }],
        },
      ],
    },
  },
  {
    // The extension talks to the model host through src/protocol and runs no engine code itself.
    files: ["src/extension/**/*.ts"],
    rules: {
      "@typescript-eslint/no-restricted-imports": [
        "error",
        { patterns: [{ group: ["**/engine"], message: EXTENSION, allowTypeImports: true }] },
      ],
      "no-restricted-imports": ["error", { patterns: [ENGINE_FILES] }],
    },
  },
  {
    // Webviews run in the browser: no Node built-ins, no host or engine code (types come through src/protocol).
    files: ["webview/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [VSCODE, ...NODE_BUILTINS.map((name) => ({ name, message: WEBVIEW }))],
          patterns: [
            { group: ["node:*"], message: WEBVIEW },
            { group: ["**/src/server/**", "**/src/cli/**", "**/src/extension/**"], message: WEBVIEW },
            ENGINE_FILES,
            { regex: "(^|/)src/engine(/index)?$", message: "Webviews take engine types from src/engine/shapes.ts, which needs no Node." },
          ],
        },
      ],
    },
  },
);
