/**
 * Fashion-MNIST, from the gzipped IDX files of Debian's `dataset-fashion-mnist`.
 * @module
 */
import { checkLoadOptions } from './load-options.js';
import type { LoadOptions } from './load-options.js';
import { loadIdxDataset } from './idx-dataset.js';
import type { ImageSet } from './types.js';

/** Where Debian's `dataset-fashion-mnist` installs the files. @category Data */
export const FASHION_MNIST_DEBIAN_DIR = '/usr/share/datasets/fashion-mnist';

/**
 * Loads one split of Fashion-MNIST (28×28×1, labels 0–9) as float32 pixels in [0, 1].
 * The folder is `options.dir`, else `AE_MANIFOLD_FASHION_MNIST_DIR`, else
 * {@link FASHION_MNIST_DEBIAN_DIR}; files may be gzipped (`.gz`) or plain.
 *
 * @example
 * ```ts
 * import { loadFashionMnist } from 'ae-manifold/node';
 * const test = await loadFashionMnist();
 * test.classNames[test.labels[0]!]; // 'Ankle boot'
 * ```
 * @param options split (default `'test'`), dir, subset, signal, onProgress
 * @throws DataUnavailableError when the files are missing or corrupt (the message says how to obtain them)
 * @throws InvalidArgumentError on bad options
 * @category Data
 */
export async function loadFashionMnist(options?: LoadOptions): Promise<ImageSet> {
  const o = checkLoadOptions('loadFashionMnist', options);
  const dir = o.dir ?? (process.env.AE_MANIFOLD_FASHION_MNIST_DIR || FASHION_MNIST_DEBIAN_DIR);
  return loadIdxDataset('loadFashionMnist', 'fashion-mnist', dir, o);
}
