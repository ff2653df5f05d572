/**
 * The `ReplicatePadding2D` layer: PyTorch's `padding_mode='replicate'` for NHWC images, built from
 * `tf.slice` + `tf.concat` (whose gradients are right; `tf.mirrorPad`'s is not in tfjs-core 4.22).
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import { layers } from '@tensorflow/tfjs-layers';
import type { Shape } from '@tensorflow/tfjs-layers';
import { InvalidArgumentError } from '../errors.js';

/** Constructor arguments of {@link ReplicatePadding2D}. @category Models */
export interface ReplicatePadding2DArgs {
  /** Rows/columns added on every side, each a copy of the nearest edge. Default 1. */
  padding?: number;
  /** Layer name. */
  name?: string;
}

type LayerArgs = ConstructorParameters<typeof layers.Layer>[0];

/**
 * Pads height and width of an NHWC tensor by repeating the edge pixels ("replicate" padding).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { replicatePad2d } from 'ae-manifold';
 * replicatePad2d(tf.ones([1, 4, 4, 3]), 1).shape; // [1, 6, 6, 3]
 * ```
 * @param x rank-4 NHWC tensor
 * @param padding rows/columns added on each side
 * @category Models
 */
export function replicatePad2d(x: tf.Tensor, padding: number): tf.Tensor4D {
  if (x.rank !== 4) throw new InvalidArgumentError('replicatePad2d', 'x', 'a rank-4 NHWC tensor', x);
  if (!Number.isInteger(padding) || padding < 0) {
    throw new InvalidArgumentError('replicatePad2d', 'padding', 'an integer >= 0', padding);
  }
  return tf.tidy(() => {
    const x4 = x as tf.Tensor4D;
    if (padding === 0) return tf.clone(x4);
    const [, h, w] = x4.shape;
    const top = tf.slice(x4, [0, 0, 0, 0], [-1, 1, -1, -1]);
    const bottom = tf.slice(x4, [0, h - 1, 0, 0], [-1, 1, -1, -1]);
    const rows = tf.concat([...Array<tf.Tensor4D>(padding).fill(top), x4, ...Array<tf.Tensor4D>(padding).fill(bottom)], 1);
    const left = tf.slice(rows, [0, 0, 0, 0], [-1, -1, 1, -1]);
    const right = tf.slice(rows, [0, 0, w - 1, 0], [-1, -1, 1, -1]);
    return tf.concat([...Array<tf.Tensor4D>(padding).fill(left), rows, ...Array<tf.Tensor4D>(padding).fill(right)], 2);
  });
}

/**
 * A layer that applies {@link replicatePad2d}. No weights. It only reshapes the border, so the
 * probes do not count it as an analysis point.
 *
 * @example
 * ```ts
 * import { createReplicatePadding2D } from 'ae-manifold';
 * const pad = createReplicatePadding2D({ padding: 1, name: 'pad1' });
 * ```
 * @category Models
 */
export class ReplicatePadding2D extends layers.Layer {
  /** Serialisation name (registered with `tf.serialization.registerClass`). */
  static className = 'ReplicatePadding2D';
  /** Rows/columns added on each side. */
  readonly padding: number;

  constructor(args: ReplicatePadding2DArgs & LayerArgs = {}) {
    super({ ...args, trainable: false });
    const padding = args.padding ?? 1;
    if (!Number.isInteger(padding) || padding < 0) {
      throw new InvalidArgumentError('ReplicatePadding2D', 'args.padding', 'an integer >= 0', padding);
    }
    this.padding = padding;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const grow = (d: number | null | undefined) => (d == null ? null : d + 2 * this.padding);
    return [s[0] ?? null, grow(s[1]), grow(s[2]), s[3] ?? null];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    return replicatePad2d(x, this.padding);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), padding: this.padding };
  }
}

/**
 * Creates a {@link ReplicatePadding2D} layer (and registers the class for loading).
 *
 * @example
 * ```ts
 * import { createReplicatePadding2D } from 'ae-manifold';
 * const pad = createReplicatePadding2D({ padding: 1 });
 * ```
 * @category Models
 */
export function createReplicatePadding2D(args: ReplicatePadding2DArgs = {}): ReplicatePadding2D {
  tf.serialization.registerClass(ReplicatePadding2D);
  return new ReplicatePadding2D(args);
}
