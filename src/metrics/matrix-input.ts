/**
 * Internal: turns the matrix arguments of the metrics (a {@link FloatMatrix} or a 2-D tensor) into
 * a validated {@link FloatMatrix}. Not exported from the package.
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeMismatchError } from '../errors.js';
import type { FloatMatrix } from '../types.js';
import { checkMatrix } from '../internal/validate.js';

/** A matrix argument: a row-major {@link FloatMatrix} or a rank-2 tensor. */
export type MatrixInput = FloatMatrix | tf.Tensor2D;

/** True for a tfjs tensor (duck-typed so that tensors of another tfjs copy also pass). */
export function isTensor(x: unknown): x is tf.Tensor {
  return x instanceof tf.Tensor || (typeof x === 'object' && x !== null && 'dataId' in x && Array.isArray((x as { shape?: unknown }).shape));
}

/**
 * Reads and validates a matrix argument: rank 2, non-empty, finite, optional column count. A tensor
 * is read with `await data()` (it is not disposed: the caller owns it).
 */
export async function readMatrix(fn: string, arg: string, x: unknown, cols?: number): Promise<FloatMatrix> {
  if (isTensor(x)) {
    if (x.isDisposed) throw new InvalidArgumentError(fn, arg, 'a live tensor', 'a disposed tensor');
    if (x.rank !== 2) throw new ShapeMismatchError(fn, arg, [null, cols ?? null], x.shape, 'a rank-2 tensor [rows, cols]');
    const data = await x.data();
    const m = {
      data: data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>),
      rows: x.shape[0]!,
      cols: x.shape[1]!,
    };
    return checkMatrix(fn, arg, m, cols === undefined ? {} : { cols });
  }
  return checkMatrix(fn, arg, x, cols === undefined ? {} : { cols });
}

/** Synchronous variant for FloatMatrix-only arguments. */
export function readMatrixSync(fn: string, arg: string, x: unknown, cols?: number): FloatMatrix {
  if (isTensor(x)) throw new InvalidArgumentError(fn, arg, 'a FloatMatrix (use the async variant for tensors)', x);
  return checkMatrix(fn, arg, x, cols === undefined ? {} : { cols });
}

/** Rows `idx` of `m` as a new matrix. */
export function selectRows(m: FloatMatrix, idx: ArrayLike<number>): FloatMatrix {
  const out = new Float32Array(idx.length * m.cols);
  for (let r = 0; r < idx.length; r++) out.set(m.data.subarray(idx[r]! * m.cols, (idx[r]! + 1) * m.cols), r * m.cols);
  return { data: out, rows: idx.length, cols: m.cols };
}
