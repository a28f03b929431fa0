// Drop-downs shared by the probe panel's views: a layer (L0, L1, ...) and the attention query rows.
import type { AttentionRequest } from "../../src/protocol/probeData";
import { select } from "../shared/dom";

export type QueryRows = NonNullable<AttentionRequest["queries"]>;
type Select = ReturnType<typeof select>;

/** A "Layer" drop-down over L0..L{count-1}, its <select> tagged data-control=`control`. */
export function layerSelect(count: number, layer: number, control: string, onChange: (layer: number) => void): Select {
  const s = select(
    "Layer",
    Array.from({ length: count }, (_, l) => ({ value: String(l), label: `L${l}` })),
    String(layer),
    (v) => onChange(Number(v)),
  );
  s.select.dataset.control = control;
  return s;
}

/** The "Queries" drop-down: the selected tokens' rows, or every token of the prompt. */
export function querySelect(queries: QueryRows, control: string, onChange: (queries: QueryRows) => void): Select {
  const s = select(
    "Queries",
    [
      { value: "selection", label: "selection" },
      { value: "all", label: "whole prompt" },
    ],
    queries,
    (v) => onChange(v === "all" ? "all" : "selection"),
  );
  s.select.dataset.control = control;
  return s;
}
