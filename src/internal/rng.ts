/**
 * Seeded pseudo-random numbers (mulberry32) used wherever the library needs randomness.
 * @module
 */
import { InvalidArgumentError } from '../errors.js';

/** A seeded random source. `next()` is uniform on [0, 1). */
export interface Rng {
  /** The seed this generator was created with (a uint32). */
  readonly seed: number;
  /** Uniform float on [0, 1). */
  next(): number;
  /** Uniform integer on [0, n). */
  int(n: number): number;
  /** Standard normal draw (Box–Muller). */
  normal(): number;
  /** In-place Fisher–Yates shuffle; returns the same array. */
  shuffle<T>(items: T[]): T[];
  /** A fresh uint32, e.g. to seed a tfjs op or a child generator. */
  uint32(): number;
}

/** Draws a seed when the caller gave none (from `crypto` when present). */
export function drawSeed(): number {
  const c = (globalThis as { crypto?: { getRandomValues?: (a: Uint32Array) => Uint32Array } }).crypto;
  if (c?.getRandomValues) return c.getRandomValues(new Uint32Array(1))[0]!;
  return Math.floor(Math.random() * 0x100000000) >>> 0;
}

/**
 * Creates a seeded generator. The same seed always yields the same sequence.
 *
 * @example
 * ```ts
 * import { createRng } from 'ae-manifold';
 * const rng = createRng(42);
 * rng.next(); // 0.6011037519201636, every time
 * ```
 * @param seed a non-negative integer below 2^32; omitted, one is drawn and exposed as `rng.seed`
 * @category Utilities
 */
export function createRng(seed?: number): Rng {
  if (seed !== undefined && !(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 32)) {
    throw new InvalidArgumentError('createRng', 'seed', 'an integer in [0, 2^32)', seed);
  }
  const s0 = seed ?? drawSeed();
  let state = s0 >>> 0;
  let spare: number | undefined;
  const nextUint = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  const next = (): number => nextUint() / 4294967296;
  const rng: Rng = {
    seed: s0,
    next,
    uint32: nextUint,
    int(n: number): number {
      return Math.floor(next() * n);
    },
    normal(): number {
      if (spare !== undefined) {
        const v = spare;
        spare = undefined;
        return v;
      }
      let u = 0;
      while (u === 0) u = next();
      const v = next();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
    shuffle<T>(items: T[]): T[] {
      for (let i = items.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        const tmp = items[i]!;
        items[i] = items[j]!;
        items[j] = tmp;
      }
      return items;
    },
  };
  return rng;
}
