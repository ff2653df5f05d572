/**
 * Faster `Conv2DBackpropInput` for the wasm backend. The stock kernel is a plain single-threaded
 * loop; for stride 1 and NHWC the input gradient is exactly a forward convolution of dy with the
 * spatially reversed, in/out-swapped filter and padding (k − 1 − p), which runs on the
 * XNNPACK-backed (and multi-threaded) `Conv2D`.
 *
 * When the forward input has a single channel (the first layer of an image net), that
 * convolution has one output channel, which XNNPACK runs poorly; there the gradient is computed
 * as col2im(dy [N·Ho·Wo, Co] × Wᵀ [Co, kh·kw·Ci]): one plain XNNPACK `BatchMatMul` followed by
 * an overlap-add in the wasm heap (any stride and padding). With ae-manifold's SIMD kernels loaded
 * the overlap-add runs there, and the same path also serves multi-channel inputs where the
 * equivalent forward convolution would do at least {@link COL2IM_MIN_FLOP_RATIO}× the useful work
 * ('valid' convolutions on small maps, such as the second layer of the MNIST CNN: 2.25×) or where
 * there is no such convolution (stride > 1). Every other case calls the stock kernel.
 *
 * Before any of these, a 'valid' stride-1 gradient whose dy is a 2 × 2 max-pool's gradient (at
 * most one non-zero value per 2 × 2 block and channel, checked on the values) runs the SIMD
 * kernel `conv_dx_pooled`, which adds only the non-zero values' patches: about a quarter of the
 * multiply-adds (the MNIST CNN at batch 64: first layer 1.94 → 0.73 ms, second 1.83 → 0.72 ms;
 * `npm run bench -- --only conv-grad`).
 * @module
 */
import { backend_util } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { f32, hasHeapAccess } from './heap.js';
import type { WasmHeapBackend } from './heap.js';
import { simdKernelsOf } from './simd/module.js';
import { convPooledScratchSize } from './simd/module.js';
import type { ConvPooledGeometry, SimdKernels } from './simd/module.js';
import { bindOp, disposeInfos, pair, wasmKernelFunc, replacementConfig } from './wasm-kernel-util.js';
import type { WasmBackendLike } from './wasm-kernel-util.js';

interface InputAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape: [number, number, number, number];
}

/**
 * Explicit padding of the equivalent forward convolution, or `undefined` when the fast path is not
 * exact for these attributes (stride ≠ 1, NCHW, or a padding larger than the filter).
 */
