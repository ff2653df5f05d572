/**
 * Summary statistics (population std, linear-interpolated quartiles).
 * @module
 */
import { InvalidArgumentError } from '../errors.js';
import type { Summary } from '../types.js';

/**
 * Summarises values: count, mean, population std, min, quartiles, max. Non-finite values are
 * skipped (so an `Infinity` distance of a failed attack does not poison the mean).
 *
 * @example
 * ```ts
 * summarize([1, 2, 3, 4]).median; // 2.5
 * ```
 * @category Utilities
 */
export function summarize(values: ArrayLike<number>): Summary {
  if (values === null || typeof values !== 'object' || typeof (values as { length?: unknown }).length !== 'number') {
    throw new InvalidArgumentError('summarize', 'values', 'an array or typed array of numbers', values);
  }
  const v: number[] = [];
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i]!)) v.push(values[i]!);
  const n = v.length;
  if (n === 0) return { count: 0, mean: NaN, std: NaN, min: NaN, q1: NaN, median: NaN, q3: NaN, max: NaN };
  v.sort((a, b) => a - b);
  let sum = 0;
  for (const x of v) sum += x;
  const mean = sum / n;
  let ss = 0;
  for (const x of v) ss += (x - mean) * (x - mean);
  const q = (p: number): number => {
    const pos = (n - 1) * p;
    const lo = Math.floor(pos);
    const hi = Math.min(n - 1, lo + 1);
    return v[lo]! + (v[hi]! - v[lo]!) * (pos - lo);
  };
  return { count: n, mean, std: Math.sqrt(ss / n), min: v[0]!, q1: q(0.25), median: q(0.5), q3: q(0.75), max: v[n - 1]! };
}
