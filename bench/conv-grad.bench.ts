/**
 * Convolution input gradients on wasm (1 thread): `Conv2DBackpropInput` when dy is a 2 × 2
 * max-pool's gradient (the SIMD kernel `conv_dx_pooled`) against the same shapes with a dense dy
 * (which that kernel's check refuses at its first block, so the dense paths run), for the
 * convolutions of the shipped CNNs that a max-pool follows: the MNIST CNN's two layers at batch
 * 64, and the CIFAR-10 CNN's second, fourth and sixth layers (after BatchNorm and ReLU) at batch
 * 16. The pooled dy is a real `MaxPoolGrad` of a random convolution output with a ReLU-masked
 * random pool gradient; weights are random (timing does not depend on them).
 *
 * Usage (after `npm run build:test`): node build-test/bench/run.js --only conv-grad
 */
import * as tf from '@tensorflow/tfjs-core';
import { useWasmBackend } from '../src/backend/index.js';
import { emit, timeMedian } from './util.js';

interface Layer {
  model: string;
  layer: string;
  batch: number;
  /** The convolution's input [N, H, W, Ci] and filter [kh, kw, Ci, Co] ('valid', stride 1). */
  x: [number, number, number, number];
  filter: [number, number, number, number];
}

const LAYERS: Layer[] = [
  { model: 'mnist-cnn', layer: 'conv1', batch: 64, x: [64, 28, 28, 1], filter: [5, 5, 1, 16] },
  { model: 'mnist-cnn', layer: 'conv2', batch: 64, x: [64, 12, 12, 16], filter: [5, 5, 16, 16] },
  { model: 'cifar10-cnn', layer: 'conv2', batch: 16, x: [16, 34, 34, 32], filter: [3, 3, 32, 32] },
  { model: 'cifar10-cnn', layer: 'conv4', batch: 16, x: [16, 18, 18, 64], filter: [3, 3, 64, 64] },
  { model: 'cifar10-cnn', layer: 'conv6', batch: 16, x: [16, 10, 10, 128], filter: [3, 3, 128, 128] },
];

export async function run(): Promise<void> {
  const report = await useWasmBackend({ threads: 1 });
  for (const l of LAYERS) {
    const [n, h, w] = l.x;
    const [kh, kw, , co] = l.filter;
    const yShape: [number, number, number, number] = [n, h - kh + 1, w - kw + 1, co];
    const filter = tf.randomNormal(l.filter, 0, 1, 'float32', 1);
    const y = tf.randomNormal(yShape, 0, 1, 'float32', 2) as tf.Tensor4D;
    const pooled = tf.tidy(() => {
      const p = tf.maxPool(y, 2, 2, 'valid');
      const dp = tf.mul(tf.randomNormal(p.shape, 0, 1, 'float32', 3), tf.cast(tf.greater(p, 0), 'float32'));
      return tf.engine().runKernel('MaxPoolGrad', { dy: dp, input: y, output: p }, { filterSize: 2, strides: 2, pad: 'valid' }) as tf.Tensor4D;
    });
    const dense = tf.randomNormal(yShape, 0, 1, 'float32', 4) as tf.Tensor4D;
    const time = async (dy: tf.Tensor4D) => {
      const t = await timeMedian(() => tf.dispose(tf.conv2dTranspose(dy, filter as tf.Tensor4D, l.x, 1, 'valid')), { warmup: 3, minSeconds: 1.5, minReps: 10, maxReps: 60 });
      return { medianMs: t.medianSec * 1000, minMs: t.minSec * 1000 };
    };
    const d = await time(dense);
    const p = await time(pooled);
    emit({
      bench: 'conv-input-grad',
      backend: report.backend,
      threads: report.threads,
      simdKernels: report.simdKernels,
      model: l.model,
      layer: l.layer,
      batch: l.batch,
      x: l.x,
      filter: l.filter,
      denseDyMs: d.medianMs,
      denseDyMinMs: d.minMs,
      pooledDyMs: p.medianMs,
      pooledDyMinMs: p.minMs,
      speedup: d.medianMs / p.medianMs,
    });
    tf.dispose([filter, y, pooled, dense]);
  }
}
