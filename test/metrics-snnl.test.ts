import { test } from 'node:test';
import assert from 'node:assert/strict';
import { optimalSnnl, softNearestNeighborLoss } from '../src/metrics/snnl.js';
import { InvalidArgumentError } from '../src/errors.js';
import { createRng } from '../src/internal/rng.js';
import type { FloatMatrix } from '../src/types.js';
import { expectNoLeaks, expectTypedError, tf, useCpu } from './support/tf.js';

await useCpu();

/** Direct float64 evaluation of the definition (independent of the implementation). */
function snnlDirect(x: number[][], y: number[], T: number): number {
  const b = x.length;
  let total = 0;
  for (let i = 0; i < b; i++) {
    let num = 0;
    let den = 0;
    for (let j = 0; j < b; j++) {
      if (j === i) continue;
      const d = x[i]!.reduce((s, v, t) => s + (v - x[j]![t]!) ** 2, 0);
      const e = Math.exp(-d / T);
      den += e;
      if (y[j] === y[i]) num += e;
    }
    total += Math.log(num / den);
  }
  return -total / b;
}

function blobs(n: number, sep: number, seed: number): { m: FloatMatrix; labels: number[] } {
  const rng = createRng(seed);
  const data = new Float32Array(2 * n * 3);
  const labels: number[] = [];
  for (let i = 0; i < 2 * n; i++) {
    const c = i < n ? 0 : 1;
    labels.push(c);
    for (let j = 0; j < 3; j++) data[i * 3 + j] = rng.normal() + (j === 0 ? c * sep : 0);
  }
  return { m: { data, rows: 2 * n, cols: 3 }, labels };
}

test('SNNL: 4-point hand case matches the closed form', async () => {
  // Points 0, 1 (label 0) and 0, 2 on a line... use x = [0], [1], [3], [4]; labels 0, 0, 1, 1; T = 2.
  const x = [[0], [1], [3], [4]];
  const y = [0, 0, 1, 1];
  // For point 0: same d=1, others d=9,16 → −log(e^{-1/2} / (e^{-1/2} + e^{-9/2} + e^{-8})); by symmetry all four terms alike
  // except points 1 and 2: same d=1, others d=4, 9.
  const p0 = Math.log(Math.exp(-0.5) / (Math.exp(-0.5) + Math.exp(-4.5) + Math.exp(-8)));
  const p1 = Math.log(Math.exp(-0.5) / (Math.exp(-0.5) + Math.exp(-2) + Math.exp(-4.5)));
  const expected = -(2 * p0 + 2 * p1) / 4;
  const t = tf.tensor2d(x);
  try {
    const v = await expectNoLeaks(async () => {
      const l = softNearestNeighborLoss(t, y, { temperature: 2 });
      const out = (await l.data())[0]!;
      l.dispose();
      return out;
    });
    assert.ok(Math.abs(v - expected) < 1e-6, `${v} vs ${expected}`);
    assert.ok(Math.abs(snnlDirect(x, y, 2) - expected) < 1e-12);
  } finally {
    t.dispose();
  }
});

test('SNNL: ~0 on separated blobs, ~ln 2 on a random labelling; matches the definition', async () => {
  const { m, labels } = blobs(40, 40, 3);
  const rows = Array.from({ length: m.rows }, (_, i) => Array.from(m.data.subarray(i * 3, i * 3 + 3)));
  const sep = softNearestNeighborLoss(m, labels, { temperature: 5 });
  const sepV = (await sep.data())[0]!;
  sep.dispose();
  assert.ok(sepV < 1e-6, `separated loss ${sepV}`);
  const rng = createRng(9);
  const random = rng.shuffle([...labels]);
  const mixed = blobs(40, 0, 4);
  const lossT = softNearestNeighborLoss(mixed.m, random, { temperature: 1000 });
  const v = (await lossT.data())[0]!;
  lossT.dispose();
  // At large T the loss tends to ℓ∞ = −log(39/79) ≈ 0.7057 (80 points, 40 + 40).
  assert.ok(Math.abs(v - Math.log(79 / 39)) < 0.01, `random loss ${v}`);
  const direct = snnlDirect(rows, labels, 3);
  const lt = softNearestNeighborLoss(m, labels, { temperature: 3 });
  const got = (await lt.data())[0]!;
  lt.dispose();
  assert.ok(Math.abs(got - direct) <= 1e-4 * Math.max(1, direct), `${got} vs ${direct}`);
});

