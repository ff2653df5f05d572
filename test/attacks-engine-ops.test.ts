/**
 * The C&W engine's step (src/attacks/optimize.ts) written with fewer broadcasts and no Square (a
 * scalar box when every channel shares it, x·x, a scalar Adam step size) gives bit for bit what the
 * plain tfjs composition of ATTACKS.md §1 gives: x′, distances, losses, the gradient and the
 * next iterate, for a uniform box (the fast path) and a per-channel box (the general path).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expectNoLeaks, tf, useCpu } from './support/tf.js';
import { CwEngine, ADAM_BETA1, ADAM_BETA2, ADAM_EPSILON } from '../src/attacks/optimize.js';
import type { EngineConfig } from '../src/attacks/optimize.js';
import { f6 } from '../src/attacks/objective.js';
import { fromTanhSpace, resolveBox, toTanhSpace } from '../src/attacks/tanh-box.js';
import type { Bounds } from '../src/attacks/tanh-box.js';
import { createRng } from '../src/internal/rng.js';

const C = 2;
const D = 12; // [2, 3, 2] examples
const K = 4;
const ROWS = 3;

/** One step of ATTACKS.md §1 with the plain ops (tanh, Square, [D] and [rows, 1] broadcasts). */
function referenceStep(
  delta: tf.Tensor2D,
  base: tf.Tensor2D,
  xt: tf.Tensor2D,
  mid: tf.Tensor1D,
  half: tf.Tensor1D,
  onehot: tf.Tensor2D,
  c: tf.Tensor1D,
  logits: (x: tf.Tensor) => tf.Tensor,
): { img: tf.Tensor; dist: tf.Tensor; loss: tf.Tensor; grad: tf.Tensor } {
  const parts = (d: tf.Tensor) => {
    const img = tf.add(mid, tf.mul(half, tf.tanh(tf.add(d, base))));
    const z = logits(tf.reshape(img, [ROWS, 2, 3, C])) as tf.Tensor2D;
    const dist = tf.sum(tf.square(tf.sub(img, xt)), 1);
    const loss = tf.add(dist, tf.mul(c, f6(z, onehot, false, 0)));
    return { img, dist, loss };
  };
  const grad = tf.grad((d: tf.Tensor) => tf.sum(parts(d).loss))(delta);
  return { ...parts(delta), grad };
}

async function values(t: tf.Tensor): Promise<number[]> {
  return Array.from((await t.data()) as Float32Array);
}

for (const [name, bounds] of [
  ['uniform box [0, 1]', [0, 1]],
  ['per-channel box', [[0, -1], [1, 3]]],
] as Array<[string, Bounds]>) {
  test(`CwEngine step equals the plain tfjs composition bit for bit (${name})`, async () => {
    await useCpu();
    const rng = createRng(21);
    const W = tf.tensor2d(Float32Array.from({ length: D * K }, () => rng.normal()), [D, K]);
    const logits = (x: tf.Tensor) => tf.matMul(tf.reshape(x, [x.shape[0]!, D]), W);
    const box = resolveBox('test', bounds, C);
    const x = new Float32Array(ROWS * D);
    for (let i = 0; i < x.length; i++) x[i] = box.lo[i % C]! + (box.hi[i % C]! - box.lo[i % C]!) * rng.next();
    const w0 = toTanhSpace(box, x);
    const xt = fromTanhSpace(box, w0);
    const cls = [0, 2, 3];
    const consts = [0.5, 3, 40];
    const lr = 0.05;
    const cfg: EngineConfig = {
      fn: 'test', logits, box, exampleShape: [2, 3, C], numClasses: K, targeted: false,
      kappa: 0, learningRate: lr, distance: 'l2', masked: false, capacity: ROWS,
    };
    await expectNoLeaks(async () => {
      const engine = new CwEngine(cfg);
      for (let r = 0; r < ROWS; r++) {
        engine.load(r, { x: x.subarray(r * D, (r + 1) * D), xt: xt.subarray(r * D, (r + 1) * D), base: w0.subarray(r * D, (r + 1) * D), cls: cls[r]!, c: consts[r]! });
      }
      const mid = tf.tensor1d(Float32Array.from({ length: D }, (_, i) => box.mid[i % C]!));
      const half = tf.tensor1d(Float32Array.from({ length: D }, (_, i) => box.half[i % C]!));
      const base = tf.tensor2d(w0, [ROWS, D]);
      const xtT = tf.tensor2d(xt, [ROWS, D]);
      const onehot = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(cls, 'int32'), K), 'float32') as tf.Tensor2D);
      const cT = tf.tensor1d(consts);
      let delta = tf.zeros([ROWS, D]) as tf.Tensor2D;
      let m = tf.zeros([ROWS, D]);
      let v = tf.zeros([ROWS, D]);
      for (let t = 1; t <= 3; t++) {
        const obs = await engine.step(() => true);
        const ref = tf.tidy(() => referenceStep(delta, base, xtT, mid, half, onehot, cT, logits));
        assert.deepEqual(Array.from(obs.image), await values(ref.img), `x′ at step ${t}`);
        assert.deepEqual(Array.from(obs.dist), await values(ref.dist), `distances at step ${t}`);
        assert.deepEqual(Array.from(obs.loss), await values(ref.loss), `losses at step ${t}`);
        assert.deepEqual(Array.from(obs.grad!), await values(ref.grad), `gradient at step ${t}`);
        // The reference Adam step (TF1 form, one step size for every row).
        const ss = tf.tensor2d(new Float32Array(ROWS).fill((lr * Math.sqrt(1 - ADAM_BETA2 ** t)) / (1 - ADAM_BETA1 ** t)), [ROWS, 1]);
        const [d1, m1, v1] = tf.tidy(() => {
          const mNew = tf.add(tf.mul(ADAM_BETA1, m), tf.mul(1 - ADAM_BETA1, ref.grad));
          const vNew = tf.add(tf.mul(ADAM_BETA2, v), tf.mul(1 - ADAM_BETA2, tf.square(ref.grad)));
          return [tf.sub(delta, tf.mul(ss, tf.div(mNew, tf.add(tf.sqrt(vNew), ADAM_EPSILON)))), mNew, vNew];
        });
        tf.dispose([delta, m, v, ss, ref.img, ref.dist, ref.loss, ref.grad]);
        delta = d1 as tf.Tensor2D;
        m = m1!;
        v = v1!;
      }
      engine.dispose();
      tf.dispose([mid, half, base, xtT, onehot, cT, delta, m, v]);
    });
    W.dispose();
  });
}
