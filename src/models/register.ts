/**
 * Registration of the library's custom layers with tfjs serialisation. The package declares
 * `sideEffects: false`, so registration happens when a function that needs it runs.
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import { ReplicatePadding2D } from './replicate-padding.js';
import { Standardization } from './standardization.js';

/**
 * Registers `Standardization` and `ReplicatePadding2D` so that `tf.loadLayersModel` (or any IO
 * handler) can rebuild models that use them. Idempotent; the create and load functions of the
 * library call it for you.
 *
 * @example
 * ```ts
 * import * as tfl from '@tensorflow/tfjs-layers';
 * import { registerModelLayers } from 'ae-manifold';
 * registerModelLayers();
 * const model = await tfl.loadLayersModel('https://example.org/mnist-cnn/model.json');
 * ```
 * @category Models
 */
export function registerModelLayers(): void {
  tf.serialization.registerClass(Standardization);
  tf.serialization.registerClass(ReplicatePadding2D);
}
