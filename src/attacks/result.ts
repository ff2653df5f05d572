/**
 * The result every attack returns, and the final re-evaluation that fills it: success, distance
 * and predicted class always come from a fresh prediction of the returned inputs.
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LogitsModel } from './logits-model.js';
import type { Box } from './tanh-box.js';
import { clipToBox } from './tanh-box.js';
import { argmaxRow } from './objective.js';
import { UnsupportedModelError } from '../errors.js';

/**
 * Norm an attack minimises: L0 counts changed pixels (a pixel is changed when any of its channels
 * is), L2 is the plain Euclidean norm and L∞ the largest absolute change, all in input units.
 * @category Attacks
 */
export type AttackNorm = 'l0' | 'l2' | 'linf';

/**
 * Result of an attack. `adversarial` is a tensor the caller owns (free it with `dispose()`); the
 * per-example arrays are plain typed arrays.
 *
 * @example
 * ```ts
 * const r = await carliniWagnerL2(model, x, labels);
 * const { success, distance } = r; // per example
 * r.dispose();
 * ```
 * @category Attacks
 */
export interface AttackResult<O = Record<string, unknown>> {
  /** The adversarial inputs, same shape as the inputs. Where the attack failed, the original input. */
  adversarial: tf.Tensor;
  /** 1 where a fresh prediction of `adversarial` meets the criterion (target reached / label left). */
  success: Uint8Array;
  /** Distance to the original in the attack's norm (input units); `Infinity` where `success` is 0. */
  distance: Float32Array;
  /** Class predicted for each returned input. */
  predicted: Int32Array;
  /** Norm of `distance`. */
  norm: AttackNorm;
  /** The constant c of the solve that produced each returned input (the last c tried on failure). */
  constant: Float64Array;
  /** Gradient steps spent on each example. */
  iterations: Int32Array;
  /** Sum of `iterations`. */
  totalIterations: number;
  /** True labels as given. */
  labels: Int32Array;
  /** Target classes, or `null` for an untargeted attack. */
  targets: Int32Array | null;
  /** True when the run was stopped through `options.signal`; unfinished examples hold the best found so far. */
  aborted: boolean;
  /** The options used, defaults filled in (callbacks and targets left out). */
  options: O;
  /** What the caller should know about how far to trust the result: empty on float32 backends; on a float16 backend (WebGL on half-float textures) one entry saying what the attack did there. */
  warnings: string[];
  /** Disposes `adversarial`. */
  dispose(): void;
}

/** Per-example outcome of an attack loop, before the final re-evaluation. */
export interface AttackOutcome {
  /** The image found (pixel space, flattened), or `null` for "nothing found: the original". */
  image: Float32Array | null;
  constant: number;
  iterations: number;
}

/** Logits of `N` flattened examples, predicted in batches. Returns `[N, K]` row-major and K. */
export async function predictLogits(
  fn: string,
  lm: LogitsModel,
  data: Float32Array,
  N: number,
  exampleShape: readonly number[],
  batchSize: number,
): Promise<{ logits: Float32Array; K: number }> {
  const D = exampleShape.reduce((a, b) => a * b, 1);
  let out: Float32Array | undefined;
  let K = 0;
  for (let start = 0; start < N; start += batchSize) {
    const n = Math.min(batchSize, N - start);
    const z = tf.tidy(() => {
      const x = tf.tensor(data.subarray(start * D, (start + n) * D), [n, ...exampleShape]);
      return lm.logits(x);
    });
    try {
      if (z.rank !== 2 || z.shape[0] !== n) {
        throw new UnsupportedModelError(fn, `the model returned shape [${z.shape.join(', ')}] for a batch of ${n}; expected [${n}, classes]`);
      }
      K = z.shape[1]!;
      const vals = (await z.data()) as Float32Array;
      out ??= new Float32Array(N * K);
      out.set(vals, start * K);
    } finally {
      z.dispose();
    }
  }
  return { logits: out!, K };
}

