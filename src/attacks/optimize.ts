/**
 * The batched optimisation engine shared by the three C&W attacks.
 *
 * A fixed number of rows ("slots") is optimised in lock-step, one Adam step per call of
 * {@link CwEngine.step}. Every row has its own constant c, τ, Adam moments and step count, warm
 * start, L0 mask and class, so each example evolves exactly as if it were attacked alone; rows are
 * reset, re-based or refilled independently, and the batch is compacted when rows run out of work.
 *
 * Per row the engine computes, before the Adam update:
 * - x′ = mask·(mid + half·tanh(δ + base)) + (1 − mask)·x   (mask only for L0);
 * - dist = Σ(x′ − x̃)² (L2, L0) or Σ max(0, |x′ − x̃| − τ) (L∞);
 * - f = f6(Z(x′)) with κ, and loss = dist + c·f;
 * then one Adam step on δ (β₁ 0.9, β₂ 0.999, ε 1e-8, TF1's update form
 * δ −= lr·√(1−β₂ᵗ)/(1−β₁ᵗ) · m/(√v + ε), with a per-row step count t).
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers'; // registers the gradients the attacks need
import type { Box } from './tanh-box.js';
import { f6, f6FromValues } from './objective.js';
import { UnsupportedModelError } from '../errors.js';
import { CW_ADAM_KERNEL, CW_BOX_KERNEL, fusedCwStepAvailable } from '../backend/kernels/cw-step.js';

export const ADAM_BETA1 = 0.9;
export const ADAM_BETA2 = 0.999;
export const ADAM_EPSILON = 1e-8;

export interface EngineConfig {
  /** Public function name, for errors. */
  fn: string;
  logits: (x: tf.Tensor) => tf.Tensor;
  box: Box;
  /** Shape of one example, e.g. [28, 28, 1]. */
  exampleShape: readonly number[];
  numClasses: number;
  targeted: boolean;
  kappa: number;
  learningRate: number;
  distance: 'l2' | 'linf';
  /** L0: rows carry a mask of changeable values. */
  masked: boolean;
  capacity: number;
}

/** What one step observed, per row, at the point before the Adam update. */
export interface StepObservation {
  rows: number;
  loss: Float32Array;
  f: Float32Array;
  dist: Float32Array;
  /** `[rows, K]` row-major. */
  logits: Float32Array;
  /** x′ `[rows, D]` row-major. */
  image: Float32Array;
  /** ∂loss/∂δ `[rows, D]`, only when some row asked for it. */
  grad: Float32Array | undefined;
}

export interface RowLoad {
  x: Float32Array;
  xt: Float32Array;
  base: Float32Array;
  mask?: Float32Array;
  cls: number;
  c: number;
  tau?: number;
}

export class CwEngine {
  readonly D: number;
  readonly K: number;
  private cap: number;
  protected readonly cfg: EngineConfig;
  // Host mirrors of the per-row constants.
  protected x: Float32Array;
  protected xt: Float32Array;
  protected base: Float32Array;
  protected mask: Float32Array | undefined;
  protected cls: Int32Array;
  protected c: Float64Array;
  protected tau: Float64Array;
  protected t: Int32Array;
  protected resetPending: Uint8Array;
  protected active: Uint8Array;
  private dirty = true;
  // Device state.
  private delta: tf.Tensor2D;
  private m: tf.Tensor2D;
  private v: tf.Tensor2D;
  protected readonly midT: tf.Tensor1D;
  protected readonly halfT: tf.Tensor1D;
  protected xT: tf.Tensor2D | undefined;
  protected xtT: tf.Tensor2D | undefined;
  protected baseT: tf.Tensor2D | undefined;
  protected maskT: tf.Tensor2D | undefined;
  protected clsT: tf.Tensor2D | undefined;

