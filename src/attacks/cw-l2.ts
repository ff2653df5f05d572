/**
 * Carlini–Wagner L2 attack (ATTACKS.md §2), batched, with a per-example binary search over c.
 * @module
 */
import type * as tf from '@tensorflow/tfjs-core';
import { checkInteger } from '../internal/validate.js';
import type { AttackModel } from './logits-model.js';
import type { ClassIndices, CwCommonOptions, AttackContext, ResolvedCommon } from './prepare.js';
import { checkBoolean, checkOptionKeys, prepareAttack, resolveCommon } from './prepare.js';
import type { CwEngine } from './optimize.js';
import type { StepObservation } from './optimize.js';
import type { Program } from './driver.js';
import { evaluateOnContext, runAttackPrograms } from './run-attack.js';
import { argmaxRow, isSuccessRow } from './objective.js';
import type { AttackOutcome, AttackResult } from './result.js';
import { makeResult } from './result.js';

/**
 * Options of {@link carliniWagnerL2}. Defaults are those of the authors' code
 * (`nn_robust_attacks/l2_attack.py`); the `'fast'` preset only lowers `maxIterations` to 1,000
 * (what the authors' own test script used).
 *
 * @example
 * ```ts
 * const options: CwL2Options = { targets: [3, 7], confidence: 0, binarySearchSteps: 9, batchSize: 64 };
 * ```
 * @category Attacks
 */
export interface CwL2Options extends CwCommonOptions {
  /** Binary-search steps over c. Default 9. */
  binarySearchSteps?: number;
  /** Stop a binary-search step when the loss stops falling (checked every maxIterations/10 steps). Default true. */
  abortEarly?: boolean;
}

/** Options of {@link carliniWagnerL2} as used, echoed in its result. @category Attacks */
export interface CwL2ResolvedOptions extends ResolvedCommon {
  binarySearchSteps: number;
  abortEarly: boolean;
}

/**
 * The defaults of {@link carliniWagnerL2} per preset.
 * @category Attacks
 */
export const CW_L2_DEFAULTS = {
  original: { confidence: 0, learningRate: 1e-2, maxIterations: 10_000, initialConst: 1e-3, binarySearchSteps: 9, abortEarly: true },
  fast: { confidence: 0, learningRate: 1e-2, maxIterations: 1_000, initialConst: 1e-3, binarySearchSteps: 9, abortEarly: true },
} as const;

/** Per-example L2 state machine (the original's loop body, for one example). */
export class L2Program implements Program {
  private c: number;
  private lower = 0;
  private upper = 1e10;
  private oBest = 1e10;
  private oImage: Float32Array | null = null;
  private oConst: number;
  private s = 0;
  private it = 0;
  private prev = Infinity;
  private bestClass = -1;
  private bestl2 = 1e10;
  private iterations = 0;

  constructor(
    private readonly ctx: AttackContext,
    private readonly o: CwL2ResolvedOptions,
    private readonly i: number,
    private readonly start0: { x: Float32Array; xt: Float32Array; w0: Float32Array } = {
      x: ctx.x.subarray(i * ctx.D, (i + 1) * ctx.D),
      xt: ctx.xt.subarray(i * ctx.D, (i + 1) * ctx.D),
      w0: ctx.w0.subarray(i * ctx.D, (i + 1) * ctx.D),
    },
  ) {
    this.c = o.initialConst;
    this.oConst = o.initialConst;
  }

  get found(): boolean {
    return this.oImage !== null;
  }

  start(engine: CwEngine, row: number): void {
    engine.load(row, { x: this.start0.x, xt: this.start0.xt, base: this.start0.w0, cls: this.ctx.cls[this.i]!, c: this.c });
    this.beginStep(engine, row);
  }

  private beginStep(engine: CwEngine, row: number): void {
    engine.reset(row);
    const S = this.o.binarySearchSteps;
    if (S >= 10 && this.s === S - 1) this.c = this.upper;
    engine.setConst(row, this.c);
    this.prev = Infinity; // the original starts at 1e6, which aborts at iteration 0 when c is large
    this.it = 0;
    this.bestl2 = 1e10;
    this.bestClass = -1;
  }

