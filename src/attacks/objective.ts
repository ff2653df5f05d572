/**
 * The C&W objective f6 on logits and the success tests of the original code (ATTACKS.md §1–2).
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * f6 per example (tensor op, differentiable).
 * - targeted (class = target t): max(0, max_{i≠t} Z_i − Z_t + κ);
 * - untargeted (class = label y): max(0, Z_y − max_{i≠y} Z_i + κ).
 * The maximum over the other classes masks the class entry to −∞ (never max((1 − onehot)·Z)).
 *
 * @param logits `[B, K]`
 * @param classMask `[B, K]` one-hot of the target (targeted) or label (untargeted)
 * @param kappa κ ≥ 0
 * @param maskValue what the class entry is masked to: −∞, or a finite lowest value on a float16
 *   backend, where tfjs-webgl reads ±∞ back as NaN (measured)
 * @returns `[B]`
 */
export function f6(logits: tf.Tensor2D, classMask: tf.Tensor2D, targeted: boolean, kappa: number, maskValue = -Infinity): tf.Tensor1D {
  return tf.tidy(() => {
    const real = tf.sum(tf.mul(logits, classMask), 1);
    const masked = tf.where(tf.cast(classMask, 'bool'), tf.fill(logits.shape, maskValue), logits);
    const other = tf.max(masked, 1);
    const margin = targeted ? tf.sub(other, real) : tf.sub(real, other);
    return tf.relu(tf.add(margin, kappa)) as tf.Tensor1D;
  });
}

/** Index of the largest value of row `r` (first one on ties, like numpy's argmax). */
export function argmaxRow(values: ArrayLike<number>, r: number, cols: number): number {
  let best = 0;
  let bv = values[r * cols]!;
  for (let k = 1; k < cols; k++) {
    const v = values[r * cols + k]!;
    if (v > bv) {
      bv = v;
      best = k;
    }
  }
  return best;
}

/**
 * Success test on one row of logits, with the κ shift of the original:
 * - targeted: Z_t − κ, then argmax = t;
 * - untargeted: Z_y + κ (the original subtracts κ, which makes success easier than the loss
 *   demands; adding it keeps the test consistent with f6; both agree at κ = 0), then argmax ≠ y.
 */
export function isSuccessRow(values: ArrayLike<number>, r: number, cols: number, cls: number, targeted: boolean, kappa: number): boolean {
  const shifted = values[r * cols + cls]! + (targeted ? -kappa : kappa);
  let best = -1;
  let bv = -Infinity;
  for (let k = 0; k < cols; k++) {
    const v = k === cls ? shifted : values[r * cols + k]!;
    if (v > bv || best === -1) {
      bv = v;
      best = k;
    }
  }
  return targeted ? best === cls : best !== cls;
}
