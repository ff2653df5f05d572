/**
 * The study's three networks (METHODS.md §8) as tfjs-layers models: preprocessing inside the model
 * (a `Standardization` layer), activations as separate layers, logits out.
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { NORMALIZATION } from '../data/normalization.js';
import type { Normalization } from '../data/normalization.js';
import { createRng } from '../internal/rng.js';
import type { Rng } from '../internal/rng.js';
import { checkKnownOptions, checkInteger } from '../internal/validate.js';
import { InvalidArgumentError } from '../errors.js';
import { registerModelLayers } from './register.js';
import { ReplicatePadding2D } from './replicate-padding.js';
import { Standardization } from './standardization.js';

/**
 * Options of the `create*` architecture functions.
 * @category Models
 */
export interface ArchitectureOptions {
  /** Seed of the weight initialisers (a uint32). Omitted, tfjs draws unseeded weights. */
  seed?: number;
  /** Append a separate final `softmax` layer (the attacks skip it). Default `false`: logits out. */
  softmax?: boolean;
  /** Per-channel constants of the `standardize` layer. Default: the data set's of METHODS.md §8. */
  normalization?: Normalization;
}

const OPTION_KEYS = ['seed', 'softmax', 'normalization'] as const;

interface Builder {
  rng: Rng | undefined;
}

function kernelInit(b: Builder): ReturnType<typeof tfl.initializers.glorotUniform> | 'glorotUniform' {
  return b.rng ? tfl.initializers.glorotUniform({ seed: b.rng.uint32() }) : 'glorotUniform';
}

function prepare(fn: string, options: ArchitectureOptions | undefined, fallback: Normalization, channels: number): { b: Builder; norm: Normalization; softmax: boolean } {
  checkKnownOptions(fn, options, OPTION_KEYS);
  const o = options ?? {};
  if (o.seed !== undefined) checkInteger(fn, 'options.seed', o.seed, 0, 2 ** 32 - 1);
  const norm = o.normalization ?? fallback;
  if (
    !norm ||
    !Array.isArray(norm.mean) ||
    !Array.isArray(norm.std) ||
    norm.mean.length !== norm.std.length ||
    (norm.mean.length !== 1 && norm.mean.length !== channels)
  ) {
    throw new InvalidArgumentError(fn, 'options.normalization', `{ mean, std } with 1 or ${channels} values each`, norm);
  }
  registerModelLayers();
  return { b: { rng: o.seed === undefined ? undefined : createRng(o.seed) }, norm, softmax: o.softmax ?? false };
}

function finish(x: tfl.SymbolicTensor, input: tfl.SymbolicTensor, softmax: boolean, name: string): tfl.LayersModel {
  const out = softmax ? (tfl.layers.activation({ activation: 'softmax', name: 'softmax' }).apply(x) as tfl.SymbolicTensor) : x;
  return tfl.model({ inputs: input, outputs: out, name });
}

const relu = (name: string) => tfl.layers.activation({ activation: 'relu', name });

/**
 * MNIST MLP: `standardize` → `flatten` → `dense1` (128) → `relu1` → `dense2` (128) → `relu2` →
 * `logits` (10). Input [28, 28, 1] pixels in [0, 1]. Analysis points: 6.
 *
 * @example
 * ```ts
 * import { createMnistMlp } from 'ae-manifold';
 * const model = createMnistMlp({ seed: 1 });
 * model.layers.map((l) => l.name); // ['input', 'standardize', 'flatten', 'dense1', ...]
 * ```
 * @category Models
 */
