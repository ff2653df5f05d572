/**
 * Taking part of a data set: the first n items, or a seeded random sample stratified by class.
 * @module
 */
import { InvalidArgumentError } from '../errors.js';
import { createRng } from '../internal/rng.js';
import { checkInteger } from '../internal/validate.js';

/**
 * Which part of a split a loader returns.
 *
 * @example
 * ```ts
 * import { loadMnist } from 'ae-manifold/node';
 * const sample = await loadMnist({ split: 'train', subset: { count: 1000, mode: 'stratified', seed: 7 } });
 * sample.subset; // { mode: 'stratified', count: 1000, seed: 7, indices: Int32Array [...] }
 * ```
 * @category Data
 */
export interface SubsetOptions {
  /** How many items to take, at most the size of the split. */
  count: number;
  /**
   * `'first'` (default) takes items 0..count-1. `'stratified'` draws a seeded random sample in
   * which every class keeps its share of the split (largest-remainder rounding), returned in the
   * split's order.
   */
  mode?: 'first' | 'stratified';
  /** Seed of the stratified sample (an integer in [0, 2^32)); drawn when omitted and echoed. */
  seed?: number;
}

/** The echo of a subset on an ImageSet. */
export type SubsetInfo = { mode: 'first' | 'stratified'; count: number; seed?: number; indices: Int32Array };

/** Checks a {@link SubsetOptions} argument named `arg` of function `fn`. @internal */
export function checkSubsetOptions(fn: string, arg: string, subset: unknown): SubsetOptions | undefined {
  if (subset === undefined) return undefined;
  if (subset === null || typeof subset !== 'object') throw new InvalidArgumentError(fn, arg, 'an object { count, mode?, seed? }', subset);
  for (const key of Object.keys(subset)) {
    if (key !== 'count' && key !== 'mode' && key !== 'seed') {
      throw new InvalidArgumentError(fn, `${arg}.${key}`, 'one of the known subset options (count, mode, seed)', key);
    }
  }
  const s = subset as SubsetOptions;
  checkInteger(fn, `${arg}.count`, s.count, 1);
  if (s.mode !== undefined && s.mode !== 'first' && s.mode !== 'stratified') {
    throw new InvalidArgumentError(fn, `${arg}.mode`, "'first' or 'stratified'", s.mode);
  }
  if (s.seed !== undefined) checkInteger(fn, `${arg}.seed`, s.seed, 0, 2 ** 32 - 1);
  return s;
}

/**
 * Chooses the indices of a subset of items with the given labels. Returns `undefined` when no
 * subset was asked for. `count` larger than the number of items is an
 * {@link InvalidArgumentError} naming `arg`.
 * @internal
 */
export function selectSubset(fn: string, arg: string, labels: Int32Array, subset: SubsetOptions | undefined): SubsetInfo | undefined {
  if (subset === undefined) return undefined;
  const n = labels.length;
  if (subset.count > n) throw new InvalidArgumentError(fn, `${arg}.count`, `an integer in [1, ${n}] (the size of the split)`, subset.count);
  const mode = subset.mode ?? 'first';
  if (mode === 'first') {
    const indices = new Int32Array(subset.count);
    for (let i = 0; i < indices.length; i++) indices[i] = i;
    return { mode, count: subset.count, indices };
  }
  const rng = createRng(subset.seed);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const label = labels[i]!;
    let list = byClass.get(label);
    if (!list) byClass.set(label, (list = []));
    list.push(i);
  }
  const classes = [...byClass.keys()].sort((a, b) => a - b);
  // Largest-remainder allocation of `count` over the classes, in proportion to their sizes.
  const quotas = classes.map((c) => {
    const exact = (subset.count * byClass.get(c)!.length) / n;
    return { c, take: Math.floor(exact), rest: exact - Math.floor(exact) };
  });
  let left = subset.count - quotas.reduce((s, q) => s + q.take, 0);
  for (const q of [...quotas].sort((a, b) => b.rest - a.rest || a.c - b.c)) {
    if (left === 0) break;
    q.take++;
    left--;
  }
  const chosen: number[] = [];
  for (const q of quotas) {
    const pool = byClass.get(q.c)!;
    // Partial Fisher–Yates: the first `take` slots become a uniform sample without replacement.
    for (let i = 0; i < q.take; i++) {
      const j = i + rng.int(pool.length - i);
      const tmp = pool[i]!;
      pool[i] = pool[j]!;
      pool[j] = tmp;
      chosen.push(pool[i]!);
    }
  }
  const indices = Int32Array.from(chosen).sort();
  return { mode, count: subset.count, seed: rng.seed, indices };
}
