// Expert interventions listed in the steering panel beside the vectors: each row has a toggle and,
// for a router bias, a strength (the slider's scale). The steered side of every generation gets
// the enabled ones; the unsteered side never does. Pure: no vscode.
import type { ExpertIntervention } from "../../engine";
import { describeIntervention } from "../../protocol/expertLabels";
import type { SteerExpertRow, SteerLiveInput } from "../../protocol/steerData";

/** Which expert an intervention is about, so adding it again replaces the row instead of doubling it. */
function slot(iv: ExpertIntervention): string {
  return iv.kind === "off" || iv.kind === "force" ? `${iv.kind}:${iv.layer}:${iv.expert}` : `${iv.kind}:${iv.layer}`;
}

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

  /** Enabled interventions, for the steered side. */
  active(): ExpertIntervention[] {
    return this.rows.filter((r) => r.enabled).map((r) => r.intervention);
  }
}
