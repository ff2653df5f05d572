/**
 * `Conv2DBackpropFilter` for the wasm backend, which ships without it (so conv nets cannot be
 * trained on stock tfjs-backend-wasm 4.22). The filter gradient is itself a convolution:
 *
 *   dW[a, b, ci, co] = Σ_n Σ_{i,j} xPad[n, i·s + a, j·s + b, ci] · dy[n, i, j, co]
 *
 * so with x transposed to [Ci, H, W, N] (channels as batch, batch as channels) and dy transposed
 * to [Ho, Wo, N, Co] (used as the filter), the fast XNNPACK `Conv2D` with dilation s (the forward
 * stride) and the forward padding yields [Ci, kh, kw, Co], transposed to [kh, kw, Ci, Co].
 * Works for every stride, padding mode and NHWC/NCHW layout. (Splitting the batch into groups,
 * so that the dy "filter" stays cache-sized, made the convolution itself faster but cost more in
 * slices and transposes than it saved; measured and dropped.)
 * @module
 */
import { backend_util } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { bindOp, disposeInfos, pair, wasmKernelFunc } from './wasm-kernel-util.js';
import type { WasmBackendLike } from './wasm-kernel-util.js';

interface FilterAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

/** Builds the kernel config; the wasm Transpose, Conv2D and Slice kernels must be registered. */
export function conv2DBackpropFilterConfig(): KernelConfig {
  const transposeK = wasmKernelFunc('Transpose');
  const conv2dK = wasmKernelFunc('Conv2D');
  const sliceK = wasmKernelFunc('Slice');
  const kernelFunc = (args: Parameters<KernelFunc>[0]): TensorInfo => {
    const backend = args.backend as unknown as WasmBackendLike;
    const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
    const attrs = args.attrs as unknown as FilterAttrs;
    const transpose = bindOp(transposeK, backend);
    const conv2d = bindOp(conv2dK, backend);
    const slice = bindOp(sliceK, backend);
    const nchw = attrs.dataFormat === 'NCHW';
    const convInfo = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      attrs.filterShape,
      attrs.strides,
      1,
      attrs.pad,
      attrs.dimRoundingMode,
      false,
      nchw ? 'channelsFirst' : 'channelsLast',
    );
    const { filterHeight: kh, filterWidth: kw, inHeight: H, inWidth: W, outHeight: Ho, outWidth: Wo } = convInfo;
    const [sh, sw] = pair(attrs.strides);
    const { top, left } = convInfo.padInfo;
    // Bottom/right padding chosen so that the convolution output is exactly kh × kw where possible.
    const bottom = kh + (Ho - 1) * sh - H - top;
    const right = kw + (Wo - 1) * sw - W - left;
    if (top < 0 || left < 0) throw new Error('ae-manifold Conv2DBackpropFilter: negative padding is not supported');
    const pad = [
      [0, 0],
      [top, Math.max(0, bottom)],
      [left, Math.max(0, right)],
      [0, 0],
    ];
    const temps: TensorInfo[] = [];
    try {
      // [N, H, W, Ci] (or [N, Ci, H, W]) -> [Ci, H, W, N];  [N, Ho, Wo, Co] (or NCHW) -> [Ho, Wo, N, Co]
      const xT = transpose({ x }, { perm: nchw ? [1, 2, 3, 0] : [3, 1, 2, 0] });
      temps.push(xT);
      const dyT = transpose({ x: dy }, { perm: nchw ? [2, 3, 0, 1] : [1, 2, 0, 3] });
      temps.push(dyT);
      let g = conv2d({ x: xT, filter: dyT }, { strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [sh, sw], dimRoundingMode: 'floor' });
      temps.push(g);
      if (g.shape[1] !== kh || g.shape[2] !== kw) {
        // The forward pass ignored trailing input rows/columns: drop their (unused) products.
        g = slice({ x: g }, { begin: [0, 0, 0, 0], size: [g.shape[0]!, kh, kw, g.shape[3]!] });
        temps.push(g);
      }
      return transpose({ x: g }, { perm: [1, 2, 0, 3] });
    } finally {
      disposeInfos(backend, ...temps);
    }
  };
  return { kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: kernelFunc as unknown as KernelFunc };
}