export function createMnistMlp(options?: ArchitectureOptions): tfl.LayersModel {
  const { b, norm, softmax } = prepare('createMnistMlp', options, NORMALIZATION.mnist, 1);
  const input = tfl.input({ shape: [28, 28, 1], name: 'input' });
  let x = new Standardization({ ...norm, name: 'standardize' }).apply(input) as tfl.SymbolicTensor;
  x = tfl.layers.flatten({ name: 'flatten' }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.dense({ units: 128, kernelInitializer: kernelInit(b), name: 'dense1' }).apply(x) as tfl.SymbolicTensor;
  x = relu('relu1').apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.dense({ units: 128, kernelInitializer: kernelInit(b), name: 'dense2' }).apply(x) as tfl.SymbolicTensor;
  x = relu('relu2').apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.dense({ units: 10, kernelInitializer: kernelInit(b), name: 'logits' }).apply(x) as tfl.SymbolicTensor;
  return finish(x, input, softmax, 'mnist_mlp');
}

/**
 * MNIST CNN (the paper group's small conv net): `standardize` → `conv1` (16@5×5 valid) → `pool1` →
 * `relu1` → `conv2` (16@5×5) → `pool2` → `flatten` → `relu2` → `logits` (10). Input [28, 28, 1].
 * Analysis points: 8.
 *
 * @example
 * ```ts
 * import { createMnistCnn } from 'ae-manifold';
 * const model = createMnistCnn({ seed: 1 });
 * model.outputs[0].shape; // [null, 10]
 * ```
 * @category Models
 */
export function createMnistCnn(options?: ArchitectureOptions): tfl.LayersModel {
  const { b, norm, softmax } = prepare('createMnistCnn', options, NORMALIZATION.mnist, 1);
  const input = tfl.input({ shape: [28, 28, 1], name: 'input' });
  let x = new Standardization({ ...norm, name: 'standardize' }).apply(input) as tfl.SymbolicTensor;
  const conv = (name: string) =>
    tfl.layers.conv2d({ filters: 16, kernelSize: 5, padding: 'valid', kernelInitializer: kernelInit(b), name });
  x = conv('conv1').apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.maxPooling2d({ poolSize: 2, strides: 2, name: 'pool1' }).apply(x) as tfl.SymbolicTensor;
  x = relu('relu1').apply(x) as tfl.SymbolicTensor;
  x = conv('conv2').apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.maxPooling2d({ poolSize: 2, strides: 2, name: 'pool2' }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.flatten({ name: 'flatten' }).apply(x) as tfl.SymbolicTensor;
  x = relu('relu2').apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.dense({ units: 10, kernelInitializer: kernelInit(b), name: 'logits' }).apply(x) as tfl.SymbolicTensor;
  return finish(x, input, softmax, 'mnist_cnn');
}

/**
 * CIFAR-10 CNN: three blocks of [`padN` (replicate 1) → `convN` (3×3) → `bnN` → `reluN`] ×2 →
 * `poolK` → `dropoutK` with 32/64/128 channels and dropout 0.2/0.3/0.4, then `flatten` → `bn7` →
 * `dense1` (256) → `relu7` → `dropout4` (0.2) → `bn8` → `logits` (10). BatchNorm epsilon 1e-5,
 * momentum 0.9 (PyTorch's defaults). Input [32, 32, 3]. Analysis points: 19.
 *
 * @example
 * ```ts
 * import { createCifarCnn } from 'ae-manifold';
 * const model = createCifarCnn({ seed: 1 });
 * model.getLayer('conv6').outputShape; // [null, 8, 8, 128]
 * ```
 * @category Models
 */
export function createCifarCnn(options?: ArchitectureOptions): tfl.LayersModel {
  const { b, norm, softmax } = prepare('createCifarCnn', options, NORMALIZATION.cifar10, 3);
  const input = tfl.input({ shape: [32, 32, 3], name: 'input' });
  let x = new Standardization({ ...norm, name: 'standardize' }).apply(input) as tfl.SymbolicTensor;
  const bn = (name: string) => tfl.layers.batchNormalization({ axis: -1, epsilon: 1e-5, momentum: 0.9, name });
  const blocks: Array<[number, number]> = [
    [32, 0.2],
    [64, 0.3],
    [128, 0.4],
  ];
  let n = 0;
  blocks.forEach(([filters, rate], k) => {
    for (let j = 0; j < 2; j++) {
      n += 1;
      x = new ReplicatePadding2D({ padding: 1, name: `pad${n}` }).apply(x) as tfl.SymbolicTensor;
      x = tfl.layers
        .conv2d({ filters, kernelSize: 3, padding: 'valid', kernelInitializer: kernelInit(b), name: `conv${n}` })
        .apply(x) as tfl.SymbolicTensor;
      x = bn(`bn${n}`).apply(x) as tfl.SymbolicTensor;
      x = relu(`relu${n}`).apply(x) as tfl.SymbolicTensor;
    }
    x = tfl.layers.maxPooling2d({ poolSize: 2, strides: 2, name: `pool${k + 1}` }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.dropout({ rate, name: `dropout${k + 1}` }).apply(x) as tfl.SymbolicTensor;
  });
  x = tfl.layers.flatten({ name: 'flatten' }).apply(x) as tfl.SymbolicTensor;
  x = bn('bn7').apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.dense({ units: 256, kernelInitializer: kernelInit(b), name: 'dense1' }).apply(x) as tfl.SymbolicTensor;
  x = relu('relu7').apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.dropout({ rate: 0.2, name: 'dropout4' }).apply(x) as tfl.SymbolicTensor;
  x = bn('bn8').apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.dense({ units: 10, kernelInitializer: kernelInit(b), name: 'logits' }).apply(x) as tfl.SymbolicTensor;
  return finish(x, input, softmax, 'cifar10_cnn');
}

/** Architectures known by name. @category Models */
export type ArchitectureName = 'mlp' | 'cnn';

/**
 * The network of the study for a data set and an architecture name: `mlp`/`cnn` on MNIST and
 * Fashion-MNIST (with that data set's constants), `cnn` on CIFAR-10.
 *
 * @example
 * ```ts
 * import { createModelFor } from 'ae-manifold';
 * const model = createModelFor('fashion-mnist', 'cnn', { seed: 3 });
 * ```
 * @category Models
 */
export function createModelFor(
  dataset: 'mnist' | 'fashion-mnist' | 'cifar10',
  architecture: ArchitectureName,
  options: Omit<ArchitectureOptions, 'normalization'> = {},
): tfl.LayersModel {
  if (!(dataset in NORMALIZATION)) {
    throw new InvalidArgumentError('createModelFor', 'dataset', "'mnist', 'fashion-mnist' or 'cifar10'", dataset);
  }
  const normalization = NORMALIZATION[dataset];
  if (dataset === 'cifar10') {
    if (architecture !== 'cnn') throw new InvalidArgumentError('createModelFor', 'architecture', "'cnn' for cifar10", architecture);
    return createCifarCnn({ ...options, normalization });
  }
  if (architecture === 'mlp') return createMnistMlp({ ...options, normalization });
  if (architecture === 'cnn') return createMnistCnn({ ...options, normalization });
  throw new InvalidArgumentError('createModelFor', 'architecture', "'mlp' or 'cnn'", architecture);
}

/** Names of the layers of a model in order (input included), for metadata and plots. @category Models */
export function layerNames(model: tfl.LayersModel): string[] {
  return model.layers.map((l) => l.name);
}

// Keep `tf` referenced for the type-only uses above in builds that drop unused imports.
void tf;
