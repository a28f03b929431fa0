// One linter for every TypeScript part. Type-aware rules are left out to keep CI fast on 2 cores.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

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
    files: ["src/engine/**/*.ts", "src/server/**/*.ts", "src/cli/**/*.ts", "src/protocol/**/*.ts", "webview/**/*.ts"],
    rules: { "no-restricted-imports": ["error", { paths: [{ name: "vscode", message: "Only src/extension talks to VS Code." }] }] },
  },
);
