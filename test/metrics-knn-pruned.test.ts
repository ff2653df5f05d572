import { test } from 'node:test';
import assert from 'node:assert/strict';
import { knnSearch, knnSearchMatrices } from '../src/metrics/knn.js';
import type { KnnInternalOptions, KnnResult } from '../src/metrics/knn.js';
import { boundSlack, emptyPrunedStats } from '../src/metrics/knn-pruned.js';
import { createWasmSqDist, paddedLength, sqDist, sqDistFrom } from '../src/metrics/sq-dist.js';
import { loadMnist } from '../src/data/index.js';
import { selectRows } from '../src/metrics/matrix-input.js';
import { AbortedError, InvalidArgumentError } from '../src/errors.js';
import { createRng } from '../src/internal/rng.js';
import type { FloatMatrix } from '../src/types.js';
import { expectNoLeaks, expectTypedError, useCpu } from './support/tf.js';
import { useWasm } from './support/wasm.js';

import { bruteKnn } from './support/knn-reference.js';

await useCpu();

function gaussian(rows: number, cols: number, seed: number, scale = 1, offset = 0): FloatMatrix {
  const rng = createRng(seed);
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = offset + scale * rng.normal();
  return { data, rows, cols };
}


function search(ref: FloatMatrix, q: FloatMatrix, k: number, opts: KnnInternalOptions, excludeSelf = false, batch = 64): Promise<KnnResult> {
  return knnSearchMatrices(ref, q, k, excludeSelf, batch, undefined, undefined, 'test', opts);
}

/**
 * Pruned (with the WebAssembly kernel, and with its JavaScript twin when `both`) and brute force
 * give identical indices and distances, and match the independent float64 reference.
 */
async function expectSame(
  ref: FloatMatrix,
  q: FloatMatrix,
  k: number,
  opts: KnnInternalOptions = {},
  excludeSelf = false,
  checkReference = true,
  both = true,
): Promise<void> {
  const brute = await search(ref, q, k, { method: 'brute' }, excludeSelf);
  for (const wasm of both ? [true, false] : [true]) {
    const stats = emptyPrunedStats();
    const pruned = await expectNoLeaks(() => search(ref, q, k, { ...opts, method: 'pruned', stats, wasm }, excludeSelf));
    if (wasm && opts.stats) Object.assign(opts.stats, stats);
    assert.equal(stats.queries, q.rows, 'every query went through the pruned path');
    assert.equal(stats.wasm, wasm, 'the kernel asked for was used');
    assert.deepEqual(pruned.indices, brute.indices, `indices: pruned (wasm ${wasm}) vs brute force`);
    assert.deepEqual(pruned.distances, brute.distances, `distances: pruned (wasm ${wasm}) vs brute force`);
  }
  if (!checkReference) return;
  // (All equal brute force, checked above.)
  const bf = bruteKnn(ref, q, k, excludeSelf);
  for (let i = 0; i < q.rows; i++) {
    assert.deepEqual(Array.from(brute.indices.subarray(i * k, (i + 1) * k)), bf.indices[i], `query ${i}`);
    for (let j = 0; j < k; j++) assert.ok(Math.abs(brute.distances[i * k + j]! - bf.dists[i]![j]!) <= 1e-5 * (1 + bf.dists[i]![j]!));
  }
}

const NR = 1500;
const NQ = 100;
const mnistTrain = await loadMnist({ split: 'train', subset: { count: NR } });
const mnistTest = await loadMnist({ split: 'test', subset: { count: NQ } });
const MNIST_REF: FloatMatrix = { data: mnistTrain.images, rows: NR, cols: 784 };
const MNIST_Q: FloatMatrix = { data: mnistTest.images, rows: NQ, cols: 784 };

test('pruned kNN on real MNIST equals brute force (k = 1, 50) and actually prunes', async () => {
  await expectSame(MNIST_REF, MNIST_Q, 1, {}, false, false, false);
  const stats = emptyPrunedStats();
  await expectSame(MNIST_REF, MNIST_Q, 50, { stats });
  // Most rows are ruled out by the matMul bound and fewer still measured exactly.
  const perQuery = (v: number): number => v / stats.queries;
  assert.ok(perQuery(stats.bounded) < 0.3 * NR, `rows past the first bound per query: ${perQuery(stats.bounded)}`);
  assert.ok(perQuery(stats.visited) < 0.15 * NR, `rows measured exactly per query: ${perQuery(stats.visited)}`);
});