  observe(obs: StepObservation, row: number, engine: CwEngine): boolean {
    const { ctx, o } = this;
    this.iterations++;
    let endStep = false;
    const period = Math.max(1, Math.floor(o.maxIterations / 10));
    if (o.abortEarly && this.it % period === 0) {
      const loss = obs.loss[row]!;
      if (loss > 0.9999 * this.prev) endStep = true;
      else this.prev = loss;
    }
    if (!endStep) {
      if (isSuccessRow(obs.logits, row, ctx.K, ctx.cls[this.i]!, ctx.targeted, o.confidence)) {
        const d = obs.dist[row]!;
        if (d < this.bestl2) {
          this.bestl2 = d;
          this.bestClass = argmaxRow(obs.logits, row, ctx.K);
        }
        if (d < this.oBest) {
          this.oBest = d;
          this.oImage = obs.image.slice(row * ctx.D, (row + 1) * ctx.D);
          this.oConst = this.c;
        }
      }
      this.it++;
      if (this.it >= o.maxIterations) endStep = true;
    }
    if (!endStep) return false;
    // Binary search update (per example).
    if (this.bestClass !== -1) {
      this.upper = Math.min(this.upper, this.c);
      if (this.upper < 1e9) this.c = (this.lower + this.upper) / 2;
    } else {
      this.lower = Math.max(this.lower, this.c);
      if (this.upper < 1e9) this.c = (this.lower + this.upper) / 2;
      else this.c *= 10;
    }
    this.s++;
    if (this.s >= o.binarySearchSteps) return true;
    this.beginStep(engine, row);
    return false;
  }

  outcome(): AttackOutcome {
    return { image: this.oImage, constant: this.oImage ? this.oConst : this.c, iterations: this.iterations };
  }
}

/**
 * Carlini–Wagner L2 attack: minimises ‖x′ − x‖²₂ + c·f6(x′) with Adam in tanh space, with a
 * binary search over c per example, and keeps the closest adversarial found.
 *
 * Untargeted by default (any class but the label); targeted with `options.targets`. Follows the
 * authors' code (ATTACKS.md §2) except where it has known faults: a failed example comes back as
 * the original input with `success = 0` (not a black image), the first abort-early check cannot
 * fire on a large initial loss, and abort-early is judged per example, which reproduces the
 * original's default batch size of 1 for any `batchSize`.
 *
 * Abort: when `options.signal` fires, the attack stops within one iteration and resolves with
 * what it found so far (`result.aborted = true`); it does not throw.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { carliniWagnerL2 } from 'ae-manifold';
 * const r = await carliniWagnerL2(model, images, labels, { preset: 'fast' });
 * const { success, distance, predicted } = r; // per example
 * r.dispose();
 * ```
 * @param model a LayersModel (a trailing softmax layer is skipped) or a function returning logits
 * @param inputs `[N, ...]` inputs inside `options.bounds` (pixel space, [0, 1] by default)
 * @param labels true class of each input
 * @param options see {@link CwL2Options}
 * @category Attacks
 */
export async function carliniWagnerL2(
  model: AttackModel,
  inputs: tf.Tensor,
  labels: ClassIndices,
  options: CwL2Options = {},
): Promise<AttackResult<CwL2ResolvedOptions>> {
  const fn = 'carliniWagnerL2';
  checkOptionKeys(fn, options, ['binarySearchSteps', 'abortEarly']);
  const d = CW_L2_DEFAULTS[options.preset === 'fast' ? 'fast' : 'original'];
  const common = resolveCommon(fn, options, d);
  const resolved: CwL2ResolvedOptions = {
    ...common,
    binarySearchSteps: checkInteger(fn, 'options.binarySearchSteps', options.binarySearchSteps ?? d.binarySearchSteps, 1),
    abortEarly: checkBoolean(fn, 'options.abortEarly', options.abortEarly, d.abortEarly),
  };
  const ctx = await prepareAttack({ fn, model, inputs, labels, targets: options.targets, common });
  const { logits: _logits, ...result } = await runL2(ctx, resolved, options, 'cw-l2');
  return result;
}

/** Runs the L2 programs on a prepared context (shared with the rubbish-class generator). */
export async function runL2<O extends CwL2ResolvedOptions>(
  ctx: AttackContext,
  resolved: O,
  run: Pick<CwCommonOptions, 'onProgress' | 'signal'>,
  stage: string,
  evaluate?: { accept?: (logits: Float32Array, row: number, K: number) => boolean },
): Promise<AttackResult<O> & { logits: Float32Array }> {
  const programs = Array.from({ length: ctx.N }, (_, i) => new L2Program(ctx, resolved, i));
  const { outcomes, aborted } = await runAttackPrograms(ctx, programs, { options: resolved, distance: 'l2', masked: false }, stage, run);
  const ev = await evaluateOnContext(ctx, outcomes, 'l2', resolved.batchSize, evaluate?.accept ? { accept: evaluate.accept } : {});
  const result = makeResult({
    images: ev.images,
    shape: ctx.shape,
    success: ev.success,
    distance: ev.distance,
    predicted: ev.predicted,
    norm: 'l2',
    outcomes,
    labels: ctx.labels,
    targets: ctx.targets,
    aborted,
    options: resolved,
    warnings: ctx.warnings,
  });
  return Object.assign(result, { logits: ev.logits });
}
