/**
 * k-NN percentile rank (METHODS §5.1, a project choice): how far an activation is from a class's
 * training activations, ranked against clean, correctly classified test activations of that class.
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Progress } from '../types.js';
import { InvalidArgumentError } from '../errors.js';
import { checkInteger, checkKnownOptions, checkLabels, throwIfAborted } from '../internal/validate.js';
import { readMatrix, selectRows } from './matrix-input.js';
import type { FloatMatrix } from '../types.js';
import { checkClassesPresent, readClassQueryInput } from './centroid-distance.js';
import type { ClassQueryInput } from './centroid-distance.js';
import { knnSearchMatrices } from './knn.js';
import { summarizePairs } from './pairs.js';
import type { PairSummary } from './pairs.js';

/**
 * Input of {@link knnPercentileRank}: the class-query input plus the calibration set.
 * @category Metrics
 */
export interface KnnPercentileInput extends ClassQueryInput {
  /**
   * Calibration rows [M, D]: clean **test** activations that the model classifies correctly
   * (filter them before the call), at the same analysis point.
   */
  calibration: FloatMatrix | tf.Tensor2D;
  /** Class of each calibration row (its true label, equal to the prediction). */
  calibrationLabels: Int32Array | readonly number[];
}

/**
 * Options of {@link knnPercentileRank}.
 * @category Metrics
 */
export interface KnnPercentileOptions {
  /** Neighbours averaged in the score. Default 300. */
  k?: number;
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
}

/**
 * Result of {@link knnPercentileRank}.
 * @category Metrics
 */
export interface KnnPercentileResult {
  k: number;
  /** KPR_o per query, in [0, 100]. */
  original: Float64Array;
  /** KPR_p per query. */
  predicted: Float64Array;
  /** s_o per query: mean distance to the k nearest class-o reference rows. */
  scoreOriginal: Float64Array;
  /** s_p per query. */
  scorePredicted: Float64Array;
  /** Calibration rows used per class |Q_c|. */
  calibrationSize: Map<number, number>;
  /** Per (o, p) pair, most frequent first. */
  pairs: Array<PairSummary<'original' | 'predicted'>>;
}

/**
 * KPR_c(z) = 100 · (#{q ∈ Q_c : s_c(q) < s_c(z)} + ½ #{= }) / |Q_c|, where s_c is the mean
 * Euclidean distance to the k nearest class-c reference rows (exact kNN) and Q_c the calibration
 * rows of class c. Computed for c = o and c = p of every query. Queries and calibration rows are
 * taken not to be members of the reference (test or adversarial activations), so no neighbour is
 * excluded.
 *
 * @example
 * ```ts
 * import { knnPercentileRank } from 'ae-manifold';
 * const m = (v: number[]) => ({ data: Float32Array.from(v), rows: v.length, cols: 1 });
 * const r = await knnPercentileRank({
 *   reference: m([0, 1, 10, 11]), referenceLabels: [0, 0, 1, 1],
 *   calibration: m([0.5, 2, 10.5, 13]), calibrationLabels: [0, 0, 1, 1],
 *   queries: m([1.5]), originalClass: [0], predictedClass: [1],
 * }, { k: 1 });
 * // s_0(1.5) = 0.5, calibration scores of class 0 are [0.5, 1] → KPR_o = 100·(0 + ½)/2 = 25
 * ```
 * @category Metrics
 */
