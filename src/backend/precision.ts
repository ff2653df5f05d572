/**
 * The float precision a tfjs backend really stores its tensors in: 32, or 16 for WebGL on
 * half-float textures. Measured with one tiny op, not taken from `backend.floatPrecision()`:
 * in tfjs-backend-webgl 4.22 that method answers 16 when float32 textures are enabled and 32 when
 * they are not (its check runs on the CPU forwarding path), both measured in Chromium/SwiftShader.
 * Browser-safe (no Node built-ins).
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';

/** The largest finite float16 value. */
export const FLOAT16_MAX = 65504;

/** Backends whose tensors are float32 by construction (no probe needed). */
const FLOAT32_BACKENDS = new Set(['cpu', 'wasm', 'tensorflow']);

/**
 * Elements of the probe: above tfjs-webgl's CPU hand-off threshold (128), so that the op runs on
 * the GPU and its output is written to a texture of the backend's storage type.
 */
const PROBE_SIZE = 1024;

/** 1 + 2⁻¹²: exact in float32, rounds to 1 in float16 (10-bit mantissa). */
const PROBE_VALUE = 1 + 2 ** -12;

/**
 * The precision implied by one round trip of `PROBE_VALUE` through the backend: 16 when the
 * stored result lost the 2⁻¹² bit, 32 otherwise. Backends known to be float32 skip the probe.
 *
 * @example
 * ```ts
 * floatPrecisionFrom('cpu', () => NaN); // 32 (never probed)
 * floatPrecisionFrom('webgl', () => 1); // 16
 * ```
 * @param backendName `tf.getBackend()`
 * @param roundTrip returns what the backend stores for the given value after one op
 */
export function floatPrecisionFrom(backendName: string, roundTrip: (value: number) => number): 16 | 32 {
  if (FLOAT32_BACKENDS.has(backendName)) return 32;
  const v = roundTrip(PROBE_VALUE);
  return v === Math.fround(PROBE_VALUE) ? 32 : 16;
}

/** One op on the active backend: PROBE_VALUE written to an output tensor and read back. */
function probeActiveBackend(value: number): number {
  const out = tf.tidy(() => tf.add(tf.fill([PROBE_SIZE], value - 1), tf.ones([PROBE_SIZE])));
  try {
    return (out.dataSync() as Float32Array)[0]!;
  } finally {
    out.dispose();
  }
}

/** The WebGL render flag, or undefined where it is not registered (other backends). */
function renderFloat32Flag(): boolean | undefined {
  try {
    return tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED');
  } catch {
    return undefined;
  }
}

const cache = new WeakMap<object, { flag: boolean | undefined; precision: 16 | 32 }>();

/**
 * Float precision of the active backend's tensor storage: 32 on cpu, wasm and Node; on WebGL 32
 * with float32 textures and 16 with half-float ones (`WEBGL_RENDER_FLOAT32_ENABLED` false, which
 * tfjs picks on devices that cannot render to float32). Measured once per backend instance (one
 * 1,024-element op and a synchronous read) and cached; leaves no tensors behind.
 *
 * @example
 * ```ts
 * import { backendFloatPrecision } from 'ae-manifold';
 * const approximate = backendFloatPrecision() === 16; // float16 backend: results are approximate
 * ```
 * @category Utilities
 */
export function backendFloatPrecision(): 16 | 32 {
  if (FLOAT32_BACKENDS.has(tf.getBackend())) return 32;
  const backend = tf.backend() as unknown as object;
  const flag = renderFloat32Flag();
  const hit = cache.get(backend);
  if (hit && hit.flag === flag) return hit.precision;
  const precision = floatPrecisionFrom(tf.getBackend(), probeActiveBackend);
  cache.set(backend, { flag, precision });
  return precision;
}