  constructor(cfg: EngineConfig) {
    this.cfg = cfg;
    this.D = cfg.exampleShape.reduce((a, b) => a * b, 1);
    this.K = cfg.numClasses;
    this.cap = cfg.capacity;
    const { D, cap } = this;
    this.x = new Float32Array(cap * D);
    this.xt = new Float32Array(cap * D);
    this.base = new Float32Array(cap * D);
    this.mask = cfg.masked ? new Float32Array(cap * D).fill(1) : undefined;
    this.cls = new Int32Array(cap);
    this.c = new Float64Array(cap);
    this.tau = new Float64Array(cap);
    this.t = new Int32Array(cap);
    this.resetPending = new Uint8Array(cap);
    this.active = new Uint8Array(cap);
    const C = cfg.box.channels;
    const mid = new Float32Array(D);
    const half = new Float32Array(D);
    for (let i = 0; i < D; i++) {
      mid[i] = cfg.box.mid[i % C]!;
      half[i] = cfg.box.half[i % C]!;
    }
    this.midT = tf.tensor1d(mid);
    this.halfT = tf.tensor1d(half);
    this.delta = tf.zeros([cap, D]);
    this.m = tf.zeros([cap, D]);
    this.v = tf.zeros([cap, D]);
  }

  /** Current number of rows. */
  get capacity(): number {
    return this.cap;
  }

  /** Puts an example into `row`: constants, class, c, τ; δ and Adam are reset. */
  load(row: number, r: RowLoad): void {
    const { D } = this;
    this.x.set(r.x, row * D);
    this.xt.set(r.xt, row * D);
    this.base.set(r.base, row * D);
    if (this.mask) this.mask.set(r.mask ?? new Float32Array(D).fill(1), row * D);
    this.cls[row] = r.cls;
    this.c[row] = r.c;
    this.tau[row] = r.tau ?? 0;
    this.active[row] = 1;
    this.dirty = true;
    this.reset(row);
  }

  /** δ back to 0 and fresh Adam moments for `row` (applied before the next step). */
  reset(row: number): void {
    this.resetPending[row] = 1;
    this.t[row] = 0;
  }

  /** A new warm start (tanh-space point) for `row`. */
  setBase(row: number, base: Float32Array): void {
    this.base.set(base, row * this.D);
    this.dirty = true;
  }

  /** A new L0 mask (1 = may change) for `row`, one value per element. */
  setMask(row: number, mask: Float32Array): void {
    if (!this.mask) throw new Error('CwEngine.setMask: engine is not masked');
    this.mask.set(mask, row * this.D);
    this.dirty = true;
  }

  setConst(row: number, c: number): void {
    this.c[row] = c;
  }

  setTau(row: number, tau: number): void {
    this.tau[row] = tau;
  }

  /** An inactive row is evaluated but not updated (its δ and Adam state stay as they are). */
  setActive(row: number, on: boolean): void {
    this.active[row] = on ? 1 : 0;
  }

  /** Keeps only `rows` (in that order); every other row is dropped. */
  compact(rows: readonly number[]): void {
    const { D } = this;
    const n = rows.length;
    const pick = <T extends Float32Array | Float64Array | Int32Array | Uint8Array>(a: T, width: number, make: (len: number) => T): T => {
      const out = make(n * width);
      rows.forEach((r, i) => out.set(a.subarray(r * width, (r + 1) * width), i * width));
      return out;
    };
    this.x = pick(this.x, D, (l) => new Float32Array(l));
    this.xt = pick(this.xt, D, (l) => new Float32Array(l));
    this.base = pick(this.base, D, (l) => new Float32Array(l));
    if (this.mask) this.mask = pick(this.mask, D, (l) => new Float32Array(l));
    this.cls = pick(this.cls, 1, (l) => new Int32Array(l));
    this.c = pick(this.c, 1, (l) => new Float64Array(l));
    this.tau = pick(this.tau, 1, (l) => new Float64Array(l));
    this.t = pick(this.t, 1, (l) => new Int32Array(l));
    this.resetPending = pick(this.resetPending, 1, (l) => new Uint8Array(l));
    this.active = pick(this.active, 1, (l) => new Uint8Array(l));
    const idx = tf.tensor1d(Int32Array.from(rows), 'int32');
    try {
      const swap = (t: tf.Tensor2D): tf.Tensor2D => {
        const g = tf.gather(t, idx) as tf.Tensor2D;
        t.dispose();
        return g;
      };
      this.delta = swap(this.delta);
      this.m = swap(this.m);
      this.v = swap(this.v);
    } finally {
      idx.dispose();
    }
    this.cap = n;
    this.dirty = true;
  }

