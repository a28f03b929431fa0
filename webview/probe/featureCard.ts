// A feature's card in the probe panel's features view: the tokens its decoder direction promotes
// and suppresses, its activation density, top-activating corpus snippets (scanned on request),
// "Add to steering panel" and a clamped continuation.
import type { FeatureCardResult } from "../../src/protocol/featureData";
import { button, el, fmt } from "../shared/dom";
import type { PanelContext } from "./model";

/** Opens feature `feature`'s card in `card`: its logit-lens tokens, density, top snippets, steering and clamping. */
export function openCard(ctx: PanelContext, card: HTMLElement, path: string, feature: number, maxHere: number): void {
  card.replaceChildren(el("p", { class: "muted", text: `Feature #${feature}…` }));
  const draw = (c: FeatureCardResult) => {
    const status = el("span", { class: "muted", attrs: { role: "status" }, data: { featureStatus: "" } });
    const tokens = (list: FeatureCardResult["promotes"]) =>
      el(
        "div",
        { class: "token-strip" },
        ...list.map((t) => el("span", { class: "token", text: visible(t.token), attrs: { title: `logit ${fmt(t.logit)}` } })),
      );
    const density =
      c.density === undefined
        ? "unknown (scan a corpus)"
        : `${(100 * c.density).toPrecision(2)} % of tokens (${c.densitySource === "corpus" ? "over the corpus" : "from the dictionary's sparsity file"})`;
    const snippets = c.snippets?.length
      ? el(
          "ol",
          { class: "snippets", data: { snippets: "" } },
          ...c.snippets.map((s) =>
            el("li", {}, el("span", { class: "muted", text: fmt(s.value) + "  " }), s.before, el("mark", { text: s.token }), s.after),
          ),
        )
      : el("p", { class: "muted", text: c.corpus ? "It never fires on the corpus." : "No corpus scanned yet." });
    const clampValue = el("input", {
      attrs: { type: "number", step: "any", value: fmt(2 * (c.meanActive ?? maxHere)), "aria-label": "Clamp value" },
    });
    const clampOut = el("div", { class: "muted", data: { clampResult: "" } });
    card.replaceChildren(
      el("h3", { text: `Feature #${feature}` }),
      el("p", { text: `Activation density: ${density}${c.meanActive ? `; mean activation when firing ${fmt(c.meanActive)}` : ""}.` }),
      el("p", { class: "muted", text: "Decoder direction through the model's unembedding, promotes:" }),
      tokens(c.promotes),
      el("p", { class: "muted", text: "suppresses:" }),
      tokens(c.suppresses),
      el("h4", { text: c.corpus ? `Top-activating snippets (${c.corpus.split(/[\\/]/).pop()})` : "Top-activating snippets" }),
      snippets,
      el(
        "div",
        { class: "toolbar" },
        button(c.corpus ? "Scan another corpus…" : "Find top snippets…", () => scan(!!c.corpus)),
        button("Add to steering panel", () => {
          status.textContent = "Adding…";
          ctx.client.request("introspect/featureAddToSteering", { path, feature, fallbackTypical: maxHere }).then(
            (r) => (status.textContent = `Added “${r.name}” (scaled by ${fmt(r.typical)}, the ${r.typicalSource}).`),
            (e: Error) => (status.textContent = e.message),
          );
        }),
        el("label", { class: "control" }, "Clamp to ", clampValue),
        button("Generate clamped", () => {
          clampOut.textContent = "Generating…";
          ctx.client
            .request("introspect/featureClamp", {
              path,
              feature,
              value: Number(clampValue.value),
              text: ctx.result.tokens.map((t) => t.text).join(""),
            })
            .then(
              (r) => clampOut.replaceChildren(el("div", { text: `model: …${r.plain}` }), el("div", { text: `clamped: …${r.clamped}` })),
              (e: Error) => (clampOut.textContent = e.message),
            );
        }),
        status,
      ),
      clampOut,
    );
  };
  const scan = (choose: boolean) => {
    card.querySelector("[data-feature-status]")!.textContent = "Scanning the corpus (progress in the notification)…";
    ctx.client.request("introspect/featureScan", { path, choose }).then(
      (r) => (r ? refresh() : undefined),
      (e: Error) => (card.querySelector("[data-feature-status]")!.textContent = e.message),
    );
  };
  const refresh = () =>
    ctx.client
      .request("introspect/featureCard", { path, feature })
      .then(draw, (e: Error) => card.replaceChildren(el("p", { class: "error", text: e.message })));
  void refresh();
}

function visible(s: string): string {
  return s.replace(/\n/g, "⏎").replace(/^ /, "␣");
}
