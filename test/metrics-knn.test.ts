import { test } from 'node:test';
import assert from 'node:assert/strict';
import { knnSearch } from '../src/metrics/knn.js';
import { AbortedError, InvalidArgumentError, ShapeMismatchError } from '../src/errors.js';
import { expectNoLeaks, expectTypedError, tf, useCpu } from './support/tf.js';

import { bruteKnn, randMatrix } from './support/knn-reference.js';

await useCpu();



for (const [n, qn, d, k, integer] of [
  [50, 7, 3, 5, false],
  [200, 33, 17, 20, false],
  [64, 10, 1, 64, false],
  [120, 40, 4, 30, true], // many exact ties: integer grid points
  [300, 5, 65, 1, false],
] as Array<[number, number, number, number, boolean]>) {
  test(`knnSearch matches brute force: N=${n} Q=${qn} D=${d} k=${k}${integer ? ' (ties)' : ''}`, async () => {
    const ref = randMatrix(n, d, n + d, integer);
    const q = randMatrix(qn, d, qn + 1000, integer);
    const res = await expectNoLeaks(() => knnSearch(ref, q, { k, batchSize: 8 }));
    const bf = bruteKnn(ref, q, k);
    assert.equal(res.k, k);
    assert.equal(res.queries, qn);
    for (let i = 0; i < qn; i++) {
      assert.deepEqual(Array.from(res.indices.subarray(i * k, (i + 1) * k)), bf.indices[i]);
      for (let j = 0; j < k; j++) assert.ok(Math.abs(res.distances[i * k + j]! - bf.dists[i]![j]!) <= 1e-5 * (1 + bf.dists[i]![j]!));
    }
  });
}

test('knnSearch excludeSelf and tensor inputs', async () => {
  const ref = randMatrix(80, 6, 5, true);
  const t = tf.tensor2d(ref.data, [80, 6]);
  try {
    const res = await expectNoLeaks(() => knnSearch(t, t, { k: 10, excludeSelf: true }));
    const bf = bruteKnn(ref, ref, 10, true);
    for (let i = 0; i < 80; i++) assert.deepEqual(Array.from(res.indices.subarray(i * 10, (i + 1) * 10)), bf.indices[i]);
    // k = N - 1 is allowed with excludeSelf, k = N is not.
    await expectNoLeaks(() => knnSearch(ref, ref, { k: 79, excludeSelf: true }));
    await expectTypedError(() => knnSearch(ref, ref, { k: 80, excludeSelf: true }), InvalidArgumentError, 'options.k');
  } finally {
    t.dispose();
  }
});

test('knnSearch rejects bad input with typed errors, and honours signal and progress', async () => {
  const ref = randMatrix(10, 3, 1);
  const q = randMatrix(4, 3, 2);
  await expectTypedError(() => knnSearch(ref, q, { k: 11 }), InvalidArgumentError, 'options.k');
  await expectTypedError(() => knnSearch(ref, q, { k: 0 }), InvalidArgumentError, 'options.k');
  await expectTypedError(() => knnSearch(ref, randMatrix(4, 2, 3), { k: 2 }), ShapeMismatchError, 'queries');
  const bad = randMatrix(4, 3, 2);
  bad.data[5] = NaN;
  await expectTypedError(() => knnSearch(ref, bad, { k: 2 }), InvalidArgumentError, 'queries');
  await expectTypedError(() => knnSearch(ref, q, { k: 2, kk: 1 } as never), InvalidArgumentError, 'options.kk');
  await expectTypedError(() => knnSearch(ref, q, { k: 2, excludeSelf: true }), ShapeMismatchError, 'queries');
  const ac = new AbortController();
  ac.abort();
  await expectNoLeaks(() => expectTypedError(() => knnSearch(ref, q, { k: 2, signal: ac.signal }), AbortedError, 'knnSearch'));
  const steps: number[] = [];
  await knnSearch(ref, q, { k: 2, batchSize: 1, onProgress: (p) => steps.push(p.step) });
  assert.deepEqual(steps, [1, 2, 3, 4]);
});

test('knnSearch streams the reference in blocks and merges them exactly (including ties)', async () => {
  const { knnSearchMatrices } = await import('../src/metrics/knn.js');
  for (const integer of [false, true]) {
    const ref = randMatrix(97, 5, 11, integer);
    const q = randMatrix(13, 5, 12, integer);
    const bf = bruteKnn(ref, q, 25);
    for (const blockRows of [7, 30, 97]) {
      const res = await expectNoLeaks(() => knnSearchMatrices(ref, q, 25, false, 4, undefined, undefined, 'test', blockRows));
      for (let i = 0; i < 13; i++) assert.deepEqual(Array.from(res.indices.subarray(i * 25, (i + 1) * 25)), bf.indices[i]);
    }
  }
});

test('knnSearch: columns constant over the reference (left out of the matMul) do not change results', async () => {
  const ref = randMatrix(60, 6, 31);
  const q = randMatrix(9, 6, 32);
  for (let i = 0; i < 60; i++) {
    ref.data[i * 6 + 1] = 0;
    ref.data[i * 6 + 4] = 2.5;
  }
  const res = await expectNoLeaks(() => knnSearch(ref, q, { k: 12 }));
  const bf = bruteKnn(ref, q, 12);
  for (let i = 0; i < 9; i++) {
    assert.deepEqual(Array.from(res.indices.subarray(i * 12, (i + 1) * 12)), bf.indices[i]);
    for (let j = 0; j < 12; j++) assert.ok(Math.abs(res.distances[i * 12 + j]! - bf.dists[i]![j]!) <= 1e-5 * (1 + bf.dists[i]![j]!));
  }
  // Every column constant: all references tie, the lowest indices win.
  const flat = { data: new Float32Array(20 * 6).fill(1), rows: 20, cols: 6 };
  const r2 = await knnSearch(flat, q, { k: 4 });
  assert.deepEqual(Array.from(r2.indices.subarray(0, 4)), [0, 1, 2, 3]);
});

test('knnSearch brute force stays exact for data far from the origin (scores are centred)', async () => {
  // Values near 1000 with unit spread: uncentred float32 scores q·x − ½‖x‖² (‖x‖² ≈ 8·10⁷) lose the ranking.
  const ref = randMatrix(400, 80, 15);
  const q = randMatrix(10, 80, 16);
  for (const m of [ref, q]) for (let i = 0; i < m.data.length; i++) m.data[i]! += 1000;
  const res = await expectNoLeaks(() => knnSearch(ref, q, { k: 12, method: 'brute' }));
  const bf = bruteKnn(ref, q, 12);
  for (let i = 0; i < 10; i++) assert.deepEqual(Array.from(res.indices.subarray(i * 12, (i + 1) * 12)), bf.indices[i]);
});