test('SNNL gradient matches finite differences', async () => {
  const rng = createRng(5);
  const vals = Array.from({ length: 8 * 3 }, () => rng.normal());
  const y = [0, 0, 0, 1, 1, 1, 2, 2];
  const x = tf.tensor2d(vals, [8, 3], 'float32');
  try {
    await expectNoLeaks(async () => {
      const g = tf.grad((v: tf.Tensor) => softNearestNeighborLoss(v as tf.Tensor2D, y, { temperature: 1.5 }));
      const gt = g(x);
      const gd = await gt.data();
      gt.dispose();
      const rowsOf = (v: number[]) => Array.from({ length: 8 }, (_, i) => v.slice(i * 3, i * 3 + 3));
      const h = 1e-5;
      for (let i = 0; i < vals.length; i++) {
        const plus = [...vals];
        plus[i]! += h;
        const minus = [...vals];
        minus[i]! -= h;
        const fd = (snnlDirect(rowsOf(plus), y, 1.5) - snnlDirect(rowsOf(minus), y, 1.5)) / (2 * h);
        assert.ok(Math.abs(gd[i]! - fd) < 2e-3 * Math.max(1, Math.abs(fd)), `grad[${i}] ${gd[i]} vs fd ${fd}`);
      }
    });
  } finally {
    x.dispose();
  }
});

test('optimalSnnl: separated ≈ 0, entangled near ℓ∞, T* inside the grid, matches a dense scan', async () => {
  const sep = blobs(30, 30, 6);
  const r1 = await expectNoLeaks(() => optimalSnnl(sep.m, sep.labels));
  assert.ok(r1.loss < 1e-3, `separated ℓ* ${r1.loss}`);
  assert.ok(Math.abs(r1.chanceLoss - Math.log(59 / 29)) < 1e-12);
  const mixed = blobs(30, 0, 7);
  const r2 = await optimalSnnl(mixed.m, mixed.labels);
  assert.ok(r2.loss <= r2.chanceLoss + 1e-3 && r2.loss > 0.5 * r2.chanceLoss, `entangled ℓ* ${r2.loss} vs ℓ∞ ${r2.chanceLoss}`);
  assert.ok(Math.abs(r2.temperatureRatio - r2.temperature / r2.medianSquaredDistance) < 1e-12);
  // Independent dense scan of the definition over log T.
  const rows = Array.from({ length: mixed.m.rows }, (_, i) => Array.from(mixed.m.data.subarray(i * 3, i * 3 + 3)));
  let best = Infinity;
  for (let i = 0; i <= 600; i++) {
    // (At the smallest T the direct form underflows to 0/0; those points are skipped.)
    const v = snnlDirect(rows, mixed.labels, r2.medianSquaredDistance * 10 ** (-3 + i / 100));
    if (Number.isFinite(v)) best = Math.min(best, v);
  }
  assert.ok(r2.loss <= best + 1e-5, `ℓ* ${r2.loss} vs scan ${best}`);
  assert.ok(Math.abs(snnlDirect(rows, mixed.labels, r2.temperature) - r2.loss) < 1e-4);
});

test('SNNL: typed errors (label occurring once, bad temperature, shapes)', async () => {
  const x = tf.tensor2d([[0], [1], [2]]);
  try {
    await expectTypedError(() => softNearestNeighborLoss(x, [0, 0, 1], { temperature: 1 }), InvalidArgumentError, 'label 1');
    await expectTypedError(() => softNearestNeighborLoss(x, [0, 0, 0], { temperature: 0 }), InvalidArgumentError, 'options.temperature');
    await expectTypedError(() => softNearestNeighborLoss(x, [0, 0], { temperature: 1 }), Error, 'labels');
    await expectTypedError(() => optimalSnnl(x, [0, 2, 0]), InvalidArgumentError, 'label 2');
    const bad = { data: new Float32Array([0, NaN, 1, 2]), rows: 4, cols: 1 };
    await expectTypedError(() => optimalSnnl(bad, [0, 0, 1, 1]), InvalidArgumentError, 'x');
  } finally {
    x.dispose();
  }
});
