/**
 * Carlini–Wagner L0 attack (ATTACKS.md §3): repeated L2 solves on a shrinking set of changeable
 * pixels, batched with per-example masks, constants, warm starts and termination.
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
import type { AttackOutcome, AttackResult } from './result.js';
import { makeResult } from './result.js';
import { toTanhSpace } from './tanh-box.js';
import { FLOAT16_CHANGE_TOLERANCE } from './float16.js';
import { InvalidArgumentError } from '../errors.js';

/**
 * Options of {@link carliniWagnerL0}. Defaults are those of the authors' code
 * (`nn_robust_attacks/l0_attack.py`); the `'fast'` preset lowers `maxIterations` to 100.
 *
 * @example
 * ```ts
 * const options: CwL0Options = { targets: [3, 7], preset: 'fast', largestConst: 2e6 };
 * ```
 * @category Attacks
 */
export interface CwL0Options extends CwCommonOptions {
  /** The solve gives up once c reaches this. Default 2e6. */
  largestConst?: number;
  /** c is multiplied by this after `maxIterations` steps without success. Default 2. */
  constFactor?: number;
  /** Halve c after every successful solve. Default false. */
  reduceConst?: boolean;
}

/** Options of {@link carliniWagnerL0} as used, echoed in its result. @category Attacks */
export interface CwL0ResolvedOptions extends ResolvedCommon {
  largestConst: number;
  constFactor: number;
  reduceConst: boolean;
}

/**
 * The defaults of {@link carliniWagnerL0} per preset. κ = 0.01 is the margin the original fixes
 * inside f6.
 * @category Attacks
 */
export const CW_L0_DEFAULTS = {
  original: { confidence: 0.01, learningRate: 1e-2, maxIterations: 1_000, initialConst: 1e-3, largestConst: 2e6, constFactor: 2, reduceConst: false },
  fast: { confidence: 0.01, learningRate: 1e-2, maxIterations: 100, initialConst: 1e-3, largestConst: 2e6, constFactor: 2, reduceConst: false },
} as const;

/** f below this counts as a verified success of an inner solve (the original's 1e-4). */
const F_SUCCESS = 1e-4;
/** A pixel counts as changed when some channel moved by at least this × the box width. */
export const L0_CHANGE_TOLERANCE = 1e-4;

/** {@link L0_CHANGE_TOLERANCE}, or {@link FLOAT16_CHANGE_TOLERANCE} on a float16 backend. */
function changeTolerance(ctx: AttackContext): number {
  return ctx.precision === 16 ? FLOAT16_CHANGE_TOLERANCE : L0_CHANGE_TOLERANCE;
}
/** Freezing stops right after a pixel whose score exceeds this. */
const SCORE_STOP = 0.01;
/** At most ⌈0.3·√(changed pixels)⌉ pixels are frozen per round. */
const FREEZE_FRACTION = 0.3;

/** Per-example L0 state machine. */
export class L0Program implements Program {
  private c: number;
  private it = 0;
  private iterations = 0;
  private valid!: Uint8Array;
  private prev!: Float32Array;
  private last: Float32Array | null = null;
  private lastConst: number;
  private readonly x: Float32Array;
  private readonly P: number;

  constructor(
    private readonly ctx: AttackContext,
    private readonly o: CwL0ResolvedOptions,
    private readonly i: number,
  ) {
    this.c = o.initialConst;
    this.lastConst = o.initialConst;
    this.x = ctx.x.subarray(i * ctx.D, (i + 1) * ctx.D);
    this.P = ctx.D / ctx.C;
  }

  get found(): boolean {
    return this.last !== null;
  }

  private expandedMask(): Float32Array {
    const { C, D } = this.ctx;
    const m = new Float32Array(D);
    for (let p = 0; p < this.P; p++) if (this.valid[p]) m.fill(1, p * C, (p + 1) * C);
    return m;
  }

