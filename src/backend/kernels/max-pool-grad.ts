/**
 * Faster `MaxPoolGrad` for the wasm backend. The stock kernel is a slow single-threaded loop
 * (about a quarter of the C&W input gradient of the reference CNN). This one is a direct scatter
 * in the wasm heap: for every pooling window and channel it finds the first maximum in row-major
 * order (strictly greater, as the cpu backend does) and adds dy there. Exact for every filter
 * size, stride and padding; non-float32 tensors go to the stock kernel.
 *
 * The 2×2 stride-2 pool without top/left padding (the usual `maxPooling2d({ poolSize: 2 })`,
 * 'valid', or 'same' on even sizes) takes a streaming path: each window's four channel vectors
 * are compared channel by channel, mostly without data-dependent branches, and every input
 * element is written once (dy at the winner, 0 elsewhere), with the same tie rule and NaN
 * behaviour (a NaN never wins; a window with no value above −∞ passes no gradient). Other
 * non-overlapping windows (3×3/3, …) stay on the general path, which measured faster for them
 * than a streaming version. With ae-manifold's SIMD kernels loaded, the 2×2 path runs there, four
 * channels at a time, with the same results bit for bit.
 * @module
 */
import { backend_util } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { f32, hasHeapAccess } from './heap.js';
import { simdKernelsOf } from './simd/module.js';
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
    const simd = simdKernelsOf(backend);
    if (simd && fh === 2 && fw === 2 && isTiledPool(info) && N * H * W * C > 0) {
      simd.maxPoolGrad2x2(input, dy, out, N, H, W, C, Ho, Wo);
      return out;
    }
    // Views after the allocation (it may have grown the heap).
    const x = f32(backend, input);
    const g = f32(backend, dy);
    const dx = f32(backend, out);
    if (fh === 2 && fw === 2 && isTiledPool(info)) {
      tiledPoolGrad2x2(x, g, dx, N, H, W, C, Ho, Wo);
      return out;
    }
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

/**
 * Whether the pooling windows tile the input without overlap or padding: window = stride, no
 * top/left padding, every window fully inside (rows or columns past the last window get no
 * gradient).
 */
export function isTiledPool(info: backend_util.Conv2DInfo): boolean {
  return (
    info.filterHeight === info.strideHeight &&
    info.filterWidth === info.strideWidth &&
    info.dilationHeight === 1 &&
    info.dilationWidth === 1 &&
    info.padInfo.top === 0 &&
    info.padInfo.left === 0 &&
    info.outHeight * info.filterHeight <= info.inHeight &&
    info.outWidth * info.filterWidth <= info.inWidth
  );
}

/**
 * Zeroes the parts of dx (NHWC) that no window covers: rows from Ho·fh and, in the covered rows,
 * columns from Wo·fw.
 */
function zeroUncovered(dx: Float32Array, N: number, H: number, W: number, C: number, rows: number, cols: number): void {
  const rowLen = W * C;
  for (let b = 0; b < N; b++) {
    const base = b * H * rowLen;
    if (cols < W) for (let r = 0; r < rows; r++) dx.fill(0, base + r * rowLen + cols * C, base + (r + 1) * rowLen);
    if (rows < H) dx.fill(0, base + rows * rowLen, base + H * rowLen);
  }
}

/**
 * The 2×2 stride-2 case: four channel vectors per window. Where the four values and dy are finite
 * (the usual case) the winner is found without data-dependent branches, as a tournament of strict
 * comparisons (pair (0, 1), pair (2, 3), then the pair maxima; a later element wins only if
 * strictly greater, so the first maximum in row-major order wins), and dy is written as dy · mask
 * + 0 (a −0 gradient becomes +0, as 0 + dy does on the general path and on cpu). Otherwise the
 * sequential strict comparison from −∞ of the general path decides (a NaN never wins; a window
 * with no value above −∞ passes no gradient).
 */
function tiledPoolGrad2x2(x: Float32Array, g: Float32Array, dx: Float32Array, N: number, H: number, W: number, C: number, Ho: number, Wo: number): void {
  const rowLen = W * C;
  for (let b = 0; b < N; b++) {
    for (let yr = 0; yr < Ho; yr++) {
      let p0 = (b * H + 2 * yr) * rowLen;
      let o = (b * Ho + yr) * Wo * C;
      for (let yc = 0; yc < Wo; yc++) {
        const p1 = p0 + C;
        const p2 = p0 + rowLen;
        const p3 = p2 + C;
        for (let d = 0; d < C; d++) {
          const v0 = x[p0 + d]!;
          const v1 = x[p1 + d]!;
          const v2 = x[p2 + d]!;
          const v3 = x[p3 + d]!;
          const gv = g[o + d]!;
          const z = v0 + v1 + v2 + v3 + gv;
          if (z - z === 0) {
            // All finite (an overflowing sum only sends the window to the exact slow branch).
            const s01 = +(v1 > v0);
            const s23 = +(v3 > v2);
            const s = +(x[p2 + s23 * C + d]! > x[p0 + s01 * C + d]!);
            const t = 1 - s;
            dx[p0 + d] = gv * (t * (1 - s01)) + 0;
            dx[p1 + d] = gv * (t * s01) + 0;
            dx[p2 + d] = gv * (s * (1 - s23)) + 0;
            dx[p3 + d] = gv * (s * s23) + 0;
          } else {
            let m = -Infinity;
            let w = -1;
            if (v0 > m) {
              m = v0;
              w = 0;
            }
            if (v1 > m) {
              m = v1;
              w = 1;
            }
            if (v2 > m) {
              m = v2;
              w = 2;
            }
            if (v3 > m) w = 3;
            const gz = gv + 0;
            dx[p0 + d] = w === 0 ? gz : 0;
            dx[p1 + d] = w === 1 ? gz : 0;
            dx[p2 + d] = w === 2 ? gz : 0;
            dx[p3 + d] = w === 3 ? gz : 0;
          }
        }
        p0 += 2 * C;
        o += C;
      }
    }
  }
  zeroUncovered(dx, N, H, W, C, 2 * Ho, 2 * Wo);
}
