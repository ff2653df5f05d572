/**
 * The `Standardization` layer: per-channel (x − mean) / std as the first layer of a model, so that
 * models take pixels in [0, 1] and the attack box is simply [0, 1].
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import { layers } from '@tensorflow/tfjs-layers';
import type { Shape } from '@tensorflow/tfjs-layers';
import { InvalidArgumentError } from '../errors.js';

/** Constructor arguments of {@link Standardization}. @category Models */
export interface StandardizationArgs {
  /** Per-channel mean on the [0, 1] pixel scale (one value per input channel). */
  mean: readonly number[];
  /** Per-channel standard deviation (positive, one value per input channel). */
  std: readonly number[];
  /** Layer name. Default `'standardize'`. */
  name?: string;
}

type LayerArgs = ConstructorParameters<typeof layers.Layer>[0];

/**
 * Per-channel standardisation x ← (x − mean) / std over the last axis. No trainable weights; the
 * constants travel in the layer config, so a saved model keeps its preprocessing. The probes
 * treat this layer's output as analysis point 0 ("Input", normalised space).
 *
 * @example
 * ```ts
 * import { createStandardization, NORMALIZATION } from 'ae-manifold';
 * const layer = createStandardization(NORMALIZATION.mnist);
 * ```
 * @category Models
 */
export class Standardization extends layers.Layer {
  /** Serialisation name (registered with `tf.serialization.registerClass`). */
  static className = 'Standardization';
  /** Per-channel mean. */
  readonly mean: number[];
  /** Per-channel std. */
  readonly std: number[];

  constructor(args: StandardizationArgs & LayerArgs) {
    super({ ...args, name: args.name ?? 'standardize', trainable: false });
    const mean = Array.from(args.mean ?? []);
    const std = Array.from(args.std ?? []);
    if (mean.length === 0 || mean.length !== std.length || !mean.every(Number.isFinite)) {
      throw new InvalidArgumentError('Standardization', 'args.mean', 'a non-empty array of finite numbers, as long as args.std', args.mean);
    }
    if (!std.every((s) => Number.isFinite(s) && s > 0)) {
      throw new InvalidArgumentError('Standardization', 'args.std', 'an array of positive finite numbers', args.std);
    }
    this.mean = mean;
    this.std = std;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const channels = x.shape[x.shape.length - 1];
      if (this.mean.length !== 1 && channels !== this.mean.length) {
        throw new InvalidArgumentError('Standardization', 'inputs', `a tensor with ${this.mean.length} channels on the last axis`, x);
      }
      return tf.div(tf.sub(x, tf.tensor1d(this.mean)), tf.tensor1d(this.std));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), mean: [...this.mean], std: [...this.std] };
  }
}

/**
 * Creates a {@link Standardization} layer (and registers the class for loading).
 *
 * @example
 * ```ts
 * import * as tfl from '@tensorflow/tfjs-layers';
 * import { createStandardization } from 'ae-manifold';
 * const input = tfl.input({ shape: [32, 32, 3] });
 * const z = createStandardization({ mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.2006] }).apply(input);
 * ```
 * @category Models
 */
export function createStandardization(args: StandardizationArgs): Standardization {
  tf.serialization.registerClass(Standardization);
  return new Standardization(args);
}
