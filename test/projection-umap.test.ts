import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { UMAP } from 'umap-js';
import { AbortedError, InvalidArgumentError, ShapeMismatchError } from '../src/errors.js';
import { createRng } from '../src/internal/rng.js';
import type { FloatMatrix, Progress } from '../src/types.js';
import { projectUmap, projectUmapMap, transformUmap, umapNeighbours, defaultUmapEpochs } from '../src/projection/index.js';
import { dropConstantColumns, prepareTypedFit, umapCurveParams, type UmapSettings } from '../src/projection/umap.js';
import { optimizeEpoch } from '../src/projection/umap-optimize.js';
import { expectNoLeaks, expectTypedError, tf, useCpu } from './support/tf.js';

/** `clusters` Gaussian blobs in `dims` dimensions, `perCluster` rows each; labels = cluster. */
function blobs(seed: number, clusters: number, perCluster: number, dims: number, spread = 0.3): { m: FloatMatrix; labels: Int32Array } {
  const rng = createRng(seed);
  const centres = Array.from({ length: clusters }, () => Array.from({ length: dims }, () => rng.normal() * 4));
  const rows = clusters * perCluster;
  const data = new Float32Array(rows * dims);
  const labels = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    const c = i % clusters;
    labels[i] = c;
    for (let d = 0; d < dims; d++) data[i * dims + d] = centres[c]![d]! + rng.normal() * spread;
  }
  return { m: { data, rows, cols: dims }, labels };
}

function rowsOf(m: FloatMatrix): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < m.rows; i++) out.push(Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols)));
  return out;
}

/** Leave-one-out k-NN classification accuracy of the labels in an embedding. */
function knnAccuracy(emb: FloatMatrix, labels: Int32Array, k = 5): number {
  let ok = 0;
  for (let i = 0; i < emb.rows; i++) {
    const d: [number, number][] = [];
    for (let j = 0; j < emb.rows; j++) {
      if (j === i) continue;
      let s = 0;
      for (let c = 0; c < emb.cols; c++) s += (emb.data[i * emb.cols + c]! - emb.data[j * emb.cols + c]!) ** 2;
      d.push([s, labels[j]!]);
    }
    d.sort((a, b) => a[0] - b[0]);
    const votes = new Map<number, number>();
    for (const [, l] of d.slice(0, k)) votes.set(l, (votes.get(l) ?? 0) + 1);
    const best = [...votes.entries()].sort((a, b) => b[1] - a[1])[0]![0];
    if (best === labels[i]) ok++;
  }
  return ok / emb.rows;
}

