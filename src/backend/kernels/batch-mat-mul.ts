/**
 * `BatchMatMul` for the wasm backend with fast transposed operands. The stock kernel is many
 * times slower when `transposeA`/`transposeB` is set (the dense-layer gradients and kNN use the
 * flags); materialising the flagged operand with the wasm `Transpose` kernel first and calling
 * the plain product gives bit-identical results much faster.
 * @module
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { bindOp, disposeInfos, wasmKernelFunc, replacementConfig } from './wasm-kernel-util.js';
import type { WasmBackendLike } from './wasm-kernel-util.js';

function swapLastTwo(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return perm;
}

/** Builds the replacement config around the stock one (same setup and dispose functions). */
export function batchMatMulConfig(stock: KernelConfig): KernelConfig {
  const transposeK = wasmKernelFunc('Transpose');
  const kernelFunc = (args: Parameters<KernelFunc>[0]): TensorInfo | TensorInfo[] => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const { transposeA = false, transposeB = false } = args.attrs as { transposeA?: boolean; transposeB?: boolean };
    if ((!transposeA && !transposeB) || a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) {
      return stock.kernelFunc(args);
    }
    const backend = args.backend as unknown as WasmBackendLike;
    const transpose = bindOp(transposeK, backend);
    const temps: TensorInfo[] = [];
    try {
      let aa = a;
      let bb = b;
      if (transposeA) temps.push((aa = transpose({ x: a }, { perm: swapLastTwo(a.shape.length) })));
      if (transposeB) temps.push((bb = transpose({ x: b }, { perm: swapLastTwo(b.shape.length) })));
      return stock.kernelFunc({ ...args, inputs: { a: aa, b: bb }, attrs: { ...args.attrs, transposeA: false, transposeB: false } });
    } finally {
      disposeInfos(backend, ...temps);
    }
  };
  return replacementConfig(stock, kernelFunc);
}
