/**
 * Method A (METHODS §3): counts of original- and predicted-class training neighbours among the k
 * nearest training activations of each adversarial activation.
 * @module
 */
import type { Progress } from '../types.js';
import { InvalidArgumentError } from '../errors.js';
import { checkInteger, checkKnownOptions, throwIfAborted } from '../internal/validate.js';
import { selectRows } from './matrix-input.js';
import { checkClassesPresent, readClassQueryInput } from './centroid-distance.js';
import type { ClassQueryInput } from './centroid-distance.js';
import { knnSearchMatrices } from './knn.js';
import { groupPairs, summarizePairs } from './pairs.js';
import type { PairSummary } from './pairs.js';

/**
 * Options of {@link knnClassCounts}.
 * @category Metrics
 */
export interface KnnClassCountsOptions {
  /** Neighbours per query. Default 300. */
  k?: number;
  /**
   * Search among every reference class (and report n_other) instead of only the two classes o
   * and p of each query's pair. Default false.
   */
  allClasses?: boolean;
  /** Queries per kNN chunk (see {@link knnSearch}). */
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
}

/**
 * Result of {@link knnClassCounts}.
 * @category Metrics
 */
export interface KnnClassCountsResult {
  k: number;
  allClasses: boolean;
  /** n_o per query. */
  original: Int32Array;
  /** n_p per query. */
  predicted: Int32Array;
  /** Neighbours of any other class per query (always 0 without `allClasses`). */
  other: Int32Array;
  /** Per (o, p) pair, most frequent first: summaries of n_o, n_p, n_other. */
  pairs: Array<PairSummary<'original' | 'predicted' | 'other'>>;
}

/**
 * Method A: for each query (o, p), the k nearest reference rows among classes {o, p} (or all
 * classes with `allClasses`) by exact Euclidean kNN, counted by label.
 *
 * @example
 * ```ts
 * import { knnClassCounts } from 'ae-manifold';
 * const reference = { data: new Float32Array([0, 1, 2, 10, 11, 12]), rows: 6, cols: 1 };
 * const r = await knnClassCounts({
 *   reference, referenceLabels: [0, 0, 0, 1, 1, 1],
 *   queries: { data: new Float32Array([2.5]), rows: 1, cols: 1 }, originalClass: [0], predictedClass: [1],
 * }, { k: 4 });
 * // r.original = [3], r.predicted = [1]
 * ```
 * @category Metrics
 */
export async function knnClassCounts(input: ClassQueryInput, options: KnnClassCountsOptions = {}): Promise<KnnClassCountsResult> {
  const FN = 'knnClassCounts';
  checkKnownOptions(FN, options, ['k', 'allClasses', 'batchSize', 'signal', 'onProgress']);
  const k = checkInteger(FN, 'options.k', options.k ?? 300, 1);
  const allClasses = options.allClasses ?? false;
  if (typeof allClasses !== 'boolean') throw new InvalidArgumentError(FN, 'options.allClasses', 'a boolean', allClasses);
  const batchSize = checkInteger(FN, 'options.batchSize', options.batchSize ?? 1024, 1);
  const { signal, onProgress } = options;
  const { reference, queries, referenceLabels, originalClass, predictedClass } = await readClassQueryInput(FN, input);
  const classCount = new Map<number, number>();
  for (const c of referenceLabels) classCount.set(c, (classCount.get(c) ?? 0) + 1);
  const present = new Set(classCount.keys());
  checkClassesPresent(FN, 'input.referenceLabels', present, originalClass);
  checkClassesPresent(FN, 'input.referenceLabels', present, predictedClass);
  const Q = queries.rows;
  const original = new Int32Array(Q);
  const predicted = new Int32Array(Q);
  const other = new Int32Array(Q);
  const count = (q: number, labels: ArrayLike<number>, idx: Int32Array, off: number): void => {
    const o = originalClass[q]!;
    const p = predictedClass[q]!;
    for (let j = 0; j < k; j++) {
      const c = labels[idx[off + j]!]!;
      if (c === o) original[q]!++;
      if (c === p) predicted[q]!++;
      if (c !== o && c !== p) other[q]!++;
    }
  };
  if (allClasses) {
    if (k > reference.rows) throw new InvalidArgumentError(FN, 'options.k', `an integer in [1, ${reference.rows}] (the reference size)`, k);
    const res = await knnSearchMatrices(reference, queries, k, false, batchSize, signal, onProgress, FN);
    for (let q = 0; q < Q; q++) count(q, referenceLabels, res.indices, q * k);
  } else {
    const groups = groupPairs(originalClass, predictedClass);
    // Validate every pair before the long work starts.
    for (const g of groups) {
      const size = (classCount.get(g.original) ?? 0) + (g.original === g.predicted ? 0 : classCount.get(g.predicted) ?? 0);
      if (k > size) {
        throw new InvalidArgumentError(FN, 'options.k', `at most the size of the two-class reference of pair (${g.original}, ${g.predicted}), ${size}`, k);
      }
    }
    let done = 0;
    for (const g of groups) {
      throwIfAborted(FN, signal);
      const rows: number[] = [];
      for (let i = 0; i < reference.rows; i++) if (referenceLabels[i] === g.original || referenceLabels[i] === g.predicted) rows.push(i);
      // The two-class reference is searched in place (no copy of its rows).
      const subLabels = Int32Array.from(rows, (r) => referenceLabels[r]!);
      const qs = selectRows(queries, g.rows);
      const res = await knnSearchMatrices(reference, qs, k, false, batchSize, signal, undefined, FN, undefined, rows);
      for (let i = 0; i < g.rows.length; i++) count(g.rows[i]!, subLabels, res.indices, i * k);
      done++;
      onProgress?.({ stage: 'knn-class-counts', step: done, total: groups.length, detail: { original: g.original, predicted: g.predicted } });
    }
  }
  return { k, allClasses, original, predicted, other, pairs: summarizePairs(originalClass, predictedClass, { original, predicted, other }) };
}
