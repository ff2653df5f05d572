/**
 * Faster `SplitV` for the wasm backend. `tf.concat`'s gradient is a split; the replicate padding
 * of the CIFAR-10 CNN concatenates along height and width, and the stock kernel (one strided
 * `Slice` per part) took 0.08 s of a 1.6 s training step. This one copies the contiguous runs of
 * each part directly in the wasm heap.
 * @module
 */
import { backend_util, util } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { hasHeapAccess } from './heap.js';
import { replacementConfig } from './wasm-kernel-util.js';

/** Builds the replacement config around the stock one (same setup and dispose functions). */
export function splitVConfig(stock: KernelConfig): KernelConfig {
  const kernelFunc = (args: Parameters<KernelFunc>[0]): TensorInfo | TensorInfo[] => {
    const { x } = args.inputs as { x: TensorInfo };
    const { numOrSizeSplits, axis } = args.attrs as { numOrSizeSplits: number | number[]; axis: number | number[] };
    const backend = args.backend;
    const plain = x.dtype === 'float32' || x.dtype === 'int32' || x.dtype === 'bool';
    if (!plain || !hasHeapAccess(backend) || util.sizeFromShape(x.shape) === 0) return stock.kernelFunc(args);
    const ax = util.parseAxisParam(axis, x.shape)[0]!;
    const sizes = backend_util.prepareSplitSize(x as never, numOrSizeSplits, ax);
    const outer = util.sizeFromShape(x.shape.slice(0, ax));
    const inner = util.sizeFromShape(x.shape.slice(ax + 1));
    const outs = sizes.map((s) => {
      const shape = x.shape.slice();
      shape[ax] = s;
      return backend.makeOutput(shape, x.dtype);
    });
    // Views only after the last allocation (the heap may have grown).
    const src = backend.typedArrayFromHeap(x);
    const dsts = outs.map((o) => backend.typedArrayFromHeap(o));
    const rowLength = x.shape[ax]! * inner;
    for (let o = 0; o < outer; o++) {
      let offset = o * rowLength;
      for (let p = 0; p < sizes.length; p++) {
        const n = sizes[p]! * inner;
        if (n > 0) dsts[p]!.set(src.subarray(offset, offset + n) as never, o * n);
        offset += n;
      }
    }
    return outs;
  };
  return replacementConfig(stock, kernelFunc);
}
