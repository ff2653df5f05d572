/**
 * Faster `Sum` over leading axes for the wasm backend (the bias gradients of conv layers sum dy
 * over batch, height and width). The stock kernel first transposes the reduced axes to the end,
 * which dominates; this one sums the rows of the [outer, inner] view directly in the wasm heap,
 * accumulating in float64 (as the cpu backend does). Other reductions go to the stock kernel.
 * @module
 */
import { backend_util, util } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { f32, hasHeapAccess } from './heap.js';

/** Number of leading axes reduced when `axes` is exactly [0, …, k − 1] with k < rank, else 0. */
export function leadingReduction(axes: number[], rank: number): number {
  const sorted = [...axes].sort((p, q) => p - q);
  if (sorted.length === 0 || sorted.length >= rank) return 0;
  return sorted.every((v, i) => v === i) ? sorted.length : 0;
}

/** Builds the replacement config around the stock one (same setup and dispose functions). */
export function sumConfig(stock: KernelConfig): KernelConfig {
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
    for (let i = 0; i < outer; i++) {
      const row = i * inner;
      for (let j = 0; j < inner; j++) acc[j] = acc[j]! + src[row + j]!;
    }
    dst.set(acc);
    return out;
  };
  const config: KernelConfig = { kernelName: stock.kernelName, backendName: 'wasm', kernelFunc: kernelFunc as KernelFunc };
  if (stock.setupFunc) config.setupFunc = stock.setupFunc;
  if (stock.disposeFunc) config.disposeFunc = stock.disposeFunc;
  return config;
}
