/**
 * The C&W engine for a float16 backend (WebGL on half-float textures): the device computes only
 * the logits and the gradient; δ, the Adam moments, x′ and the distance live on the host in
 * float64 (ATTACKS.md §1 arithmetic, unchanged).
 *
 * Why (measured on WebGL with `WEBGL_RENDER_FLOAT32_ENABLED` false): every tensor is rounded to
 * float16 between ops, so on the device Adam's v = Σ(1−β₂)g² underflows to 0 for |g| < 8e-3, the
 * update m/(√v + 1e-8) then divides by 0, c·f overflows above 65504 once c grows, and δ near the
 * box edges cannot resolve the steps Adam takes. Per row, the loss handed to the gradient is
 * scaled by a power of two S (Adam is invariant to it) so that the gradient sits well inside the
 * float16 range; a row whose gradient still overflows skips that update and lowers S.
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import { FLOAT16_MAX } from '../backend/precision.js';
import { UnsupportedModelError } from '../errors.js';
import { f6 } from './objective.js';
import { ADAM_BETA1, ADAM_BETA2, ADAM_EPSILON, CwEngine } from './optimize.js';
import type { EngineConfig, RowLoad, StepObservation } from './optimize.js';

/** Bound on S·c and S·width: keeps the gradient at the logits and at x′ inside float16. */
const SCALED_BOUND = 2 ** 12;
/** What S is divided by after a row's gradient overflowed. */
const OVERFLOW_BACKOFF = 2 ** 8;

/**
 * The largest power of two ≤ v (v > 0), clamped to [2⁻²⁴, 2¹²]: S is uploaded, and constants are
 * float16 on the device too (2⁻²⁴ is the smallest float16 number).
 */
function powerOfTwoBelow(v: number): number {
  const e = Math.max(-24, Math.min(12, Math.floor(Math.log2(v))));
  return 2 ** e;
}

/** {@link CwEngine} with δ and Adam on the host, for float16 backends. */
export class CwEngineFloat16 extends CwEngine {
  private hd: Float64Array;
  private hm: Float64Array;
  private hv: Float64Array;
  /** Per-row loss scale S (a power of two). */
  private scale: Float64Array;
  private readonly width: number;

  constructor(cfg: EngineConfig) {
    super(cfg);
    const n = this.capacity * this.D;
    this.hd = new Float64Array(n);
    this.hm = new Float64Array(n);
    this.hv = new Float64Array(n);
    this.scale = new Float64Array(this.capacity).fill(1);
    this.width = cfg.box.maxWidth;
  }

  /** The largest S the bounds allow for constant c. */
  private maxScale(c: number): number {
    return powerOfTwoBelow(Math.min(SCALED_BOUND / Math.max(c, 1e-30), SCALED_BOUND / this.width, SCALED_BOUND));
  }

  override load(row: number, r: RowLoad): void {
    super.load(row, r);
    this.scale[row] = this.maxScale(r.c);
  }

  override setConst(row: number, c: number): void {
    super.setConst(row, c);
    this.scale[row] = Math.min(this.scale[row]!, this.maxScale(c));
  }

  override compact(rows: readonly number[]): void {
    const { D } = this;
    const pick = (a: Float64Array, width: number): Float64Array => {
      const out = new Float64Array(rows.length * width);
      rows.forEach((r, i) => out.set(a.subarray(r * width, (r + 1) * width), i * width));
      return out;
    };
    this.hd = pick(this.hd, D);
    this.hm = pick(this.hm, D);
    this.hv = pick(this.hv, D);
    this.scale = pick(this.scale, 1);
    super.compact(rows);
  }