export function fastBackpropInputPadding(
  dyShape: readonly number[],
  filterShape: readonly number[],
  attrs: InputAttrs,
): [[0, 0], [number, number], [number, number], [0, 0]] | undefined {
  if (attrs.dataFormat === 'NCHW') return undefined;
  const [sh, sw] = pair(attrs.strides);
  if (sh !== 1 || sw !== 1) return undefined;
  const info = backend_util.computeConv2DInfo(
    attrs.inputShape,
    filterShape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const { top, bottom, left, right } = info.padInfo;
  const kh = info.filterHeight;
  const kw = info.filterWidth;
  const p: [[0, 0], [number, number], [number, number], [0, 0]] = [
    [0, 0],
    [kh - 1 - top, kh - 1 - bottom],
    [kw - 1 - left, kw - 1 - right],
    [0, 0],
  ];
  if (p[1][0] < 0 || p[1][1] < 0 || p[2][0] < 0 || p[2][1] < 0) return undefined;
  // The forward convolution of dy must give back exactly the input's spatial size.
  if (dyShape[1]! + p[1][0] + p[1][1] - kh + 1 !== info.inHeight) return undefined;
  if (dyShape[2]! + p[2][0] + p[2][1] - kw + 1 !== info.inWidth) return undefined;
  return p;
}

/** Largest number of forward input channels that takes the matMul + col2im path without SIMD kernels. */
export const COL2IM_MAX_IN_CHANNELS = 1;

/**
 * With SIMD kernels, multi-channel inputs take the matMul + col2im path when the forward
 * convolution of the stride-1 fast path would compute at least this many times the useful
 * multiply-adds (H·W against Ho·Wo output positions).
 */
export const COL2IM_MIN_FLOP_RATIO = 1.5;

/** Largest product matrix P (N·Ho·Wo × kh·kw·Ci values) the col2im path allocates: 64 MiB. */
export const COL2IM_MAX_PRODUCT = 16 * 1024 * 1024;

/**
 * Whether the matMul + col2im path applies: NHWC float32 with at most
 * {@link COL2IM_MAX_IN_CHANNELS} input channels (any stride and padding) or, when `simd` (the SIMD
 * kernels are loaded), any channel count where the stride is not 1 or the forward-convolution
 * path would do {@link COL2IM_MIN_FLOP_RATIO}× the work; the product matrix is capped at
 * {@link COL2IM_MAX_PRODUCT} values except for single-channel inputs.
 */
export function useCol2imBackpropInput(dy: TensorInfo, filter: TensorInfo, attrs: InputAttrs, simd = false): boolean {
  if (
    attrs.dataFormat === 'NCHW' ||
    dy.dtype !== 'float32' ||
    filter.dtype !== 'float32' ||
    dy.shape.length !== 4 ||
    filter.shape.length !== 4 ||
    filter.shape[2]! < 1
  ) {
    return false;
  }
  const ci = filter.shape[2]!;
  if (ci <= COL2IM_MAX_IN_CHANNELS) return true;
  if (!simd) return false;
  const [, ho, wo] = dy.shape as [number, number, number, number];
  const [h, w] = [attrs.inputShape[1], attrs.inputShape[2]];
  const product = dy.shape[0]! * ho * wo * filter.shape[0]! * filter.shape[1]! * ci;
  if (product > COL2IM_MAX_PRODUCT) return false;
  const [sh, sw] = pair(attrs.strides);
  return sh !== 1 || sw !== 1 || h * w >= COL2IM_MIN_FLOP_RATIO * ho * wo;
}

/**
 * The geometry of the pooled-gradient path, or `undefined` when it does not apply: NHWC float32,
 * stride 1, no padding, output channels a multiple of 4, an output of at least 2 × 2.
 */
export function pooledGradientGeometry(dy: TensorInfo, filter: TensorInfo, attrs: InputAttrs): ConvPooledGeometry | undefined {
  if (attrs.dataFormat === 'NCHW' || dy.dtype !== 'float32' || filter.dtype !== 'float32' || dy.shape.length !== 4 || filter.shape.length !== 4) return undefined;
  const [sh, sw] = pair(attrs.strides);
  if (sh !== 1 || sw !== 1) return undefined;
  const [N, Ho, Wo, Co] = dy.shape as [number, number, number, number];
  const [kh, kw, Ci, fc] = filter.shape as [number, number, number, number];
  const [n, H, W, c] = attrs.inputShape;
  if (fc !== Co || c !== Ci || n !== N || Co % 4 !== 0 || Ho < 2 || Wo < 2 || Ci < 1) return undefined;
  const info = backend_util.computeConv2DInfo(attrs.inputShape, [kh, kw, Ci, Co], 1, 1, attrs.pad, attrs.dimRoundingMode);
  const { top, bottom, left, right } = info.padInfo;
  if (top !== 0 || bottom !== 0 || left !== 0 || right !== 0 || H !== Ho + kh - 1 || W !== Wo + kw - 1) return undefined;
  return { N, Ho, Wo, Co, kh, kw, Ci };
}

/**
 * dx by `conv_dx_pooled`, or `undefined` when dy is not a 2 × 2 pool's gradient (then only the
 * scratch was allocated, and it is freed).
 */
function pooledGradientBackpropInput(backend: WasmHeapBackend, simd: SimdKernels, dy: TensorInfo, filter: TensorInfo, g: ConvPooledGeometry): TensorInfo | undefined {
  const scratch = backend.makeOutput([convPooledScratchSize(g)], 'float32');
  try {
    if (!simd.convDxPooledCheck(dy, scratch, g)) return undefined;
    const dx = backend.makeOutput([g.N, g.Ho + g.kh - 1, g.Wo + g.kw - 1, g.Ci], 'float32');
    simd.convDxPooled(filter, dx, scratch, g);
    return dx;
  } finally {
    disposeInfos(backend, scratch);
  }
}

/**
 * dx = col2im(dy × Wᵀ). P = dy [N·Ho·Wo, Co] × Wᵀ [Co, kh·kw·Ci] holds, for each output pixel,
 * its contribution to every tap of its window; the taps of one window row are kw·Ci contiguous
 * values of P and of dx, so the overlap-add is a clipped run of additions per (pixel, window row).
 */
function col2imBackpropInput(
  backend: WasmHeapBackend,
  simd: SimdKernels | undefined,
  matMul: KernelFunc,
  dy: TensorInfo,
  filter: TensorInfo,
  attrs: InputAttrs,
): TensorInfo {
  const info = backend_util.computeConv2DInfo(
    attrs.inputShape,
    filter.shape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: Ci, outHeight: Ho, outWidth: Wo, outChannels: Co } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
  const { top, left } = info.padInfo;
  if (dy.shape[0] !== N || dy.shape[1] !== Ho || dy.shape[2] !== Wo || dy.shape[3] !== Co) {
    throw new Error(`ae-manifold: Conv2DBackpropInput: dy shape ${String(dy.shape)} does not match the output shape ${String(info.outShape)}`);
  }
  const K = kh * kw * Ci;
  const wt = backend.makeOutput([1, Co, K], 'float32');
  let p: TensorInfo | undefined;
  try {
    {
      // Wᵀ: the filter [kh, kw, Ci, Co] viewed as [K, Co], transposed.
      const w = f32(backend, filter);
      const t = f32(backend, wt);
      for (let k = 0; k < K; k++) for (let c = 0; c < Co; c++) t[c * K + k] = w[k * Co + c]!;
    }
    const a: TensorInfo = { dataId: dy.dataId, shape: [1, N * Ho * Wo, Co], dtype: 'float32' };
    const out = matMul({ inputs: { a, b: wt }, attrs: { transposeA: false, transposeB: false }, backend: backend as unknown as Parameters<KernelFunc>[0]['backend'] });
    if (Array.isArray(out)) throw new Error('ae-manifold: expected a single output from BatchMatMul');
    p = out as TensorInfo;
    const result = backend.makeOutput([N, H, W, Ci], 'float32');
    if (simd) {
      simd.col2im(p, result, { N, H, W, C: Ci, Ho, Wo, kh, kw, sh, sw, top, left });
      return result;
    }
    // Views after the last allocation.
    const P = f32(backend, p);
    const dx = f32(backend, result);
    dx.fill(0);
    const rowP = kw * Ci;
    for (let n = 0; n < N; n++) {
      for (let oy = 0; oy < Ho; oy++) {
        const pPix = (n * Ho + oy) * Wo * K;
        for (let i = 0; i < kh; i++) {
          const y = oy * sh + i - top;
          if (y < 0 || y >= H) continue;
          const dRow = (n * H + y) * W * Ci;
          const pRow = pPix + i * rowP;
          for (let ox = 0; ox < Wo; ox++) {
            const x0 = ox * sw - left;
            const tLo = x0 < 0 ? -x0 * Ci : 0;
            const tHi = x0 + kw > W ? (W - x0) * Ci : rowP;
            const d0 = dRow + x0 * Ci;
            const p0 = pRow + ox * K;
            for (let t = tLo; t < tHi; t++) dx[d0 + t] = dx[d0 + t]! + P[p0 + t]!;
          }
        }
      }
    }
    return result;
  } finally {
    backend.disposeData(wt.dataId);
    if (p) backend.disposeData(p.dataId);
  }
}

/** Builds the replacement config around the stock one (same setup and dispose functions). */
export function conv2DBackpropInputConfig(stock: KernelConfig): KernelConfig {
  const reverseK = wasmKernelFunc('Reverse');
  const transposeK = wasmKernelFunc('Transpose');
  const conv2dK = wasmKernelFunc('Conv2D');
  const matMulK = wasmKernelFunc('BatchMatMul');
  const kernelFunc = (args: Parameters<KernelFunc>[0]): TensorInfo | TensorInfo[] => {
    const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
    const attrs = args.attrs as unknown as InputAttrs;
    const simd = simdKernelsOf(args.backend);
    const pooled = simd && hasHeapAccess(args.backend) ? pooledGradientGeometry(dy, filter, attrs) : undefined;
    if (pooled) {
      const dx = pooledGradientBackpropInput(args.backend as WasmHeapBackend, simd!, dy, filter, pooled);
      if (dx) return dx;
    }
    if (useCol2imBackpropInput(dy, filter, attrs, simd !== undefined) && hasHeapAccess(args.backend)) {
      return col2imBackpropInput(args.backend, simd, matMulK, dy, filter, attrs);
    }
    const pad = fastBackpropInputPadding(dy.shape, filter.shape, attrs);
    if (!pad) return stock.kernelFunc(args);
    const backend = args.backend as unknown as WasmBackendLike;
    const temps: TensorInfo[] = [];
    try {
      const reversed = bindOp(reverseK, backend)({ x: filter }, { dims: [0, 1] });
      temps.push(reversed);
      const swapped = bindOp(transposeK, backend)({ x: reversed }, { perm: [0, 1, 3, 2] });
      temps.push(swapped);
      return bindOp(conv2dK, backend)(
        { x: dy, filter: swapped },
        { strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: 'floor' },
      );
    } finally {
      disposeInfos(backend, ...temps);
    }
  };
  return replacementConfig(stock, kernelFunc);
}
