/**
 * Helpers for kernels that are composed of other wasm kernels: calling a registered kernel
 * function directly (bypassing the engine) and freeing the intermediates it returns.
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';

/** The part of tfjs-backend-wasm's `BackendWasm` these kernels use. */
export interface WasmBackendLike {
  disposeData(dataId: object, force?: boolean): boolean;
  numDataIds(): number;
}

/** A kernel function with its backend, ready to be called on tensor infos. */
export type WasmOp = (inputs: NamedTensorInfoMap, attrs?: NamedAttrMap) => TensorInfo;

/** Looks up the kernel function registered for `name` on the wasm backend (throws if there is none). */
export function wasmKernelFunc(name: string): KernelFunc {
  const config = tf.getKernel(name, 'wasm');
  if (!config) throw new Error(`ae-manifold: the wasm backend has no '${name}' kernel`);
  return config.kernelFunc;
}

/** Binds a kernel function to a backend; the result must be a single tensor info. */
export function bindOp(kernelFunc: KernelFunc, backend: WasmBackendLike): WasmOp {
  return (inputs, attrs = {}) => {
    const out = kernelFunc({ inputs, attrs, backend: backend as unknown as tf.KernelBackend });
    if (Array.isArray(out)) throw new Error('ae-manifold: expected a single output from a wasm kernel');
    return out as TensorInfo;
  };
}

/** Frees intermediate tensor infos made by direct kernel calls (safe for shared data ids). */
export function disposeInfos(backend: WasmBackendLike, ...infos: Array<TensorInfo | undefined>): void {
  for (const info of infos) if (info) backend.disposeData(info.dataId);
}

/** Normalises a stride or dilation attribute to [height, width]. */
export function pair(v: number | [number, number] | undefined, fallback = 1): [number, number] {
  if (v === undefined) return [fallback, fallback];
  return typeof v === 'number' ? [v, v] : [v[0], v[1]];
}

/**
 * The config of a replacement kernel: `kernelFunc` under the stock kernel's name, keeping the stock
 * setup and dispose functions (the replacement falls back to the stock kernel function, which
 * needs its setup to have run).
 */
export function replacementConfig(stock: KernelConfig, kernelFunc: (args: Parameters<KernelFunc>[0]) => TensorInfo | TensorInfo[]): KernelConfig {
  const config: KernelConfig = { kernelName: stock.kernelName, backendName: 'wasm', kernelFunc: kernelFunc as KernelFunc };
  if (stock.setupFunc) config.setupFunc = stock.setupFunc;
  if (stock.disposeFunc) config.disposeFunc = stock.disposeFunc;
  return config;
}
