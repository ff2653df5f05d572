/**
 * Shared helpers of the wasm kernel tests: relative error against cpu, seeded random data, and
 * running one computation on cpu and on wasm (checking that wasm leaks no tensor or data id).
 */
import assert from 'node:assert/strict';
import { expectNoLeaks, tf, useCpu } from './tf.js';
import { useWasm } from './wasm.js';
import type { createRng } from '../../src/internal/rng.js';

/** A padding attribute of the conv kernels. */
export type Pad = 'valid' | 'same' | number | [[0, 0], [number, number], [number, number], [0, 0]];

/** One convolution case: shapes, strides, padding, layout and the matching dy shape. */
export interface ConvCase {
  xShape: [number, number, number, number];
  filterShape: [number, number, number, number];
  strides: [number, number];
  pad: Pad;
  dataFormat: 'NHWC' | 'NCHW';
  dyShape: [number, number, number, number];
}

/** Max |Δ| ÷ max |cpu| over the finite entries; NaN and ±∞ must sit at the same places in both. */
export function relErr(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      assert.ok(Object.is(x, y), `entry ${i}: wasm ${x}, cpu ${y}`);
      continue;
    }
    num = Math.max(num, Math.abs(x - y));
    den = Math.max(den, Math.abs(y));
  }
  return den === 0 ? num : num / den;
}

/** n standard-normal float32 values from `rng`. */
export function randomArray(rng: ReturnType<typeof createRng>, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal();
  return a;
}

/** Number of elements of a shape. */
export const size = (s: readonly number[]): number => s.reduce((p, d) => p * d, 1);

/** Runs `fn` on cpu, then on wasm (no leaked tensors or wasm data ids), and returns both results. */
export async function onBoth(fn: () => tf.Tensor): Promise<{ cpu: Float32Array; wasm: Float32Array; shape: number[] }> {
  await useCpu();
  const tc = fn();
  const cpu = (await tc.data()) as Float32Array;
  tc.dispose();
  await useWasm();
  const backend = tf.backend() as unknown as { numDataIds(): number };
  const ids = backend.numDataIds();
  const { wasm, shape } = await expectNoLeaks(async () => {
    const tw = fn();
    const out = { wasm: (await tw.data()) as Float32Array, shape: tw.shape };
    tw.dispose();
    return out;
  });
  assert.equal(backend.numDataIds(), ids, 'wasm data ids leaked');
  return { cpu, wasm, shape };
}
