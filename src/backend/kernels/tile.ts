/**
 * Faster `Tile` for the wasm backend. The BatchNorm gradient of tfjs-core tiles a `[1, 1, 1, C]`
 * scale to the full `[N, H, W, C]` activation shape; the stock kernel computes every output index
 * and took 0.3 s of a 1.6 s CIFAR-10 training step. This one copies blocks in the wasm heap: the
 * innermost row once, then each finished block is repeated with `copyWithin`, axis by axis.
 * @module
 */
import { util } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { hasHeapAccess } from './heap.js';
import { replacementConfig } from './wasm-kernel-util.js';

type HeapArray = Float32Array | Int32Array | Uint8Array;

/**
 * Writes `tile(src, reps)` into `dst` (both row-major, `dst` sized for the tiled shape).
 * Exported for the kernel tests.
 */
export function tileInto(src: HeapArray, shape: readonly number[], reps: readonly number[], dst: HeapArray): void {
  const rank = shape.length;
  if (rank === 0) {
    dst[0] = src[0]!;
    return;
  }
  const srcStride = new Array<number>(rank).fill(1);
  const dstStride = new Array<number>(rank).fill(1);
  for (let a = rank - 2; a >= 0; a--) {
    srcStride[a] = srcStride[a + 1]! * shape[a + 1]!;
    dstStride[a] = dstStride[a + 1]! * shape[a + 1]! * reps[a + 1]!;
  }
  const fill = (axis: number, srcOff: number, dstOff: number): void => {
    const n = shape[axis]!;
    if (axis === rank - 1) {
      dst.set(src.subarray(srcOff, srcOff + n) as never, dstOff);
    } else {
      for (let i = 0; i < n; i++) fill(axis + 1, srcOff + i * srcStride[axis]!, dstOff + i * dstStride[axis]!);
    }
    const block = n * dstStride[axis]!;
    for (let r = 1; r < reps[axis]!; r++) dst.copyWithin(dstOff + r * block, dstOff, dstOff + block);
  };
  fill(0, 0, 0);
}

/** Builds the replacement config around the stock one (same setup and dispose functions). */
export function tileConfig(stock: KernelConfig): KernelConfig {
  const kernelFunc = (args: Parameters<KernelFunc>[0]): TensorInfo | TensorInfo[] => {
    const { x } = args.inputs as { x: TensorInfo };
    const { reps } = args.attrs as { reps: number[] };
    const backend = args.backend;
    const plain = x.dtype === 'float32' || x.dtype === 'int32' || x.dtype === 'bool';
    if (!plain || !hasHeapAccess(backend) || util.sizeFromShape(x.shape) === 0) return stock.kernelFunc(args);
    const outShape = x.shape.map((d, i) => d * reps[i]!);
    const out = backend.makeOutput(outShape, x.dtype);
    if (util.sizeFromShape(outShape) === 0) return out;
    tileInto(backend.typedArrayFromHeap(x), x.shape, reps, backend.typedArrayFromHeap(out));
    return out;
  };
  return replacementConfig(stock, kernelFunc);
}
