/**
 * Two wasm kernels that fuse the element-wise part of a C&W step (src/attacks/optimize.ts) into
 * single passes of ae-manifold's SIMD kernels: `AeManifoldCwBox` (the tanh box, the distance and
 * their local derivatives) and `AeManifoldCwAdam` (the chain rule back to δ and the Adam update).
 * Unfused, that part is about 60 kernel calls per step, each with the engine's overhead, and on the
 * MNIST CNN it cost about as much as the model's forward pass. They are registered on wasm only and
 * run only where the SIMD kernels are loaded ({@link fusedCwStepAvailable}).
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { hasHeapAccess } from './heap.js';
import type { WasmHeapBackend } from './heap.js';
import { simdKernelsOf } from './simd/module.js';
import type { SimdKernels } from './simd/module.js';

/** Kernel name of the fused box step: inputs delta, base, mid, half, xt [, mask, x] [, tau]; outputs img, dist, jac, dper. */
export const CW_BOX_KERNEL = 'AeManifoldCwBox';
/** Kernel name of the fused gradient + Adam step: inputs gImg, jac, dper, delta, m, v, stepSize [, active]; outputs grad, delta, m, v. */
export const CW_ADAM_KERNEL = 'AeManifoldCwAdam';

/** The SIMD kernels and heap of `backend`; throws where the module is not loaded. */
function simdOf(backend: unknown, name: string): { simd: SimdKernels; backend: WasmHeapBackend } {
  const simd = simdKernelsOf(backend);
  if (!simd || !hasHeapAccess(backend)) throw new Error(`ae-manifold: ${name} needs the SIMD kernels module, which is not loaded on this backend`);
  return { simd, backend };
}

function rowsAndWidth(t: TensorInfo): [number, number] {
  if (t.shape.length !== 2 || t.dtype !== 'float32') throw new Error(`ae-manifold: expected a float32 [rows, D] tensor, got ${t.dtype} [${t.shape.join(', ')}]`);
  return [t.shape[0]!, t.shape[1]!];
}

const cwBoxKernel: KernelFunc = (args) => {
  const { simd, backend } = simdOf(args.backend, CW_BOX_KERNEL);
  const i = args.inputs as unknown as { delta: TensorInfo; base: TensorInfo; mid: TensorInfo; half: TensorInfo; xt: TensorInfo; mask?: TensorInfo; x?: TensorInfo; tau?: TensorInfo };
  const [rows, D] = rowsAndWidth(i.delta);
  if ((i.mask === undefined) !== (i.x === undefined)) throw new Error(`ae-manifold: ${CW_BOX_KERNEL} takes mask and x together`);
  const img = backend.makeOutput([rows, D], 'float32');
  const dist = backend.makeOutput([rows], 'float32');
  const jac = backend.makeOutput([rows, D], 'float32');
  const dper = backend.makeOutput([rows, D], 'float32');
  simd.cwBox(i, { img, dist, jac, dper }, rows, D);
  return [img, dist, jac, dper];
};

const cwAdamKernel: KernelFunc = (args) => {
  const { simd, backend } = simdOf(args.backend, CW_ADAM_KERNEL);
  const i = args.inputs as unknown as { gImg: TensorInfo; jac: TensorInfo; dper: TensorInfo; delta: TensorInfo; m: TensorInfo; v: TensorInfo; stepSize: TensorInfo; active?: TensorInfo };
  const a = args.attrs as unknown as { beta1: number; beta2: number; epsilon: number };
  const [rows, D] = rowsAndWidth(i.delta);
  const out = () => backend.makeOutput([rows, D], 'float32');
  const grad = out();
  const delta = out();
  const m = out();
  const v = out();
  simd.cwAdam(i, { grad, delta, m, v }, rows, D, {
    beta1: a.beta1,
    oneMinusBeta1: 1 - a.beta1,
    beta2: a.beta2,
    oneMinusBeta2: 1 - a.beta2,
    epsilon: a.epsilon,
  });
  return [grad, delta, m, v];
};

/** Kernel configs of both fused kernels (wasm). */
export function cwStepConfigs(): KernelConfig[] {
  return [
    { kernelName: CW_BOX_KERNEL, backendName: 'wasm', kernelFunc: cwBoxKernel },
    { kernelName: CW_ADAM_KERNEL, backendName: 'wasm', kernelFunc: cwAdamKernel },
  ];
}

/** Whether the active backend can run the fused C&W step kernels. */
export function fusedCwStepAvailable(): boolean {
  return tf.getBackend() === 'wasm' && tf.getKernel(CW_ADAM_KERNEL, 'wasm') !== undefined && simdKernelsOf(tf.backend()) !== undefined;
}
