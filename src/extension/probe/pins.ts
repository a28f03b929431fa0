// Pins and per-block results of the probe panel. A probe is "of" a prompt block (file and block
// name) or a selection (file and its text); several probes can be pinned, each labelled so, and
// the last result of every block probed is kept (in the extension's storage, so both come back
// after a reload). Which block a probe is of: blockIdentity.ts.
import * as crypto from "crypto";
import type * as vscode from "vscode";
import type { ProbeResult } from "../../protocol/probeData";
import type { ProbePin } from "../../protocol/webview";
import { LastResult } from "../panels/panelSupport";

/** Pins kept at once; the oldest goes first. */
export const MAX_PINS = 4;
/** Prompt blocks whose last result is kept. */
export const MAX_BLOCKS = 8;

interface BlockIndex {
  entries: { key: string; label: string; file: string }[];
}

const fileOf = (key: string) => `probe-block-${crypto.createHash("sha1").update(key).digest("hex").slice(0, 16)}.json`;

export class ProbeStore {
  private readonly pinStore: LastResult<ProbePin[]>;
  private readonly indexStore: LastResult<BlockIndex>;
  pins: ProbePin[];
  private index: BlockIndex;

  constructor(private readonly context: Pick<vscode.ExtensionContext, "globalStorageUri">) {
    this.pinStore = new LastResult(context, "probe-pins.json");
    this.indexStore = new LastResult(context, "probe-blocks.json");
    this.pins = this.pinStore.read() ?? [];
    // A pin saved before pins had labels.
    const old = new LastResult<ProbeResult>(context, "pinned-probe.json");
    const legacy = old.read();
    if (legacy && !this.pins.length) this.pins = [{ key: "pinned", label: "pinned probe", result: legacy }];
    old.clear();
    this.index = this.indexStore.read() ?? { entries: [] };
  }

  isPinned(probeId: string | undefined): boolean {
    return !!probeId && this.pins.some((p) => p.result.id === probeId);
  }

  pin(p: ProbePin): void {
    this.pins = [...this.pins.filter((x) => x.result.id !== p.result.id), p].slice(-MAX_PINS);
    this.pinStore.save(this.pins);
  }

  /** Drops the pin of `probeId`, or every pin when none is given. */
  unpin(probeId?: string): void {
    this.pins = probeId ? this.pins.filter((p) => p.result.id !== probeId) : [];
    if (this.pins.length) this.pinStore.save(this.pins);
    else this.pinStore.clear();
  }

  /** Keeps `result` as the last result of its block. */
  saveBlock(key: string, label: string, result: ProbeResult): void {
    const file = fileOf(key);
    new LastResult<ProbeResult>(this.context, file).save(result);
    const kept = [...this.index.entries.filter((e) => e.key !== key), { key, label, file }];
    for (const gone of kept.slice(0, Math.max(0, kept.length - MAX_BLOCKS))) new LastResult(this.context, gone.file).clear();
    this.index = { entries: kept.slice(-MAX_BLOCKS) };
    this.indexStore.save(this.index);
  }

  block(key: string): { label: string; result: ProbeResult } | undefined {
    const e = this.index.entries.find((x) => x.key === key);
    const result = e && new LastResult<ProbeResult>(this.context, e.file).read();
    return e && result ? { label: e.label, result } : undefined;
  }

  blocks(currentKey?: string): { key: string; label: string; current: boolean }[] {
    return this.index.entries.map((e) => ({ key: e.key, label: e.label, current: e.key === currentKey })).reverse();
  }
}