  override async step(wantGrad?: (obs: Omit<StepObservation, 'grad' | 'image'>) => boolean): Promise<StepObservation> {
    this.upload();
    const { capacity: cap, D, K, cfg } = this;
    for (let r = 0; r < cap; r++) {
      if (this.resetPending[r]) {
        this.hd.fill(0, r * D, (r + 1) * D);
        this.hm.fill(0, r * D, (r + 1) * D);
        this.hv.fill(0, r * D, (r + 1) * D);
        this.resetPending[r] = 0;
      }
    }
    const stepSize = new Float64Array(cap);
    for (let r = 0; r < cap; r++) {
      if (this.active[r]) {
        const t = ++this.t[r]!;
        stepSize[r] = (cfg.learningRate * Math.sqrt(1 - ADAM_BETA2 ** t)) / (1 - ADAM_BETA1 ** t);
      }
    }
    const w = new Float32Array(cap * D);
    for (let i = 0; i < w.length; i++) w[i] = this.base[i]! + this.hd[i]!;
    const S = Float32Array.from(this.scale);
    const sc = Float32Array.from({ length: cap }, (_, r) => this.scale[r]! * this.c[r]!);
    const wT = tf.tensor2d(w, [cap, D]);
    const sT = tf.tensor1d(S);
    const scT = tf.tensor1d(sc);
    const tauT = cfg.distance === 'linf' ? tf.tensor2d(Float32Array.from(this.tau), [cap, 1]) : undefined;
    const xT = this.xT!;
    const xtT = this.xtT!;
    const maskT = this.maskT;
    const clsT = this.clsT!;
    const shape = [cap, ...cfg.exampleShape];
    let packed: tf.Tensor2D | undefined;
    let grad: tf.Tensor | undefined;
    let value: tf.Scalar | undefined;
    let pk: Float32Array;
    let g: Float32Array;
    try {
      const lossFn = (wv: tf.Tensor): tf.Scalar => {
        let img = tf.add(this.midT, tf.mul(this.halfT, tf.tanh(wv))) as tf.Tensor2D;
        if (maskT) img = tf.add(tf.mul(maskT, img), tf.mul(tf.sub(1, maskT), xT)) as tf.Tensor2D;
        const z = cfg.logits(tf.reshape(img, shape)) as tf.Tensor2D;
        if (z.rank !== 2 || z.shape[0] !== cap || z.shape[1] !== K) {
          throw new UnsupportedModelError(cfg.fn, `the model returned shape [${z.shape.join(', ')}] where [${cap}, ${K}] was expected`);
        }
        const f = f6(z, clsT, cfg.targeted, cfg.kappa, -FLOAT16_MAX);
        const diff = tf.sub(img, xtT);
        const dist = cfg.distance === 'l2' ? tf.sum(tf.square(diff), 1) : tf.sum(tf.relu(tf.sub(tf.abs(diff), tauT!)), 1);
        packed = tf.keep(tf.concat([tf.reshape(f, [cap, 1]), z], 1) as tf.Tensor2D);
        return tf.sum(tf.add(tf.mul(sT, dist), tf.mul(scT, f)));
      };
      const res = tf.valueAndGrad(lossFn)(wT);
      value = res.value;
      grad = res.grad;
      pk = (await packed!.data()) as Float32Array;
      g = (await grad.data()) as Float32Array;
    } finally {
      wT.dispose();
      sT.dispose();
      scT.dispose();
      tauT?.dispose();
      (packed as tf.Tensor | undefined)?.dispose();
      grad?.dispose();
      value?.dispose();
    }
    // x′, the distance and the loss on the host, from the w the device saw.
    const { box } = cfg;
    const C = box.channels;
    const image = new Float32Array(cap * D);
    const f = new Float32Array(cap);
    const dist = new Float32Array(cap);
    const loss = new Float32Array(cap);
    const logits = new Float32Array(cap * K);
    for (let r = 0; r < cap; r++) {
      f[r] = pk[r * (K + 1)]!;
      logits.set(pk.subarray(r * (K + 1) + 1, (r + 1) * (K + 1)), r * K);
      const tau = this.tau[r]!;
      let acc = 0;
      for (let i = r * D; i < (r + 1) * D; i++) {
        const ch = (i - r * D) % C;
        let v = box.mid[ch]! + box.half[ch]! * Math.tanh(w[i]!);
        if (this.mask) v = this.mask[i]! * v + (1 - this.mask[i]!) * this.x[i]!;
        image[i] = v;
        const d = image[i]! - this.xt[i]!;
        acc += cfg.distance === 'l2' ? d * d : Math.max(0, Math.abs(d) - tau);
      }
      dist[r] = acc;
      loss[r] = acc + this.c[r]! * f[r]!;
    }
    const unscaled = new Float32Array(cap * D);
    for (let r = 0; r < cap; r++) {
      const s = this.scale[r]!;
      let finite = true;
      let gmax = 0;
      for (let i = r * D; i < (r + 1) * D; i++) {
        const gi = g[i]! / s;
        unscaled[i] = gi;
        if (!Number.isFinite(gi)) finite = false;
        else if (Math.abs(gi) > gmax) gmax = Math.abs(gi);
      }
      if (!this.active[r]) continue;
      if (!finite) {
        // Overflow somewhere in the backward pass: no update for this row, a smaller scale.
        this.scale[r] = Math.max(2 ** -24, s / OVERFLOW_BACKOFF);
        continue;
      }
      const ss = stepSize[r]!;
      for (let i = r * D; i < (r + 1) * D; i++) {
        const gi = unscaled[i]!;
        const m = ADAM_BETA1 * this.hm[i]! + (1 - ADAM_BETA1) * gi;
        const v = ADAM_BETA2 * this.hv[i]! + (1 - ADAM_BETA2) * gi * gi;
        this.hm[i] = m;
        this.hv[i] = v;
        this.hd[i] = this.hd[i]! - (ss * m) / (Math.sqrt(v) + ADAM_EPSILON);
      }
      // Next step: the largest gradient near 1 (in scaled units), within the bounds.
      if (gmax > 0) this.scale[r] = Math.min(powerOfTwoBelow(1 / gmax), this.maxScale(this.c[r]!));
    }
    const scalars = { rows: cap, loss, f, dist, logits };
    const needGrad = wantGrad ? wantGrad(scalars) : false;
    return { ...scalars, image, grad: needGrad ? unscaled : undefined };
  }
}
