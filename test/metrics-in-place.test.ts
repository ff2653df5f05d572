/**
 * The metrics read reference subsets in place instead of copying them out (the memory fix of the
 * full-reference study): every in-place path must give exactly the numbers of the copying path,
 * also with the reference streamed in small blocks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { knnSearchMatrices } from '../src/metrics/knn.js';
import { fitPcaInternal, seededSubsample } from '../src/metrics/pca.js';
import { selectRows } from '../src/metrics/matrix-input.js';
import { createRng } from '../src/internal/rng.js';
import { expectNoLeaks, useCpu } from './support/tf.js';

import { randMatrix } from './support/knn-reference.js';

await useCpu();


test('knnSearchMatrices: a row subset searched in place, in blocks of any size, equals searching a copy of it', async () => {
  for (const integer of [false, true]) {
    const ref = randMatrix(120, 6, 41, integer);
    // A constant column inside the subset only (not over the whole reference).
    const rows = Int32Array.from({ length: 120 }, (_, i) => i).filter((i) => i % 3 !== 1);
    for (const r of rows) ref.data[r * 6 + 2] = 0.5;
    const q = randMatrix(11, 6, 42, integer);
    const k = 15;
    const copy = selectRows(ref, rows);
    const want = await knnSearchMatrices(copy, q, k, false, 1024, undefined, undefined, 'test');
    // ... which is the exact answer (float64 brute force, ties by index).
    for (let i = 0; i < q.rows; i++) {
      const all: Array<[number, number]> = [];
      for (let r = 0; r < copy.rows; r++) {
        let d = 0;
        for (let j = 0; j < 6; j++) d += (q.data[i * 6 + j]! - copy.data[r * 6 + j]!) ** 2;
        all.push([d, r]);
      }
      all.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      assert.deepEqual(Array.from(want.indices.subarray(i * k, (i + 1) * k)), all.slice(0, k).map((p) => p[1]));
    }
    for (const blockRows of [1, 7, 33, rows.length]) {
      for (const batch of [1, 4, 1024]) {
        const got = await expectNoLeaks(() => knnSearchMatrices(ref, q, k, false, batch, undefined, undefined, 'test', blockRows, rows));
        assert.deepEqual(got.indices, want.indices, `indices, block ${blockRows}, batch ${batch}`);
        assert.deepEqual(got.distances, want.distances, `distances, block ${blockRows}, batch ${batch}`);
      }
    }
  }
});

test('fitPcaInternal: fitting a row subset in place equals fitting a copy of it (model and projection)', async () => {
  const X = randMatrix(300, 24, 7);
  // Some structure, so that the number of components is not simply all of them.
  for (let i = 0; i < X.rows; i++) for (let t = 0; t < 24; t++) X.data[i * 24 + t] = X.data[i * 24 + t]! * 0.7 ** t + 1;
  const keep = seededSubsample(createRng(3), X.rows, 170);
  const copy = selectRows(X, keep);
  for (const options of [
    { varianceThreshold: 0.9, estimationRows: 60, seed: 9, batchSize: 16 },
    { components: 5, seed: 9, batchSize: 1000 },
    { method: 'exact' as const, components: 4, seed: 9 },
  ]) {
    const want = await fitPcaInternal('test', copy, options, true);
    const got = await expectNoLeaks(() => fitPcaInternal('test', X, options, true, keep));
    assert.equal(got.model.numComponents, want.model.numComponents);
    assert.deepEqual(got.model.mean, want.model.mean);
    assert.deepEqual(got.model.components, want.model.components);
    assert.deepEqual(got.model.explainedVariance, want.model.explainedVariance);
    assert.equal(got.model.totalVariance, want.model.totalVariance);
    assert.deepEqual(got.projection, want.projection);
    assert.deepEqual(await got.model.transform(randMatrix(5, 24, 8)), await want.model.transform(randMatrix(5, 24, 8)));
  }
  // The n < D exact branch (basis from the centred rows themselves).
  const wide = randMatrix(40, 60, 11);
  const few = Int32Array.from([0, 3, 4, 9, 17, 18, 30, 39]);
  const want = await fitPcaInternal('test', selectRows(wide, few), { method: 'exact', components: 3, seed: 1 }, true);
  const got = await fitPcaInternal('test', wide, { method: 'exact', components: 3, seed: 1 }, true, few);
  assert.deepEqual(got.model.components, want.model.components);
  assert.deepEqual(got.projection, want.projection);
});

test('convexHullProximity on a subsample (read in place, PCA shared between calls) equals fresh calls', async () => {
  const { convexHullProximity, convexHullProximityShared } = await import('../src/metrics/convex-hull.js');
  const rng = createRng(21);
  const N = 160;
  const labels = Int32Array.from({ length: N }, (_, i) => i % 3);
  const inputs = randMatrix(N, 8, 22);
  for (let i = 0; i < N; i++) inputs.data[i * 8] = inputs.data[i * 8]! + 3 * labels[i]!;
  const acts = randMatrix(N, 12, 23);
  for (let i = 0; i < N; i++) for (let t = 0; t < 12; t++) acts.data[i * 12 + t] = Math.max(0, acts.data[i * 12 + t]! + inputs.data[i * 8 + (t % 8)]!);
  const querySets = [0, 1].map((s) => ({
    queries: randMatrix(5, 12, 30 + s),
    originalClass: Int32Array.from({ length: 5 }, () => rng.int(3)),
    predictedClass: Int32Array.from({ length: 5 }, () => rng.int(3)),
  }));
  const options = { k: 9, seed: 4, maxReference: 110, pcaEstimationRows: 50 };
  const strip = (r: { timings: unknown }) => ({ ...r, timings: undefined });
  const shared = {};
  for (const qs of querySets) {
    const input = { referenceInputs: inputs, referenceActivations: acts, referenceLabels: labels, ...qs };
    const fresh = await convexHullProximity(input, options);
    assert.equal(fresh.referenceRows, 110);
    const reused = await expectNoLeaks(() => convexHullProximityShared(input, options, shared));
    assert.deepEqual(strip(reused), strip(fresh));
  }
  // At the Input point (activations = inputs) with every PCA component kept, the pre-image is the
  // layer-space hull point itself: its distance to the query is the layer distance. This ties the
  // pre-image to the right (subsampled) training rows.
  const atInput = await convexHullProximity(
    { referenceInputs: inputs, referenceActivations: inputs, referenceLabels: labels, queries: randMatrix(4, 8, 40), originalClass: [0, 1, 2, 0], predictedClass: [1, 2, 0, 2] },
    { ...options, varianceThreshold: 1 },
  );
  assert.equal(atInput.pcaComponents, 8);
  const q4 = randMatrix(4, 8, 40);
  for (let q = 0; q < 4; q++) {
    let s = 0;
    for (let t = 0; t < 8; t++) s += (atInput.preImages.data[q * 8 + t]! - q4.data[q * 8 + t]!) ** 2;
    assert.ok(Math.abs(Math.sqrt(s) - atInput.layerDistance[q]!) < 1e-4, `query ${q}: ${Math.sqrt(s)} vs ${atInput.layerDistance[q]}`);
  }
  // Another seed is not served from the holder.
  const input = { referenceInputs: inputs, referenceActivations: acts, referenceLabels: labels, ...querySets[0]! };
  assert.deepEqual(strip(await convexHullProximityShared(input, { ...options, seed: 5 }, shared)), strip(await convexHullProximity(input, { ...options, seed: 5 })));
});