  start(engine: CwEngine, row: number): void {
    const { ctx } = this;
    this.valid = new Uint8Array(this.P).fill(1);
    this.prev = Float32Array.from(this.x);
    engine.load(row, {
      x: this.x,
      xt: ctx.xt.subarray(this.i * ctx.D, (this.i + 1) * ctx.D),
      base: toTanhSpace(ctx.box, this.prev),
      mask: this.expandedMask(),
      cls: ctx.cls[this.i]!,
      c: this.c,
    });
    this.it = 0;
    if (!(this.c < this.o.largestConst)) this.it = -1; // solve fails at once (handled in observe)
  }

  wantsGrad(obs: Omit<StepObservation, 'grad' | 'image'>, row: number): boolean {
    return obs.f[row]! < F_SUCCESS;
  }

  observe(obs: StepObservation, row: number, engine: CwEngine): boolean {
    const { ctx, o } = this;
    if (this.it < 0) return true;
    this.iterations++;
    if (obs.f[row]! < F_SUCCESS) {
      // The point before this step's update is a verified success: use it and its gradient.
      const { D, C, box } = ctx;
      const nimg = obs.image.slice(row * D, (row + 1) * D);
      const g = obs.grad!.subarray(row * D, (row + 1) * D);
      if (o.reduceConst) this.c /= 2;
      let validCount = 0;
      for (let p = 0; p < this.P; p++) validCount += this.valid[p]!;
      if (validCount === 0) {
        // Every pixel is frozen and the original itself meets the criterion.
        this.last = Float32Array.from(this.x);
        this.lastConst = this.c;
        return true;
      }
      let nChanged = 0;
      const score = new Float64Array(this.P);
      for (let p = 0; p < this.P; p++) {
        let sumDiff = 0;
        let sumAbsG = 0;
        let changed = false;
        for (let ch = 0; ch < C; ch++) {
          const k = p * C + ch;
          const diff = nimg[k]! - this.x[k]!;
          if (Math.abs(diff) >= changeTolerance(ctx) * (box.hi[ch]! - box.lo[ch]!)) changed = true;
          sumDiff += diff;
          sumAbsG += Math.abs(g[k]!);
        }
        if (changed) nChanged++;
        score[p] = Math.abs(sumDiff) * sumAbsG;
      }
      const order = Array.from({ length: this.P }, (_, p) => p).sort((a, b) => score[a]! - score[b]! || a - b);
      let did = 0;
      for (const p of order) {
        if (!this.valid[p]) continue;
        did++;
        this.valid[p] = 0;
        if (score[p]! > SCORE_STOP) break;
        if (did >= FREEZE_FRACTION * Math.sqrt(nChanged)) break;
      }
      this.last = nimg;
      this.prev = nimg;
      this.lastConst = this.c;
      // Next solve: warm start from this image with the smaller pixel set.
      engine.setBase(row, toTanhSpace(box, this.prev));
      engine.setMask(row, this.expandedMask());
      engine.reset(row);
      engine.setConst(row, this.c);
      this.it = 0;
      return false;
    }
    this.it++;
    if (this.it >= o.maxIterations) {
      this.c *= o.constFactor;
      this.it = 0;
      if (!(this.c < o.largestConst)) return true; // the solve failed: `last` is the answer
      engine.setConst(row, this.c); // no reset: Adam and δ continue
    }
    return false;
  }

  outcome(): AttackOutcome {
    return { image: this.last, constant: this.last ? this.lastConst : this.c, iterations: this.iterations };
  }
}

/**
 * Sets to the original every pixel whose channels all moved by less than the change tolerance,
 * so that the returned image changes exactly the pixels the L0 distance counts.
 */
function snapUnchanged(ctx: AttackContext, i: number, img: Float32Array): Float32Array {
  const { D, C, box } = ctx;
  const out = Float32Array.from(img);
  for (let p = 0; p < D; p += C) {
    let changed = false;
    for (let ch = 0; ch < C; ch++) {
      if (Math.abs(img[p + ch]! - ctx.x[i * D + p + ch]!) >= changeTolerance(ctx) * (box.hi[ch]! - box.lo[ch]!)) changed = true;
    }
    if (!changed) for (let ch = 0; ch < C; ch++) out[p + ch] = ctx.x[i * D + p + ch]!;
  }
  return out;
}

