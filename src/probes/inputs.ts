/**
 * Probe inputs: recognises the accepted forms, checks them against the model's input shapes and
 * cuts them into batches.
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeMismatchError } from '../errors.js';
import type { ProbeInputs } from './types.js';

/** Inputs cut into batches on demand. */
export interface InputSource {
  /** Number of examples N. */
  count: number;
  /** The batch `[start, start + size)` of every model input. Call inside `tf.tidy`. */
  batch(start: number, size: number): tf.Tensor[];
  /** Whether input i is floating point (and so checked for finiteness). */
  isFloat: boolean[];
}

type FlatInput = { data: Float32Array; shape: readonly number[] };

function flatSource(fn: string, arg: string, data: Float32Array, shape: readonly number[]): { count: number; shape: number[]; batch: (s: number, n: number) => tf.Tensor } {
  if (!Array.isArray(shape) || shape.length < 1 || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new InvalidArgumentError(fn, `${arg}.shape`, 'an array of non-negative integers [N, ...]', shape);
  }
  const size = shape.reduce((a, b) => a * b, 1);
  if (data.length !== size) {
    throw new ShapeMismatchError(fn, `${arg}.data`, [size], [data.length], `the product of ${arg}.shape [${shape.join(', ')}]`);
  }
  const rest = shape.slice(1);
  const row = rest.reduce((a, b) => a * b, 1);
  return {
    count: shape[0]!,
    shape: [...shape],
    // A copy: on the cpu backend a tensor made from a view would alias the caller's array.
    batch: (s, n) => tf.tensor(data.slice(s * row, (s + n) * row), [n, ...rest], 'float32'),
  };
}

/**
 * Normalises `inputs` to an {@link InputSource}, checking it against the model's input shapes
 * (`null` dims are free). Throws typed errors naming `inputs`.
 */
export function toInputSource(
  fn: string,
  inputs: ProbeInputs,
  expected: Array<ReadonlyArray<number | null> | null>,
  inputNames: string[],
): InputSource {
  const parts: Array<{ count: number; shape: number[]; batch: (s: number, n: number) => tf.Tensor; isFloat: boolean; arg: string }> = [];
  if (inputs instanceof tf.Tensor) {
    parts.push(tensorPart(inputs, 'inputs'));
  } else if (Array.isArray(inputs)) {
    inputs.forEach((t: unknown, i) => {
      if (!(t instanceof tf.Tensor)) throw new InvalidArgumentError(fn, `inputs[${i}]`, 'a tf.Tensor', t);
      parts.push(tensorPart(t, `inputs[${i}]`));
    });
  } else if (inputs && typeof inputs === 'object' && 'images' in inputs && inputs.images instanceof Float32Array) {
    parts.push({ ...flatSource(fn, 'inputs', inputs.images, inputs.shape), isFloat: true, arg: 'inputs' });
  } else if (inputs && typeof inputs === 'object' && 'data' in inputs && (inputs as FlatInput).data instanceof Float32Array) {
    const flat = inputs as FlatInput;
    parts.push({ ...flatSource(fn, 'inputs', flat.data, flat.shape), isFloat: true, arg: 'inputs' });
  } else {
    throw new InvalidArgumentError(
      fn,
      'inputs',
      'a tf.Tensor [N, ...], an array of tensors (one per model input), { data: Float32Array, shape } or an ImageSet',
      inputs,
    );
  }
  if (parts.length !== expected.length) {
    throw new InvalidArgumentError(fn, 'inputs', `${expected.length} input(s), one per model input (${inputNames.join(', ')})`, `${parts.length} input(s)`);
  }
  parts.forEach((p, i) => {
    const want = expected[i];
    if (!want) return;
    const fits = want.length === p.shape.length && want.every((d, j) => j === 0 || d === null || d === p.shape[j]);
    if (!fits) {
      throw new ShapeMismatchError(fn, p.arg, [null, ...want.slice(1)], p.shape, `the shape of model input '${inputNames[i]}' is [${want.map((d) => (d === null ? 'null' : d)).join(', ')}]`);
    }
  });
  const count = parts[0]!.count;
  parts.forEach((p) => {
    if (p.count !== count) throw new ShapeMismatchError(fn, p.arg, [count, ...p.shape.slice(1)], p.shape, 'every input needs the same number of examples');
  });
  if (count === 0) throw new InvalidArgumentError(fn, 'inputs', 'at least one example', 'an empty input (N = 0)');
  return {
    count,
    batch: (s, n) => parts.map((p) => p.batch(s, n)),
    isFloat: parts.map((p) => p.isFloat),
  };
}

function tensorPart(t: tf.Tensor, arg: string) {
  const shape = [...t.shape];
  if (shape.length === 0) return { count: 0, shape, batch: () => t, isFloat: true, arg };
  return {
    count: shape[0]!,
    shape,
    batch: (s: number, n: number): tf.Tensor => (s === 0 && n === shape[0] ? tf.clone(t) : tf.slice(t, s, n)),
    isFloat: t.dtype === 'float32',
    arg,
  };
}
