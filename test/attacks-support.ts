/**
 * Models and closed forms for the attack tests: linear classifiers whose minimal adversarial
 * perturbations are known exactly, and a brute-force minimal L0 search.
 */
import { tf } from './support/tf.js';
import * as tfl from '@tensorflow/tfjs-layers';
import { createRng } from '../src/internal/rng.js';

export interface Linear {
  /** [D, K] row-major */
  W: Float32Array;
  b: Float32Array;
  D: number;
  K: number;
}

/** A seeded linear classifier with K classes on D inputs. */
export function randomLinear(D: number, K: number, seed: number, scale = 1): Linear {
  const rng = createRng(seed);
  const W = new Float32Array(D * K);
  for (let i = 0; i < W.length; i++) W[i] = rng.normal() * scale;
  return { W, b: new Float32Array(K), D, K };
}

export function linearLogits(l: Linear, x: ArrayLike<number>, off = 0): Float64Array {
  const z = new Float64Array(l.K);
  for (let k = 0; k < l.K; k++) {
    let s = l.b[k]!;
    for (let i = 0; i < l.D; i++) s += l.W[i * l.K + k]! * x[off + i]!;
    z[k] = s;
  }
  return z;
}

/** Sequential flatten → dense (linear), weights set from `l`; optionally ending in a softmax. */
export function linearLayersModel(l: Linear, shape: number[], end: 'none' | 'softmax-layer' | 'activation-layer' | 'fused' = 'none'): tfl.Sequential {
  const m = tfl.sequential();
  m.add(tfl.layers.flatten({ inputShape: shape }));
  m.add(tfl.layers.dense({ units: l.K, activation: end === 'fused' ? 'softmax' : 'linear' }));
  if (end === 'softmax-layer') m.add(tfl.layers.softmax());
  if (end === 'activation-layer') m.add(tfl.layers.activation({ activation: 'softmax' }));
  const w = tf.tensor2d(l.W, [l.D, l.K]);
  const b = tf.tensor1d(l.b);
  m.layers[1]!.setWeights([w, b]);
  w.dispose();
  b.dispose();
  return m;
}

/** The same classifier as a plain logits function; call `dispose` when done. */
export function linearFunction(l: Linear): { fn: (x: tf.Tensor) => tf.Tensor; dispose: () => void } {
  const w = tf.tensor2d(l.W, [l.D, l.K]);
  const b = tf.tensor1d(l.b);
  return {
    fn: (x) => tf.add(tf.matMul(tf.reshape(x, [x.shape[0]!, l.D]), w), b),
    dispose: () => {
      w.dispose();
      b.dispose();
    },
  };
}

/**
 * Fewest pixels (channels last, C per pixel) that must change so that class `t` beats class `y`
 * by `margin` on a 2-class linear model, found by trying every subset in order of size.
 * Returns Infinity when even all pixels do not suffice.
 */
export function bruteForceL0(l: Linear, x: ArrayLike<number>, off: number, C: number, y: number, t: number, margin: number): number {
  const P = l.D / C;
  // g(x′) = (w_t − w_y)·x′ + (b_t − b_y); best value on a subset S: each free value to the favourable bound.
  const dw = new Float64Array(l.D);
  for (let i = 0; i < l.D; i++) dw[i] = l.W[i * l.K + t]! - l.W[i * l.K + y]!;
  let g0 = l.b[t]! - l.b[y]!;
  for (let i = 0; i < l.D; i++) g0 += dw[i]! * x[off + i]!;
  const gain = new Float64Array(P);
  for (let p = 0; p < P; p++) {
    let s = 0;
    for (let c = 0; c < C; c++) {
      const i = p * C + c;
      s += dw[i]! > 0 ? dw[i]! * (1 - x[off + i]!) : dw[i]! * (0 - x[off + i]!);
    }
    gain[p] = s;
  }
  let best = Infinity;
  for (let mask = 0; mask < 1 << P; mask++) {
    let bits = 0;
    let g = g0;
    for (let p = 0; p < P; p++) {
      if (mask & (1 << p)) {
        bits++;
        g += gain[p]!;
      }
    }
    if (bits < best && g >= margin) best = bits;
  }
  return best;
}
