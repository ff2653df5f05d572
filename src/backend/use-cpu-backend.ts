/**
 * Node set-up of tfjs's plain JavaScript backend: the reference the tests and benchmarks compare
 * with, and the backend of worker threads asked to run on cpu.
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import { BackendUnavailableError } from '../errors.js';

/**
 * Makes tfjs's cpu backend the active one and checks that it really is: tfjs can stay on another
 * backend without saying so. The backend package comes with `@tensorflow/tfjs-backend-wasm`.
 *
 * @example
 * ```ts
 * import { useCpuBackend } from 'ae-manifold/node';
 * await useCpuBackend(); // tf.getBackend() === 'cpu'
 * ```
 * @category Backend
 */
export async function useCpuBackend(): Promise<void> {
  const fn = 'useCpuBackend';
  try {
    await import('@tensorflow/tfjs-backend-cpu');
  } catch (e) {
    throw new BackendUnavailableError(fn, 'the package @tensorflow/tfjs-backend-cpu cannot be loaded (it comes with @tensorflow/tfjs-backend-wasm)', { cause: e });
  }
  const ok = await tf.setBackend('cpu');
  if (!ok || tf.getBackend() !== 'cpu') {
    throw new BackendUnavailableError(fn, `tf.setBackend('cpu') resolved to ${String(ok)}; the active backend is '${tf.getBackend()}'`);
  }
}