/** Number of pixels (channels last) where any channel of `a` and `b` differ. */
export function countChangedPixels(a: Float32Array, b: Float32Array, offset: number, D: number, C: number): number {
  let n = 0;
  for (let p = 0; p < D; p += C) {
    for (let c = 0; c < C; c++) {
      if (a[offset + p + c] !== b[offset + p + c]) {
        n++;
        break;
      }
    }
  }
  return n;
}

/** Distance between rows of `a` and `b` in `norm`, in float64. */
export function rowDistance(norm: AttackNorm, a: Float32Array, b: Float32Array, offset: number, D: number, C: number): number {
  if (norm === 'l0') return countChangedPixels(a, b, offset, D, C);
  let acc = 0;
  for (let i = offset; i < offset + D; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (norm === 'l2') acc += d * d;
    else if (d > acc) acc = d;
  }
  return norm === 'l2' ? Math.sqrt(acc) : acc;
}

export interface FinalEvaluation {
  images: Float32Array;
  success: Uint8Array;
  distance: Float32Array;
  predicted: Int32Array;
  logits: Float32Array;
  K: number;
}

/**
 * Clips the found images into the box, predicts them afresh and fills success, distance and the
 * predicted class. Examples with nothing found get the original input.
 */
export async function evaluateFinal(args: {
  fn: string;
  lm: LogitsModel;
  box: Box;
  x: Float32Array;
  outcomes: readonly AttackOutcome[];
  exampleShape: readonly number[];
  norm: AttackNorm;
  cls: Int32Array;
  targeted: boolean;
  batchSize: number;
  /** Extra success condition on a row of logits (rubbish: minimum confidence). */
  accept?: (logits: Float32Array, row: number, K: number) => boolean;
  /** Reference to measure distances from (default `x`). */
  reference?: Float32Array;
}): Promise<FinalEvaluation> {
  const { box, x, outcomes, exampleShape, norm, cls, targeted } = args;
  const N = outcomes.length;
  const D = exampleShape.reduce((a, b) => a * b, 1);
  const C = box.channels;
  const images = new Float32Array(N * D);
  outcomes.forEach((o, i) => images.set(o.image ?? x.subarray(i * D, (i + 1) * D), i * D));
  clipToBox(box, images);
  const ref = args.reference ?? x;
  const { logits, K } = await predictLogits(args.fn, args.lm, images, N, exampleShape, args.batchSize);
  const success = new Uint8Array(N);
  const distance = new Float32Array(N);
  const predicted = new Int32Array(N);
  for (let i = 0; i < N; i++) {
    const p = argmaxRow(logits, i, K);
    predicted[i] = p;
    let ok = targeted ? p === cls[i] : p !== cls[i];
    if (ok && args.accept) ok = args.accept(logits, i, K);
    success[i] = ok ? 1 : 0;
    distance[i] = ok ? rowDistance(norm, images, ref, i * D, D, C) : Infinity;
  }
  return { images, success, distance, predicted, logits, K };
}

/** Builds the public result object. */
export function makeResult<O>(args: {
  images: Float32Array;
  shape: readonly number[];
  success: Uint8Array;
  distance: Float32Array;
  predicted: Int32Array;
  norm: AttackNorm;
  outcomes: readonly AttackOutcome[];
  labels: Int32Array;
  targets: Int32Array | null;
  aborted: boolean;
  options: O;
  warnings?: readonly string[];
}): AttackResult<O> {
  const adversarial = tf.tensor(args.images, [...args.shape]);
  const constant = Float64Array.from(args.outcomes, (o) => o.constant);
  const iterations = Int32Array.from(args.outcomes, (o) => o.iterations);
  return {
    adversarial,
    success: args.success,
    distance: args.distance,
    predicted: args.predicted,
    norm: args.norm,
    constant,
    iterations,
    totalIterations: iterations.reduce((a, b) => a + b, 0),
    labels: args.labels,
    targets: args.targets,
    aborted: args.aborted,
    options: args.options,
    warnings: [...(args.warnings ?? [])],
    dispose() {
      adversarial.dispose();
    },
  };
}