test('pruned kNN on MNIST with excludeSelf, few directions, and in-place reference rows', async () => {
  const sub = selectRows(MNIST_REF, Int32Array.from({ length: 400 }, (_, i) => i));
  await expectSame(sub, sub, 20, {}, true, true, false);
  await expectSame(sub, MNIST_Q, 30, { components: 2, refineComponents: 3 }, false, false, false);
  await expectSame(sub, MNIST_Q, 30, { components: 8, refineComponents: 8 }, false, false, false);
  // Rows of a larger matrix searched in place: the same as searching a copy.
  const rows = Int32Array.from({ length: 500 }, (_, i) => 3 * i + 1);
  const copy = selectRows(MNIST_REF, rows);
  const want = await search(copy, MNIST_Q, 25, { method: 'brute' });
  const got = await expectNoLeaks(() => knnSearchMatrices(MNIST_REF, MNIST_Q, 25, false, 64, undefined, undefined, 'test', { method: 'pruned' }, rows));
  assert.deepEqual(got.indices, want.indices);
  assert.deepEqual(got.distances, want.distances);
});

test('pruned kNN on data that defeats pruning: isotropic Gaussian in high dimension', async () => {
  const ref = gaussian(700, 200, 1);
  const q = gaussian(25, 200, 2);
  await expectSame(ref, q, 15);
  await expectSame(ref, q, 700, {}, false, false); // k = N
});

