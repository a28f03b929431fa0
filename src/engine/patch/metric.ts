// Patching metrics (RESEARCH.md "Activation patching"): logit difference
// logit(correct) - logit(wrong), normalised so that the corrupted run scores 0 and the clean run 1.

import { IntrospectError } from "../types";
import { logSoftmax } from "../generate/readout";

export interface Baseline {
  logitDiff: number;
  pCorrect: number;
}

export function logitDiff(row: ArrayLike<number>, correct: number, wrong: number): number {
  return row[correct] - row[wrong];
}

export function baseline(row: ArrayLike<number>, correct: number, wrong: number): Baseline {
  return { logitDiff: logitDiff(row, correct, wrong), pCorrect: Math.exp(logSoftmax(row)[correct]) };
}

/** (patched - corrupted) / (clean - corrupted); refuses when clean and corrupted barely differ. */
export function normaliser(clean: Baseline, corrupt: Baseline): (ld: number) => number {
  const span = clean.logitDiff - corrupt.logitDiff;
  if (!(Math.abs(span) > 1e-6)) {
    throw new IntrospectError(
      "bad-input",
      `The clean and corrupted prompts give the same logit difference (${clean.logitDiff.toFixed(4)}), so there is nothing to restore: choose prompts or answers that the model tells apart.`,
    );
  }
  return (ld) => (ld - corrupt.logitDiff) / span;
}
