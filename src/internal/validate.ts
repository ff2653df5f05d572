/**
 * Argument checks shared by the public functions. Each throws a typed error naming the function
 * and the argument.
 * @module
 */
import { AbortedError, InvalidArgumentError, ShapeMismatchError } from '../errors.js';
import type { FloatMatrix } from '../types.js';

/** Throws {@link AbortedError} if `signal` has been aborted. */
export function throwIfAborted(fn: string, signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortedError(fn, signal.reason);
}

/** An integer in [min, max]. */
export function checkInteger(fn: string, arg: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`;
    throw new InvalidArgumentError(fn, arg, `an integer ${range}`, value);
  }
  return value;
}

/** A finite number in [min, max] (bounds inclusive unless `exclusiveMin`). */
export function checkNumber(
  fn: string,
  arg: string,
  value: unknown,
  min = -Infinity,
  max = Infinity,
  exclusiveMin = false,
): number {
  const ok =
    typeof value === 'number' && Number.isFinite(value) && (exclusiveMin ? value > min : value >= min) && value <= max;
  if (!ok) {
    const lo = min === -Infinity ? '' : `${exclusiveMin ? '>' : '>='} ${min}`;
    const hi = max === Infinity ? '' : `<= ${max}`;
    throw new InvalidArgumentError(fn, arg, `a finite number${lo || hi ? ` ${[lo, hi].filter(Boolean).join(' and ')}` : ''}`, value);
  }
  return value;
}

/** Rejects option keys the function does not know (catches typos such as `maxIteration`). */
export function checkKnownOptions(fn: string, options: object | undefined, known: readonly string[]): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object') {
    throw new InvalidArgumentError(fn, 'options', 'an object', options);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new InvalidArgumentError(fn, `options.${key}`, `one of the known options (${known.join(', ')})`, key);
    }
  }
}

/** Checks a {@link FloatMatrix}: consistent sizes, non-empty and (optionally) finite. */
export function checkMatrix(fn: string, arg: string, m: unknown, opts: { cols?: number; finite?: boolean } = {}): FloatMatrix {
  const mm = m as Partial<FloatMatrix> | null;
  if (!mm || typeof mm !== 'object' || !(mm.data instanceof Float32Array) || !Number.isInteger(mm.rows) || !Number.isInteger(mm.cols)) {
    throw new InvalidArgumentError(fn, arg, 'a matrix { data: Float32Array, rows, cols }', m);
  }
  const rows = mm.rows as number;
  const cols = mm.cols as number;
  if (rows < 1 || cols < 1) throw new InvalidArgumentError(fn, arg, 'a non-empty matrix', `${rows} x ${cols}`);
  if (mm.data.length !== rows * cols) {
    throw new ShapeMismatchError(fn, `${arg}.data`, [rows * cols], [mm.data.length], 'rows * cols values');
  }
  if (opts.cols !== undefined && cols !== opts.cols) {
    throw new ShapeMismatchError(fn, arg, [null, opts.cols], [rows, cols]);
  }
  if (opts.finite !== false) {
    const d = mm.data;
    for (let i = 0; i < d.length; i++) {
      if (!Number.isFinite(d[i]!)) {
        throw new InvalidArgumentError(fn, arg, 'finite values only', `${d[i]} at row ${Math.floor(i / cols)}, column ${i % cols}`);
      }
    }
  }
  return mm as FloatMatrix;
}

/** Integer class labels in [0, numClasses), of a given length. */
export function checkLabels(
  fn: string,
  arg: string,
  labels: unknown,
  length: number,
  numClasses = Number.MAX_SAFE_INTEGER,
): Int32Array {
  if (!(labels instanceof Int32Array) && !Array.isArray(labels) && !(ArrayBuffer.isView(labels))) {
    throw new InvalidArgumentError(fn, arg, 'an Int32Array or array of integer labels', labels);
  }
  const arr = labels as ArrayLike<number>;
  if (arr.length !== length) throw new ShapeMismatchError(fn, arg, [length], [arr.length]);
  const out = labels instanceof Int32Array ? labels : Int32Array.from(arr);
  for (let i = 0; i < arr.length; i++) {
    const v = arr[i]!;
    if (!Number.isInteger(v) || v < 0 || v >= numClasses) {
      const range = numClasses === Number.MAX_SAFE_INTEGER ? '>= 0' : `in [0, ${numClasses})`;
      throw new InvalidArgumentError(fn, `${arg}[${i}]`, `an integer label ${range}`, v);
    }
  }
  return out;
}

/** Lets the event loop run (progress callbacks, abort signals) between batches. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