  protected upload(): void {
    if (!this.dirty && this.xT) return;
    this.disposeConstants();
    const { cap, D, K } = this;
    this.xT = tf.tensor2d(this.x, [cap, D]);
    this.xtT = tf.tensor2d(this.xt, [cap, D]);
    this.baseT = tf.tensor2d(this.base, [cap, D]);
    if (this.mask) this.maskT = tf.tensor2d(this.mask, [cap, D]);
    const oh = new Float32Array(cap * K);
    for (let r = 0; r < cap; r++) oh[r * K + this.cls[r]!] = 1;
    this.clsT = tf.tensor2d(oh, [cap, K]);
    this.dirty = false;
  }

  /**
   * One forward/backward pass and one Adam step for every row. `wantGrad` is asked, with the
   * scalars of the step, whether the gradient must be read back (L0 needs it on success).
   */
  async step(wantGrad?: (obs: Omit<StepObservation, 'grad' | 'image'>) => boolean): Promise<StepObservation> {
    this.upload();
    const { cap, K, cfg } = this;
    const lr = cfg.learningRate;
    // Resets requested since the last step.
    let anyReset = false;
    const keep = new Float32Array(cap).fill(1);
    for (let r = 0; r < cap; r++) {
      if (this.resetPending[r]) {
        keep[r] = 0;
        anyReset = true;
        this.resetPending[r] = 0;
      }
    }
    if (anyReset) {
      const k = tf.tensor2d(keep, [cap, 1]);
      try {
        const apply = (t: tf.Tensor2D): tf.Tensor2D => {
          const out = tf.mul(t, k) as tf.Tensor2D;
          t.dispose();
          return out;
        };
        this.delta = apply(this.delta);
        this.m = apply(this.m);
        this.v = apply(this.v);
      } finally {
        k.dispose();
      }
    }
    // Per-row Adam step sizes (0 for inactive rows) and constants.
    const stepSize = new Float32Array(cap);
    const act = new Float32Array(cap);
    let allActive = true;
    for (let r = 0; r < cap; r++) {
      if (this.active[r]) {
        const t = ++this.t[r]!;
        stepSize[r] = (lr * Math.sqrt(1 - ADAM_BETA2 ** t)) / (1 - ADAM_BETA1 ** t);
        act[r] = 1;
      } else allActive = false;
    }
    const fused = fusedCwStepAvailable();
    const cT = tf.tensor1d(Float32Array.from(this.c));
    // τ per row: [rows] for the fused kernel, [rows, 1] to broadcast on the op path.
    const tauT = cfg.distance === 'linf' ? tf.tensor(Float32Array.from(this.tau), fused ? [cap] : [cap, 1]) : undefined;
    const xT = this.xT!;
    const xtT = this.xtT!;
    const baseT = this.baseT!;
    const maskT = this.maskT;
    const clsT = this.clsT!;
    const box = this.uniformBox();
    let xp: tf.Tensor2D | undefined;
    let packed: tf.Tensor2D | undefined;
    let grad: tf.Tensor | undefined;
    let value: tf.Scalar | undefined;
    try {
      if (fused) {
        ({ xp, packed, grad } = this.fusedPass(cT, tauT, stepSize, allActive ? undefined : act));
      } else {
        const lossFn = (d: tf.Tensor): tf.Scalar => {
          const w = tf.add(d, baseT);
          let img = (box ? tf.add(tf.mul(tf.tanh(w), box.half), box.mid) : tf.add(this.midT, tf.mul(this.halfT, tf.tanh(w)))) as tf.Tensor2D;
          if (maskT) img = tf.add(tf.mul(maskT, img), tf.mul(tf.sub(1, maskT), xT)) as tf.Tensor2D;
          const z = this.logitsOf(img);
          const f = f6(z, clsT, cfg.targeted, cfg.kappa);
          const diff = tf.sub(img, xtT);
          // x·x, not square: on threaded wasm Square runs on XNNPACK's pool (~0.4 ms per call when the
          // machine is busy), Multiply of equal shapes does not.
          const perValue = cfg.distance === 'l2' ? tf.mul(diff, diff) : tf.relu(tf.sub(tf.abs(diff), tauT!));
          const dist = tf.sum(perValue, 1);
          const cf = tf.mul(cT, f);
          const loss = tf.add(dist, cf);
          xp = tf.keep(img);
          packed = tf.keep(tf.concat([tf.stack([loss, f, dist], 1), z], 1) as tf.Tensor2D);
          // Σ loss, summed so that the distance's gradient needs no [rows, 1] → [rows, D] broadcast
          // (the same gradient, bit for bit; the value itself is not used).
          return tf.add(tf.sum(perValue), tf.sum(cf));
        };
        const res = tf.valueAndGrad(lossFn)(this.delta);
        value = res.value;
        grad = res.grad;
        // Adam (TF1 form), per row.
        const g = grad;
        const [d1, m1, v1] = tf.tidy(() => {
          // One step size for every row (the usual case) is a scalar, not a [rows, 1] broadcast.
          const ss = allActive && stepSize.every((s) => s === stepSize[0]) ? stepSize[0]! : tf.tensor2d(stepSize, [cap, 1]);
          let mNew = tf.add(tf.mul(ADAM_BETA1, this.m), tf.mul(1 - ADAM_BETA1, g));
          let vNew = tf.add(tf.mul(ADAM_BETA2, this.v), tf.mul(1 - ADAM_BETA2, tf.mul(g, g)));
          if (!allActive) {
            const a = tf.tensor2d(act, [cap, 1]);
            mNew = tf.add(this.m, tf.mul(a, tf.sub(mNew, this.m)));
            vNew = tf.add(this.v, tf.mul(a, tf.sub(vNew, this.v)));
          }
          const dNew = tf.sub(this.delta, tf.mul(ss, tf.div(mNew, tf.add(tf.sqrt(vNew), ADAM_EPSILON))));
          return [dNew, mNew, vNew] as tf.Tensor2D[];
        });
        this.replaceState(d1!, m1!, v1!);
      }
      const pk = await packed!.data();
      const W = 3 + K;
      const loss = new Float32Array(cap);
      const f = new Float32Array(cap);
      const dist = new Float32Array(cap);
      const logits = new Float32Array(cap * K);
      for (let r = 0; r < cap; r++) {
        loss[r] = pk[r * W]!;
        f[r] = pk[r * W + 1]!;
        dist[r] = pk[r * W + 2]!;
        logits.set(pk.subarray(r * W + 3, (r + 1) * W), r * K);
      }
      const scalars = { rows: cap, loss, f, dist, logits };
      const image = (await xp!.data()) as Float32Array;
      const needGrad = wantGrad ? wantGrad(scalars) : false;
      const gradData = needGrad ? ((await grad.data()) as Float32Array) : undefined;
      return { ...scalars, image, grad: gradData };
    } finally {
      cT.dispose();
      tauT?.dispose();
      (xp as tf.Tensor | undefined)?.dispose();
      (packed as tf.Tensor | undefined)?.dispose();
      grad?.dispose();
      value?.dispose();
    }
  }

