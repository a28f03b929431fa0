// Expert interventions listed in the steering panel beside the vectors: each row has a toggle and,
// for a router bias, a strength (the slider's scale). The steered side of every generation gets
// the enabled ones; the unsteered side never does. Pure: no vscode.
import { describeIntervention, type ExpertIntervention } from "../../protocol/experts";
import type { SteerExpertRow, SteerLiveInput } from "../../protocol/steerData";

/** Which expert an intervention is about, so adding it again replaces the row instead of doubling it. */
function slot(iv: ExpertIntervention): string {
  return iv.kind === "off" || iv.kind === "force" ? `${iv.kind}:${iv.layer}:${iv.expert}` : `${iv.kind}:${iv.layer}`;
}

/** A row as the workspace state keeps it across window reloads. */
export interface SavedExpertRow {
  intervention: ExpertIntervention;
  enabled: boolean;
}

const KINDS = ["off", "force", "bias", "topk"];

export class ExpertRows {
  private rows: SteerExpertRow[] = [];
  private next = 1;

  /** Adds (or replaces the row for the same expert and kind), enabled; returns its label. */
  add(iv: ExpertIntervention): string {
    const row: SteerExpertRow = { id: `expert-${this.next++}`, label: describeIntervention(iv), intervention: iv, enabled: true };
    const at = this.rows.findIndex((r) => slot(r.intervention) === slot(iv));
    if (at >= 0) this.rows[at] = row;
    else this.rows.push(row);
    return row.label;
  }

  remove(id: string): boolean {
    const before = this.rows.length;
    this.rows = this.rows.filter((r) => r.id !== id);
    return this.rows.length !== before;
  }

  /** Toggles and bias strengths from the page. */
  apply(input: SteerLiveInput["experts"]): void {
    for (const x of input ?? []) {
      const r = this.rows.find((y) => y.id === x.id);
      if (!r) continue;
      r.enabled = x.enabled;
      if (r.intervention.kind === "bias" && x.scale !== undefined && Number.isFinite(x.scale)) {
        r.intervention = { ...r.intervention, scale: x.scale };
        r.label = describeIntervention(r.intervention);
      }
    }
  }

  get list(): readonly SteerExpertRow[] {
    return this.rows;
  }

  /** The live-input form (what restart() sends through LatestWins). */
  live(): NonNullable<SteerLiveInput["experts"]> {
    return this.rows.map((r) => ({
      id: r.id,
      enabled: r.enabled,
      ...(r.intervention.kind === "bias" ? { scale: r.intervention.scale ?? 1 } : {}),
    }));
  }

  saved(): SavedExpertRow[] {
    return this.rows.map((r) => ({ intervention: r.intervention, enabled: r.enabled }));
  }

  /** Brings back saved rows (fresh ids), skipping any that are not an intervention. */
  restore(saved: unknown): void {
    if (!Array.isArray(saved)) return;
    for (const s of saved as Partial<SavedExpertRow>[]) {
      const iv = s?.intervention;
      if (!iv || !KINDS.includes(iv.kind) || !Number.isInteger(iv.layer)) continue;
      this.add(iv);
      const row = this.rows.find((r) => r.intervention === iv);
      if (row) row.enabled = s.enabled !== false;
    }
  }

  /** Enabled interventions, for the steered side. */
  active(): ExpertIntervention[] {
    return this.rows.filter((r) => r.enabled).map((r) => r.intervention);
  }
}