export async function knnPercentileRank(input: KnnPercentileInput, options: KnnPercentileOptions = {}): Promise<KnnPercentileResult> {
  const FN = 'knnPercentileRank';
  checkKnownOptions(FN, options, ['k', 'batchSize', 'signal', 'onProgress']);
  const k = checkInteger(FN, 'options.k', options.k ?? 300, 1);
  const batchSize = checkInteger(FN, 'options.batchSize', options.batchSize ?? 1024, 1);
  const { signal, onProgress } = options;
  if (input === null || typeof input !== 'object') throw new InvalidArgumentError(FN, 'input', 'an object', input);
  const { calibration: calIn, calibrationLabels: calLabIn, ...rest } = input;
  const { reference, queries, referenceLabels, originalClass, predictedClass } = await readClassQueryInput(FN, rest);
  const calibration = await readMatrix(FN, 'input.calibration', calIn, reference.cols);
  const calibrationLabels = checkLabels(FN, 'input.calibrationLabels', calLabIn, calibration.rows);
  const refRows = new Map<number, number[]>();
  referenceLabels.forEach((c, i) => (refRows.get(c) ?? refRows.set(c, []).get(c)!).push(i));
  const calRows = new Map<number, number[]>();
  calibrationLabels.forEach((c, i) => (calRows.get(c) ?? calRows.set(c, []).get(c)!).push(i));
  checkClassesPresent(FN, 'input.referenceLabels', new Set(refRows.keys()), originalClass);
  checkClassesPresent(FN, 'input.referenceLabels', new Set(refRows.keys()), predictedClass);
  checkClassesPresent(FN, 'input.calibrationLabels', new Set(calRows.keys()), originalClass);
  checkClassesPresent(FN, 'input.calibrationLabels', new Set(calRows.keys()), predictedClass);
  const classes = [...new Set([...originalClass, ...predictedClass])].sort((a, b) => a - b);
  for (const c of classes) {
    const size = refRows.get(c)!.length;
    if (k > size) throw new InvalidArgumentError(FN, 'options.k', `at most the number of class-${c} reference rows, ${size}`, k);
  }
  const Q = queries.rows;
  const original = new Float64Array(Q);
  const predicted = new Float64Array(Q);
  const scoreOriginal = new Float64Array(Q);
  const scorePredicted = new Float64Array(Q);
  const calibrationSize = new Map<number, number>();
  const meanScores = (res: { distances: Float32Array }, rows: number): Float64Array => {
    const out = new Float64Array(rows);
    for (let i = 0; i < rows; i++) {
      let s = 0;
      for (let j = 0; j < k; j++) s += res.distances[i * k + j]!;
      out[i] = s / k;
    }
    return out;
  };
  let step = 0;
  for (const c of classes) {
    throwIfAborted(FN, signal);
    const qRows: number[] = [];
    for (let q = 0; q < Q; q++) if (originalClass[q] === c || predictedClass[q] === c) qRows.push(q);
    // Calibration and queries in one search.
    const cal = calRows.get(c)!;
    calibrationSize.set(c, cal.length);
    const both = selectRows(calibration, cal);
    const qs = selectRows(queries, qRows);
    const joined = { data: new Float32Array((cal.length + qRows.length) * reference.cols), rows: cal.length + qRows.length, cols: reference.cols };
    joined.data.set(both.data, 0);
    joined.data.set(qs.data, both.data.length);
    // The class-c reference rows are searched in place (no copy).
    const res = await knnSearchMatrices(reference, joined, k, false, batchSize, signal, undefined, FN, undefined, refRows.get(c)!);
    const scores = meanScores(res, joined.rows);
    const calScores = scores.slice(0, cal.length).sort();
    for (let i = 0; i < qRows.length; i++) {
      const q = qRows[i]!;
      const s = scores[cal.length + i]!;
      const kpr = (100 * (lowerBound(calScores, s) + 0.5 * (upperBound(calScores, s) - lowerBound(calScores, s)))) / cal.length;
      if (originalClass[q] === c) {
        original[q] = kpr;
        scoreOriginal[q] = s;
      }
      if (predictedClass[q] === c) {
        predicted[q] = kpr;
        scorePredicted[q] = s;
      }
    }
    step++;
    onProgress?.({ stage: 'knn-percentile-rank', step, total: classes.length, detail: { class: c } });
  }
  return { k, original, predicted, scoreOriginal, scorePredicted, calibrationSize, pairs: summarizePairs(originalClass, predictedClass, { original, predicted }) };
}

/** First position with a[i] ≥ v (sorted ascending). */
function lowerBound(a: Float64Array, v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First position with a[i] > v. */
function upperBound(a: Float64Array, v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
