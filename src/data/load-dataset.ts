/**
 * One entry point for every data set the library knows.
 * @module
 */
import { InvalidArgumentError } from '../errors.js';
import type { LoadOptions } from './load-options.js';
import { loadMnist } from './mnist.js';
import { loadFashionMnist } from './fashion-mnist.js';
import { loadCifar10 } from './cifar10.js';
import type { DatasetName, ImageSet } from './types.js';

const LOADERS: Record<DatasetName, (options?: LoadOptions) => Promise<ImageSet>> = {
  mnist: loadMnist,
  'fashion-mnist': loadFashionMnist,
  cifar10: loadCifar10,
};

/**
 * Loads a data set by name: {@link loadMnist}, {@link loadFashionMnist} or {@link loadCifar10}.
 *
 * @example
 * ```ts
 * import { loadDataset } from 'ae-manifold/node';
 * const set = await loadDataset('fashion-mnist', { split: 'test', subset: { count: 1000, mode: 'stratified', seed: 0 } });
 * set.subset?.seed; // 0
 * ```
 * @param name `'mnist'`, `'fashion-mnist'` or `'cifar10'`
 * @param options as for the loaders: split (default `'test'`), dir, subset, signal, onProgress
 * @category Data
 */
export function loadDataset(name: DatasetName, options?: LoadOptions): Promise<ImageSet> {
  const loader = Object.prototype.hasOwnProperty.call(LOADERS, name) ? LOADERS[name] : undefined;
  if (!loader) {
    return Promise.reject(new InvalidArgumentError('loadDataset', 'name', `one of ${Object.keys(LOADERS).map((k) => `'${k}'`).join(', ')}`, name));
  }
  return loader(options);
}
