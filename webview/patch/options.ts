// "Change and rerun": the run's inputs in a form (prompts, answers, sites, layers, positions,
// batch size); Rerun posts the changed experiment to the extension, which starts a new sweep.
import { PATCH_SITES, type PatchExperiment, type PatchRun, type PatchSiteKind } from "../../src/protocol/patchData";
import { button, el } from "../shared/dom";

/** "all" or "" -> undefined; "9, 13" or "0-3" -> numbers; throws a sentence on anything else. */
export function parseList(text: string, what: string): number[] | undefined {
  const t = text.trim();
  if (!t || t === "all") return undefined;
  const out: number[] = [];
  for (const part of t.split(/[\s,]+/).filter(Boolean)) {
    const m = /^(-?\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new Error(`${what}: “${part}” is not a number or a range such as 0-3.`);
    const a = Number(m[1]);
    const b = m[2] !== undefined ? Number(m[2]) : a;
    for (let i = a; i <= b; i++) out.push(i);
  }
  return out;
}

export function optionsForm(run: PatchRun, rerun: (e: PatchExperiment) => void): HTMLElement {
  const h = run.header;
  const e = h.experiment;
  const area = (label: string, value: string, name: string) => {
    const t = el("textarea", { attrs: { rows: "2", "aria-label": label }, data: { field: name } });
    t.value = value;
    return { root: el("label", { class: "field" }, el("span", { text: label }), t), input: t };
  };
  const input = (label: string, value: string, name: string, placeholder = "") => {
    const t = el("input", { attrs: { type: "text", placeholder, "aria-label": label }, data: { field: name } });
    t.value = value;
    return { root: el("label", { class: "field" }, el("span", { text: label }), t), input: t };
  };
  const clean = area("Clean prompt", e.clean, "clean");
  const corrupt = area("Corrupted prompt", e.corrupt, "corrupt");
  const answer = input("Correct answer", e.answer ?? "", "answer", `empty = clean top-1 (${JSON.stringify(h.correct.text)})`);
  const wrong = input("Wrong answer", e.wrong ?? "", "wrong", `empty = corrupted top-1 (${JSON.stringify(h.wrong.text)})`);
  const layers = input("Layers", e.layers?.join(", ") ?? "all", "layers", "all, or e.g. 0-3, 5");
  const positions = input("Positions", e.positions?.join(", ") ?? "all", "positions", "all, or corrupted positions e.g. 9, 13");
  const batch = input("Cells per forward pass", String(e.batchSize ?? 32), "batch");
  const boxes = PATCH_SITES.filter((s) => h.sites.includes(s.kind)).map((s) => {
    const b = el("input", { attrs: { type: "checkbox" }, data: { site: s.short } });
    b.checked = h.runSites.includes(s.kind);
    return { kind: s.kind, box: b, root: el("label", { class: "control", attrs: { title: s.detail } }, b, s.short) };
  });
  const error = el("p", { class: "error", attrs: { role: "alert" } });
  const go = button("Rerun", () => {
    try {
      const sites: PatchSiteKind[] = boxes.filter((b) => b.box.checked).map((b) => b.kind);
      if (!sites.length) throw new Error("Choose at least one site.");
      const bs = Number(batch.input.value);
      if (!Number.isInteger(bs) || bs < 1) throw new Error("Cells per forward pass: a whole number from 1.");
      const exp: PatchExperiment = {
        clean: clean.input.value,
        corrupt: corrupt.input.value,
        sites,
        batchSize: bs,
        source: e.source,
        metric: e.metric,
      };
      if (answer.input.value !== "") exp.answer = answer.input.value;
      if (wrong.input.value !== "") exp.wrong = wrong.input.value;
      const ls = parseList(layers.input.value, "Layers");
      const ps = parseList(positions.input.value, "Positions");
      if (ls) exp.layers = ls;
      if (ps) exp.positions = ps;
      error.textContent = "";
      rerun(exp);
    } catch (err) {
      error.textContent = err instanceof Error ? err.message : String(err);
    }
  });
  go.id = "patch-rerun";
  go.classList.add("primary");
  return el(
    "details",
    { class: "options", attrs: { id: "patch-options" } },
    el("summary", { text: "Change and rerun" }),
    el("p", {
      class: "muted small",
      text: 'Answers are single tokens, quoted as typed: a leading space matters (" Mary"); #1234 gives a token id.',
    }),
    clean.root,
    corrupt.root,
    el("div", { class: "row" }, answer.root, wrong.root),
    el("div", { class: "row" }, el("span", { text: "Sites " }), ...boxes.map((b) => b.root)),
    el("div", { class: "row" }, layers.root, positions.root, batch.root),
    el("div", { class: "row" }, go, error),
  );
}
