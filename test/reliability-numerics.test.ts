// Numerical robustness: the attacks on inputs exactly at the box edges (0 and 1, where the tanh
// change of variables has atanh(±1) = ±∞) and on saturated logits, and SNNL on far-apart points
// (exp underflow) — results must be finite where defined, success must equal re-prediction, and
// the adversarials must stay inside the box.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tfl from '@tensorflow/tfjs-layers';
import { useCpu, expectNoLeaks, tf } from './support/tf.js';
import { carliniWagnerL0, carliniWagnerL2, carliniWagnerLinf, optimalSnnl, softNearestNeighborLoss } from '../src/index.js';

let model: tfl.LayersModel;
let saturated: tfl.LayersModel;

function linear(scale: number): tfl.LayersModel {
  const m = tfl.sequential({ layers: [tfl.layers.dense({ units: 2, inputShape: [3] })] });
  const w = [tf.tensor2d([1, -1, -1, 1, 0.5, -0.5].map((v) => v * scale), [3, 2]), tf.tensor1d([0, 0])];
  m.setWeights(w);
  w.forEach((t) => t.dispose());
  return m;
}

before(async () => {
  await useCpu();
  model = linear(4);
  saturated = linear(1e4); // logits of order 1e4: softmax saturates to exactly 0/1 in float32
});
after(() => {
  model.dispose();
  saturated.dispose();
});

async function check(attackName: string, m: tfl.LayersModel, xs: number[][]) {
  const x = tf.tensor2d(xs);
  const lab = tf.tidy(() => tf.argMax(m.predict(x) as tf.Tensor, 1));
  const labels = Array.from(await lab.data());
  lab.dispose();
  const opts = { maxIterations: 50, initialConst: 1 };
  await expectNoLeaks(async () => {
    const r =
      attackName === 'l2'
        ? await carliniWagnerL2(m, x, labels, { ...opts, binarySearchSteps: 3 })
        : attackName === 'linf'
          ? await carliniWagnerLinf(m, x, labels, opts)
          : await carliniWagnerL0(m, x, labels, opts);
    const adv = await r.adversarial.data();
    assert.ok(adv.every((v) => Number.isFinite(v) && v >= 0 && v <= 1), `${attackName}: adversarial outside [0, 1] or not finite: ${Array.from(adv)}`);
    const pred = tf.tidy(() => tf.argMax(m.predict(r.adversarial) as tf.Tensor, 1));
    const p = await pred.data();
    pred.dispose();
    for (let i = 0; i < labels.length; i++) {
      assert.equal(r.success[i], p[i] !== labels[i] ? 1 : 0, `${attackName}: success[${i}] disagrees with re-prediction`);
      if (r.success[i]) assert.ok(Number.isFinite(r.distance[i]!), `${attackName}: distance[${i}] not finite on success`);
      else assert.equal(r.distance[i], Infinity);
    }
    assert.ok(r.success.some((s) => s === 1), `${attackName}: no example attacked at all (${Array.from(r.success)})`);
    r.dispose();
  });
  x.dispose();
}

const EDGES = [
  [0, 0, 0],
  [1, 1, 1],
  [1, 0, 1],
  [0, 1, 0.5],
];

for (const a of ['l2', 'linf', 'l0']) {
  test(`CW-${a}: inputs exactly at 0 and 1 give finite adversarials inside the box`, async () => {
    await check(a, model, EDGES);
  });
  test(`CW-${a}: saturated logits (|logit| ~ 1e4) still give correct success and finite distances`, async () => {
    await check(a, saturated, [[0.2, 0.7, 0.4], [0.9, 0.1, 0.3]]);
  });
}

test('SNNL: far-apart points (exp underflow) give a finite loss; optimalSnnl stays finite', async () => {
  const x = { data: Float32Array.from([0, 0, 1e3, 0, 0, 1e3, 1e3, 1e3, 5e2, 5e2, 1, 1]), rows: 6, cols: 2 };
  const labels = [0, 1, 0, 1, 0, 1];
  await expectNoLeaks(async () => {
    const s = softNearestNeighborLoss(x, labels, { temperature: 1e-3 });
    const v = (await s.data())[0]!;
    s.dispose();
    assert.ok(Number.isFinite(v) && v >= 0, `SNNL at T=1e-3 on far points is ${v}`);
    const o = await optimalSnnl(x, labels);
    assert.ok(Number.isFinite(o.loss) && Number.isFinite(o.temperature), `optimalSnnl ${o.loss} at T=${o.temperature}`);
  });
});
