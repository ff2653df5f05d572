/**
 * CW-L2, CW-L∞ and CW-L0 against exact optima on linear classifiers.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf, useCpu, expectNoLeaks } from './support/tf.js';
import { carliniWagnerL0, carliniWagnerL2, carliniWagnerLinf } from '../src/attacks/index.js';
import { createRng } from '../src/internal/rng.js';
import { bruteForceL0, linearFunction, linearLayersModel, linearLogits, randomLinear } from './attacks-support.js';

before(async () => {
  await useCpu();
});

/** Binary linear model centred at 0.5 and inputs in [0.3, 0.7] with their label = predicted class. */
function binaryCase(D: number, N: number, seed: number) {
  const l = randomLinear(D, 2, seed);
  let s = 0;
  for (let i = 0; i < D; i++) s += (l.W[i * 2 + 1]! - l.W[i * 2]!) * 0.5;
  l.b[1] = -s;
  const rng = createRng(seed + 1);
  let n2 = 0;
  let n1 = 0;
  for (let i = 0; i < D; i++) {
    const dw = l.W[i * 2 + 1]! - l.W[i * 2]!;
    n2 += dw * dw;
    n1 += Math.abs(dw);
  }
  // Rejection sampling: optima large enough to measure, small enough that the box [0, 1] is never
  // active (inputs in [0.3, 0.7] and every coordinate moves by at most the optimum, < 0.3).
  const x = new Float32Array(N * D);
  const labels: number[] = [];
  const l2: number[] = [];
  const linf: number[] = [];
  const row = new Float32Array(D);
  for (let e = 0; e < N; ) {
    for (let i = 0; i < D; i++) row[i] = 0.3 + 0.4 * rng.next();
    const z = linearLogits(l, row);
    const g = Math.abs(z[1]! - z[0]!);
    const d2 = g / Math.sqrt(n2);
    if (d2 < 0.1 || d2 > 0.29) continue;
    x.set(row, e * D);
    labels.push(z[1]! > z[0]! ? 1 : 0);
    l2.push(d2);
    linf.push(g / n1);
    e++;
  }
  return { l, x, labels, l2, linf };
}

test('CW-L2 reaches the closed-form minimal L2 perturbation of a linear classifier within 2 %', async () => {
  const D = 16;
  const N = 6;
  const { l, x, labels, l2 } = binaryCase(D, N, 11);
  const model = linearLayersModel(l, [4, 4, 1]);
  const inputs = tf.tensor4d(x, [N, 4, 4, 1]);
  await expectNoLeaks(async () => {
    const r = await carliniWagnerL2(model, inputs, labels, { preset: 'fast', batchSize: 4 });
    try {
      for (let e = 0; e < N; e++) {
        assert.equal(r.success[e], 1, `example ${e} failed`);
        const rel = r.distance[e]! / l2[e]!;
        assert.ok(rel >= 1 - 1e-3 && rel <= 1.02, `example ${e}: distance ${r.distance[e]} vs optimum ${l2[e]} (ratio ${rel})`);
        assert.notEqual(r.predicted[e], labels[e]);
      }
    } finally {
      r.dispose();
    }
  });
  inputs.dispose();
  model.dispose();
});

test('CW-L∞ reaches the closed-form minimal L∞ perturbation within the resolution of its τ schedule', async () => {
  const D = 16;
  const N = 6;
  const { l, x, labels, linf } = binaryCase(D, N, 21);
  const lin = linearFunction(l);
  const inputs = tf.tensor4d(x, [N, 4, 4, 1]);
  await expectNoLeaks(async () => {
    const r = await carliniWagnerLinf(lin.fn, inputs, labels, { batchSize: 4, maxIterations: 300 });
    try {
      for (let e = 0; e < N; e++) {
        assert.equal(r.success[e], 1, `example ${e} failed`);
        const rel = r.distance[e]! / linf[e]!;
        assert.ok(rel >= 1 - 1e-3 && rel <= 1.12, `example ${e}: distance ${r.distance[e]} vs optimum ${linf[e]} (ratio ${rel})`);
      }
    } finally {
      r.dispose();
    }
  });
  inputs.dispose();
  lin.dispose();
});

test('CW-L0 is within one pixel of the brute-force minimum on tiny inputs (most cases)', async (t) => {
  const cases: { shape: [number, number, number]; seed: number }[] = [
    { shape: [3, 3, 1], seed: 31 },
    { shape: [2, 2, 3], seed: 41 },
  ];
  let within = 0;
  let exact = 0;
  let total = 0;
  for (const { shape, seed } of cases) {
    const D = shape[0] * shape[1] * shape[2];
    const C = shape[2];
    const N = 12;
    const l = randomLinear(D, 2, seed);
    const rng = createRng(seed + 7);
    const x = new Float32Array(N * D);
    for (let i = 0; i < x.length; i++) x[i] = rng.next();
    const labels: number[] = [];
    for (let e = 0; e < N; e++) {
      const z = linearLogits(l, x, e * D);
      labels.push(z[1]! > z[0]! ? 1 : 0);
    }
    const targets = labels.map((y) => 1 - y);
    const model = linearLayersModel(l, shape);
    const inputs = tf.tensor4d(x, [N, ...shape]);
    await expectNoLeaks(async () => {
      const r = await carliniWagnerL0(model, inputs, labels, { targets, maxIterations: 100, batchSize: 8 });
      try {
        const adv = (await r.adversarial.data()) as Float32Array;
        for (let e = 0; e < N; e++) {
          const bf = bruteForceL0(l, x, e * D, C, labels[e]!, targets[e]!, 0.01);
          if (!Number.isFinite(bf)) {
            assert.equal(r.success[e], 0, `example ${e}: no subset reaches the target, yet success`);
            continue;
          }
          total++;
          assert.equal(r.success[e], 1, `example ${e} failed (brute force: ${bf} pixels)`);
          // The returned image changes exactly `distance` pixels.
          let changed = 0;
          for (let p = 0; p < D; p += C) {
            let any = false;
            for (let c = 0; c < C; c++) if (adv[e * D + p + c] !== x[e * D + p + c]) any = true;
            if (any) changed++;
          }
          assert.equal(r.distance[e], changed);
          assert.ok(r.distance[e]! >= bf, `example ${e}: ${r.distance[e]} pixels beats the brute-force minimum ${bf}`);
          if (r.distance[e]! <= bf + 1) within++;
          if (r.distance[e]! === bf) exact++;
        }
      } finally {
        r.dispose();
      }
    });
    inputs.dispose();
    model.dispose();
  }
  t.diagnostic(`CW-L0 vs brute force: within one pixel ${within}/${total}, exact ${exact}/${total}`);
  assert.ok(total >= 16, `too few feasible cases (${total})`);
  assert.ok(within / total >= 0.75, `within one pixel in only ${within}/${total} cases`);
});
