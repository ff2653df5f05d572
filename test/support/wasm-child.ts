/**
 * Child process for the wasm thread tests (the wasm backend initialises once per process).
 * Usage: node wasm-child.js <threads|auto> [--refuse-workers] [--no-kernels]
 * Prints one JSON line: { report, backend, sum, grad } where grad is the filter gradient of a
 * small conv layer, so that configurations can be compared with each other.
 */
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { useWasmBackend } from '../../src/backend/index.js';

const [threadsArg = '1', ...flags] = process.argv.slice(2);
if (flags.includes('--refuse-workers')) {
  // Simulates a Node where pthread workers cannot start (as with blob: URLs in stock tfjs).
  const wt = createRequire(import.meta.url)('worker_threads') as { Worker: unknown };
  wt.Worker = class {
    constructor() {
      throw new Error('simulated: worker_threads refused to start a worker');
    }
  };
}
const threads = threadsArg === 'auto' ? 'auto' : Number(threadsArg);
const report = await useWasmBackend({ threads, kernels: !flags.includes('--no-kernels') });
const grad = tf.tidy(() => {
  const x = tf.reshape(tf.sin(tf.range(0, 8 * 16 * 16 * 3)), [8, 16, 16, 3]) as tf.Tensor4D;
  const w = tf.reshape(tf.cos(tf.range(0, 3 * 3 * 3 * 16)), [3, 3, 3, 16]) as tf.Tensor4D;
  return tf.grad((ww) => tf.sum(tf.square(tf.relu(tf.conv2d(x, ww as tf.Tensor4D, 1, 'same')))))(w);
});
const values = Array.from(await grad.data());
grad.dispose();
process.stdout.write(JSON.stringify({ report, backend: tf.getBackend(), numTensors: tf.memory().numTensors, grad: values }) + '\n');