/**
 * Carlini–Wagner L0 attack: fewest changed pixels. Repeatedly solves an L2 problem on the pixels
 * still allowed to change, then freezes the pixels that matter least (gradient × change), until
 * the solve fails; returns the last success.
 *
 * Runs many examples in lock-step, each with its own mask, c, warm start and termination (the
 * original handles one image at a time). Pixels that moved by less than 1e-4 of the box width are
 * set back to the original in the returned image, so `distance` (changed pixels; a pixel counts
 * when any channel changed) is exact. Where nothing was found the original comes back with
 * `success = 0`. Abort (`options.signal`) stops within one iteration and resolves with what was
 * found so far (`result.aborted = true`).
 *
 * @example
 * ```ts
 * import { carliniWagnerL0 } from 'ae-manifold';
 * const r = await carliniWagnerL0(model, images, labels, { targets, preset: 'fast' });
 * const changedPixels = r.distance; // per example
 * r.dispose();
 * ```
 * @param model a LayersModel (a trailing softmax layer is skipped) or a function returning logits
 * @param inputs `[N, H, W, C]` (or any `[N, ..., C]`) inputs inside `options.bounds`
 * @param labels true class of each input
 * @param options see {@link CwL0Options}
 * @category Attacks
 */
export async function carliniWagnerL0(
  model: AttackModel,
  inputs: tf.Tensor,
  labels: ClassIndices,
  options: CwL0Options = {},
): Promise<AttackResult<CwL0ResolvedOptions>> {
  const fn = 'carliniWagnerL0';
  checkOptionKeys(fn, options, ['largestConst', 'constFactor', 'reduceConst']);
  const d = CW_L0_DEFAULTS[options.preset === 'fast' ? 'fast' : 'original'];
  const common = resolveCommon(fn, options, d);
  const resolved: CwL0ResolvedOptions = {
    ...common,
    largestConst: checkNumber(fn, 'options.largestConst', options.largestConst ?? d.largestConst, 0, Infinity, true),
    constFactor: checkNumber(fn, 'options.constFactor', options.constFactor ?? d.constFactor, 1, Infinity, true),
    reduceConst: checkBoolean(fn, 'options.reduceConst', options.reduceConst, d.reduceConst),
  };
  if (!(resolved.largestConst > resolved.initialConst)) {
    throw new InvalidArgumentError(fn, 'options.largestConst', `a number > options.initialConst (${resolved.initialConst})`, resolved.largestConst);
  }
  const ctx = await prepareAttack({ fn, model, inputs, labels, targets: options.targets, common });
  const programs = Array.from({ length: ctx.N }, (_, i) => new L0Program(ctx, resolved, i));
  const { outcomes: raw, aborted } = await runAttackPrograms(ctx, programs, { options: resolved, distance: 'l2', masked: true }, 'cw-l0', options);
  const snapped = raw.map((o, i) => ({ ...o, image: o.image ? snapUnchanged(ctx, i, o.image) : null }));
  const ev = await evaluateOnContext(ctx, snapped, 'l0', resolved.batchSize);
  // Where snapping tiny changes back undid the success (rare), return the unsnapped image.
  const redo = raw.flatMap((o, i) => (o.image && !ev.success[i] ? [i] : []));
  if (redo.length > 0) {
    const sub = await evaluateOnContext(
      ctx,
      redo.map((i) => raw[i]!),
      'l0',
      resolved.batchSize,
      {
        x: Float32Array.from(redo.flatMap((i) => Array.from(ctx.x.subarray(i * ctx.D, (i + 1) * ctx.D)))),
        cls: Int32Array.from(redo, (i) => ctx.cls[i]!),
      },
    );
    redo.forEach((i, j) => {
      if (sub.success[j]) {
        ev.images.set(sub.images.subarray(j * ctx.D, (j + 1) * ctx.D), i * ctx.D);
        ev.success[i] = 1;
        ev.distance[i] = sub.distance[j]!;
        ev.predicted[i] = sub.predicted[j]!;
      }
    });
  }
  return makeResult({
    images: ev.images,
    shape: ctx.shape,
    success: ev.success,
    distance: ev.distance,
    predicted: ev.predicted,
    norm: 'l0',
    outcomes: raw,
    labels: ctx.labels,
    targets: ctx.targets,
    aborted,
    options: resolved,
    warnings: ctx.warnings,
  });
}
