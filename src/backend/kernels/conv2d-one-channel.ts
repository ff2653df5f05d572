/**
 * Convolutions of a one-channel input (the first layer of a grey-scale image net) on ae-manifold's
 * SIMD kernels: `Conv2D` and `FusedConv2D` (bias, linear or ReLU activation), forward. XNNPACK
 * runs these at about half the multiply-add rate of its multi-channel convolutions, since the
 * reduction has only kh·kw terms; kernels.c (`conv1ch_forward`) makes the output channels the
 * vector lanes instead (2.2× XNNPACK's rate on the MNIST CNN's first layer). Covered: NHWC
 * float32, 'valid' padding (or explicit zero padding), stride 1, dilation 1, a multiple of 4
 * output channels, bias of one value per channel, linear or ReLU activation. Everything else runs
 * the stock kernel.
 * @module
 */
import { backend_util } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { hasHeapAccess } from './heap.js';
import { simdKernelsOf } from './simd/module.js';
import type { Conv1chGeometry } from './simd/module.js';
import { pair, replacementConfig } from './wasm-kernel-util.js';

/** The attributes of `Conv2D` and `FusedConv2D` that decide the geometry. */
interface ConvAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dilations?: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * The geometry of the one-channel path for an input of `inputShape` and a filter of
 * `filterShape`, or `undefined` when these attributes are not a one-channel 'valid' stride-1
 * NHWC convolution with a multiple of 4 output channels.
 */
export function oneChannelGeometry(inputShape: readonly number[], filterShape: readonly number[], attrs: ConvAttrs): Conv1chGeometry | undefined {
  if (attrs.dataFormat === 'NCHW' || inputShape.length !== 4 || filterShape.length !== 4) return undefined;
  const [N, H, W, Ci] = inputShape as [number, number, number, number];
  const [kh, kw, fi, Co] = filterShape as [number, number, number, number];
  if (Ci !== 1 || fi !== 1 || Co % 4 !== 0 || Co === 0 || N === 0 || H < kh || W < kw) return undefined;
  const [sh, sw] = pair(attrs.strides);
  const [dh, dw] = pair(attrs.dilations);
  if (sh !== 1 || sw !== 1 || dh !== 1 || dw !== 1) return undefined;
  const info = backend_util.computeConv2DInfo(
    inputShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    1,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  // With no padding at stride 1 the output is (H − kh + 1) × (W − kw + 1), as the kernel assumes.
  const { top, bottom, left, right } = info.padInfo;
  if (top !== 0 || bottom !== 0 || left !== 0 || right !== 0) return undefined;
  return { N, H, W, kh, kw, Co };
}

/** Replacement for `Conv2D` and `FusedConv2D` around the stock config. */
export function oneChannelConvConfig(stock: KernelConfig): KernelConfig {
  const fused = stock.kernelName === 'FusedConv2D';
  const kernelFunc = (args: Parameters<KernelFunc>[0]): TensorInfo | TensorInfo[] => {
    const { x, filter, bias, preluActivationWeights } = args.inputs as { x: TensorInfo; filter: TensorInfo; bias?: TensorInfo; preluActivationWeights?: TensorInfo };
    const attrs = args.attrs as unknown as ConvAttrs & { activation?: string };
    const backend = args.backend;
    const simd = simdKernelsOf(backend);
    const activation = fused ? (attrs.activation ?? 'linear') : 'linear';
    if (!simd || !hasHeapAccess(backend) || preluActivationWeights || (activation !== 'linear' && activation !== 'relu') || x.dtype !== 'float32' || filter.dtype !== 'float32') {
      return stock.kernelFunc(args);
    }
    const g = oneChannelGeometry(x.shape, filter.shape, attrs);
    if (!g || (bias && (bias.dtype !== 'float32' || bias.shape.length !== 1 || bias.shape[0] !== g.Co))) return stock.kernelFunc(args);
    const y = backend.makeOutput([g.N, g.H - g.kh + 1, g.W - g.kw + 1, g.Co], 'float32');
    simd.conv1chForward(x, filter, bias, y, g, activation === 'relu');
    return y;
  };
  return replacementConfig(stock, kernelFunc);
}
