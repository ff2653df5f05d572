/**
 * `Conv2DBackpropFilter` for the wasm backend, which ships without it (so conv nets cannot be
 * trained on stock tfjs-backend-wasm 4.22). The filter gradient is itself a convolution:
 *
 *   dW[a, b, ci, co] = Σ_n Σ_{i,j} xPad[n, i·s + a, j·s + b, ci] · dy[n, i, j, co]
 *
 * so with x transposed to [Ci, H, W, N] (channels as batch, batch as channels) and dy transposed
 * to [Ho, Wo, N, Co] (used as the filter), the fast XNNPACK `Conv2D` with dilation s (the forward
 * stride) and the forward padding yields [Ci, kh, kw, Co], transposed to [kh, kw, Ci, Co].
 * Works for every stride, padding mode and NHWC/NCHW layout.
 *
 * When that dy "filter" is large (the batch is a reduction axis of this convolution, so the
 * "filter" grows with it), XNNPACK streams it from memory for every few output rows, and the
 * wasm `Conv2D` transposes and packs all of it on every call. The batch is then split into
 * groups of g images: x and dy are transposed once, to [N/g, Ci, H, W, g] and
 * [N/g, Ho, Wo, g, Co], so that every group is a contiguous block; each block is handed to
 * `Conv2D` as a view of the heap (no copy), and the partial gradients are summed in float64.
 * The group size keeps a group's "filter" about cache-sized. `Conv2D` transposes and packs a
 * filter of Ho·Wo·g rows of Co, and when Ho·Wo·g is a multiple of a large power of two (256 and
 * up) those passes are several times slower (cache-set conflicts): the group size avoids such
 * multiples, and when Ho·Wo alone is one (32 × 32 images), dy gets a column of zeros (Wo + 1
 * columns, x one more stride of right padding), which changes nothing in the sums. A last,
 * smaller group takes the remainder of the batch.
 * @module
 */
import { backend_util } from '@tensorflow/tfjs-core';
import type { DataType, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { f32, hasHeapAccess } from './heap.js';
import type { WasmHeapBackend } from './heap.js';
import { bindOp, disposeInfos, pair, wasmKernelFunc } from './wasm-kernel-util.js';
import type { WasmBackendLike, WasmOp } from './wasm-kernel-util.js';

interface FilterAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

/** Batch size times dy bytes above which the batch is split into groups (see {@link backpropFilterGroupSize}). */
const GROUP_ABOVE_BYTES = 3 * 1024 * 1024;
/** Target size of one group's dy "filter", in bytes. */
const GROUP_TARGET_BYTES = 2 * 1024 * 1024;

/** Factors of two from which Ho·Wo·g counts as a multiple of a large power of two. */
const ALIASING_TWOS = 8;

/** The power of two in n (n > 0), capped at 31. */
function twos(n: number): number {
  let k = 0;
  while (k < 31 && n % 2 === 0) {
    n /= 2;
    k++;
  }
  return k;
}

/**
 * Images per group for the grouped filter gradient, or 0 for one convolution over the whole batch.
 * Groups are used when the whole dy (batch × Ho × Wo × Co floats) is larger than 3 MiB; a group's
 * dy is then about 2 MiB, with a size chosen among the neighbours of that target so that
 * Ho × Wo × g has as few factors of two as possible.
 */
export function backpropFilterGroupSize(batch: number, outHeight: number, outWidth: number, outChannels: number): number {
  const perImage = outHeight * outWidth * outChannels * 4;
  if (batch < 2 || perImage * batch <= GROUP_ABOVE_BYTES) return 0;
  const target = Math.max(1, Math.min(batch - 1, Math.round(GROUP_TARGET_BYTES / perImage)));
  let best = target;
  for (const g of [target - 1, target + 1]) {
    if (g >= 1 && g < batch && twos(outHeight * outWidth * g) < twos(outHeight * outWidth * best)) best = g;
  }
  return best;
}

/** The `BackendWasm` internals used to register views of the heap as tensors. */
interface WasmViewBackend extends WasmHeapBackend {
  dataIdMap: {
    get(dataId: object): { id: number; memoryOffset: number } | undefined;
    set(dataId: object, data: { id: number; memoryOffset: number; shape: number[]; dtype: DataType; refCount: number }): void;
    delete(dataId: object): boolean;
  };
  dataIdNextNumber: number;
  wasm: { tfjs: { registerTensor(id: number, size: number, memoryOffset: number): void; disposeData(id: number): void } };
}

function hasViewAccess(backend: unknown): backend is WasmViewBackend {
  if (!hasHeapAccess(backend)) return false;
  const b = backend as unknown as Partial<WasmViewBackend>;
  return (
    typeof b.dataIdMap?.get === 'function' &&
    typeof b.dataIdMap.set === 'function' &&
    typeof b.dataIdMap.delete === 'function' &&
    typeof b.dataIdNextNumber === 'number' &&
    typeof b.wasm?.tfjs?.registerTensor === 'function' &&
    typeof b.wasm.tfjs.disposeData === 'function'
  );
}

const size = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);

