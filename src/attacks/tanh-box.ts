/**
 * The box [lo, hi] an attack stays inside, per channel, and the tanh change of variables
 * x′ = mid + half·tanh(w) that keeps every iterate inside it (ATTACKS.md §1).
 * @module
 */
import { InvalidArgumentError } from '../errors.js';

/**
 * Input bounds of an attack: one pair for every value, or one pair per channel (last axis).
 *
 * @example
 * ```ts
 * const pixels: Bounds = [0, 1];
 * const perChannel: Bounds = [[0, 0, 0], [1, 1, 1]];
 * ```
 * @category Attacks
 */
export type Bounds = readonly [number, number] | readonly [readonly number[], readonly number[]];

/**
 * Shrink factor s applied before atanh: w₀ = atanh(s·(x − mid)/half). It keeps atanh finite at
 * exact 0 and 1 pixels (the original multiplies by 1.999999 on its [−0.5, 0.5] box).
 */
export const TANH_SHRINK = 0.9999995;

/**
 * The shrink factor on a float16 backend: 1 − 2⁻¹⁰. With {@link TANH_SHRINK}, tanh(w₀) of a pixel
 * at the box edge rounds to exactly ±1 in float16, so its gradient 1 − tanh² is 0 and the pixel can
 * never move (measured on WebGL with half-float textures). 1 − 2⁻¹⁰ is a float16 number whose
 * tanh-gradient (≈ 2⁻⁹) survives, at the price of starting edge pixels 2⁻¹⁰·half inside the box.
 */
export const TANH_SHRINK_FLOAT16 = 1 - 2 ** -10;

/** The shrink factor for a backend of the given float precision. */
export function tanhShrinkFor(precision: 16 | 32): number {
  return precision === 16 ? TANH_SHRINK_FLOAT16 : TANH_SHRINK;
}

/** A resolved box: per-channel bounds as float64 arrays of length `channels`. */
export interface Box {
  readonly channels: number;
  readonly lo: Float64Array;
  readonly hi: Float64Array;
  readonly mid: Float64Array;
  readonly half: Float64Array;
  /** The largest hi − lo over channels (the L∞ τ schedule starts here). */
  readonly maxWidth: number;
  /** Shrink factor s of the tanh change of variables ({@link TANH_SHRINK} or {@link TANH_SHRINK_FLOAT16}). */
  readonly shrink: number;
}

/** Checks `bounds` and expands it to `channels` entries; `shrink` is the tanh shrink factor s. */
export function resolveBox(fn: string, bounds: Bounds | undefined, channels: number, shrink: number = TANH_SHRINK): Box {
  const b = bounds ?? [0, 1];
  if (!Array.isArray(b) || b.length !== 2) {
    throw new InvalidArgumentError(fn, 'options.bounds', 'a pair [lo, hi] or a pair of per-channel arrays [lo[], hi[]]', b);
  }
  const expand = (v: unknown, which: string): Float64Array => {
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new InvalidArgumentError(fn, `options.bounds[${which}]`, 'a finite number', v);
      return new Float64Array(channels).fill(v);
    }
    if (Array.isArray(v) || ArrayBuffer.isView(v)) {
      const arr = v as ArrayLike<number>;
      if (arr.length !== channels) {
        throw new InvalidArgumentError(fn, `options.bounds[${which}]`, `one value per channel (${channels})`, v);
      }
      const out = Float64Array.from(arr);
      for (const x of out) if (!Number.isFinite(x)) throw new InvalidArgumentError(fn, `options.bounds[${which}]`, 'finite values', x);
      return out;
    }
    throw new InvalidArgumentError(fn, `options.bounds[${which}]`, 'a number or an array with one number per channel', v);
  };
  const lo = expand(b[0], '0');
  const hi = expand(b[1], '1');
  const mid = new Float64Array(channels);
  const half = new Float64Array(channels);
  let maxWidth = 0;
  for (let c = 0; c < channels; c++) {
    if (!(hi[c]! > lo[c]!)) {
      throw new InvalidArgumentError(fn, 'options.bounds', 'lo < hi for every channel', `lo ${lo[c]} and hi ${hi[c]} at channel ${c}`);
    }
    mid[c] = (hi[c]! + lo[c]!) / 2;
    half[c] = (hi[c]! - lo[c]!) / 2;
    maxWidth = Math.max(maxWidth, hi[c]! - lo[c]!);
  }
  return { channels, lo, hi, mid, half, maxWidth, shrink };
}

/**
 * The tanh-space point of a pixel-space image: w = atanh(s·(x − mid)/half), computed in float64
 * with the box's shrink factor s.
 * `out` receives one value per element of `x` (channels last).
 */
export function toTanhSpace(box: Box, x: Float32Array, out: Float32Array = new Float32Array(x.length)): Float32Array {
  const C = box.channels;
  const s = box.shrink;
  for (let i = 0; i < x.length; i++) {
    const c = i % C;
    let u = (s * (x[i]! - box.mid[c]!)) / box.half[c]!;
    // Values a rounding step outside the box still map to a finite w.
    if (u > s) u = s;
    else if (u < -s) u = -s;
    out[i] = Math.atanh(u);
  }
  return out;
}

/** The image the tanh parametrisation reconstructs from w: mid + half·tanh(w), in float64. */
export function fromTanhSpace(box: Box, w: Float32Array, out: Float32Array = new Float32Array(w.length)): Float32Array {
  const C = box.channels;
  for (let i = 0; i < w.length; i++) {
    const c = i % C;
    out[i] = box.mid[c]! + box.half[c]! * Math.tanh(w[i]!);
  }
  return out;
}

/** Clips `x` into the box in place (guards against a rounding step outside it) and returns it. */
export function clipToBox(box: Box, x: Float32Array): Float32Array {
  const C = box.channels;
  for (let i = 0; i < x.length; i++) {
    const c = i % C;
    const v = x[i]!;
    if (v < box.lo[c]!) x[i] = box.lo[c]!;
    else if (v > box.hi[c]!) x[i] = box.hi[c]!;
  }
  return x;
}

/** Index and value of the first element of `x` that lies outside the box, or undefined. */
export function findOutOfBox(box: Box, x: Float32Array): { index: number; value: number } | undefined {
  const C = box.channels;
  for (let i = 0; i < x.length; i++) {
    const c = i % C;
    const v = x[i]!;
    if (!(v >= box.lo[c]! && v <= box.hi[c]!)) return { index: i, value: v };
  }
  return undefined;
}
