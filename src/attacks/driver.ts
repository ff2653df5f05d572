/**
 * Runs one state machine per example ("program") on the rows of a {@link CwEngine}: rows are
 * refilled from the queue as examples finish and the batch is compacted when the queue is empty,
 * so finished examples cost nothing. Handles progress, abort and yielding to the event loop.
 * @module
 */
import type { Progress } from '../types.js';
import type { CwEngine, StepObservation } from './optimize.js';
import type { AttackOutcome } from './result.js';

/** One example's attack, driven one engine step at a time. */
export interface Program {
  /** Loads the example into `row` (the engine resets it). */
  start(engine: CwEngine, row: number): void;
  /** Whether this step's gradient is needed for `row` (read back only then). */
  wantsGrad?(obs: Omit<StepObservation, 'grad' | 'image'>, row: number): boolean;
  /** Consumes the step's values for `row`; returns true when the example is finished. */
  observe(obs: StepObservation, row: number, engine: CwEngine): boolean;
  /** What was found so far. */
  outcome(): AttackOutcome;
  /** Whether an adversarial has been found so far (progress only). */
  readonly found: boolean;
}

const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/** Lets timers and abort handlers run; setImmediate where available (much cheaper than a 1 ms timeout). */
export function yieldNow(): Promise<void> {
  const si = (globalThis as { setImmediate?: (cb: () => void) => unknown }).setImmediate;
  return new Promise((resolve) => (si ? si(resolve) : setTimeout(resolve, 0)));
}

/**
 * Runs `programs` to completion (or until `signal` aborts). Returns whether it was aborted.
 * Programs never started keep their initial outcome.
 */
export async function runPrograms(args: {
  engine: CwEngine;
  programs: readonly Program[];
  stage: string;
  onProgress: ((p: Progress) => void) | undefined;
  signal: AbortSignal | undefined;
}): Promise<{ aborted: boolean; steps: number }> {
  const { engine, programs, stage, onProgress, signal } = args;
  const N = programs.length;
  let next = 0;
  let rows: (Program | null)[] = [];
  for (let r = 0; r < engine.capacity; r++) {
    if (next < N) {
      const p = programs[next++]!;
      p.start(engine, r);
      rows.push(p);
    } else rows.push(null);
  }
  let finished = 0;
  let steps = 0;
  let lastYield = now();
  const wantGrad = (obs: Omit<StepObservation, 'grad' | 'image'>): boolean =>
    rows.some((p, r) => p !== null && p.wantsGrad !== undefined && p.wantsGrad(obs, r));
  while (rows.some((p) => p !== null)) {
    if (signal?.aborted) return { aborted: true, steps };
    const obs = await engine.step(wantGrad);
    steps++;
    for (let r = 0; r < rows.length; r++) {
      const p = rows[r];
      if (!p) continue;
      if (p.observe(obs, r, engine)) {
        finished++;
        if (next < N) {
          const q = programs[next++]!;
          q.start(engine, r);
          rows[r] = q;
        } else rows[r] = null;
      }
    }
    if (rows.some((p) => p === null)) {
      const keep: number[] = [];
      rows.forEach((p, r) => {
        if (p) keep.push(r);
      });
      if (keep.length > 0) {
        engine.compact(keep);
        rows = keep.map((r) => rows[r]!);
      } else rows = [];
    }
    if (onProgress) {
      let found = 0;
      for (const p of programs) if (p.found) found++;
      onProgress({ stage, step: finished, total: N, detail: { iteration: steps, rows: rows.length, found } });
    }
    if (now() - lastYield > 15) {
      await yieldNow();
      lastYield = now();
    }
  }
  return { aborted: false, steps };
}
