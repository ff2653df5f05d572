/**
 * The models shipped with the package (models/ at the package root).
 * @module
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DataUnavailableError, InvalidArgumentError } from '../errors.js';
import { packageRoot } from '../node/package-root.js';
import { loadModelFromFolder } from './model-files.js';
import type { ModelFileMetadata } from './model-files.js';

/** Names of the shipped models. @category Models */
export type PretrainedName = 'mnist-mlp' | 'mnist-cnn' | 'cifar10-cnn';

/** The shipped models and the command that retrains each. @category Models */
export const PRETRAINED_MODELS: Readonly<Record<PretrainedName, { dataset: 'mnist' | 'cifar10'; architecture: 'mlp' | 'cnn'; trainCommand: string }>> =
  Object.freeze({
    'mnist-mlp': { dataset: 'mnist', architecture: 'mlp', trainCommand: 'ae-manifold train --dataset mnist --model mlp --out models/mnist-mlp' },
    'mnist-cnn': { dataset: 'mnist', architecture: 'cnn', trainCommand: 'ae-manifold train --dataset mnist --model cnn --out models/mnist-cnn' },
    'cifar10-cnn': {
      dataset: 'cifar10',
      architecture: 'cnn',
      trainCommand: 'ae-manifold train --dataset cifar10 --model cnn --augment --out models/cifar10-cnn',
    },
  });

/**
 * What the shipped models record about themselves (in `model.json`, `userDefinedMetadata`).
 * @category Models
 */
export interface PretrainedMetadata extends ModelFileMetadata {
  name: string;
  dataset: string;
  architecture: string;
  /** The preprocessing inside the model: inputs are pixels in [0, 1], standardised per channel. */
  preprocessing: { inputRange: [number, number]; mean: number[]; std: number[]; layer: string };
  /** Test accuracy on the full test set after the last epoch, in [0, 1]. */
  testAccuracy: number;
  /** Layer names in order. */
  layers: string[];
  /** The command that trained it. */
  command: string;
  /** Training wall time in seconds (all epochs). */
  wallTimeSeconds: number;
  seed: number;
  epochs: number;
}

/**
 * Loads a model shipped with the package, with its metadata (data set, preprocessing, accuracy,
 * layer list, training command and time).
 *
 * @example
 * ```ts
 * import { loadPretrained } from 'ae-manifold/node';
 * const { model, metadata } = await loadPretrained('mnist-cnn');
 * const { testAccuracy, layers } = metadata;
 * ```
 * @param name which shipped model
 * @param options `modelsDir`: the folder holding `<name>/model.json` (default: the package's `models/`)
 * @throws DataUnavailableError when that model is not shipped in this version (the message says how to train it)
 * @category Models
 */
export async function loadPretrained(
  name: PretrainedName,
  options: { modelsDir?: string } = {},
): Promise<{ model: tfl.LayersModel; metadata: PretrainedMetadata }> {
  if (typeof name !== 'string' || !Object.prototype.hasOwnProperty.call(PRETRAINED_MODELS, name)) {
    throw new InvalidArgumentError('loadPretrained', 'name', `one of ${Object.keys(PRETRAINED_MODELS).map((k) => `'${k}'`).join(', ')}`, name);
  }
  const dir = join(options.modelsDir ?? join(packageRoot(), 'models'), name);
  if (!existsSync(join(dir, 'model.json'))) {
    throw new DataUnavailableError(
      'loadPretrained',
      `the model '${name}' is not shipped in this version of ae-manifold (no ${join(dir, 'model.json')}). ` +
        `Train it yourself with \`${PRETRAINED_MODELS[name].trainCommand}\` and load it with loadModelFromFolder().`,
    );
  }
  const { model, metadata } = await loadModelFromFolder(dir);
  return { model, metadata: metadata as PretrainedMetadata };
}
