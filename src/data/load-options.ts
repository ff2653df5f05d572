/**
 * Options shared by the data set loaders, and their checks.
 * @module
 */
import { InvalidArgumentError } from '../errors.js';
import type { RunOptions } from '../types.js';
import { checkKnownOptions, throwIfAborted } from '../internal/validate.js';
import { checkSubsetOptions } from './subset.js';
import type { SubsetOptions } from './subset.js';

/**
 * Options of {@link loadMnist}, {@link loadFashionMnist}, {@link loadCifar10} and {@link loadDataset}.
 *
 * @example
 * ```ts
 * import { loadFashionMnist } from 'ae-manifold/node';
 * const set = await loadFashionMnist({ split: 'train', subset: { count: 500 } });
 * ```
 * @category Data
 */
export interface LoadOptions extends RunOptions {
  /** Which split. Default `'test'`. */
  split?: 'train' | 'test';
  /** Folder holding the files. Default: per data set (see each loader). */
  dir?: string;
  /** Take only part of the split. Default: all of it. */
  subset?: SubsetOptions;
}

const KNOWN = ['split', 'dir', 'subset', 'signal', 'onProgress'];

/** Checked loader options with defaults filled in. @internal */
export interface CheckedLoadOptions {
  split: 'train' | 'test';
  dir: string | undefined;
  subset: SubsetOptions | undefined;
  signal: AbortSignal | undefined;
  onProgress: RunOptions['onProgress'];
}

/** Validates loader options at entry. @internal */
export function checkLoadOptions(fn: string, options: LoadOptions | undefined): CheckedLoadOptions {
  checkKnownOptions(fn, options, KNOWN);
  const o = options ?? {};
  const split = o.split ?? 'test';
  if (split !== 'train' && split !== 'test') throw new InvalidArgumentError(fn, 'options.split', "'train' or 'test'", o.split);
  if (o.dir !== undefined && (typeof o.dir !== 'string' || o.dir === '')) {
    throw new InvalidArgumentError(fn, 'options.dir', 'a non-empty folder path', o.dir);
  }
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
    throw new InvalidArgumentError(fn, 'options.signal', 'an AbortSignal', o.signal);
  }
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') {
    throw new InvalidArgumentError(fn, 'options.onProgress', 'a function', o.onProgress);
  }
  const subset = checkSubsetOptions(fn, 'options.subset', o.subset);
  throwIfAborted(fn, o.signal);
  return { split, dir: o.dir, subset, signal: o.signal, onProgress: o.onProgress };
}
