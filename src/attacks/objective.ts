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

/**
 * f6 as {@link f6} (class entry masked to −∞) and its gradient, both computed in JavaScript from
 * the logits read back with `dataSync`, as one custom op. For a backend whose `dataSync` is a read
 * of its own memory (wasm), it takes the place of f6's ops and their tape gradient, about 30
 * kernel calls per attack step, at the cost of one read and one upload each way. Same values as
 * the op form in float32: the real-class term is Σ_k Z_k·[k = class] (so a non-finite logit
 * poisons it as the op form's product does), the other-class maximum passes its gradient to every
 * entry equal to it (as tfjs's max gradient), and ReLU's gradient is 0 at 0.
 *
 * @param logits `[B, K]`
 * @param classes the class per row (target or label), at least B values
 * @returns `[B]`, differentiable with respect to `logits`
 *
 * @example
 * ```ts
 * const f = f6FromValues(logits, Int32Array.from([3, 7]), true, 0); // targeted towards 3 and 7
 * const g = tf.grad((z: tf.Tensor) => tf.sum(f6FromValues(z as tf.Tensor2D, [3, 7], true, 0)))(logits);
 * ```
 */
export function f6FromValues(logits: tf.Tensor2D, classes: ArrayLike<number>, targeted: boolean, kappa: number): tf.Tensor1D {
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const z = args[0] as tf.Tensor2D;
    const [B, K] = z.shape;
    const v = z.dataSync() as Float32Array;
    const k32 = Math.fround(kappa);
    const pre = new Float32Array(B); // margin + κ, before the ReLU
    const other = new Float32Array(B);
    const f = new Float32Array(B);
    for (let r = 0; r < B; r++) {
      const c = classes[r]!;
      let real = 0;
      let best = -Infinity;
      let nan = false;
      for (let k = 0; k < K; k++) {
        const x = v[r * K + k]!;
        real += x * (k === c ? 1 : 0);
        if (k === c) continue;
        if (Number.isNaN(x)) nan = true;
        else if (x > best) best = x;
      }
      other[r] = nan ? NaN : best;
      const margin = Math.fround(targeted ? other[r]! - Math.fround(real) : Math.fround(real) - other[r]!);
      pre[r] = Math.fround(margin + k32);
      f[r] = Number.isNaN(pre[r]!) ? NaN : Math.max(pre[r]!, 0);
    }
    return {
      value: tf.tensor1d(f),
      gradFunc: (dy: tf.Tensor) => {
        const d = dy.dataSync();
        const g = new Float32Array(B * K);
        for (let r = 0; r < B; r++) {
          const p = pre[r]!;
          const gm = d[r]! * (Number.isNaN(p) ? NaN : p > 0 ? 1 : 0);
          const dReal = targeted ? -gm : gm;
          const c = classes[r]!;
          for (let k = 0; k < K; k++) {
            const x = v[r * K + k]!;
            g[r * K + k] = dReal * (k === c ? 1 : 0) + (k !== c && x === other[r] ? -dReal : 0);
          }
        }
        return tf.tensor2d(g, [B, K]);
      },
    };
  });
  return op(logits) as tf.Tensor1D;
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
