// Diagnostics for a prompt file: the parser's, plus the checks that need the model: answers
// that are not one token (with how they tokenise), layers out of range, sites the model lacks,
// prompts over the token budget, clean/corrupted prompts of different token counts.
import { Diagnostic, DiagnosticSeverity } from "vscode-languageserver";
import {
  answerTokens,
  showToken,
  SITE_NAMES,
  textsOf,
  type Located,
  type PatchBlock,
  type PromptFile,
  type PromptText,
  type Range,
  type Severity,
} from "../../engine";
import { modelMatches, type LanguageModelFacade, type LanguageSettings } from "./facade";

const SEVERITY: Record<Severity, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  information: DiagnosticSeverity.Information,
  hint: DiagnosticSeverity.Hint,
};

export const DIAGNOSTIC_SOURCE = "introspect";

export function computeDiagnostics(file: PromptFile, facade: LanguageModelFacade | undefined, settings: LanguageSettings): Diagnostic[] {
  const out: Diagnostic[] = file.diagnostics.map((d) => diag(d.range, d.message, SEVERITY[d.severity], d.code));
  if (!facade) return out;
  const info = facade.info();
  if (file.options.model && info && !modelMatches(file.options.model.value, info.id)) {
    out.push(
      diag(
        file.options.model.range,
        `This file names model '${file.options.model.value}', but ${info.id} is loaded: token and layer checks here use ${info.id}.`,
        DiagnosticSeverity.Information,
        "other-model",
      ),
    );
  }
  const budget = file.options.maxTokens?.value ?? settings.maxPromptTokens;
  const countCache = new Map<string, number | undefined>();
  const count = (text: string) => {
    if (!countCache.has(text)) countCache.set(text, facade.tokenize(text)?.length);
    return countCache.get(text);
  };
  for (const block of file.blocks) {
    for (const { role, value } of textsOf(block)) {
      if (role === "answer" || role === "wrong") continue;
      const n = count(value.text);
      if (n !== undefined && budget > 0 && n > budget) {
        out.push(
          diag(
            value.range,
            `This prompt is ${n} tokens, over the budget of ${budget} (${file.options.maxTokens ? "max-tokens in this file" : "setting introspect.promptFile.maxTokens"}).`,
            DiagnosticSeverity.Warning,
            "over-budget",
          ),
        );
      }
    }
    if (block.kind === "patch") out.push(...patchChecks(block, facade, count));
    if (info && info.numLayers > 0 && (block.kind === "patch" || block.kind === "contrast"))
      out.push(...layerChecks(block.layers, info.numLayers, info.id));
    if (info && info.sites.length > 0) {
      const sites = block.kind === "patch" ? block.sites : block.kind === "contrast" && block.site ? [block.site] : [];
      out.push(...siteChecks(sites, info.sites, info.id));
    }
  }
  return out;
}

function patchChecks(block: PatchBlock, facade: LanguageModelFacade, count: (t: string) => number | undefined): Diagnostic[] {
  const out: Diagnostic[] = [];
  const context = block.clean?.text ?? block.corrupt?.text ?? "";
  for (const [label, value] of [
    ["answer", block.answer],
    ["wrong answer", block.wrong],
  ] as const) {
    if (!value || value.text === "") continue;
    out.push(...answerCheck(label, value, context, facade));
  }
  if (block.clean && block.corrupt) {
    const a = count(block.clean.text);
    const b = count(block.corrupt.text);
    if (a !== undefined && b !== undefined && a !== b) {
      out.push(
        diag(
          block.corrupt.range,
          `The clean prompt has ${a} tokens and the corrupted one ${b}: positions are paired from the end, and the first ${Math.abs(a - b)} tokens of the ${a > b ? "clean" : "corrupted"} prompt are not patched. Make both the same length in tokens to compare every position.`,
          DiagnosticSeverity.Information,
          "length-mismatch",
        ),
      );
    }
  }
  return out;
}

function answerCheck(label: string, value: PromptText, context: string, facade: LanguageModelFacade): Diagnostic[] {
  const encoded = facade.tokenize(context + value.text);
  if (!encoded) return [];
  const { tokens, mergedWithPrompt } = answerTokens(() => encoded, context, value.text);
  const shown = tokens.map(showToken).join(" · ");
  if (mergedWithPrompt) {
    return [
      diag(
        value.range,
        `After the prompt, the ${label} ${JSON.stringify(value.text)} merges with the prompt's last characters into ${shown}, so it is not a token of its own here. Check the spaces at the end of the prompt and the start of the ${label}.`,
        DiagnosticSeverity.Error,
        "answer-merges",
      ),
    ];
  }
  if (tokens.length !== 1) {
    return [
      diag(
        value.range,
        `The ${label} ${JSON.stringify(value.text)} is ${tokens.length} tokens after the prompt: ${shown}. An answer must be a single token${tokens.length > 1 ? `, e.g. ${showToken(tokens[0])}` : ""}.`,
        DiagnosticSeverity.Error,
        "answer-not-one-token",
      ),
    ];
  }
  // A word right after a prompt that ends without a space usually carries its own leading space.
  if (/^[\p{L}\p{N}]/u.test(value.text) && /[\p{L}\p{N},.;:!?]$/u.test(context)) {
    return [
      diag(
        value.range,
        `The ${label} ${JSON.stringify(value.text)} has no leading space, so it continues the prompt's last word. For the next word, write it quoted with its space: ${JSON.stringify(" " + value.text)}.`,
        DiagnosticSeverity.Information,
        "answer-no-space",
      ),
    ];
  }
  return [];
}

function layerChecks(layers: Located<number>[], numLayers: number, model: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  const reported = new Set<string>();
  for (const l of layers) {
    const key = JSON.stringify(l.range);
    if (l.value < numLayers || reported.has(key)) continue;
    reported.add(key);
    out.push(
      diag(
        l.range,
        `Layer ${l.value} is out of range: ${model} has layers 0-${numLayers - 1}.`,
        DiagnosticSeverity.Error,
        "layer-out-of-range",
      ),
    );
  }
  return out;
}

function siteChecks(sites: Located<string>[], available: string[], model: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const s of sites) {
    const short = SITE_NAMES.includes(s.value);
    const present = short ? available.some((h) => shortSite(h) === s.value) : available.includes(s.value);
    if (!present && (short || /^blocks\./.test(s.value))) {
      out.push(
        diag(
          s.range,
          `${model} has no '${s.value}' site${short ? "" : " (check the layer number)"}.`,
          DiagnosticSeverity.Warning,
          "site-unavailable",
        ),
      );
    }
  }
  return out;
}

/** `blocks.3.hook_resid_pre` -> `resid_pre`, `blocks.1.moe.hook_router_logits` -> `router_logits`. */
export function shortSite(hook: string): string {
  const m = /^blocks\.\d+\.(?:\w+\.)?hook_(\w+)$/.exec(hook);
  if (!m) return hook;
  return hook.includes(".attn.hook_pattern") ? "pattern" : hook.includes(".mlp.hook_post") ? "mlp_post" : m[1];
}

function diag(range: Range, message: string, severity: DiagnosticSeverity, code: string): Diagnostic {
  return { range, message, severity, code, source: DIAGNOSTIC_SOURCE };
}
