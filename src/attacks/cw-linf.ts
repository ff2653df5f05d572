/**
 * Carlini–Wagner L∞ attack (ATTACKS.md §4): a penalty on the part of each change above τ, with τ
 * shrunk by a constant factor after every success. Batched with per-example τ, c, warm starts and
 * termination.
 * @module
 */
import type * as tf from '@tensorflow/tfjs-core';
import { checkNumber } from '../internal/validate.js';
import type { AttackModel } from './logits-model.js';
import type { ClassIndices, CwCommonOptions, AttackContext, ResolvedCommon } from './prepare.js';
import { checkBoolean, checkOptionKeys, prepareAttack, resolveCommon } from './prepare.js';
import type { CwEngine } from './optimize.js';
import type { StepObservation } from './optimize.js';
import type { Program } from './driver.js';
import { evaluateOnContext, runAttackPrograms } from './run-attack.js';
import { argmaxRow } from './objective.js';
import type { AttackOutcome, AttackResult } from './result.js';
import { makeResult } from './result.js';
import { toTanhSpace } from './tanh-box.js';
import { InvalidArgumentError } from '../errors.js';

/**
 * Options of {@link carliniWagnerLinf}. Defaults are those of the authors' code
 * (`nn_robust_attacks/li_attack.py`); the `'fast'` preset lowers `maxIterations` to 100.
 *
 * @example
 * ```ts
 * const options: CwLinfOptions = { decreaseFactor: 0.9, preset: 'fast' };
 * ```
 * @category Attacks
 */
export interface CwLinfOptions extends CwCommonOptions {
  /** The solve gives up once c reaches this. Default 20. */
  largestConst?: number;
  /** c is multiplied by this after `maxIterations` steps without success. Default 2. */
  constFactor?: number;
  /** Halve c after every successful solve. Default false. */
  reduceConst?: boolean;
  /** τ is multiplied by this after every success (in (0, 1)). Default 0.9. */
  decreaseFactor?: number;
}

/** Options of {@link carliniWagnerLinf} as used, echoed in its result. @category Attacks */
export interface CwLinfResolvedOptions extends ResolvedCommon {
  largestConst: number;
  constFactor: number;
  reduceConst: boolean;
  decreaseFactor: number;
}

/**
 * The defaults of {@link carliniWagnerLinf} per preset.
 * @category Attacks
 */
export const CW_LINF_DEFAULTS = {
  original: { confidence: 0, learningRate: 5e-3, maxIterations: 1_000, initialConst: 1e-5, largestConst: 20, constFactor: 2, reduceConst: false, decreaseFactor: 0.9 },
  fast: { confidence: 0, learningRate: 5e-3, maxIterations: 100, initialConst: 1e-5, largestConst: 20, constFactor: 2, reduceConst: false, decreaseFactor: 0.9 },
} as const;

/** Per-example L∞ state machine. */
export class LinfProgram implements Program {
  private c: number;
  private tau: number;
  private readonly minTau: number;
  private it = 0;
  private iterations = 0;
  private pending = false;
  private lastChance = false;
  private prev: Float32Array | null = null;
  private prevConst: number;
  private readonly x: Float32Array;

  constructor(
    private readonly ctx: AttackContext,
    private readonly o: CwLinfResolvedOptions,
    private readonly i: number,
  ) {
    this.c = o.initialConst;
    this.prevConst = o.initialConst;
    this.tau = ctx.box.maxWidth;
    this.minTau = ctx.box.maxWidth / 256;
    this.x = ctx.x.subarray(i * ctx.D, (i + 1) * ctx.D);
  }

  get found(): boolean {
    return this.prev !== null;
  }

  start(engine: CwEngine, row: number): void {
    const { ctx } = this;
    engine.load(row, {
      x: this.x,
      xt: ctx.xt.subarray(this.i * ctx.D, (this.i + 1) * ctx.D),
      base: ctx.w0.subarray(this.i * ctx.D, (this.i + 1) * ctx.D),
      cls: ctx.cls[this.i]!,
      c: this.c,
      tau: this.tau,
    });
    this.beginRound(engine, row, false);
  }

  private beginRound(engine: CwEngine, row: number, rebase: boolean): void {
    if (rebase) engine.setBase(row, toTanhSpace(this.ctx.box, this.prev!));
    engine.reset(row);
    engine.setConst(row, this.c);
    engine.setTau(row, this.tau);
    this.it = 0;
    this.pending = false;
    this.lastChance = false;
    if (!(this.c < this.o.largestConst)) this.lastChance = true; // nothing to try: fail on the next look
  }

