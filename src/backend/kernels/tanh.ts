/**
 * Faster `Tanh` for the wasm backend: the stock kernel calls the C library's scalar `tanh` (about
 * 17 ns an element, 5 % of a C&W step on the MNIST CNN); with ae-manifold's SIMD kernels loaded it
 * runs four elements at a time (kernels.c: `tanh_f32`; at most 2 ulp from the correctly rounded
 * value, exactly ±1 only where that is the correctly rounded value, NaN, ±∞ and −0 as `Math.tanh`).
 * Without them, and for non-float32 tensors, the stock kernel runs.
 * @module
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { hasHeapAccess } from './heap.js';
import { simdKernelsOf } from './simd/module.js';
import { replacementConfig } from './wasm-kernel-util.js';

/** Builds the replacement config around the stock one (same setup and dispose functions). */
export function tanhConfig(stock: KernelConfig): KernelConfig {
  const kernelFunc = (args: Parameters<KernelFunc>[0]): TensorInfo | TensorInfo[] => {
    const { x } = args.inputs as { x: TensorInfo };
    const backend = args.backend;
    const simd = simdKernelsOf(backend);
    if (!simd || x.dtype !== 'float32' || !hasHeapAccess(backend) || x.shape.some((d) => d === 0)) return stock.kernelFunc(args);
    const out = backend.makeOutput([...x.shape], 'float32');
    simd.tanh(x, out);
    return out;
  };
  return replacementConfig(stock, kernelFunc);
}
