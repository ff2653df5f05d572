/**
 * Faster `MaxPoolGrad` for the wasm backend. The stock kernel is a slow single-threaded loop
 * (about a quarter of the C&W input gradient of the reference CNN). This one is a direct scatter
 * in the wasm heap: for every pooling window and channel it finds the first maximum in row-major
 * order (strictly greater, as the cpu backend does) and adds dy there. Exact for every filter
 * size, stride and padding; non-float32 tensors go to the stock kernel.
 * @module
 */
import { backend_util } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { f32, hasHeapAccess } from './heap.js';
import { replacementConfig } from './wasm-kernel-util.js';

interface PoolAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** Builds the replacement config around the stock one (same setup and dispose functions). */
export function maxPoolGradConfig(stock: KernelConfig): KernelConfig {
  const kernelFunc = (args: Parameters<KernelFunc>[0]): TensorInfo | TensorInfo[] => {
    const { dy, input } = args.inputs as { dy: TensorInfo; input: TensorInfo };
    const backend = args.backend;
    if (dy.dtype !== 'float32' || input.dtype !== 'float32' || input.shape.length !== 4 || !hasHeapAccess(backend)) {
      return stock.kernelFunc(args);
    }
    const a = args.attrs as unknown as PoolAttrs;
    const info = backend_util.computePool2DInfo(
      input.shape as [number, number, number, number],
      a.filterSize,
      a.strides,
      1,
      a.pad,
      a.dimRoundingMode,
    );
    const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: Ho, outWidth: Wo } = info;
    const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
    const { top, left } = info.padInfo;
    const out = backend.makeOutput([...input.shape], 'float32');
    // Views after the allocation (it may have grown the heap).
    const x = f32(backend, input);
    const g = f32(backend, dy);
    const dx = f32(backend, out);
    dx.fill(0);
    const taps = new Int32Array(fh * fw);
    for (let b = 0; b < N; b++) {
      for (let yr = 0; yr < Ho; yr++) {
        const r0 = yr * sh - top;
        const rLo = Math.max(0, r0);
        const rHi = Math.min(H, r0 + fh);
        for (let yc = 0; yc < Wo; yc++) {
          const c0 = yc * sw - left;
          const cLo = Math.max(0, c0);
          const cHi = Math.min(W, c0 + fw);
          // Offsets of the window's pixels in row-major order (the order that decides ties).
          let nt = 0;
          for (let r = rLo; r < rHi; r++) for (let c = cLo; c < cHi; c++) taps[nt++] = ((b * H + r) * W + c) * C;
          if (nt === 0) continue;
          const o = ((b * Ho + yr) * Wo + yc) * C;
          for (let d = 0; d < C; d++) {
            let bestV = -Infinity;
            let bestI = -1;
            for (let t = 0; t < nt; t++) {
              const i = taps[t]! + d;
              const v = x[i]!;
              if (v > bestV) {
                bestV = v;
                bestI = i;
              }
            }
            if (bestI >= 0) dx[bestI] = dx[bestI]! + g[o + d]!;
          }
        }
      }
    }
    return out;
  };
  return replacementConfig(stock, kernelFunc);
}