/**
 * A float32 tensor info over `shape` elements of `base`'s heap memory from element `offset` on
 * (no copy). It has its own id in the C++ backend (so operator caches keyed by tensor id, such as
 * `Conv2D`'s packed filters, are per view and freed with it); free it with {@link disposeView}.
 */
function makeView(backend: WasmViewBackend, base: TensorInfo, offset: number, shape: number[]): TensorInfo {
  const data = backend.dataIdMap.get(base.dataId);
  if (!data) throw new Error('ae-manifold Conv2DBackpropFilter: unknown tensor');
  const id = backend.dataIdNextNumber++;
  const dataId = { id };
  const memoryOffset = data.memoryOffset + offset * 4;
  backend.dataIdMap.set(dataId, { id, memoryOffset, shape, dtype: 'float32', refCount: 1 });
  backend.wasm.tfjs.registerTensor(id, size(shape), memoryOffset);
  return { dataId, shape, dtype: 'float32' };
}

function disposeView(backend: WasmViewBackend, view: TensorInfo): void {
  const data = backend.dataIdMap.get(view.dataId);
  if (!data) return;
  backend.wasm.tfjs.disposeData(data.id);
  backend.dataIdMap.delete(view.dataId);
}

/** Zero columns to append to dy so that the group's filter rows avoid large powers of two. */
function zeroColumns(outHeight: number, outWidth: number, g: number): number {
  const t = twos(outHeight * outWidth * g);
  return t >= ALIASING_TWOS && twos(outHeight * (outWidth + 1) * g) < t ? 1 : 0;
}

interface Geometry {
  nchw: boolean;
  N: number;
  H: number;
  W: number;
  Ci: number;
  Ho: number;
  Wo: number;
  Co: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  pad: number[][];
}

/**
 * Builds the kernel config; the wasm Transpose, Conv2D, Slice and PadV2 kernels must be registered.
 * `groupSize` (images per group, 0 for one convolution) is {@link backpropFilterGroupSize} unless
 * a test forces another.
 */
export function conv2DBackpropFilterConfig(groupSize: typeof backpropFilterGroupSize = backpropFilterGroupSize): KernelConfig {
  const transposeK = wasmKernelFunc('Transpose');
  const conv2dK = wasmKernelFunc('Conv2D');
  const sliceK = wasmKernelFunc('Slice');
  const padK = wasmKernelFunc('PadV2');
  const kernelFunc = (args: Parameters<KernelFunc>[0]): TensorInfo => {
    const backend = args.backend as unknown as WasmBackendLike;
    const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
    const attrs = args.attrs as unknown as FilterAttrs;
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
    const geo: Geometry = {
      nchw,
      N: convInfo.batchSize,
      H,
      W,
      Ci: convInfo.inChannels,
      Ho,
      Wo,
      Co: convInfo.outChannels,
      kh,
      kw,
      sh,
      sw,
      pad,
    };
    const transpose = bindOp(transposeK, backend);
    const conv2d = bindOp(conv2dK, backend);
    const g = Math.min(geo.N, Math.max(0, Math.floor(groupSize(geo.N, Ho, Wo, geo.Co))));
    if (g > 0 && x.dtype === 'float32' && dy.dtype === 'float32' && hasViewAccess(backend)) {
      return grouped(backend, transpose, conv2d, bindOp(padK, backend), x, dy, geo, g);
    }
    return whole(backend, transpose, conv2d, bindOp(sliceK, backend), x, dy, geo);
  };
  return { kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: kernelFunc as unknown as KernelFunc };
}

/** One convolution over the whole batch. */
function whole(backend: WasmBackendLike, transpose: WasmOp, conv2d: WasmOp, slice: WasmOp, x: TensorInfo, dy: TensorInfo, geo: Geometry): TensorInfo {
  const { nchw, kh, kw, sh, sw, pad } = geo;
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
}

