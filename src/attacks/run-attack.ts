/**
 * The part every C&W attack shares after its own set-up: run one program per example on a
 * {@link CwEngine}, then re-evaluate what was found with a fresh prediction.
 * @module
 */
import type { Progress } from '../types.js';
import { runPrograms } from './driver.js';
import type { Program } from './driver.js';
import { CwEngine } from './optimize.js';
import type { AttackContext, ResolvedCommon } from './prepare.js';
import { evaluateFinal } from './result.js';
import type { AttackNorm, AttackOutcome, FinalEvaluation } from './result.js';

/** Runs `programs` on an engine built for `ctx` (disposed afterwards); returns each example's outcome. */
export async function runAttackPrograms(
  ctx: AttackContext,
  programs: readonly Program[],
  engine: { options: ResolvedCommon; distance: 'l2' | 'linf'; masked: boolean },
  stage: string,
  run: { onProgress?: ((p: Progress) => void) | undefined; signal?: AbortSignal | undefined },
): Promise<{ outcomes: AttackOutcome[]; aborted: boolean }> {
  const cw = new CwEngine({
    fn: ctx.fn,
    logits: (x) => ctx.lm.logits(x),
    box: ctx.box,
    exampleShape: ctx.exampleShape,
    numClasses: ctx.K,
    targeted: ctx.targeted,
    kappa: engine.options.confidence,
    learningRate: engine.options.learningRate,
    distance: engine.distance,
    masked: engine.masked,
    capacity: Math.min(engine.options.batchSize, ctx.N),
  });
  try {
    const { aborted } = await runPrograms({ engine: cw, programs, stage, onProgress: run.onProgress, signal: run.signal });
    return { outcomes: programs.map((p) => p.outcome()), aborted };
  } finally {
    cw.dispose();
  }
}

/** {@link evaluateFinal} on the inputs of `ctx` (or on a subset given by `x` and `cls`). */
export function evaluateOnContext(
  ctx: AttackContext,
  outcomes: readonly AttackOutcome[],
  norm: AttackNorm,
  batchSize: number,
  extra: {
    accept?: (logits: Float32Array, row: number, K: number) => boolean;
    x?: Float32Array;
    cls?: Int32Array;
  } = {},
): Promise<FinalEvaluation> {
  return evaluateFinal({
    fn: ctx.fn,
    lm: ctx.lm,
    box: ctx.box,
    x: extra.x ?? ctx.x,
    outcomes,
    exampleShape: ctx.exampleShape,
    norm,
    cls: extra.cls ?? ctx.cls,
    targeted: ctx.targeted,
    batchSize,
    ...(extra.accept ? { accept: extra.accept } : {}),
  });
}
