import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizedCentroidDistance } from '../src/metrics/centroid-distance.js';
import { knnPercentileRank } from '../src/metrics/knn-percentile.js';
import { knnClassCounts } from '../src/metrics/knn-class-counts.js';
import { AbortedError, InvalidArgumentError, ShapeMismatchError } from '../src/errors.js';
import { createRng } from '../src/internal/rng.js';
import type { FloatMatrix } from '../src/types.js';
import { expectNoLeaks, expectTypedError, tf, useCpu } from './support/tf.js';

await useCpu();

const m = (rows: number[][]): FloatMatrix => ({ data: Float32Array.from(rows.flat()), rows: rows.length, cols: rows[0]!.length });

test('normalizedCentroidDistance: hand-computed case, raw option, summaries', async () => {
  // Class 0: (0,0), (2,0) → μ0 = (1,0), σ0 = 1. Class 1: (10,0), (10,4) → μ1 = (10,2), σ1 = 2.
  const reference = m([[0, 0], [2, 0], [10, 0], [10, 4]]);
  const r = await expectNoLeaks(() =>
    normalizedCentroidDistance({ reference, referenceLabels: [0, 0, 1, 1], queries: m([[4, 4], [1, 0]]), originalClass: [0, 0], predictedClass: [1, 1] }),
  );
  // Query (4,4): ‖·−μ0‖ = 5 → 5; ‖·−μ1‖ = √(36+4) = √40 → √40/2.
  assert.ok(Math.abs(r.original[0]! - 5) < 1e-12);
  assert.ok(Math.abs(r.predicted[0]! - Math.sqrt(40) / 2) < 1e-12);
  assert.ok(Math.abs(r.original[1]!) < 1e-12);
  assert.ok(Math.abs(r.difference[0]! - (5 - Math.sqrt(40) / 2)) < 1e-12);
  assert.equal(r.classScale.get(1), 2);
  assert.equal(r.pairs.length, 1);
  assert.equal(r.pairs[0]!.count, 2);
  assert.ok(Math.abs(r.pairs[0]!.summaries.original.mean - 2.5) < 1e-12);
  assert.ok(Math.abs(r.pairs[0]!.summaries.original.std - 2.5) < 1e-12);
  const raw = await normalizedCentroidDistance(
    { reference, referenceLabels: [0, 0, 1, 1], queries: m([[4, 4]]), originalClass: [0], predictedClass: [1] },
    { normalize: 'none' },
  );
  assert.ok(Math.abs(raw.predicted[0]! - Math.sqrt(40)) < 1e-12);
  // Clean training points of a class average exactly 1.
  const rng = createRng(1);
  const pts = Array.from({ length: 30 }, () => [rng.normal(), rng.normal(), rng.normal()]);
  const self = await normalizedCentroidDistance({ reference: m(pts), referenceLabels: new Array(30).fill(0), queries: m(pts), originalClass: new Array(30).fill(0), predictedClass: new Array(30).fill(0) });
  assert.ok(Math.abs(self.pairs[0]!.summaries.original.mean - 1) < 1e-12);
  await expectTypedError(
    () => normalizedCentroidDistance({ reference, referenceLabels: [0, 0, 1, 1], queries: m([[1, 1]]), originalClass: [0], predictedClass: [3] }),
    InvalidArgumentError,
    'class 3 is absent',
  );
  await expectTypedError(
    () => normalizedCentroidDistance({ reference, referenceLabels: [0, 0, 1, 1], queries: m([[1, 1, 1]]), originalClass: [0], predictedClass: [1] }),
    ShapeMismatchError,
    'input.queries',
  );
});

test('knnPercentileRank: hand-computed ranks with ties, tensors accepted', async () => {
  // 1-D. Class 0 reference {0, 1}; class 1 reference {10, 11}. k = 1.
  // Calibration class 0: {0.5 → s 0.5, 2 → s 1, 3 → s 2}; class 1: {10.5 → 0.5, 13 → 2}.
  const one = (v: number[]) => m(v.map((x) => [x]));
  const ref = tf.tensor2d([[0], [1], [10], [11]]);
  try {
    const r = await expectNoLeaks(() =>
      knnPercentileRank(
        {
          reference: ref,
          referenceLabels: [0, 0, 1, 1],
          calibration: one([0.5, 2, 3, 10.5, 13]),
          calibrationLabels: [0, 0, 0, 1, 1],
          queries: one([2, 12]),
          originalClass: [0, 1],
          predictedClass: [1, 0],
        },
        { k: 1 },
      ),
    );
    // Query 2: s_0 = 1 → calibration {0.5, 1, 2}: 1 below, 1 equal → 100·(1 + ½)/3 = 50.
    assert.ok(Math.abs(r.original[0]! - 50) < 1e-9);
    // s_1(2) = 8 → above both class-1 calibration scores → 100.
    assert.ok(Math.abs(r.predicted[0]! - 100) < 1e-9);
    // Query 12: s_1 = 1 → one of {0.5, 2} below → 50; s_0 = 11 → 100.
    assert.ok(Math.abs(r.original[1]! - 50) < 1e-9);
    assert.ok(Math.abs(r.predicted[1]! - 100) < 1e-9);
    assert.ok(Math.abs(r.scoreOriginal[1]! - 1) < 1e-6);
    assert.equal(r.calibrationSize.get(0), 3);
    assert.equal(r.pairs.length, 2);
  } finally {
    ref.dispose();
  }
  // k = 2: s is the mean of the two nearest distances.
  const r2 = await knnPercentileRank(
    { reference: one([0, 1, 10, 11]), referenceLabels: [0, 0, 1, 1], calibration: one([0.5, 3, 10, 11]), calibrationLabels: [0, 0, 1, 1], queries: one([-1]), originalClass: [0], predictedClass: [1] },
    { k: 2 },
  );
  assert.ok(Math.abs(r2.scoreOriginal[0]! - 1.5) < 1e-6); // (1 + 2)/2
  assert.ok(Math.abs(r2.original[0]! - 50) < 1e-9); // calibration scores 0.5, 2.5
  const base = { reference: one([0, 1, 10, 11]), referenceLabels: [0, 0, 1, 1], calibration: one([0.5, 10.5]), calibrationLabels: [0, 1], queries: one([2]), originalClass: [0], predictedClass: [1] };
  await expectTypedError(() => knnPercentileRank(base, { k: 3 }), InvalidArgumentError, 'options.k');
  await expectTypedError(() => knnPercentileRank({ ...base, calibrationLabels: [0, 0] }), InvalidArgumentError, 'input.calibrationLabels');
  await expectTypedError(() => knnPercentileRank({ ...base, queries: one([NaN]) }, { k: 1 }), InvalidArgumentError, 'input.queries');
});

