// The host's default introspect.probe.lensTokens, read from the extension's contributed settings,
// so the bench's probe computes the same first lens as the panel's.
import * as fs from "fs";
import * as path from "path";

const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "package.json"), "utf8")) as {
  contributes: {
    configuration: { properties: Record<string, { default?: unknown }> } | { properties: Record<string, { default?: unknown }> }[];
  };
};
const sections = [pkg.contributes.configuration].flat();
const found = sections.map((s) => s.properties["introspect.probe.lensTokens"]?.default).find((v) => typeof v === "number");
if (typeof found !== "number") throw new Error("package.json contributes no default for introspect.probe.lensTokens");

export const LENS_TOKENS: number = found;
