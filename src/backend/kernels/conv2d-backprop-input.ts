/**
 * Faster `Conv2DBackpropInput` for the wasm backend. The stock kernel is a plain single-threaded
 * loop; for stride 1 and NHWC the input gradient is exactly a forward convolution of dy with the
 * spatially reversed, in/out-swapped filter and padding (k − 1 − p), which runs on the
 * XNNPACK-backed (and multi-threaded) `Conv2D`. Every other case calls the stock kernel.
 * @module
 */
import { backend_util } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
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

/** Builds the replacement config around the stock one (same setup and dispose functions). */
export function conv2DBackpropInputConfig(stock: KernelConfig): KernelConfig {
  const reverseK = wasmKernelFunc('Reverse');
  const transposeK = wasmKernelFunc('Transpose');
  const conv2dK = wasmKernelFunc('Conv2D');
  const kernelFunc = (args: Parameters<KernelFunc>[0]): TensorInfo | TensorInfo[] => {
    const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
    const attrs = args.attrs as unknown as InputAttrs;
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
