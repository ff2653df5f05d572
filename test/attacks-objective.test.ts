/**
 * f6 computed from the logits' values with its own gradient (src/attacks/objective.ts,
 * `f6FromValues`, used by the fused wasm C&W step) gives f6's op form's values and gradients bit
 * for bit: targeted and untargeted, κ > 0, ties for the other-class maximum, a margin of exactly
 * zero, a NaN logit; on cpu and wasm, without leaks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expectNoLeaks, tf, useCpu } from './support/tf.js';
import { useWasm } from './support/wasm.js';
import { f6, f6FromValues } from '../src/attacks/objective.js';
import { createRng } from '../src/internal/rng.js';

const K = 10;

/** Seeded logits with ties and edge rows, their classes, and the class one-hot. */
function cases(): { z: Float32Array; cls: Int32Array; B: number } {
  const rng = createRng(53);
  const rows: number[][] = [];
  const cls: number[] = [];
  for (let r = 0; r < 12; r++) {
    const row = Array.from({ length: K }, () => Math.round(rng.normal() * 40) / 8); // coarse values: ties happen
    rows.push(row);
    // Every other row's class is its largest logit, so that untargeted margins are positive too.
    cls.push(r % 2 === 0 ? row.indexOf(Math.max(...row)) : Math.floor(rng.next() * K));
  }
  rows.push([1, 3, 3, 0, 3, -2, 0, 0, 1, 2]); // three-way tie for the other-class maximum
  cls.push(0);
  rows.push([2, 2, 0, 0, 0, 0, 0, 0, 0, 0]); // real = other: margin exactly 0
  cls.push(1);
  rows.push([0, 1, NaN, 0, 0, 0, 0, 0, 0, 0]); // a NaN logit
  cls.push(4);
  return { z: Float32Array.from(rows.flat()), cls: Int32Array.from(cls), B: rows.length };
}

async function valuesAndGrad(fn: (z: tf.Tensor2D) => tf.Tensor1D, z: tf.Tensor2D, w: tf.Tensor1D): Promise<{ f: Float32Array; g: Float32Array }> {
  const [f, g] = tf.tidy(() => [fn(z), tf.grad((x: tf.Tensor) => tf.sum(tf.mul(w, fn(x as tf.Tensor2D))))(z)]);
  const out = { f: (await f!.data()) as Float32Array, g: (await g!.data()) as Float32Array };
  tf.dispose([f!, g!]);
  return out;
}

for (const backend of ['cpu', 'wasm'] as const) {
  test(`${backend}: f6FromValues gives f6's values and gradients bit for bit`, async () => {
    if (backend === 'cpu') await useCpu();
    else await useWasm();
    const { z: zv, cls, B } = cases();
    const z = tf.tensor2d(zv, [B, K]);
    const oh = new Float32Array(B * K);
    for (let r = 0; r < B; r++) oh[r * K + cls[r]!] = 1;
    const onehot = tf.tensor2d(oh, [B, K]);
    const w = tf.tensor1d(Array.from({ length: B }, (_, r) => 0.5 + r)); // distinct per-row weights, as c
    for (const targeted of [true, false]) {
      for (const kappa of [0, 0.75]) {
        const ref = await valuesAndGrad((x) => f6(x, onehot, targeted, kappa), z, w);
        const got = await expectNoLeaks(() => valuesAndGrad((x) => f6FromValues(x, cls, targeted, kappa), z, w));
        const what = `targeted ${targeted}, κ ${kappa}`;
        assert.deepEqual(Array.from(got.f), Array.from(ref.f), `${what}: values`);
        assert.deepEqual(Array.from(got.g), Array.from(ref.g), `${what}: gradients`);
        assert.ok(ref.g.some((v) => v !== 0 && !Number.isNaN(v)), `${what}: the gradient is not trivial`);
      }
    }
    // The tie row (targeted, margin 2) passes the gradient to the class and to all three tied entries.
    const tie = await valuesAndGrad((x) => f6FromValues(x, cls, true, 0), z, w);
    const row = Array.from(tie.g.subarray(12 * K, 13 * K));
    assert.deepEqual(row.map((v, k) => (v !== 0 ? k : -1)).filter((k) => k >= 0), [0, 1, 2, 4]);
    tf.dispose([z, onehot, w]);
  });
}
