/**
 * Normalised centroid distance (METHODS §5.2, a project choice): distance of an activation to a
 * class mean, in units of the class's mean distance to its own mean.
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '../errors.js';
import type { FloatMatrix } from '../types.js';
import { checkKnownOptions, checkLabels } from '../internal/validate.js';
import { readMatrix } from './matrix-input.js';
import { summarizePairs } from './pairs.js';
import type { PairSummary } from './pairs.js';

/**
 * Inputs shared by the per-query class metrics: reference activations with labels, and query
 * activations with their original and predicted classes.
 * @category Metrics
 */
export interface ClassQueryInput {
  /** Reference rows [N, D] (training activations at one analysis point). */
  reference: FloatMatrix | tf.Tensor2D;
  /** Class of each reference row. */
  referenceLabels: Int32Array | readonly number[];
  /** Query rows [Q, D] (e.g. adversarial activations at the same point). */
  queries: FloatMatrix | tf.Tensor2D;
  /** Original (true) class o of each query. */
  originalClass: Int32Array | readonly number[];
  /** Predicted class p of each query. */
  predictedClass: Int32Array | readonly number[];
}

/**
 * Options of {@link normalizedCentroidDistance}.
 * @category Metrics
 */
export interface CentroidDistanceOptions {
  /** `'mean-distance'` (default): divide by σ_c; `'none'`: raw Euclidean distance. */
  normalize?: 'mean-distance' | 'none';
}

/**
 * Result of {@link normalizedCentroidDistance}.
 * @category Metrics
 */
export interface CentroidDistanceResult {
  normalize: 'mean-distance' | 'none';
  /** NCD_o per query. */
  original: Float64Array;
  /** NCD_p per query. */
  predicted: Float64Array;
  /** NCD_o − NCD_p per query. */
  difference: Float64Array;
  /** σ_c (mean distance of class-c reference rows to μ_c) for each class present in the reference. */
  classScale: Map<number, number>;
  /** Per (o, p) pair, most frequent first. */
  pairs: Array<PairSummary<'original' | 'predicted' | 'difference'>>;
}

/** @internal Validates a {@link ClassQueryInput}. */
export async function readClassQueryInput(fn: string, input: ClassQueryInput) {
  if (input === null || typeof input !== 'object') throw new InvalidArgumentError(fn, 'input', 'an object', input);
  checkKnownOptions(fn, input, ['reference', 'referenceLabels', 'queries', 'originalClass', 'predictedClass']);
  const reference = await readMatrix(fn, 'input.reference', input.reference);
  const queries = await readMatrix(fn, 'input.queries', input.queries, reference.cols);
  const referenceLabels = checkLabels(fn, 'input.referenceLabels', input.referenceLabels, reference.rows);
  const originalClass = checkLabels(fn, 'input.originalClass', input.originalClass, queries.rows);
  const predictedClass = checkLabels(fn, 'input.predictedClass', input.predictedClass, queries.rows);
  return { reference, queries, referenceLabels, originalClass, predictedClass };
}

/** @internal Throws if a query class is missing from the reference labels. */
export function checkClassesPresent(fn: string, arg: string, present: Set<number>, wanted: Int32Array): void {
  for (const c of wanted) {
    if (!present.has(c)) {
      throw new InvalidArgumentError(
        fn,
        `${arg} (against input.originalClass / input.predictedClass)`,
        `a set of labels containing every class of the queries (class ${c} is absent)`,
        `classes {${[...present].sort((a, b) => a - b).join(', ')}}`,
      );
    }
  }
}

/**
 * NCD_c(z) = ‖z − μ_c‖ / σ_c for c = o and c = p of each query, where μ_c is the mean of the
 * class-c reference rows and σ_c their mean distance to μ_c (so clean class-c training rows
 * average exactly 1). Float64 throughout.
 *
 * @example
 * ```ts
 * import { normalizedCentroidDistance } from 'ae-manifold';
 * const reference = { data: new Float32Array([0, 0, 2, 0, 10, 0, 12, 0]), rows: 4, cols: 2 };
 * const r = await normalizedCentroidDistance({
 *   reference, referenceLabels: [0, 0, 1, 1],
 *   queries: { data: new Float32Array([3, 0]), rows: 1, cols: 2 }, originalClass: [0], predictedClass: [1],
 * });
 * // μ0 = (1, 0), σ0 = 1 → NCD_o = 2; μ1 = (11, 0), σ1 = 1 → NCD_p = 8
 * ```
 * @category Metrics
 */
export async function normalizedCentroidDistance(input: ClassQueryInput, options: CentroidDistanceOptions = {}): Promise<CentroidDistanceResult> {
  const FN = 'normalizedCentroidDistance';
  checkKnownOptions(FN, options, ['normalize']);
  const normalize = options.normalize ?? 'mean-distance';
  if (normalize !== 'mean-distance' && normalize !== 'none') throw new InvalidArgumentError(FN, 'options.normalize', "'mean-distance' or 'none'", normalize);
  const { reference, queries, referenceLabels, originalClass, predictedClass } = await readClassQueryInput(FN, input);
  const D = reference.cols;
  const sums = new Map<number, { sum: Float64Array; count: number }>();
  for (let i = 0; i < reference.rows; i++) {
    const c = referenceLabels[i]!;
    let s = sums.get(c);
    if (!s) sums.set(c, (s = { sum: new Float64Array(D), count: 0 }));
    s.count++;
    for (let j = 0, o = i * D; j < D; j++) s.sum[j]! += reference.data[o + j]!;
  }
  const present = new Set(sums.keys());
  checkClassesPresent(FN, 'input.referenceLabels', present, originalClass);
  checkClassesPresent(FN, 'input.referenceLabels', present, predictedClass);
  const means = new Map<number, Float64Array>();
  for (const [c, s] of sums) means.set(c, s.sum.map((v) => v / s.count));
  const dist = (data: Float32Array, row: number, mu: Float64Array): number => {
    let s = 0;
    for (let j = 0, o = row * D; j < D; j++) {
      const v = data[o + j]! - mu[j]!;
      s += v * v;
    }
    return Math.sqrt(s);
  };
  const classScale = new Map<number, number>();
  const scaleSum = new Map<number, number>();
  for (let i = 0; i < reference.rows; i++) {
    const c = referenceLabels[i]!;
    scaleSum.set(c, (scaleSum.get(c) ?? 0) + dist(reference.data, i, means.get(c)!));
  }
  for (const [c, s] of scaleSum) classScale.set(c, s / sums.get(c)!.count);
  const Q = queries.rows;
  const original = new Float64Array(Q);
  const predicted = new Float64Array(Q);
  const difference = new Float64Array(Q);
  const scaled = (row: number, c: number): number => {
    const d = dist(queries.data, row, means.get(c)!);
    return normalize === 'none' ? d : d / classScale.get(c)!;
  };
  for (let q = 0; q < Q; q++) {
    original[q] = scaled(q, originalClass[q]!);
    predicted[q] = scaled(q, predictedClass[q]!);
    difference[q] = original[q]! - predicted[q]!;
  }
  return { normalize, original, predicted, difference, classScale, pairs: summarizePairs(originalClass, predictedClass, { original, predicted, difference }) };
}