/** Brute-force neighbour counts (float64 distances, ties by index). */
function bruteCounts(ref: FloatMatrix, labels: number[], q: number[], o: number, p: number, k: number, all: boolean) {
  const cand: Array<[number, number]> = [];
  for (let r = 0; r < ref.rows; r++) {
    if (!all && labels[r] !== o && labels[r] !== p) continue;
    let s = 0;
    for (let t = 0; t < ref.cols; t++) s += (ref.data[r * ref.cols + t]! - q[t]!) ** 2;
    cand.push([s, r]);
  }
  cand.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const top = cand.slice(0, k).map((c) => labels[c[1]]!);
  return { no: top.filter((c) => c === o).length, np: top.filter((c) => c === p).length, other: top.filter((c) => c !== o && c !== p).length };
}

test('knnClassCounts (Method A): known geometry and brute force, two-class and allClasses', async () => {
  const one = (v: number[]) => m(v.map((x) => [x]));
  const r0 = await expectNoLeaks(() =>
    knnClassCounts({ reference: one([0, 1, 2, 10, 11, 12, 5.1]), referenceLabels: [0, 0, 0, 1, 1, 1, 2], queries: one([2.5]), originalClass: [0], predictedClass: [1] }, { k: 4 }),
  );
  assert.equal(r0.original[0], 3);
  assert.equal(r0.predicted[0], 1);
  const rAll = await knnClassCounts({ reference: one([0, 1, 2, 10, 11, 12, 5.1]), referenceLabels: [0, 0, 0, 1, 1, 1, 2], queries: one([2.5]), originalClass: [0], predictedClass: [1] }, { k: 4, allClasses: true });
  assert.deepEqual([rAll.original[0], rAll.predicted[0], rAll.other[0]], [3, 0, 1]);

  const rng = createRng(21);
  const N = 150;
  const D = 5;
  const labels = Array.from({ length: N }, () => rng.int(4));
  const ref = m(Array.from({ length: N }, (_, i) => Array.from({ length: D }, () => rng.normal() + labels[i]!)));
  const Q = 25;
  const qs = Array.from({ length: Q }, () => Array.from({ length: D }, () => rng.normal() * 2 + 1.5));
  const o = Array.from({ length: Q }, () => rng.int(4));
  const p = o.map((c) => (c + 1 + rng.int(3)) % 4);
  for (const allClasses of [false, true]) {
    const k = 30;
    const r = await expectNoLeaks(() => knnClassCounts({ reference: ref, referenceLabels: labels, queries: m(qs), originalClass: o, predictedClass: p }, { k, allClasses, batchSize: 7 }));
    for (let i = 0; i < Q; i++) {
      const bf = bruteCounts(ref, labels, qs[i]!, o[i]!, p[i]!, k, allClasses);
      assert.deepEqual([r.original[i], r.predicted[i], r.other[i]], [bf.no, bf.np, bf.other], `query ${i}`);
      if (!allClasses) assert.equal(r.original[i]! + r.predicted[i]!, k);
    }
    const total = r.pairs.reduce((s, g) => s + g.count, 0);
    assert.equal(total, Q);
    const g0 = r.pairs[0]!;
    const mean = Array.from(g0.queryIndices, (i) => r.original[i]!).reduce((a, b) => a + b, 0) / g0.count;
    assert.ok(Math.abs(g0.summaries.original.mean - mean) < 1e-12);
  }
  // k larger than a class pair's reference, a class absent, abort.
  const classSizes = [0, 1, 2, 3].map((c) => labels.filter((l) => l === c).length);
  await expectTypedError(
    () => knnClassCounts({ reference: ref, referenceLabels: labels, queries: m(qs), originalClass: o, predictedClass: p }, { k: classSizes[0]! + classSizes[1]! + classSizes[2]! + classSizes[3]! }),
    InvalidArgumentError,
    'options.k',
  );
  await expectTypedError(
    () => knnClassCounts({ reference: ref, referenceLabels: labels, queries: m([qs[0]!]), originalClass: [0], predictedClass: [7] }, { k: 3 }),
    InvalidArgumentError,
    'class 7 is absent',
  );
  const ac = new AbortController();
  ac.abort();
  await expectNoLeaks(() =>
    expectTypedError(() => knnClassCounts({ reference: ref, referenceLabels: labels, queries: m(qs), originalClass: o, predictedClass: p }, { k: 3, signal: ac.signal }), AbortedError, 'knnClassCounts'),
  );
});
