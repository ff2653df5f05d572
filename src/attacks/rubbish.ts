/**
 * Rubbish-class inputs (ATTACKS.md §6): seeded noise pushed by a targeted C&W L2 attack (or one
 * gradient-sign step) until the model assigns it to a class with at least a given confidence.
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '../errors.js';
import type { RunOptions } from '../types.js';
import { createRng } from '../internal/rng.js';
import { checkInteger, checkKnownOptions, checkNumber } from '../internal/validate.js';
import type { AttackModel } from './logits-model.js';
import { checkModelInputShape, isLayersModelLike, looksLikeProbabilities, rejectProbabilities, toLogitsModel } from './logits-model.js';
import type { ClassIndices, ResolvedCommon } from './prepare.js';
import { checkBoolean, prepareAttack, readClasses } from './prepare.js';
import type { CwL2ResolvedOptions } from './cw-l2.js';
import { CW_L2_DEFAULTS, runL2 } from './cw-l2.js';
import type { AttackOutcome, AttackResult } from './result.js';
import { evaluateFinal, makeResult, predictLogits } from './result.js';
import type { Bounds } from './tanh-box.js';
import { resolveBox } from './tanh-box.js';
import { yieldNow } from './driver.js';
import { backendFloatPrecision } from '../backend/precision.js';
import { float16Warning } from './float16.js';

/**
 * Options of {@link generateRubbish}.
 *
 * @example
 * ```ts
 * const options: RubbishOptions = { perClass: 100, minConfidence: 0.9, seed: 7, preset: 'fast' };
 * ```
 * @category Attacks
 */
export interface RubbishOptions extends RunOptions {
  /** Shape of one input, e.g. `[28, 28, 1]`. Default: the LayersModel's input shape (required for a function model). */
  shape?: readonly number[];
  /** Class each input should be assigned to. Default: balanced, `perClass` inputs per class (t = i mod K). */
  targets?: ClassIndices;
  /** Inputs per class when `targets` is omitted. Default 10. */
  perClass?: number;
  /** p: keep only inputs whose softmax probability of the target is at least this. Default 0.9. */
  minConfidence?: number;
  /** Starting noise: `'uniform'` U[lo, hi] per value, or `'gaussian'` N(mid, half²) clipped to the box. Default `'uniform'`. */
  noise?: 'uniform' | 'gaussian';
  /** Seed of the noise (an integer in [0, 2^32)). Default: drawn, and reported in the result. */
  seed?: number;
  /** `'cw-l2'` (targeted C&W L2 with κ = ln((K−1)p/(1−p))) or `'gradient-sign'` (Goodfellow's single step). Default `'cw-l2'`. */
  method?: 'cw-l2' | 'gradient-sign';
  /** Step size of `'gradient-sign'` in input units. Default 0.25 × the box width. */
  epsilon?: number;
  /** C&W L2 settings (see {@link CwL2Options}). */
  preset?: 'original' | 'fast';
  learningRate?: number;
  maxIterations?: number;
  initialConst?: number;
  binarySearchSteps?: number;
  abortEarly?: boolean;
  /** Input box. Default `[0, 1]`. */
  bounds?: Bounds;
  /** Examples optimised together (results do not depend on it). Default 128. */
  batchSize?: number;
  /** Accept a model whose outputs look like probabilities (they are then used as probabilities). Default false. */
  allowProbabilities?: boolean;
}

/** Options of {@link generateRubbish} as used, echoed in its result. @category Attacks */
export interface RubbishResolvedOptions extends CwL2ResolvedOptions {
  method: 'cw-l2' | 'gradient-sign';
  noise: 'uniform' | 'gaussian';
  minConfidence: number;
  epsilon: number;
  seed: number;
  shape: number[];
}

/**
 * Result of {@link generateRubbish}: an {@link AttackResult} whose `distance` is the L2 distance
 * from the starting noise, with the noise itself, the seed and each input's target confidence.
 * @category Attacks
 */
export interface RubbishResult extends AttackResult<RubbishResolvedOptions> {
  /** The starting noise (caller owns it; freed by `dispose()` too). */
  noise: tf.Tensor;
  /** The seed of the noise. */
  seed: number;
  /** Softmax probability of the target for each returned input. */
  confidence: Float32Array;
}

const KEYS = [
  'shape', 'targets', 'perClass', 'minConfidence', 'noise', 'seed', 'method', 'epsilon', 'preset', 'learningRate',
  'maxIterations', 'initialConst', 'binarySearchSteps', 'abortEarly', 'bounds', 'batchSize', 'allowProbabilities',
  'onProgress', 'signal',
] as const;

/**
 * κ for which a logit margin ≥ κ over every other class guarantees softmax_t ≥ p: ln((K−1)p/(1−p)).
 *
 * @example
 * ```ts
 * import { confidenceMargin } from 'ae-manifold';
 * confidenceMargin(10, 0.9); // ln 81 ≈ 4.394
 * ```
 * @category Attacks
 */
export function confidenceMargin(numClasses: number, p: number): number {
  return Math.log(((numClasses - 1) * p) / (1 - p));
}

