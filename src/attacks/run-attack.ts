/**
 * The part every C&W attack shares after its own set-up: run one program per example on a
 * {@link CwEngine}, then re-evaluate what was found with a fresh prediction.
 * @module
 */
import type { Progress } from '../types.js';
import { runPrograms } from './driver.js';
import type { Program } from './driver.js';
import { CwEngine } from './optimize.js';
import { CwEngineFloat16 } from './optimize-float16.js';
import { FLOAT16_CHANGE_TOLERANCE, snapToOriginal } from './float16.js';
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
  const cw = new (ctx.precision === 16 ? CwEngineFloat16 : CwEngine)({
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

/** Optional parts of a final evaluation: an acceptance test, and a subset of inputs and classes. */
interface EvaluationExtra {
  accept?: (logits: Float32Array, row: number, K: number) => boolean;
  x?: Float32Array;
  cls?: Int32Array;
}

/**
 * {@link evaluateFinal} on the inputs of `ctx` (or on a subset given by `x` and `cls`). On a
 * float16 backend (L2, L∞) values within {@link FLOAT16_CHANGE_TOLERANCE} of the original are
 * first set back to it; an example whose success that undoes keeps its image as found.
 */
export async function evaluateOnContext(
  ctx: AttackContext,
  outcomes: readonly AttackOutcome[],
  norm: AttackNorm,
  batchSize: number,
  extra: EvaluationExtra = {},
): Promise<FinalEvaluation> {
  if (ctx.precision !== 16 || norm === 'l0' || extra.x) return evaluatePlain(ctx, outcomes, norm, batchSize, extra);
  const { D } = ctx;
  const snapped = outcomes.map((o, i) => ({
    ...o,
    image: o.image ? snapToOriginal(ctx.box, o.image, ctx.x.subarray(i * D, (i + 1) * D), FLOAT16_CHANGE_TOLERANCE) : null,
  }));
  const ev = await evaluatePlain(ctx, snapped, norm, batchSize, extra);
  const redo = outcomes.flatMap((o, i) => (o.image && snapped[i]!.image !== o.image && !ev.success[i] ? [i] : []));
  if (redo.length === 0) return ev;
  const sub = await evaluatePlain(
    ctx,
    redo.map((i) => outcomes[i]!),
    norm,
    batchSize,
    {
      // `accept` reads row i of a batch of all examples: hand it the row at that place.
      ...(extra.accept
        ? {
            accept: (logits: Float32Array, row: number, K: number) => {
              const at = redo[row]!;
              const rows = new Float32Array((at + 1) * K);
              rows.set(logits.subarray(row * K, (row + 1) * K), at * K);
              return extra.accept!(rows, at, K);
            },
          }
        : {}),
      x: Float32Array.from(redo.flatMap((i) => Array.from(ctx.x.subarray(i * D, (i + 1) * D)))),
      cls: Int32Array.from(redo, (i) => ctx.cls[i]!),
    },
  );
  redo.forEach((i, j) => {
    if (!sub.success[j]) return;
    ev.images.set(sub.images.subarray(j * D, (j + 1) * D), i * D);
    ev.success[i] = 1;
    ev.distance[i] = sub.distance[j]!;
    ev.predicted[i] = sub.predicted[j]!;
    ev.logits.set(sub.logits.subarray(j * ev.K, (j + 1) * ev.K), i * ev.K);
  });
  return ev;
}

function evaluatePlain(
  ctx: AttackContext,
  outcomes: readonly AttackOutcome[],
  norm: AttackNorm,
  batchSize: number,
  extra: EvaluationExtra = {},
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
