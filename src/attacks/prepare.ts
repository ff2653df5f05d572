/**
 * Entry checks and set-up shared by the attacks: options, inputs, labels and targets, the model
 * adapter and a first clean prediction (number of classes, probability check).
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeMismatchError } from '../errors.js';
import type { RunOptions } from '../types.js';
import { checkInteger, checkKnownOptions, checkNumber } from '../internal/validate.js';
import type { LogitsModel } from './logits-model.js';
import { checkGradient, checkModelInputShape, rejectProbabilities, toLogitsModel } from './logits-model.js';
import type { Bounds, Box } from './tanh-box.js';
import { findOutOfBox, fromTanhSpace, resolveBox, tanhShrinkFor, toTanhSpace } from './tanh-box.js';
import { predictLogits } from './result.js';
import { backendFloatPrecision } from '../backend/precision.js';
import { float16Warning } from './float16.js';

/**
 * Labels or targets: one integer class per input.
 * @category Attacks
 */
export type ClassIndices = Int32Array | readonly number[] | tf.Tensor1D;

/**
 * Options every C&W attack accepts. Each attack documents its own defaults.
 * @category Attacks
 */
export interface CwCommonOptions extends RunOptions {
  /** Target class per input. Given: a targeted attack; omitted: untargeted (leave the label). */
  targets?: ClassIndices;
  /** `'original'` (the defaults of the authors' code) or `'fast'` (fewer iterations). Default `'original'`. */
  preset?: 'original' | 'fast';
  /** κ: the logit margin the objective asks for (≥ 0). */
  confidence?: number;
  /** Adam learning rate (> 0). */
  learningRate?: number;
  /** Adam steps per solve (L2: per binary-search step; L0/L∞: per value of c). */
  maxIterations?: number;
  /** First value of the constant c (> 0). */
  initialConst?: number;
  /** Input box, `[lo, hi]` or per channel `[lo[], hi[]]`. Default `[0, 1]`. Inputs must lie inside it. */
  bounds?: Bounds;
  /** Examples optimised together (each keeps its own state; results do not depend on it). Default 128, as in the study: a C&W step on the MNIST CNN moves 19 % more images per second at 128 than at 32. */
  batchSize?: number;
  /** Accept a model whose outputs look like probabilities (not recommended). Default false. */
  allowProbabilities?: boolean;
}

/** Option keys every attack knows. */
export const COMMON_OPTION_KEYS = [
  'targets',
  'preset',
  'confidence',
  'learningRate',
  'maxIterations',
  'initialConst',
  'bounds',
  'batchSize',
  'allowProbabilities',
  'onProgress',
  'signal',
] as const;

/** Everything an attack loop needs about its inputs. */
export interface AttackContext {
  fn: string;
  lm: LogitsModel;
  box: Box;
  /** Inputs, flattened `[N, D]`. */
  x: Float32Array;
  /** w₀ = atanh(s·(x − mid)/half). */
  w0: Float32Array;
  /** x̃ = mid + half·tanh(w₀), the reconstructed original distances are measured to. */
  xt: Float32Array;
  N: number;
  D: number;
  C: number;
  shape: readonly number[];
  exampleShape: readonly number[];
  K: number;
  labels: Int32Array;
  targets: Int32Array | null;
  /** targets when targeted, labels otherwise. */
  cls: Int32Array;
  targeted: boolean;
  /** Float precision of the backend's tensor storage (16: WebGL on half-float textures). */
  precision: 16 | 32;
  /** Warnings for the result (float16 backend). */
  warnings: string[];
}

/** Resolved common options, echoed in results. */
export interface ResolvedCommon {
  preset: 'original' | 'fast';
  targeted: boolean;
  confidence: number;
  learningRate: number;
  maxIterations: number;
  initialConst: number;
  bounds: Bounds;
  batchSize: number;
  allowProbabilities: boolean;
}

export function checkBoolean(fn: string, arg: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new InvalidArgumentError(fn, arg, 'true or false', v);
  return v;
}