/** The batch in groups of g images (and a last group with the remainder), summed in float64. */
function grouped(backend: WasmViewBackend, transpose: WasmOp, conv2d: WasmOp, padOp: WasmOp, x: TensorInfo, dy: TensorInfo, geo: Geometry, g: number): TensorInfo {
  const { nchw, N, H, W, Ci, Ho, Wo, Co, kh, kw, sh, sw } = geo;
  const zeros = zeroColumns(Ho, Wo, g);
  const WoP = Wo + zeros;
  // The extra dy column meets x one stride further right: pad x by that much more.
  const pad = zeros === 0 ? geo.pad : [geo.pad[0]!, geo.pad[1]!, [geo.pad[2]![0]!, geo.pad[2]![1]! + zeros * sw], geo.pad[3]!];
  const xImage = H * W * Ci;
  const dyImage = Ho * Wo * Co;
  const acc = new Float64Array(Ci * kh * kw * Co);
  const views: TensorInfo[] = [];
  const temps: TensorInfo[] = [];
  try {
    const full = Math.floor(N / g);
    const parts: Array<{ first: number; groups: number; size: number }> = [{ first: 0, groups: full, size: g }];
    if (N > full * g) parts.push({ first: full * g, groups: 1, size: N - full * g });
    for (const part of parts) {
      const { first, groups, size: gs } = part;
      // Images [first, first + groups·gs) of x and dy, as [groups, gs, ...] (contiguous, no copy).
      const xPart = makeView(backend, x, first * xImage, nchw ? [groups, gs, Ci, H, W] : [groups, gs, H, W, Ci]);
      views.push(xPart);
      const dyPart = makeView(backend, dy, first * dyImage, nchw ? [groups, gs, Co, Ho, Wo] : [groups, gs, Ho, Wo, Co]);
      views.push(dyPart);
      // -> [groups, Ci, H, W, gs] and [groups, Ho, Wo, gs, Co]: each group one contiguous block.
      const xT = transpose({ x: xPart }, { perm: nchw ? [0, 2, 3, 4, 1] : [0, 4, 2, 3, 1] });
      temps.push(xT);
      let dyT = { ...dyPart, shape: [groups, Ho, Wo, gs, Co] };
      if (nchw || gs > 1) {
        dyT = transpose({ x: dyPart }, { perm: nchw ? [0, 3, 4, 1, 2] : [0, 2, 3, 1, 4] });
        temps.push(dyT);
      }
      if (zeros > 0) {
        dyT = padOp({ x: dyT }, { paddings: [[0, 0], [0, 0], [0, zeros], [0, 0], [0, 0]], constantValue: 0 });
        temps.push(dyT);
      }
      const xBlock = Ci * H * W * gs;
      const dyBlock = Ho * WoP * gs * Co;
      for (let k = 0; k < groups; k++) {
        const xg = makeView(backend, xT, k * xBlock, [Ci, H, W, gs]);
        views.push(xg);
        const dyg = makeView(backend, dyT, k * dyBlock, [Ho, WoP, gs, Co]);
        views.push(dyg);
        const out = conv2d({ x: xg, filter: dyg }, { strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [sh, sw], dimRoundingMode: 'floor' });
        try {
          // [Ci, kh', kw', Co] with kh' ≥ kh, kw' ≥ kw (rows/columns the forward pass ignored).
          const o = f32(backend, out);
          const oh = out.shape[1]!;
          const ow = out.shape[2]!;
          if (oh === kh && ow === kw) {
            for (let i = 0; i < acc.length; i++) acc[i] = acc[i]! + o[i]!;
          } else {
            let dst = 0;
            for (let ci = 0; ci < Ci; ci++) {
              for (let a = 0; a < kh; a++) {
                let src = ((ci * oh + a) * ow) * Co;
                for (let n = kw * Co; n > 0; n--, dst++, src++) acc[dst] = acc[dst]! + o[src]!;
              }
            }
          }
        } finally {
          disposeInfos(backend, out);
        }
        disposeView(backend, views.pop()!);
        disposeView(backend, views.pop()!);
      }
    }
  } finally {
    for (const v of views) disposeView(backend, v);
    disposeInfos(backend, ...temps);
  }
  // [Ci, kh, kw, Co] -> [kh, kw, Ci, Co]
  const result = backend.makeOutput([kh, kw, Ci, Co], 'float32');
  const r = f32(backend, result);
  for (let ci = 0; ci < Ci; ci++) {
    for (let ab = 0; ab < kh * kw; ab++) {
      const src = (ci * kh * kw + ab) * Co;
      const dst = (ab * Ci + ci) * Co;
      for (let co = 0; co < Co; co++) r[dst + co] = acc[src + co]!;
    }
  }
  return result;
}