  observe(obs: StepObservation, row: number, engine: CwEngine): boolean {
    const { ctx, o } = this;
    if (this.pending) {
      // The previous step's loss was small enough: is the updated point (evaluated now) adversarial?
      this.pending = false;
      const p = argmaxRow(obs.logits, row, ctx.K);
      const cls = ctx.cls[this.i]!;
      if (ctx.targeted ? p === cls : p !== cls) {
        const nimg = obs.image.slice(row * ctx.D, (row + 1) * ctx.D);
        if (o.reduceConst) this.c /= 2;
        let actual = 0;
        for (let k = 0; k < ctx.D; k++) actual = Math.max(actual, Math.abs(nimg[k]! - this.x[k]!));
        if (actual < this.tau) this.tau = actual;
        this.tau *= o.decreaseFactor;
        this.prev = nimg;
        this.prevConst = this.c;
        if (!(this.tau > this.minTau)) return true;
        this.beginRound(engine, row, true);
        return false;
      }
    }
    if (this.lastChance) return true;
    this.iterations++;
    if (obs.loss[row]! < 1e-4 * this.c) this.pending = true;
    this.it++;
    if (this.it >= o.maxIterations) {
      this.c *= o.constFactor;
      this.it = 0;
      engine.setConst(row, this.c); // no reset: Adam and δ continue
      if (!(this.c < o.largestConst)) {
        if (!this.pending) return true; // the solve failed: `prev` is the answer
        this.lastChance = true; // one more look for the pending check
      }
    }
    return false;
  }

  outcome(): AttackOutcome {
    return { image: this.prev, constant: this.prev ? this.prevConst : this.c, iterations: this.iterations };
  }
}

/**
 * Carlini–Wagner L∞ attack: minimises c·f6(x′) + Σ max(0, |x′ − x| − τ) and lowers τ (×0.9 by
 * default) after every success until τ ≤ 1/256 of the box width or a solve fails; returns the
 * last success, as the original does.
 *
 * Runs many examples in lock-step, each with its own τ, c, warm start and termination (the
 * original handles one image at a time). `distance` is max |x′ − x| in input units. Where nothing
 * was found the original comes back with `success = 0`. Abort (`options.signal`) stops within one
 * iteration and resolves with what was found so far (`result.aborted = true`).
 *
 * @example
 * ```ts
 * import { carliniWagnerLinf } from 'ae-manifold';
 * const r = await carliniWagnerLinf(model, images, labels, { preset: 'fast' });
 * const largestChange = r.distance; // per example
 * r.dispose();
 * ```
 * @param model a LayersModel (a trailing softmax layer is skipped) or a function returning logits
 * @param inputs `[N, ...]` inputs inside `options.bounds`
 * @param labels true class of each input
 * @param options see {@link CwLinfOptions}
 * @category Attacks
 */
export async function carliniWagnerLinf(
  model: AttackModel,
  inputs: tf.Tensor,
  labels: ClassIndices,
  options: CwLinfOptions = {},
): Promise<AttackResult<CwLinfResolvedOptions>> {
  const fn = 'carliniWagnerLinf';
  checkOptionKeys(fn, options, ['largestConst', 'constFactor', 'reduceConst', 'decreaseFactor']);
  const d = CW_LINF_DEFAULTS[options.preset === 'fast' ? 'fast' : 'original'];
  const common = resolveCommon(fn, options, d);
  const resolved: CwLinfResolvedOptions = {
    ...common,
    largestConst: checkNumber(fn, 'options.largestConst', options.largestConst ?? d.largestConst, 0, Infinity, true),
    constFactor: checkNumber(fn, 'options.constFactor', options.constFactor ?? d.constFactor, 1, Infinity, true),
    reduceConst: checkBoolean(fn, 'options.reduceConst', options.reduceConst, d.reduceConst),
    decreaseFactor: checkNumber(fn, 'options.decreaseFactor', options.decreaseFactor ?? d.decreaseFactor, 0, 1, true),
  };
  if (resolved.decreaseFactor >= 1) {
    throw new InvalidArgumentError(fn, 'options.decreaseFactor', 'a number in (0, 1)', resolved.decreaseFactor);
  }
  if (!(resolved.largestConst > resolved.initialConst)) {
    throw new InvalidArgumentError(fn, 'options.largestConst', `a number > options.initialConst (${resolved.initialConst})`, resolved.largestConst);
  }
  const ctx = await prepareAttack({ fn, model, inputs, labels, targets: options.targets, common });
  const programs = Array.from({ length: ctx.N }, (_, i) => new LinfProgram(ctx, resolved, i));
  const { outcomes, aborted } = await runAttackPrograms(ctx, programs, { options: resolved, distance: 'linf', masked: false }, 'cw-linf', options);
  const ev = await evaluateOnContext(ctx, outcomes, 'linf', resolved.batchSize);
  return makeResult({
    images: ev.images,
    shape: ctx.shape,
    success: ev.success,
    distance: ev.distance,
    predicted: ev.predicted,
    norm: 'linf',
    outcomes,
    labels: ctx.labels,
    targets: ctx.targets,
    aborted,
    options: resolved,
    warnings: ctx.warnings,
  });
}
