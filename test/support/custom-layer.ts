/**
 * A custom layer for the worker-pool tests, registered with tfjs serialisation when this module
 * is imported: the worker of a pool imports it through `setupModules`.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/** y = 2x. */
export class TimesTwo extends tfl.layers.Layer {
  static className = 'AemTestTimesTwo';

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => tf.mul(Array.isArray(inputs) ? inputs[0]! : inputs, 2));
  }
}
tf.serialization.registerClass(TimesTwo);