describe('projection: UMAP', () => {
  before(async () => {
    await useCpu();
  });

  it('builds the same neighbour graph as umap-js’s own search, self first', async () => {
    const { m } = blobs(11, 3, 40, 5, 0.8);
    const g = await expectNoLeaks(() => umapNeighbours(m, { nNeighbors: 10 }));
    assert.equal(g.rows, 120);
    assert.equal(g.k, 10);
    // umap-js's nearest-neighbour descent (exact on a set this small), seeded
    const rng = createRng(5);
    const umap = new UMAP({ nNeighbors: 10, random: rng.next });
    const own = (umap as unknown as { nearestNeighbors(X: number[][]): { knnIndices: number[][]; knnDistances: number[][] } }).nearestNeighbors(rowsOf(m));
    for (let i = 0; i < m.rows; i++) {
      assert.equal(g.indices[i * 10], i, `row ${i}: first neighbour is itself`);
      assert.equal(g.distances[i * 10], 0);
      assert.equal(own.knnIndices[i]![0], i, `umap-js row ${i} also starts with itself`);
      const mine = Array.from(g.indices.subarray(i * 10, (i + 1) * 10));
      assert.deepEqual(new Set(mine), new Set(own.knnIndices[i]), `row ${i}: same neighbour set`);
      for (let j = 0; j < 10; j++) {
        assert.ok(Math.abs(g.distances[i * 10 + j]! - own.knnDistances[i]![j]!) < 1e-5, `row ${i} neighbour ${j}: same distance`);
      }
    }
  });

  it('skips constant columns without changing the graph', async () => {
    const { m } = blobs(21, 3, 30, 4, 0.8);
    const wide = new Float32Array(m.rows * 7);
    for (let i = 0; i < m.rows; i++) {
      wide[i * 7] = 0.25; // constant
      wide.set(m.data.subarray(i * 4, i * 4 + 2), i * 7 + 1);
      wide[i * 7 + 3] = -3; // constant
      wide.set(m.data.subarray(i * 4 + 2, i * 4 + 4), i * 7 + 4);
      wide[i * 7 + 6] = 0; // constant
    }
    const reduced = dropConstantColumns({ data: wide, rows: m.rows, cols: 7 });
    assert.equal(reduced.cols, 4);
    assert.deepEqual(reduced.data, m.data);
    const a = await umapNeighbours(m, { nNeighbors: 6 });
    const b = await umapNeighbours({ data: wide, rows: m.rows, cols: 7 }, { nNeighbors: 6 });
    assert.deepEqual(b.indices, a.indices);
    for (let i = 0; i < a.distances.length; i++) assert.ok(Math.abs(a.distances[i]! - b.distances[i]!) < 1e-5);
    assert.equal(dropConstantColumns(m), m, 'no constant column: same matrix');
  });

  it('typed layout equals umap-js’s initializeFit + step bit for bit (same graph, same seed)', async () => {
    for (const nComponents of [2, 3]) {
      const { m } = blobs(3, 3, 50, 6);
      const nb = await umapNeighbours(m, { nNeighbors: 8 });
      const nEpochs = 60;
      const settings: UmapSettings = {
        nNeighbors: 8, minDist: 0.1, nComponents, nEpochs, spread: 1, learningRate: 1, localConnectivity: 1,
        setOpMixRatio: 1, negativeSampleRate: 5, repulsionStrength: 1, seed: 9, engine: 'typed', neighbourSource: 'given',
      };
      const { a, b } = umapCurveParams(1, 0.1);
      const r1 = createRng(9);
      const state = prepareTypedFit(nb, settings, r1.next, a, b);
      const r2 = createRng(9);
      const umap = new UMAP({ nNeighbors: 8, minDist: 0.1, nComponents, nEpochs, random: r2.next });
      const idx: number[][] = [];
      const dist: number[][] = [];
      for (let i = 0; i < m.rows; i++) {
        idx.push(Array.from(nb.indices.subarray(i * 8, (i + 1) * 8)));
        dist.push(Array.from(nb.distances.subarray(i * 8, (i + 1) * 8)));
      }
      umap.setPrecomputedKNN(idx, dist);
      umap.initializeFit(rowsOf(m));
      // same edges and sampling schedule as umap-js
      const os = (umap as unknown as { optimizationState: { head: number[]; tail: number[]; epochsPerSample: number[] } }).optimizationState;
      assert.deepEqual(Array.from(state.head), os.head);
      assert.deepEqual(Array.from(state.tail), os.tail);
      assert.deepEqual(Array.from(state.epochsPerSample), os.epochsPerSample);
      for (let e = 0; e < nEpochs; e++) {
        optimizeEpoch(state, r1.next, true);
        umap.step();
      }
      const theirs = umap.getEmbedding();
      for (let i = 0; i < m.rows; i++) {
        for (let d = 0; d < nComponents; d++) assert.equal(state.headEmbedding[i * nComponents + d], theirs[i]![d], `row ${i} dim ${d}`);
      }
    }
  });

  it('is deterministic: same seed gives the same embedding bit for bit, seed and epochs echoed', async () => {
    const { m } = blobs(4, 4, 40, 8);
    const a = await projectUmap(m, { seed: 123, nEpochs: 80 });
    const b = await projectUmap(m, { seed: 123, nEpochs: 80 });
    assert.deepEqual(a.embedding.data, b.embedding.data);
    assert.equal(a.seed, 123);
    assert.equal(a.settings.seed, 123);
    assert.equal(a.nEpochs, 80);
    const c = await projectUmap(m, { seed: 124, nEpochs: 80 });
    assert.notDeepEqual(a.embedding.data, c.embedding.data);
    const d = await projectUmap(m, { nEpochs: 20 });
    assert.ok(Number.isInteger(d.seed) && d.seed >= 0, 'a drawn seed is echoed');
    assert.equal((await projectUmap(m, { seed: d.seed, nEpochs: 20 })).embedding.data.join(), d.embedding.data.join());
  });

  it('uses umap-learn/umap-js defaults and the umap-js epoch rule', async () => {
    const { m } = blobs(5, 2, 30, 4);
    const r = await projectUmap(m, { seed: 1 });
    assert.deepEqual(
      { nNeighbors: r.settings.nNeighbors, minDist: r.settings.minDist, nComponents: r.settings.nComponents, nEpochs: r.nEpochs },
      { nNeighbors: 15, minDist: 0.1, nComponents: 2, nEpochs: 500 },
    );
    assert.deepEqual([defaultUmapEpochs(2500), defaultUmapEpochs(5000), defaultUmapEpochs(7500), defaultUmapEpochs(7501)], [500, 400, 300, 200]);
    assert.equal(r.embedding.rows, 60);
    assert.equal(r.embedding.cols, 2);
  });

  it('typed and umap-js engines separate clusters equally well', async () => {
    const { m, labels } = blobs(6, 4, 40, 10);
    const typed = await projectUmap(m, { seed: 2, nEpochs: 120 });
    const ref = await projectUmap(m, { seed: 2, nEpochs: 120, engine: 'umap-js' });
    assert.equal(ref.settings.engine, 'umap-js');
    assert.equal(knnAccuracy(typed.embedding, labels), 1);
    assert.equal(knnAccuracy(ref.embedding, labels), 1);
    // same start layout and graph; pow rounding differences grow chaotically, so only the quality is compared
    assert.notDeepEqual(typed.embedding.data, ref.embedding.data);
  });

  it('reports progress per epoch and per stage', async () => {
    const { m } = blobs(7, 2, 30, 4);
    const seen: Progress[] = [];
    await projectUmap(m, { seed: 1, nEpochs: 30, onProgress: (p) => seen.push(p) });
    const stages = new Set(seen.map((p) => p.stage));
    assert.deepEqual([...stages], ['umap-knn', 'umap-graph', 'umap-optimize']);
    const epochs = seen.filter((p) => p.stage === 'umap-optimize');
    assert.equal(epochs.length, 30);
    assert.deepEqual(epochs.map((p) => p.step), Array.from({ length: 30 }, (_, i) => i + 1));
    assert.ok(epochs.every((p) => p.total === 30));
  });

  it('aborts before starting and between epochs', async () => {
    const { m } = blobs(8, 2, 30, 4);
    const pre = new AbortController();
    pre.abort(new Error('stop'));
    await expectTypedError(() => projectUmap(m, { signal: pre.signal }), AbortedError, 'projectUmap');
    const ctl = new AbortController();
    let after = 0;
    await expectTypedError(
      () =>
        projectUmap(m, {
          seed: 1,
          nEpochs: 200,
          signal: ctl.signal,
          onProgress: (p) => {
            if (p.stage === 'umap-optimize' && p.step === 5) ctl.abort('enough');
            if (p.stage === 'umap-optimize' && p.step > 5) after++;
          },
        }),
      AbortedError,
      'enough',
    );
    assert.equal(after, 0, 'no epoch ran after the abort');
    for (const engine of ['umap-js'] as const) {
      const c2 = new AbortController();
      await expectTypedError(
        () => projectUmap(m, { engine, nEpochs: 100, signal: c2.signal, onProgress: (p) => p.step === 3 && p.stage === 'umap-optimize' && c2.abort() }),
        AbortedError,
        'projectUmap',
      );
    }
  });

  it('validates its arguments with typed errors', async () => {
    const { m } = blobs(9, 2, 5, 3);
    await expectTypedError(() => projectUmap(m), InvalidArgumentError, 'nNeighbors');
    await expectTypedError(() => projectUmap(m, { nNeighbors: 4, nEpochs: 0 }), InvalidArgumentError, 'options.nEpochs');
    await expectTypedError(() => projectUmap(m, { nNeighbors: 4, minDis: 0.2 } as never), InvalidArgumentError, 'options.minDis');
    await expectTypedError(() => projectUmap(m, { nNeighbors: 4, engine: 'fast' as never }), InvalidArgumentError, 'options.engine');
    await expectTypedError(() => projectUmap({ data: new Float32Array(3), rows: 2, cols: 2 }), ShapeMismatchError, 'data');
    await expectTypedError(
      () => projectUmap(m, { nNeighbors: 4, neighbours: { indices: new Int32Array(40), distances: new Float32Array(40), rows: 10, k: 3 } }),
      ShapeMismatchError,
      'options.neighbours',
    );
  });

  it('takes a tensor without leaking and accepts a precomputed graph', async () => {
    const { m } = blobs(10, 3, 20, 5);
    const x = tf.tensor2d(m.data, [m.rows, m.cols]);
    try {
      const fromTensor = await expectNoLeaks(() => projectUmap(x as tf.Tensor2D, { seed: 4, nEpochs: 40, nNeighbors: 6 }));
      const given = await projectUmap(m, { seed: 4, nEpochs: 40, nNeighbors: 6, neighbours: fromTensor.neighbours });
      assert.equal(given.settings.neighbourSource, 'given');
      assert.deepEqual(given.embedding.data, fromTensor.embedding.data);
    } finally {
      x.dispose();
    }
  });

  it('places new rows with transformUmap next to their own cluster without moving the map', async () => {
    const { m, labels } = blobs(12, 3, 40, 6);
    const fit = await projectUmap(m, { seed: 5, nEpochs: 100 });
    const before = Float64Array.from(fit.model.embedding);
    // new rows: copies of fitted rows with a little noise
    const rng = createRng(3);
    const n = 15;
    const more = new Float32Array(n * 6);
    for (let i = 0; i < n; i++) for (let d = 0; d < 6; d++) more[i * 6 + d] = m.data[i * 6 + d]! + rng.normal() * 0.05;
    const placed = await expectNoLeaks(() => transformUmap(fit.model, { data: more, rows: n, cols: 6 }));
    assert.equal(placed.embedding.rows, n);
    assert.equal(placed.nEpochs, 33);
    assert.equal(placed.seed, 6);
    assert.deepEqual(fit.model.embedding, before, 'the fitted map is unchanged');
    // each placed row is nearest (among cluster centroids in the map) to its own cluster's centroid
    const cent = [0, 1, 2].map((c) => {
      let sx = 0;
      let sy = 0;
      let k = 0;
      for (let i = 0; i < m.rows; i++) if (labels[i] === c) ((sx += fit.embedding.data[2 * i]!), (sy += fit.embedding.data[2 * i + 1]!), k++);
      return [sx / k, sy / k] as const;
    });
    for (let i = 0; i < n; i++) {
      const px = placed.embedding.data[2 * i]!;
      const py = placed.embedding.data[2 * i + 1]!;
      const dists = cent.map(([cx, cy]) => (px - cx) ** 2 + (py - cy) ** 2);
      assert.equal(dists.indexOf(Math.min(...dists)), labels[i], `new row ${i} lands in its cluster`);
    }
    await expectTypedError(() => transformUmap(fit.model, { data: new Float32Array(5), rows: 1, cols: 5 }), ShapeMismatchError, 'data');
  });

  it('projectUmapMap: union and fit-transform give one map with kinds and labels in input order', async () => {
    const { m, labels } = blobs(13, 3, 30, 6);
    const adv = blobs(14, 3, 4, 6);
    const rub = blobs(15, 2, 3, 6, 0.1);
    for (const mode of ['union', 'fit-transform'] as const) {
      const seen = new Set<string>();
      const map = await projectUmapMap(
        {
          test: { activations: m, labels },
          adversarial: { activations: adv.m, labels: adv.labels },
          rubbish: { activations: rub.m, labels: Array.from(rub.labels) },
        },
        { seed: 8, nEpochs: 60, mode, onProgress: (p) => seen.add(p.stage) },
      );
      assert.equal(map.mode, mode);
      assert.equal(map.seed, 8);
      assert.equal(map.x.length, 90 + 12 + 6);
      assert.equal(map.y.length, 108);
      assert.deepEqual(Array.from(map.kind), [...Array(90).fill(0), ...Array(12).fill(1), ...Array(6).fill(2)]);
      assert.deepEqual(Array.from(map.label.subarray(90, 102)), Array.from(adv.labels));
      assert.ok(map.x.every(Number.isFinite) && map.y.every(Number.isFinite));
      if (mode === 'fit-transform') assert.ok(seen.has('umap-transform'));
    }
    await expectTypedError(() => projectUmapMap({ test: { activations: m, labels }, extra: {} } as never), InvalidArgumentError, 'groups.extra');
    await expectTypedError(() => projectUmapMap({ test: { activations: m, labels: labels.subarray(1) } }), ShapeMismatchError, 'groups.test.labels');
  });
});
