/**
 * What the attacks do on a float16 backend (WebGL on half-float textures) besides the host-side
 * optimiser of optimize-float16.ts: the warning they return, and the snap that gives values the
 * attack left alone their exact original value back (docs/attacks.md, "Float16 backends").
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Box } from './tanh-box.js';

/**
 * Relative change (of the box width) below which a value counts as unchanged on a float16 backend:
 * 2⁻¹⁰. An untouched value comes back from tanh space (1 − s)·|x − mid| ≤ 2⁻¹¹·width away from
 * the original there (s = 1 − 2⁻¹⁰), four times L0's float32 tolerance of 1e-4.
 */
export const FLOAT16_CHANGE_TOLERANCE = 2 ** -10;

/**
 * The warning an attack result carries when it ran on a float16 backend. `optimised`: the attack
 * ran the C&W optimiser (false for rubbish's single gradient-sign step).
 */
export function float16Warning(fn: string, optimised = true): string {
  const what = optimised
    ? ' The attack kept δ, Adam, x′ and the distances in float64 on the host and took only logits and gradients from the ' +
      'backend; it started edge values 2^-10 of the half-width inside the box and set values within 2^-10 of the box ' +
      'width of the original back to it.'
    : '';
  return (
    `${fn}: the ${tf.getBackend()} backend stores tensors in float16 (WebGL on half-float textures).${what} ` +
    'Success is the argmax of a float16 prediction of the returned inputs: an example close to the decision boundary ' +
    'may be classified differently on a float32 backend; ask for a confidence above the float16 logit error when it must not be.'
  );
}

/**
 * A copy of one flattened example `img` in which every pixel (channels last) whose channels all lie
 * within `relTol`·(hi − lo) of `orig` takes the original values. Returns `img` itself when nothing
 * is snapped.
 */
export function snapToOriginal(box: Box, img: Float32Array, orig: Float32Array, relTol: number): Float32Array {
  const C = box.channels;
  let out: Float32Array | null = null;
  for (let p = 0; p < img.length; p += C) {
    let same = true;
    let differs = false;
    for (let ch = 0; ch < C; ch++) {
      const d = Math.abs(img[p + ch]! - orig[p + ch]!);
      if (d >= relTol * (box.hi[ch]! - box.lo[ch]!)) same = false;
      if (d !== 0) differs = true;
    }
    if (same && differs) {
      out ??= Float32Array.from(img);
      for (let ch = 0; ch < C; ch++) out[p + ch] = orig[p + ch]!;
    }
  }
  return out ?? img;
}
