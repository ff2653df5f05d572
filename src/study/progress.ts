/**
 * Progress of a study across its stages, with a time estimate: each stage has a weight (its
 * expected share of the run), and the estimate extrapolates the time spent per unit of weight.
 * @module
 */
import type { Progress } from '../types.js';

/** One planned stage and its expected share of the work. */
export interface PlannedStage {
  name: string;
  weight: number;
}

/** Tracks the stages of a run and turns sub-progress into whole-run progress with an ETA. */
export class StudyProgress {
  private readonly start = Date.now();
  private readonly totalWeight: number;
  private doneWeight = 0;
  private readonly weights = new Map<string, number>();

  constructor(
    stages: PlannedStage[],
    private readonly onProgress: ((p: Progress) => void) | undefined,
  ) {
    for (const s of stages) this.weights.set(s.name, s.weight);
    this.totalWeight = stages.reduce((a, s) => a + s.weight, 0) || 1;
  }

  /** Reports `fraction` (0..1) of stage `name` done. */
  report(name: string, fraction: number, detail: Record<string, number> = {}): void {
    if (!this.onProgress) return;
    const w = this.weights.get(name) ?? 0;
    const done = this.doneWeight + w * Math.min(1, Math.max(0, fraction));
    const elapsed = (Date.now() - this.start) / 1000;
    const frac = done / this.totalWeight;
    const eta = frac > 0.01 ? (elapsed / frac) * (1 - frac) : NaN;
    this.onProgress({
      stage: name,
      step: Math.round(frac * 1000),
      total: 1000,
      detail: { ...detail, stageFraction: fraction, elapsedSec: elapsed, etaSec: eta },
    });
  }

  /** Marks stage `name` finished (or skipped because cached). */
  finish(name: string): void {
    this.report(name, 1);
    this.doneWeight += this.weights.get(name) ?? 0;
  }

  /** Seconds since the run started. */
  elapsed(): number {
    return (Date.now() - this.start) / 1000;
  }
}