  /** The model's logits of the images `[rows, D]`, checked to be `[rows, K]`. */
  private logitsOf(img: tf.Tensor2D): tf.Tensor2D {
    const { cap, K, cfg } = this;
    const z = cfg.logits(tf.reshape(img, [cap, ...cfg.exampleShape])) as tf.Tensor2D;
    if (z.rank !== 2 || z.shape[0] !== cap || z.shape[1] !== K) {
      throw new UnsupportedModelError(cfg.fn, `the model returned shape [${z.shape.join(', ')}] where [${cap}, ${K}] was expected`);
    }
    return z;
  }

  /** Swaps in the state after an Adam step and frees the old one. */
  private replaceState(delta: tf.Tensor2D, m: tf.Tensor2D, v: tf.Tensor2D): void {
    this.delta.dispose();
    this.m.dispose();
    this.v.dispose();
    this.delta = delta;
    this.m = m;
    this.v = v;
  }

  /**
   * The same step with the element-wise work in two fused wasm kernels (backend/kernels/cw-step.ts):
   * `AeManifoldCwBox` computes x′, the distance and the local derivatives ∂x′/∂δ and ∂dist/∂x′ in
   * one pass; the tape then holds only the model and f6 (computed from the logits' values with its
   * gradient, `f6FromValues`: wasm reads them without a copy), whose gradient ∂(c·f)/∂x′ is taken;
   * `AeManifoldCwAdam` forms ∂loss/∂δ = (∂(c·f)/∂x′ + ∂dist/∂x′)·∂x′/∂δ and takes the Adam step.
   * Same mathematics as the op path; rounding differs in the last bits (the distance is summed in
   * double, tanh is the SIMD one).
   */
  private fusedPass(
    cT: tf.Tensor1D,
    tau: tf.Tensor | undefined,
    stepSize: Float32Array,
    act: Float32Array | undefined,
  ): { xp: tf.Tensor2D; packed: tf.Tensor2D; grad: tf.Tensor2D } {
    const { cfg } = this;
    const engine = tf.engine();
    const inputs: tf.NamedTensorMap = { delta: this.delta, base: this.baseT!, mid: this.midT, half: this.halfT, xt: this.xtT! };
    if (this.maskT) {
      inputs['mask'] = this.maskT;
      inputs['x'] = this.xT!;
    }
    if (tau) inputs['tau'] = tau;
    const [img, dist, jac, dper] = engine.runKernel(CW_BOX_KERNEL, inputs) as tf.Tensor2D[];
    let f: tf.Tensor1D | undefined;
    let z: tf.Tensor2D | undefined;
    try {
      const { value, grad: gImg } = tf.valueAndGrad((x: tf.Tensor) => {
        const zz = this.logitsOf(x as tf.Tensor2D);
        const ff = f6FromValues(zz, this.cls, cfg.targeted, cfg.kappa);
        z = tf.keep(zz);
        f = tf.keep(ff);
        return tf.sum(tf.mul(cT, ff));
      })(img!);
      value.dispose();
      const stepT = tf.tensor1d(stepSize);
      const adamInputs: tf.NamedTensorMap = { gImg, jac: jac!, dper: dper!, delta: this.delta, m: this.m, v: this.v, stepSize: stepT };
      const actT = act ? tf.tensor1d(act) : undefined;
      if (actT) adamInputs['active'] = actT;
      const [grad, d1, m1, v1] = engine.runKernel(CW_ADAM_KERNEL, adamInputs, { beta1: ADAM_BETA1, beta2: ADAM_BETA2, epsilon: ADAM_EPSILON }) as tf.Tensor2D[];
      tf.dispose([gImg, stepT, actT as tf.Tensor]);
      this.replaceState(d1!, m1!, v1!);
      const packed = tf.tidy(() => {
        const cf = tf.mul(cT, f!);
        return tf.concat([tf.stack([tf.add(dist!, cf), f!, dist!], 1), z!], 1) as tf.Tensor2D;
      });
      return { xp: img!, packed, grad: grad! };
    } catch (e) {
      img!.dispose();
      throw e;
    } finally {
      tf.dispose([dist!, jac!, dper!]);
      if (f) tf.dispose(f as tf.Tensor);
      if (z) tf.dispose(z as tf.Tensor);
    }
  }

  /**
   * The box's mid and half as scalars when every channel shares them, so that x′ = mid + half·tanh(w)
   * and its gradient need no [D] → [rows, D] broadcasts (the same values); `undefined` per channel.
   */
  private uniformBox(): { mid: number; half: number } | undefined {
    const { mid, half } = this.cfg.box;
    if (!mid.every((v) => v === mid[0]) || !half.every((v) => v === half[0])) return undefined;
    return { mid: Math.fround(mid[0]!), half: Math.fround(half[0]!) };
  }

  private disposeConstants(): void {
    this.xT?.dispose();
    this.xtT?.dispose();
    this.baseT?.dispose();
    this.maskT?.dispose();
    this.clsT?.dispose();
    this.xT = this.xtT = this.baseT = this.maskT = this.clsT = undefined;
  }

  /** Frees every tensor the engine holds. */
  dispose(): void {
    this.disposeConstants();
    this.delta.dispose();
    this.m.dispose();
    this.v.dispose();
    this.midT.dispose();
    this.halfT.dispose();
  }
}