function targetProbability(logits: Float32Array, row: number, K: number, t: number, rawProbabilities: boolean): number {
  const z = logits.subarray(row * K, (row + 1) * K);
  if (rawProbabilities && looksLikeProbabilities(z, 1, K)) return z[t]!;
  let max = -Infinity;
  for (const v of z) max = Math.max(max, v);
  let s = 0;
  for (const v of z) s += Math.exp(v - max);
  return Math.exp(z[t]! - max) / s;
}

/**
 * Rubbish-class inputs: starts from seeded noise and crafts inputs the model assigns to a chosen
 * class (or to each class in turn) with at least `minConfidence`, staying as close to the noise as
 * the attack can (so they resemble no real class). `success` is 1 only for inputs whose fresh
 * prediction is the target with probability ≥ `minConfidence`; the others come back as their
 * starting noise.
 *
 * @example
 * ```ts
 * import { generateRubbish } from 'ae-manifold';
 * const r = await generateRubbish(model, { perClass: 10, seed: 1, preset: 'fast' });
 * const { seed, success, confidence } = r;
 * r.dispose();
 * ```
 * @param model a LayersModel (a trailing softmax layer is skipped) or a function returning logits
 * @param options see {@link RubbishOptions}
 * @category Attacks
 */
export async function generateRubbish(model: AttackModel, options: RubbishOptions = {}): Promise<RubbishResult> {
  const fn = 'generateRubbish';
  checkKnownOptions(fn, options, KEYS);
  const d = CW_L2_DEFAULTS[options.preset === 'fast' ? 'fast' : 'original'];
  const method = options.method ?? 'cw-l2';
  if (method !== 'cw-l2' && method !== 'gradient-sign') {
    throw new InvalidArgumentError(fn, 'options.method', "'cw-l2' or 'gradient-sign'", method);
  }
  const noiseKind = options.noise ?? 'uniform';
  if (noiseKind !== 'uniform' && noiseKind !== 'gaussian') {
    throw new InvalidArgumentError(fn, 'options.noise', "'uniform' or 'gaussian'", noiseKind);
  }
  const p = checkNumber(fn, 'options.minConfidence', options.minConfidence ?? 0.9, 0, 1, true);
  if (p >= 1) throw new InvalidArgumentError(fn, 'options.minConfidence', 'a probability in (0, 1)', p);
  const lm = toLogitsModel(fn, model);
  // Shape of one input.
  let shape: number[];
  if (options.shape !== undefined) {
    if (!Array.isArray(options.shape) || options.shape.length < 1 || !options.shape.every((s) => Number.isInteger(s) && s > 0)) {
      throw new InvalidArgumentError(fn, 'options.shape', 'an array of positive integers (one input, without the batch axis)', options.shape);
    }
    shape = [...options.shape];
  } else {
    const s = isLayersModelLike(model) ? (model.inputs[0] as { shape?: (number | null)[] } | undefined)?.shape : undefined;
    if (!s || s.slice(1).some((v) => v === null || v === undefined)) {
      throw new InvalidArgumentError(fn, 'options.shape', 'given (the model does not declare a fixed input shape)', options.shape);
    }
    shape = s.slice(1) as number[];
  }
  checkModelInputShape(fn, 'options.shape', model, shape, shape);
  const D = shape.reduce((a, b) => a * b, 1);
  const C = shape[shape.length - 1]!;
  const box = resolveBox(fn, options.bounds, C);
  const batchSize = checkInteger(fn, 'options.batchSize', options.batchSize ?? 128, 1);
  const allowProbabilities = checkBoolean(fn, 'options.allowProbabilities', options.allowProbabilities, false);
  const epsilon = checkNumber(fn, 'options.epsilon', options.epsilon ?? 0.25 * box.maxWidth, 0, Infinity, true);
  const rng = createRng(options.seed === undefined ? undefined : checkInteger(fn, 'options.seed', options.seed, 0, 2 ** 32 - 1));
  const draw = (): number => (noiseKind === 'uniform' ? rng.next() : rng.normal());
  const makeNoise = (n: number): Float32Array => {
    const out = new Float32Array(n * D);
    for (let i = 0; i < out.length; i++) {
      const c = i % C;
      const u = draw();
      const v = noiseKind === 'uniform' ? box.lo[c]! + (box.hi[c]! - box.lo[c]!) * u : box.mid[c]! + box.half[c]! * u;
      out[i] = Math.min(box.hi[c]!, Math.max(box.lo[c]!, v));
    }
    return out;
  };
  // Number of classes (and the probability check) from one mid-box probe input; uses no randomness.
  const probe = new Float32Array(D);
  for (let i = 0; i < D; i++) probe[i] = box.mid[i % C]!;
  const { logits: probeLogits, K } = await predictLogits(fn, lm, probe, 1, shape, 1);
  if (K < 2) throw new InvalidArgumentError(fn, 'model', 'a classifier with at least 2 classes', `${K} output(s)`);
  rejectProbabilities(fn, probeLogits, 1, K, allowProbabilities);
  let targets: Int32Array;
  if (options.targets !== undefined) {
    const n = options.targets instanceof tf.Tensor ? options.targets.shape[0] ?? 0 : (options.targets as ArrayLike<number>).length;
    if (!(n >= 1)) throw new InvalidArgumentError(fn, 'options.targets', 'at least one target class', options.targets);
    targets = await readClasses(fn, 'options.targets', options.targets, n);
    targets.forEach((t, i) => {
      if (t >= K) throw new InvalidArgumentError(fn, `options.targets[${i}]`, `a class index in [0, ${K})`, t);
    });
  } else {
    const perClass = checkInteger(fn, 'options.perClass', options.perClass ?? 10, 1);
    targets = Int32Array.from({ length: perClass * K }, (_, i) => i % K);
  }
  const N = targets.length;
  const noise = makeNoise(N);
  const kappa = confidenceMargin(K, p);
  const common: ResolvedCommon = {
    preset: options.preset ?? 'original',
    targeted: true,
    confidence: kappa,
    learningRate: checkNumber(fn, 'options.learningRate', options.learningRate ?? d.learningRate, 0, Infinity, true),
    maxIterations: checkInteger(fn, 'options.maxIterations', options.maxIterations ?? d.maxIterations, 1),
    initialConst: checkNumber(fn, 'options.initialConst', options.initialConst ?? d.initialConst, 0, Infinity, true),
    bounds: options.bounds ?? [0, 1],
    batchSize,
    allowProbabilities,
  };
  if (common.preset !== 'original' && common.preset !== 'fast') {
    throw new InvalidArgumentError(fn, 'options.preset', "'original' or 'fast'", common.preset);
  }
  const resolved: RubbishResolvedOptions = {
    ...common,
    binarySearchSteps: checkInteger(fn, 'options.binarySearchSteps', options.binarySearchSteps ?? d.binarySearchSteps, 1),
    abortEarly: checkBoolean(fn, 'options.abortEarly', options.abortEarly, d.abortEarly),
    method,
    noise: noiseKind,
    minConfidence: p,
    epsilon,
    seed: rng.seed,
    shape,
  };
  const accept = (logits: Float32Array, row: number, k: number): boolean =>
    targetProbability(logits, row, k, targets[row]!, allowProbabilities) >= p;
  const noiseT = tf.tensor(noise, [N, ...shape]);
  try {
    let base: AttackResult<RubbishResolvedOptions>;
    let logits: Float32Array;
    if (method === 'cw-l2') {
      const ctx = await prepareAttack({ fn, model, inputs: noiseT, labels: null, targets, common });
      const r = await runL2(ctx, resolved, options, 'rubbish', { accept });
      logits = r.logits;
      const { logits: _l, ...rest } = r;
      base = rest;
    } else {
      // Goodfellow's single step: x = clip(x₀ − ε·sign(∇ₓ CE(Z(x₀), t))).
      const stepped = new Float32Array(N * D);
      let done = 0;
      for (let s = 0; s < N; s += batchSize) {
        if (options.signal?.aborted) break;
        const n = Math.min(batchSize, N - s);
        const out = tf.tidy(() => {
          const x0 = tf.tensor(noise.subarray(s * D, (s + n) * D), [n, ...shape]);
          const oh = tf.oneHot(tf.tensor1d(targets.subarray(s, s + n), 'int32'), K);
          const g = tf.grad((x: tf.Tensor) => {
            const z = lm.logits(x) as tf.Tensor2D;
            return tf.neg(tf.sum(tf.mul(oh, tf.logSoftmax(z))));
          })(x0);
          return tf.sub(x0, tf.mul(epsilon, tf.sign(g)));
        });
        try {
          stepped.set((await out.data()) as Float32Array, s * D);
          done = s + n;
        } finally {
          out.dispose();
        }
        options.onProgress?.({ stage: 'rubbish', step: Math.min(s + n, N), total: N });
        await yieldNow();
      }
      const aborted = done < N;
      const outcomes: AttackOutcome[] = Array.from({ length: N }, (_, i) => ({
        image: i < done ? stepped.slice(i * D, (i + 1) * D) : null,
        constant: NaN,
        iterations: 1,
      }));
      const ev = await evaluateFinal({ fn, lm, box, x: noise, outcomes, exampleShape: shape, norm: 'l2', cls: targets, targeted: true, batchSize, accept });
      logits = ev.logits;
      base = makeResult({
        images: ev.images,
        shape: [N, ...shape],
        success: ev.success,
        distance: ev.distance,
        predicted: ev.predicted,
        norm: 'l2',
        outcomes,
        labels: targets,
        targets,
        aborted,
        options: resolved,
        warnings: backendFloatPrecision() === 16 ? [float16Warning(fn, false)] : [],
      });
    }
    const confidence = Float32Array.from({ length: N }, (_, i) => targetProbability(logits, i, K, targets[i]!, allowProbabilities));
    const adversarial = base.adversarial;
    const result: RubbishResult = {
      ...base,
      noise: noiseT,
      seed: rng.seed,
      confidence,
      dispose() {
        adversarial.dispose();
        noiseT.dispose();
      },
    };
    return result;
  } catch (e) {
    noiseT.dispose();
    throw e;
  }
}
