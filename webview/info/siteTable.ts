// The architecture map as a table: one row per layer, one column per site kind the map found
// (blocks.<layer>.<kind>), a mark where the layer has it; sites outside the blocks are listed
// after. Built from ModelInfo.sites, so it shows exactly what probes, steering and patching can use.

export interface SiteMap {
  layers: number;
  /** Site kinds in the order data flows through a block, e.g. "hook_resid_pre", "attn.hook_pattern". */
  kinds: string[];
  /** has[layer] = kinds present at that layer. */
  has: Set<string>[];
  /** Sites not under blocks.<n>. */
  other: string[];
}

/** The order data flows through a block; kinds not listed follow in the order met. */
const FLOW = [
  "hook_resid_pre",
  "attn.hook_pattern",
  "attn.hook_z",
  "hook_attn_out",
  "hook_resid_mid",
  "moe.hook_router_logits",
  "mlp.hook_post",
  "hook_mlp_out",
  "hook_resid_post",
];

/** Column headings: the prompt files' short site names (the full kind is in the heading's title). */
const SHORT: Record<string, string> = {
  "attn.hook_pattern": "pattern",
  "attn.hook_z": "z",
  "mlp.hook_post": "mlp_post",
  "moe.hook_router_logits": "router_logits",
};

export function shortKind(kind: string): string {
  return SHORT[kind] ?? kind.replace(/^hook_/, "");
}

export function siteMap(sites: readonly string[], numLayers: number): SiteMap {
  const kinds: string[] = [];
  const has = Array.from({ length: numLayers }, () => new Set<string>());
  const other: string[] = [];
  for (const s of sites) {
    const m = /^blocks\.(\d+)\.(.+)$/.exec(s);
    const layer = m ? Number(m[1]) : -1;
    if (!m || layer >= numLayers) {
      other.push(s);
      continue;
    }
    if (!kinds.includes(m[2])) kinds.push(m[2]);
    has[layer].add(m[2]);
  }
  const rank = (k: string) => (FLOW.includes(k) ? FLOW.indexOf(k) : FLOW.length + kinds.indexOf(k));
  return { layers: numLayers, kinds: [...kinds].sort((a, b) => rank(a) - rank(b)), has, other };
}

function cell(tag: "td" | "th", text: string, cls?: string): HTMLElement {
  const e = document.createElement(tag);
  e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

/** A one-line summary ("6 sites in each of 8 layers") and the layer x site table. */
export function siteTable(map: SiteMap): HTMLElement[] {
  const counts = map.has.map((h) => h.size);
  const uniform = counts.every((c) => c === counts[0]);
  const summary = document.createElement("p");
  summary.id = "map-sites-summary";
  summary.textContent = uniform
    ? `${counts[0] ?? 0} sites in each of ${map.layers} layers${map.other.length ? `, and ${map.other.length} outside the blocks` : ""}.`
    : `${counts.reduce((a, b) => a + b, 0)} sites over ${map.layers} layers (from ${Math.min(...counts)} to ${Math.max(...counts)} per layer).`;
  const table = document.createElement("table");
  table.id = "map-sites";
  table.className = "site-table";
  const caption = document.createElement("caption");
  caption.textContent = "Sites per layer: where activations can be read, steered and patched";
  table.append(caption);
  const head = document.createElement("tr");
  head.append(
    cell("th", "layer"),
    ...map.kinds.map((k) => {
      const th = cell("th", shortKind(k), "mono");
      th.title = `blocks.<layer>.${k}`;
      return th;
    }),
    cell("th", "sites"),
  );
  table.append(head);
  for (let l = 0; l < map.layers; l++) {
    const tr = document.createElement("tr");
    tr.dataset.layer = String(l);
    tr.append(cell("th", `L${l}`));
    for (const k of map.kinds) {
      const td = cell("td", map.has[l].has(k) ? "●" : "", "site-mark");
      td.title = map.has[l].has(k) ? `blocks.${l}.${k}` : `no blocks.${l}.${k}`;
      tr.append(td);
    }
    tr.append(cell("td", String(map.has[l].size), "num"));
    table.append(tr);
  }
  const wrap = document.createElement("div");
  wrap.className = "site-wrap";
  wrap.append(table);
  const parts: HTMLElement[] = [summary, wrap];
  if (map.other.length) {
    const p = document.createElement("p");
    p.className = "muted";
    p.textContent = `Outside the blocks: ${map.other.join(", ")}`;
    parts.push(p);
  }
  return parts;
}