test('pruned kNN with duplicates and exact ties (integer grid, repeated rows), k up to N', async () => {
  const rng = createRng(7);
  for (const D of [3, 70]) {
    const base = new Float32Array(60 * D);
    for (let i = 0; i < base.length; i++) base[i] = rng.int(3);
    // Every row five times, interleaved, so equal distances come at scattered indices.
    const ref = { data: new Float32Array(300 * D), rows: 300, cols: D };
    for (let c = 0; c < 5; c++) for (let i = 0; i < 60; i++) ref.data.set(base.subarray(i * D, (i + 1) * D), (i * 5 + c) * D);
    const q = { data: new Float32Array(20 * D), rows: 20, cols: D };
    for (let i = 0; i < q.data.length; i++) q.data[i] = rng.int(3);
    q.data.set(base.subarray(0, D), 0); // a query equal to reference rows 0..4
    for (const k of [1, 7, 33, 300]) await expectSame(ref, q, k, {}, false, k !== 300);
    await expectSame(ref, ref, 299, {}, true, false); // k = N − 1 with excludeSelf
  }
  // All rows identical: everything ties, the lowest indices win.
  const flat = { data: new Float32Array(50 * 6).fill(2), rows: 50, cols: 6 };
  const res = await search(flat, gaussian(3, 6, 4), 10, { method: 'pruned' });
  assert.deepEqual(Array.from(res.indices.subarray(0, 10)), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test('pruned kNN: D smaller than the directions asked, tiny references, and a large common offset', async () => {
  await expectSame(gaussian(90, 5, 11), gaussian(12, 5, 12), 9); // D = 5 < m = 48
  await expectSame(gaussian(3, 4, 13), gaussian(4, 4, 14), 3); // N = 3 (fit on 3 rows)
  // Values near 1000 with unit spread: the slack is relative to the centred norms.
  await expectSame(gaussian(400, 80, 15, 1, 1000), gaussian(10, 80, 16, 1, 1000), 12);
  // Close clusters: many near-equal distances around each query.
  const ref = gaussian(500, 64, 17, 1e-3, 0);
  for (let i = 0; i < 500; i++) ref.data[i * 64] = i % 5;
  const q = gaussian(15, 64, 18, 1e-3, 0);
  for (let i = 0; i < 15; i++) q.data[i * 64] = i % 5;
  await expectSame(ref, q, 40);
});

test('distance kernel: WebAssembly SIMD and its JavaScript twin agree bit for bit, early stops included', () => {
  const kernel = createWasmSqDist(1 << 20);
  assert.ok(kernel, 'WebAssembly SIMD is available in Node 20');
  const rng = createRng(31);
  for (const n of [1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 100, 784]) {
    const P = paddedLength(n);
    for (let trial = 0; trial < 20; trial++) {
      const scale = trial % 4 === 0 ? 1000 : 1;
      const a = Float32Array.from({ length: n }, () => scale * rng.normal());
      const b = Float32Array.from({ length: n }, () => (trial % 5 === 0 ? 0 : rng.normal()));
      kernel.f32.fill(0, 0, 2 * P);
      kernel.f32.set(a, 0);
      kernel.f32.set(b, P);
      const full = sqDist(a, 0, b, 0, n);
      // Independent float64 sum (any order) within rounding.
      let ref = 0;
      for (let t = 0; t < n; t++) ref += (a[t]! - b[t]!) ** 2;
      assert.ok(Math.abs(full - ref) <= 1e-12 * ref);
      assert.equal(kernel.dist(0, 4 * P, P / 16, Infinity), full, `n ${n}: full distance`);
      for (const limit of [0, 0.25 * full, 0.9 * full, full, 2 * full]) {
        const js = sqDist(a, 0, b, 0, n, limit);
        const w = kernel.dist(0, 4 * P, P / 16, limit);
        assert.equal(js > limit, full > limit, 'an early stop only when the full value is above the limit');
        assert.equal(w > limit, full > limit);
        if (full <= limit) assert.equal(w, js);
        const start = -0.5 * full;
        const jf = sqDistFrom(start, a, 0, b, 0, n, limit);
        const wf = kernel.distFrom(0, 4 * P, P / 16, start, limit);
        assert.equal(jf > limit, wf > limit);
        if (jf <= limit) assert.equal(wf, jf);
      }
    }
  }
  assert.equal(createWasmSqDist(2 ** 40), undefined, 'too much memory: no kernel');
});

test('pruned kNN: the rounding slack is positive and grows with the dimensions', () => {
  assert.ok(boundSlack(784, 48, 128) > 0 && boundSlack(784, 48, 128) < 1e-2);
  assert.ok(boundSlack(784, 48, 256) > boundSlack(784, 48, 128));
  assert.ok(boundSlack(4000, 48, 128) > boundSlack(784, 48, 128));
});

test("'auto': pruned where allowed, brute force for the rest once the probe shows pruning does not pay, exact either way", async () => {
  const limits = { work: 1, dims: 1, rows: 1 };
  const onMnist: KnnInternalOptions = { method: 'auto', autoLimits: { ...limits, giveUp: Infinity } };
  const a = await expectNoLeaks(() => search(MNIST_REF, MNIST_Q, 10, onMnist, false, 40));
  assert.equal(onMnist.prunedQueries, NQ, 'MNIST: every query pruned');
  const b = await search(MNIST_REF, MNIST_Q, 10, { method: 'brute' });
  assert.deepEqual(a.indices, b.indices);
  assert.deepEqual(a.distances, b.distances);
  // Isotropic Gaussian: the probe chunk shows pruning costs more than the matMul; the rest is brute force.
  const ref = gaussian(800, 256, 21);
  const q = gaussian(100, 256, 22);
  const onGauss: KnnInternalOptions = { method: 'auto', autoLimits: limits };
  const steps: number[] = [];
  const c = await expectNoLeaks(() =>
    knnSearchMatrices(ref, q, 10, false, 40, undefined, (p) => steps.push(p.step / p.total), 'test', onGauss),
  );
  assert.ok(onGauss.prunedQueries! > 0 && onGauss.prunedQueries! < 100, `pruned queries: ${onGauss.prunedQueries}`);
  assert.equal(steps[steps.length - 1], 1, 'progress ends at 1');
  const d = await search(ref, q, 10, { method: 'brute' });
  assert.deepEqual(c.indices, d.indices);
  assert.deepEqual(c.distances, d.distances);
  // Default limits: small problems never take the pruned path.
  const small: KnnInternalOptions = { method: 'auto' };
  await search(MNIST_REF, MNIST_Q, 10, small);
  assert.equal(small.prunedQueries, 0);
});

test('knnSearch method option: validated, every method gives the same result, abort and progress in the pruned path', async () => {
  const ref = selectRows(MNIST_REF, Int32Array.from({ length: 500 }, (_, i) => i));
  const q = selectRows(MNIST_Q, Int32Array.from({ length: 40 }, (_, i) => i));
  await expectTypedError(() => knnSearch(ref, q, { k: 3, method: 'fast' as never }), InvalidArgumentError, 'options.method');
  const results = [];
  for (const method of ['auto', 'brute', 'pruned'] as const) results.push(await expectNoLeaks(() => knnSearch(ref, q, { k: 5, method })));
  assert.deepEqual(results[0], results[1]);
  assert.deepEqual(results[2], results[1]);
  const steps: number[] = [];
  await knnSearch(ref, q, { k: 5, method: 'pruned', batchSize: 10, onProgress: (p) => steps.push(p.step) });
  assert.deepEqual(steps, [1, 2, 3, 4]);
  const ac = new AbortController();
  await expectNoLeaks(() =>
    expectTypedError(
      () => knnSearch(ref, q, { k: 5, method: 'pruned', batchSize: 10, signal: ac.signal, onProgress: (p) => p.step === 2 && ac.abort() }),
      AbortedError,
      'knnSearch',
    ),
  );
});

test('pruned kNN on the wasm backend (scores read in place from the wasm heap) equals brute force', async () => {
  await useWasm();
  try {
    const sub = selectRows(MNIST_REF, Int32Array.from({ length: 800 }, (_, i) => i));
    for (const [q, excludeSelf] of [[MNIST_Q, false], [sub, true]] as const) {
      const stats = emptyPrunedStats();
      const pruned = await expectNoLeaks(() => search(sub, q, 25, { method: 'pruned', stats }, excludeSelf, 32));
      assert.equal(stats.queries, q.rows);
      const brute = await search(sub, q, 25, { method: 'brute' }, excludeSelf, 32);
      assert.deepEqual(pruned.indices, brute.indices);
      assert.deepEqual(pruned.distances, brute.distances);
      if (excludeSelf) for (let i = 0; i < q.rows; i++) assert.ok(!pruned.indices.subarray(i * 25, (i + 1) * 25).includes(i), 'own row excluded');
    }
  } finally {
    await useCpu();
  }
});
