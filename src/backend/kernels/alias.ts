/**
 * `Identity` and same-dtype `Cast` for the wasm backend without a copy. The stock kernels copy
 * the whole tensor; tfjs tensors are immutable and the wasm backend reference-counts its data (as
 * its own `Reshape` does), so the output can share the input's data, exactly as the cpu backend
 * does. Gradients of ReLU layers call these on every activation (about 10 % of the reference
 * CNN's input gradient). Casts to bool are computed as x ≠ 0 (the stock kernel copies the
 * numbers, so 2 became 2 and 0.5 became 0); other casts between dtypes go to the stock kernel.
 * @module
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { hasHeapAccess } from './heap.js';
import { replacementConfig } from './wasm-kernel-util.js';

interface RefCounting {
  incRef(dataId: object): void;
}

function aliasable(backend: unknown, x: TensorInfo): backend is RefCounting {
  return x.dtype !== 'string' && typeof (backend as Partial<RefCounting>).incRef === 'function';
}

/** Builds a replacement for `Identity` (always) or `Cast` (when the dtype does not change). */
export function aliasConfig(stock: KernelConfig): KernelConfig {
  const isCast = stock.kernelName === 'Cast';
  const kernelFunc = (args: Parameters<KernelFunc>[0]): TensorInfo | TensorInfo[] => {
    const { x } = args.inputs as { x: TensorInfo };
    const backend = args.backend;
    const dtype = isCast ? (args.attrs as { dtype?: string }).dtype : x.dtype;
    if (isCast && dtype === 'bool' && x.dtype !== 'bool' && x.dtype !== 'string' && hasHeapAccess(backend)) {
      const out = backend.makeOutput([...x.shape], 'bool');
      const src = backend.typedArrayFromHeap(x);
      const dst = backend.typedArrayFromHeap(out);
      for (let i = 0; i < src.length; i++) dst[i] = src[i] !== 0 ? 1 : 0;
      return out;
    }
    if (!aliasable(backend, x) || dtype !== x.dtype) return stock.kernelFunc(args);
    backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  };
  return replacementConfig(stock, kernelFunc);
}