/** Reads an integer-class argument (array, Int32Array or rank-1 tensor). */
export async function readClasses(fn: string, arg: string, v: unknown, N: number): Promise<Int32Array> {
  let arr: ArrayLike<number>;
  if (v instanceof tf.Tensor) {
    if (v.rank !== 1) throw new ShapeMismatchError(fn, arg, [N], v.shape, 'a rank-1 tensor of class indices');
    arr = (await v.data()) as ArrayLike<number>;
  } else if (Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView))) {
    arr = v as ArrayLike<number>;
  } else {
    throw new InvalidArgumentError(fn, arg, 'an Int32Array, an array of integers or a rank-1 tensor', v);
  }
  if (arr.length !== N) throw new ShapeMismatchError(fn, arg, [N], [arr.length], 'one class per input');
  const out = new Int32Array(N);
  for (let i = 0; i < N; i++) {
    const c = arr[i]!;
    if (typeof c !== 'number' || !Number.isInteger(c) || c < 0) {
      throw new InvalidArgumentError(fn, `${arg}[${i}]`, 'a non-negative integer class index', c);
    }
    out[i] = c;
  }
  return out;
}

/** Checks the option values every attack shares, given the attack's defaults. */
export function resolveCommon(
  fn: string,
  o: CwCommonOptions,
  d: { confidence: number; learningRate: number; maxIterations: number; initialConst: number },
): ResolvedCommon {
  const preset = o.preset ?? 'original';
  if (preset !== 'original' && preset !== 'fast') {
    throw new InvalidArgumentError(fn, 'options.preset', "'original' or 'fast'", preset);
  }
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') {
    throw new InvalidArgumentError(fn, 'options.onProgress', 'a function', o.onProgress);
  }
  if (o.signal !== undefined && (o.signal === null || typeof (o.signal as AbortSignal).aborted !== 'boolean')) {
    throw new InvalidArgumentError(fn, 'options.signal', 'an AbortSignal', o.signal);
  }
  return {
    preset,
    targeted: o.targets !== undefined,
    confidence: checkNumber(fn, 'options.confidence', o.confidence ?? d.confidence, 0),
    learningRate: checkNumber(fn, 'options.learningRate', o.learningRate ?? d.learningRate, 0, Infinity, true),
    maxIterations: checkInteger(fn, 'options.maxIterations', o.maxIterations ?? d.maxIterations, 1),
    initialConst: checkNumber(fn, 'options.initialConst', o.initialConst ?? d.initialConst, 0, Infinity, true),
    bounds: o.bounds ?? [0, 1],
    batchSize: checkInteger(fn, 'options.batchSize', o.batchSize ?? 128, 1),
    allowProbabilities: checkBoolean(fn, 'options.allowProbabilities', o.allowProbabilities, false),
  };
}

/** Rejects unknown option keys (typos) for an attack with extra keys `own`. */
export function checkOptionKeys(fn: string, options: unknown, own: readonly string[]): void {
  checkKnownOptions(fn, options as object | undefined, [...COMMON_OPTION_KEYS, ...own]);
}

/** Inputs, labels and targets of an attack, read and checked (everything but the model). */
export interface AttackData {
  /** Inputs, flattened `[N, D]`. */
  x: Float32Array;
  N: number;
  D: number;
  C: number;
  shape: readonly number[];
  exampleShape: readonly number[];
  box: Box;
  labels: Int32Array | null;
  targets: Int32Array | null;
  precision: 16 | 32;
}

/**
 * Reads and checks the inputs (a float32 batch of finite values inside `bounds`), labels and
 * targets, naming the example of any bad value. `labels` may be `null` (rubbish inputs).
 */
