// Stands in for the "vscode" module in the tsconfigs of processes that must not use VS Code
// (src/engine, src/server): it is not a module, so `import ... from "vscode"` fails there (TS2306).
declare const __noVscodeHere: never;
