import { test } from 'node:test';
import assert from 'node:assert/strict';
import { convexHullProximity } from '../src/metrics/convex-hull.js';
import { solveSimplexLeastSquares } from '../src/metrics/simplex-lsq.js';
import { AbortedError, InvalidArgumentError, ShapeMismatchError } from '../src/errors.js';
import { createRng } from '../src/internal/rng.js';
import type { FloatMatrix } from '../src/types.js';
import { expectNoLeaks, expectTypedError, useCpu } from './support/tf.js';

await useCpu();

const m = (rows: number[][]): FloatMatrix => ({ data: Float32Array.from(rows.flat()), rows: rows.length, cols: rows[0]!.length });

/** Two classes on 2-D grids: class 0 in [0,1]², class 1 in [5,6]×[0,1]. */
function grids(): { X: FloatMatrix; labels: number[] } {
  const rows: number[][] = [];
  const labels: number[] = [];
  for (const [c, x0] of [[0, 0], [1, 5]] as const) {
    for (let i = 0; i <= 4; i++) for (let j = 0; j <= 4; j++) {
      rows.push([x0 + i / 4, j / 4]);
      labels.push(c);
    }
  }
  return { X: m(rows), labels };
}

test('convexHullProximity (Method B): known geometry at the Input point', async () => {
  const { X, labels } = grids();
  const r = await expectNoLeaks(() =>
    convexHullProximity(
      { referenceInputs: X, referenceActivations: X, referenceLabels: labels, queries: m([[0.5, 0.5], [0.3, 0.9]]), originalClass: [0, 0], predictedClass: [1, 1] },
      { k: 25, varianceThreshold: 0.99999, seed: 3 },
    ),
  );
  assert.equal(r.seed, 3);
  assert.equal(r.pcaComponents, 2);
  // Inside the class-0 square: the pre-image is the query, d_0 ≈ 0, d_1 = distance to [5,6]×[0,1].
  for (const [q, x, y] of [[0, 0.5, 0.5], [1, 0.3, 0.9]] as const) {
    assert.ok(Math.abs(r.preImages.data[q * 2]! - x) < 1e-3 && Math.abs(r.preImages.data[q * 2 + 1]! - y) < 1e-3, `pre-image ${q}`);
    assert.ok(r.original[q]! < 1e-3, `d_o ${r.original[q]}`);
    assert.ok(Math.abs(r.predicted[q]! - (5 - x)) < 1e-3, `d_p ${r.predicted[q]}`);
    assert.ok(r.layerDistance[q]! < 1e-3);
  }
  assert.equal(r.pairs[0]!.count, 2);
  assert.ok(r.solver.unconverged === 0, JSON.stringify(r.solver));
});

test('convexHullProximity: class-hull distances agree with an independent brute-force kNN + solver on the returned pre-images', async () => {
  const rng = createRng(8);
  const N = 120;
  const D0 = 6;
  const labels = Array.from({ length: N }, (_, i) => i % 3);
  const inputs = m(Array.from({ length: N }, (_, i) => Array.from({ length: D0 }, (_, t) => rng.normal() + (t === 0 ? 3 * labels[i]! : 0))));
  // A "layer": a fixed random linear map to 4 dims followed by ReLU.
  const W = Array.from({ length: 4 }, () => Array.from({ length: D0 }, () => rng.normal()));
  const layer = (x: number[]) => W.map((w) => Math.max(0, w.reduce((s, v, t) => s + v * x[t]!, 0)));
  const rowsOf = (f: FloatMatrix) => Array.from({ length: f.rows }, (_, i) => Array.from(f.data.subarray(i * f.cols, (i + 1) * f.cols)));
  const acts = m(rowsOf(inputs).map(layer));
  const qIn = Array.from({ length: 6 }, () => Array.from({ length: D0 }, () => rng.normal() + 1.5));
  const o = [0, 0, 1, 1, 2, 0];
  const p = [1, 1, 2, 0, 0, 2];
  const k = 10;
  const r = await expectNoLeaks(() =>
    convexHullProximity({ referenceInputs: inputs, referenceActivations: acts, referenceLabels: labels, queries: m(qIn.map(layer)), originalClass: o, predictedClass: p }, { k, seed: 1, maxReference: 100 }),
  );
  assert.equal(r.referenceRows, 100);
  // Check step 5 independently on a run whose reference is explicit (no subsample).
  const full = await convexHullProximity(
    { referenceInputs: inputs, referenceActivations: acts, referenceLabels: labels, queries: m(qIn.map(layer)), originalClass: o, predictedClass: p },
    { k, seed: 1 },
  );
  const all = rowsOf(inputs);
  for (let q = 0; q < 6; q++) {
    const pre = Array.from(full.preImages.data.subarray(q * D0, (q + 1) * D0));
    for (const [c, got] of [[o[q]!, full.original[q]!], [p[q]!, full.predicted[q]!]] as const) {
      const cand = all.map((x, i) => [x.reduce((s, v, t) => s + (v - pre[t]!) ** 2, 0), i] as [number, number]).filter(([, i]) => labels[i] === c);
      cand.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      const pts = cand.slice(0, k).flatMap(([, i]) => all[i]!);
      const ref = solveSimplexLeastSquares(pts, k, D0, pre);
      assert.ok(Math.abs(got - ref.distance) < 1e-4 * Math.max(1, ref.distance), `query ${q} class ${c}: ${got} vs ${ref.distance}`);
    }
    // The pre-image is a convex combination of training images: it lies in their hull's bounding box.
    for (let t = 0; t < D0; t++) {
      const col = all.map((x) => x[t]!);
      assert.ok(pre[t]! >= Math.min(...col) - 1e-5 && pre[t]! <= Math.max(...col) + 1e-5);
    }
  }
  assert.ok(full.timings.total > 0 && full.solver.meanIterations > 0);
});

test('convexHullProximity: typed errors and abort', async () => {
  const { X, labels } = grids();
  const input = { referenceInputs: X, referenceActivations: X, referenceLabels: labels, queries: m([[0.5, 0.5]]), originalClass: [0], predictedClass: [1] };
  await expectTypedError(() => convexHullProximity(input, { k: 26 }), InvalidArgumentError, 'options.k');
  await expectTypedError(() => convexHullProximity({ ...input, predictedClass: [4] }, { k: 3 }), InvalidArgumentError, 'class 4 is absent');
  await expectTypedError(() => convexHullProximity({ ...input, referenceActivations: m([[1, 2]]) }, { k: 3 }), ShapeMismatchError, 'input.referenceActivations');
  await expectTypedError(() => convexHullProximity({ ...input, queries: m([[0.5, NaN]]) }, { k: 3 }), InvalidArgumentError, 'input.queries');
  const ac = new AbortController();
  ac.abort();
  await expectNoLeaks(() => expectTypedError(() => convexHullProximity(input, { k: 3, signal: ac.signal }), AbortedError, 'convexHullProximity'));
});
