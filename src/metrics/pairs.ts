/**
 * Per-(original, predicted) pair grouping and summaries shared by the per-query metrics.
 * @module
 */
import type { Summary } from '../types.js';
import { summarize } from '../internal/stats.js';

/**
 * Summaries of some per-query values over the queries of one (original, predicted) pair.
 * @category Metrics
 */
export interface PairSummary<K extends string> {
  /** Original (true) class o. */
  original: number;
  /** Predicted class p. */
  predicted: number;
  /** Queries with this pair. */
  count: number;
  /** Query positions (rows of the input) with this pair. */
  queryIndices: Int32Array;
  /** One {@link Summary} (mean, population std, quartiles...) per reported value. */
  summaries: Record<K, Summary>;
}

/** Groups query rows by (o, p), in order of first appearance... then sorted by count (desc), o, p. */
export function groupPairs(original: Int32Array, predicted: Int32Array): Array<{ original: number; predicted: number; rows: Int32Array }> {
  const map = new Map<string, { original: number; predicted: number; rows: number[] }>();
  for (let i = 0; i < original.length; i++) {
    const key = `${original[i]},${predicted[i]}`;
    let g = map.get(key);
    if (!g) {
      g = { original: original[i]!, predicted: predicted[i]!, rows: [] };
      map.set(key, g);
    }
    g.rows.push(i);
  }
  return [...map.values()]
    .sort((a, b) => b.rows.length - a.rows.length || a.original - b.original || a.predicted - b.predicted)
    .map((g) => ({ original: g.original, predicted: g.predicted, rows: Int32Array.from(g.rows) }));
}

/** Builds the per-pair summaries of named per-query value arrays. */
export function summarizePairs<K extends string>(
  original: Int32Array,
  predicted: Int32Array,
  values: Record<K, ArrayLike<number>>,
): Array<PairSummary<K>> {
  return groupPairs(original, predicted).map((g) => {
    const summaries = {} as Record<K, Summary>;
    for (const key of Object.keys(values) as K[]) {
      const v = values[key];
      summaries[key] = summarize(Array.from(g.rows, (r) => v[r]!));
    }
    return { original: g.original, predicted: g.predicted, count: g.rows.length, queryIndices: g.rows, summaries };
  });
}
