/**
 * Direct access to tensors in the wasm heap, for kernels whose best form is a simple JavaScript
 * loop (memory-bound work that the stock C++ kernels do slowly). Relies on `BackendWasm`
 * internals of the pinned version: `makeOutput` and `typedArrayFromHeap`.
 * @module
 */
import type { DataType, TensorInfo } from '@tensorflow/tfjs-core';
import type { WasmBackendLike } from './wasm-kernel-util.js';

/** The heap-related part of tfjs-backend-wasm's `BackendWasm`. */
export interface WasmHeapBackend extends WasmBackendLike {
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/** Float32 view of a tensor's data in the heap. Take views only after the last allocation. */
export function f32(backend: WasmHeapBackend, info: TensorInfo): Float32Array {
  const a = backend.typedArrayFromHeap(info);
  if (!(a instanceof Float32Array)) throw new Error('ae-manifold: expected a float32 tensor');
  return a;
}

/** Whether the backend exposes the heap methods these kernels need. */
export function hasHeapAccess(backend: unknown): backend is WasmHeapBackend {
  const b = backend as Partial<WasmHeapBackend>;
  return typeof b.makeOutput === 'function' && typeof b.typedArrayFromHeap === 'function';
}
