// The palette flow of "Run Activation Patching": prompts (a patch block under the cursor, the
// selection(s), or input boxes), then the answers (the model's top-1 tokens by default), sites
// and positions, each a quick pick or input box. Returns undefined when the user backs out.
import * as path from "path";
import * as vscode from "vscode";
import { PatchPrepareRequest } from "../../protocol/lsp";
import { DEFAULT_SITES, PATCH_SITES, type PatchExperiment, type PatchPreview, type PatchSiteKind } from "../../protocol/patchData";
import type { HostClient } from "../hostClient";
import { promptBlocksAt } from "../promptFiles";
import { answerInput, fromPatchSpec, positionLabel } from "./experiment";

const TITLE = "Activation patching";

/** Prompts from the editor: a patch block (complete experiment), two selections, one selection, or nothing. */
export async function promptsFromEditor(
  host: HostClient,
  editor: vscode.TextEditor | undefined,
): Promise<{
  experiment?: PatchExperiment;
  clean?: string;
  corrupt?: string;
}> {
  if (!editor) return {};
  const doc = editor.document;
  const spec = (await promptBlocksAt(host, doc, editor.selection.active))?.patch;
  if (spec) return { experiment: fromPatchSpec(spec, `${path.basename(doc.fileName)}#${spec.name}`) };
  const texts = editor.selections.filter((s) => !s.isEmpty).map((s) => doc.getText(s));
  if (texts.length >= 2) return { clean: texts[0], corrupt: texts[1] };
  if (texts.length === 1) return { clean: texts[0] };
  return {};
}

export async function chooseExperiment(host: HostClient, editor: vscode.TextEditor | undefined): Promise<PatchExperiment | undefined> {
  const found = await promptsFromEditor(host, editor);
  if (found.experiment) return found.experiment;
  const source = found.clean !== undefined ? "selection" : "input";
  const clean =
    found.clean ??
    (await vscode.window.showInputBox({
      title: `${TITLE} (1/6): clean prompt`,
      prompt: "The prompt whose answer you want to trace, e.g. “When Mary and John went to the store, John gave a drink to”",
      ignoreFocusOut: true,
      validateInput: (v) => (v.trim() ? undefined : "Type a prompt"),
    }));
  if (clean === undefined) return undefined;
  const corrupt =
    found.corrupt ??
    (await vscode.window.showInputBox({
      title: `${TITLE} (2/6): corrupted prompt`,
      prompt: "The clean prompt with a change that flips the answer (edit a word; same number of tokens patches every position)",
      value: clean,
      ignoreFocusOut: true,
      validateInput: (v) =>
        !v.trim() ? "Type a prompt" : v === clean ? "Change something: the corrupted prompt must differ from the clean one" : undefined,
    }));
  if (corrupt === undefined) return undefined;
  const base: PatchExperiment = { clean, corrupt, sites: DEFAULT_SITES, source };
  const preview = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Window, title: "Introspect: reading the prompts" },
    () => host.client.sendRequest(PatchPrepareRequest.type, base),
  );
  const answer = await askAnswer(preview.correct, "(3/6): correct answer", "clean", preview.note);
  if (answer === null) return undefined;
  const wrong = await askAnswer(preview.wrong, "(4/6): wrong answer", "corrupted");
  if (wrong === null) return undefined;
  const sites = await pickSites(preview);
  if (!sites) return undefined;
  const positions = await pickPositions(preview);
  if (positions === null) return undefined;
  return {
    ...base,
    ...(answer !== undefined ? { answer } : {}),
    ...(wrong !== undefined ? { wrong } : {}),
    sites,
    ...(positions ? { positions } : {}),
  };
}

/** null: backed out; undefined: keep the model's top-1 token. */
async function askAnswer(def: PatchPreview["correct"], step: string, run: string, note?: string): Promise<string | undefined | null> {
  const typed = await vscode.window.showInputBox({
    title: `${TITLE} ${step}`,
    prompt:
      `One token, e.g. " Mary" (leading space included) or an id as #1234. Default: the ${run} prompt's top prediction ${JSON.stringify(def.text)}` +
      (def.p !== undefined ? ` (p = ${def.p.toFixed(3)})` : "") +
      (note ? `. Note: ${note}` : ""),
    value: def.text,
    ignoreFocusOut: true,
    validateInput: (v) => (v === "" ? "Type a token, or press Escape to cancel" : undefined),
  });
  return typed === undefined ? null : answerInput(typed, def);
}

async function pickSites(preview: PatchPreview): Promise<PatchSiteKind[] | undefined> {
  const items = PATCH_SITES.filter((s) => preview.sites.includes(s.kind)).map((s) => ({
    label: s.short,
    description: s.kind,
    detail: s.detail,
    picked: DEFAULT_SITES.includes(s.kind),
    site: s.kind,
  }));
  if (!items.length) throw new Error("This model's graph exposes no site that can be patched at every layer.");
  const picked = await vscode.window.showQuickPick(items, {
    title: `${TITLE} (5/6): sites, one heatmap each`,
    placeHolder: `Sites to patch at every layer. ${preview.sitesNote ?? ""}`,
    canPickMany: true,
    ignoreFocusOut: true,
  });
  if (!picked) return undefined;
  if (!picked.length) {
    void vscode.window.showWarningMessage("Choose at least one site to patch.");
    return undefined;
  }
  return picked.map((p) => p.site);
}

/** null: backed out; undefined: every position with a partner. */
async function pickPositions(preview: PatchPreview): Promise<number[] | undefined | null> {
  const n = preview.positions.length;
  const differing = preview.positions.filter((_, k) => positionLabel(preview, k).differs);
  const items = [
    {
      label: `All ${n} positions`,
      description: preview.note ? "paired from the end" : "",
      detail: preview.note ?? `Both prompts have ${preview.cleanTokens.length} tokens: every position is patched.`,
      value: "all",
    },
    { label: "Last position only", description: positionLabel(preview, n - 1).label, value: "last" },
    ...(differing.length && differing.length < n
      ? [{ label: "Positions where the prompts differ", description: differing.join(", "), value: "differ" }]
      : []),
    { label: "Choose positions…", description: "", value: "choose" },
  ];
  const choice = await vscode.window.showQuickPick(items, {
    title: `${TITLE} (6/6): positions`,
    placeHolder: preview.note ?? "Positions of the corrupted prompt to patch",
    ignoreFocusOut: true,
  });
  if (!choice) return null;
  if (choice.value === "all") return undefined;
  if (choice.value === "last") return [preview.positions[n - 1]];
  if (choice.value === "differ") return differing;
  const many = await vscode.window.showQuickPick(
    preview.positions.map((p, k) => ({ label: positionLabel(preview, k).label, picked: true, position: p })),
    { title: `${TITLE}: choose positions`, canPickMany: true, ignoreFocusOut: true },
  );
  if (!many?.length) return null;
  return many.map((m) => m.position);
}
