/**
 * Faster `Sum` and `Mean` over leading axes for the wasm backend (the bias gradients of conv
 * layers sum dy over batch, height and width; BatchNorm's moments and their gradients reduce
 * over the same axes). The stock kernels first transpose the reduced axes to the end, which
 * dominates; these sum the rows of the [outer, inner] view directly in the wasm heap,
 * accumulating in float64 (as the cpu backend does). Other reductions go to the stock kernels.
 * @module
 */
import { backend_util, util } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { f32, hasHeapAccess } from './heap.js';
import { replacementConfig } from './wasm-kernel-util.js';

/** Number of leading axes reduced when `axes` is exactly [0, …, k − 1] with k < rank, else 0. */
export function leadingReduction(axes: number[], rank: number): number {
  const sorted = [...axes].sort((p, q) => p - q);
  if (sorted.length === 0 || sorted.length >= rank) return 0;
  return sorted.every((v, i) => v === i) ? sorted.length : 0;
}

/** Builds the replacement `Sum` config around the stock one (same setup and dispose functions). */
export function sumConfig(stock: KernelConfig): KernelConfig {
  return leadingReductionConfig(stock, false);
}

/** Builds the replacement `Mean` config around the stock one (same setup and dispose functions). */
export function meanConfig(stock: KernelConfig): KernelConfig {
  return leadingReductionConfig(stock, true);
}

function leadingReductionConfig(stock: KernelConfig, mean: boolean): KernelConfig {
  const kernelFunc = (args: Parameters<KernelFunc>[0]): TensorInfo | TensorInfo[] => {
    const { x } = args.inputs as { x: TensorInfo };
    const { axis, keepDims } = args.attrs as { axis: number | number[]; keepDims?: boolean };
    const backend = args.backend;
    if (x.dtype !== 'float32' || !hasHeapAccess(backend)) return stock.kernelFunc(args);
    const axes = util.parseAxisParam(axis, x.shape);
    const k = leadingReduction(axes, x.shape.length);
    const outer = util.sizeFromShape(x.shape.slice(0, k));
    const inner = util.sizeFromShape(x.shape.slice(k));
    // Only worth it (and only used) when there is real work in the leading axes.
    if (k === 0 || outer < 2 || inner === 0) return stock.kernelFunc(args);
    const outShape = keepDims ? backend_util.expandShapeToKeepDim(x.shape.slice(k), axes) : x.shape.slice(k);
    const out = backend.makeOutput(outShape, 'float32');
    const src = f32(backend, x);
    const dst = f32(backend, out);
    const acc = new Float64Array(inner);
    // Four rows per pass (pairwise float64 sums): 2-3x faster than one row at a time in V8.
    let i = 0;
    for (; i + 4 <= outer; i += 4) {
      const r0 = i * inner;
      const r1 = r0 + inner;
      const r2 = r1 + inner;
      const r3 = r2 + inner;
      for (let j = 0; j < inner; j++) acc[j] = acc[j]! + ((src[r0 + j]! + src[r1 + j]!) + (src[r2 + j]! + src[r3 + j]!));
    }
    for (; i < outer; i++) {
      const row = i * inner;
      for (let j = 0; j < inner; j++) acc[j] = acc[j]! + src[row + j]!;
    }
    if (mean) for (let j = 0; j < inner; j++) acc[j] = acc[j]! / outer;
    dst.set(acc);
    return out;
  };
  return replacementConfig(stock, kernelFunc);
}
