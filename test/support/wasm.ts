/**
 * Test set-up for the wasm backend: `useWasm()` runs useWasmBackend (once per process; later
 * calls re-activate wasm) and asserts that tfjs really runs on wasm.
 */
import assert from 'node:assert/strict';
import { tf } from './tf.js';
import { useWasmBackend } from '../../src/backend/index.js';
import type { UseWasmBackendOptions, WasmBackendReport } from '../../src/backend/index.js';

/** Makes wasm the active backend (threads 1 unless asked) and fails loudly if it is not. */
export async function useWasm(opts: UseWasmBackendOptions = {}): Promise<WasmBackendReport> {
  const report = await useWasmBackend(opts);
  assert.equal(tf.getBackend(), 'wasm', `active backend is ${tf.getBackend()}, not wasm`);
  assert.equal(report.backend, 'wasm');
  return report;
}

export { tf };
