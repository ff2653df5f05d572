/**
 * Per-channel standardisation constants of each data set (METHODS.md §8). They define the space
 * in which every activation distance lives; keep them as given.
 * @module
 */
import type { DatasetName } from './types.js';

/** Per-channel mean and std on the [0, 1] pixel scale. @category Data */
export interface Normalization {
  mean: readonly number[];
  std: readonly number[];
}

/**
 * The reference code's constants: x ← (x − mean) / std per channel.
 *
 * @example
 * ```ts
 * import { NORMALIZATION } from 'ae-manifold';
 * NORMALIZATION.mnist; // { mean: [0.13066041], std: [0.30150411] }
 * ```
 * @category Data
 */
export const NORMALIZATION: Readonly<Record<DatasetName, Normalization>> = Object.freeze({
  mnist: { mean: [0.13066041], std: [0.30150411] },
  'fashion-mnist': { mean: [0.28604], std: [0.32045] },
  cifar10: { mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.2006] },
});

/** Class names per data set, index = label. @category Data */
export const CLASS_NAMES: Readonly<Record<DatasetName, readonly string[]>> = Object.freeze({
  mnist: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  'fashion-mnist': ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'],
  cifar10: ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'],
});