export async function readAttackData(args: { fn: string; inputs: unknown; labels: unknown; targets: unknown; bounds: Bounds }): Promise<AttackData> {
  const { fn, inputs } = args;
  if (!(inputs instanceof tf.Tensor)) throw new InvalidArgumentError(fn, 'inputs', 'a tf.Tensor of shape [batch, ...]', inputs);
  if (inputs.isDisposed) throw new InvalidArgumentError(fn, 'inputs', 'a live tensor', 'a disposed tensor');
  if (inputs.rank < 2) throw new ShapeMismatchError(fn, 'inputs', [null, null], inputs.shape, 'rank >= 2: a batch of examples');
  if (inputs.dtype !== 'float32') throw new InvalidArgumentError(fn, 'inputs', 'a float32 tensor', `dtype ${inputs.dtype}`);
  const shape: number[] = inputs.shape;
  const N = shape[0]!;
  if (N < 1) throw new ShapeMismatchError(fn, 'inputs', [null], shape, 'at least one example');
  const exampleShape = shape.slice(1);
  const D = exampleShape.reduce((a: number, b: number) => a * b, 1);
  if (D < 1) throw new ShapeMismatchError(fn, 'inputs', [N, null], shape, 'non-empty examples');
  const C = exampleShape[exampleShape.length - 1]!;
  const precision = backendFloatPrecision();
  const box = resolveBox(fn, args.bounds, C, tanhShrinkFor(precision));
  const x = Float32Array.from((await inputs.data()) as Float32Array);
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i]!)) {
      throw new InvalidArgumentError(fn, 'inputs', 'finite values', `${x[i]} at example ${Math.floor(i / D)}, element ${i % D}`);
    }
  }
  const out = findOutOfBox(box, x);
  if (out) {
    const c = out.index % C;
    throw new InvalidArgumentError(
      fn,
      'inputs',
      `values inside options.bounds [${box.lo[c]}, ${box.hi[c]}] (attacks run in pixel space; pass the unnormalised input and let the model normalise)`,
      `${out.value} at example ${Math.floor(out.index / D)}, element ${out.index % D}`,
    );
  }
  const labels = args.labels === null ? null : await readClasses(fn, 'labels', args.labels, N);
  const targets = args.targets === undefined ? null : await readClasses(fn, 'options.targets', args.targets, N);
  return { x, N, D, C, shape, exampleShape, box, labels, targets, precision };
}

/** Checks that labels and targets are classes of a K-class model and that no target is its label. */
export function checkClasses(fn: string, labels: Int32Array | null, targets: Int32Array | null, K: number): void {
  const checkRange = (a: Int32Array | null, arg: string) => {
    if (!a) return;
    for (let i = 0; i < a.length; i++) {
      if (a[i]! >= K) throw new InvalidArgumentError(fn, `${arg}[${i}]`, `a class index in [0, ${K})`, a[i]);
    }
  };
  checkRange(labels, 'labels');
  checkRange(targets, 'options.targets');
  if (labels && targets) {
    for (let i = 0; i < labels.length; i++) {
      if (labels[i] === targets[i]) {
        throw new InvalidArgumentError(fn, `options.targets[${i}]`, `a class other than the label (${labels[i]})`, targets[i]);
      }
    }
  }
}

/**
 * Validates model, inputs, labels and targets, and runs one clean prediction.
 * `labels` may be `null` (rubbish inputs: targets only).
 */
export async function prepareAttack(args: {
  fn: string;
  model: unknown;
  inputs: unknown;
  labels: unknown;
  targets: unknown;
  common: ResolvedCommon;
}): Promise<AttackContext> {
  const { fn, common } = args;
  const lm = toLogitsModel(fn, args.model);
  const data = await readAttackData({ ...args, bounds: common.bounds });
  const { x, N, D, C, exampleShape, shape, box, labels, targets, precision } = data;
  checkModelInputShape(fn, 'inputs', args.model, exampleShape, shape);
  // One clean prediction of the first batch: number of classes and the probability check.
  const nFirst = Math.min(N, common.batchSize);
  const { logits, K } = await predictLogits(fn, lm, x.subarray(0, nFirst * D), nFirst, exampleShape, common.batchSize);
  if (K < 2) throw new InvalidArgumentError(fn, 'model', 'a classifier with at least 2 classes', `${K} output(s)`);
  rejectProbabilities(fn, logits, nFirst, K, common.allowProbabilities);
  const first = tf.tensor(x.subarray(0, D), [1, ...exampleShape]);
  try {
    checkGradient(fn, lm, first);
  } finally {
    first.dispose();
  }
  checkClasses(fn, labels, targets, K);
  const w0 = toTanhSpace(box, x);
  const xt = fromTanhSpace(box, w0);
  const lab = labels ?? targets!;
  return {
    fn,
    lm,
    box,
    x,
    w0,
    xt,
    N,
    D,
    C,
    shape,
    exampleShape,
    K,
    labels: lab,
    targets,
    cls: targets ?? lab,
    targeted: targets !== null,
    precision,
    warnings: precision === 16 ? [float16Warning(fn)] : [],
  };
}
