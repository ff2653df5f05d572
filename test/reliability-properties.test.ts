// Property-based tests (fast-check) of the kNN engine and the scale-free metrics: invariances that
// must hold for any data. Tiny matrices and few runs, so the file stays fast.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { useCpu, tf } from './support/tf.js';
import { knnPercentileRank, knnSearch, normalizedCentroidDistance, optimalSnnl } from '../src/index.js';
import type { FloatMatrix } from '../src/index.js';

before(async () => {
  await useCpu();
});

const RUNS = { numRuns: 50, seed: 20221 } as const;

/** A rows × cols matrix of values with 2 decimals in [-5, 5] (exact in float32 sums is not needed). */
const matrix = (minRows: number, maxRows: number, cols: number) =>
  fc.integer({ min: minRows, max: maxRows }).chain((rows) =>
    fc.array(fc.integer({ min: -500, max: 500 }), { minLength: rows * cols, maxLength: rows * cols }).map(
      (v): FloatMatrix => ({ data: Float32Array.from(v, (n) => n / 100), rows, cols }),
    ),
  );

function dist64(a: FloatMatrix, i: number, b: FloatMatrix, j: number): number {
  let s = 0;
  for (let d = 0; d < a.cols; d++) {
    const t = a.data[i * a.cols + d]! - b.data[j * b.cols + d]!;
    s += t * t;
  }
  return Math.sqrt(s);
}

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(a.length, b.length, `${what}: lengths differ`);
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    assert.ok(Math.abs(x - y) <= tol * Math.max(1, Math.abs(x), Math.abs(y)), `${what}[${i}]: ${x} vs ${y}`);
  }
}

test('knnSearch: permuting the reference keeps the neighbour distances; indices map back through the permutation', async () => {
  await fc.assert(
    fc.asyncProperty(matrix(3, 12, 3), matrix(1, 4, 3), fc.integer({ min: 0, max: 2 ** 31 - 1 }), async (ref, qry, seed) => {
      const k = Math.min(3, ref.rows);
      // a seeded permutation
      const perm = Array.from({ length: ref.rows }, (_, i) => i);
      let s = seed;
      for (let i = perm.length - 1; i > 0; i--) {
        s = (s * 1103515245 + 12345) % 2147483648;
        const j = s % (i + 1);
        [perm[i], perm[j]] = [perm[j]!, perm[i]!];
      }
      const permuted: FloatMatrix = { data: new Float32Array(ref.data.length), rows: ref.rows, cols: ref.cols };
      for (let i = 0; i < ref.rows; i++) permuted.data.set(ref.data.subarray(perm[i]! * ref.cols, (perm[i]! + 1) * ref.cols), i * ref.cols);
      const before = tf.memory().numTensors;
      const a = await knnSearch(ref, qry, { k });
      const b = await knnSearch(permuted, qry, { k });
      assert.equal(tf.memory().numTensors, before, 'knnSearch leaked');
      close(a.distances, b.distances, 1e-6, 'distances');
      for (let q = 0; q < qry.rows; q++) {
        for (let r = 0; r < k; r++) {
          const original = perm[b.indices[q * k + r]!]!; // row of `ref` that permuted row stands for
          // with ties the index may legitimately differ; the mapped row must be at the reported distance
          assert.ok(Math.abs(dist64(ref, original, qry, q) - b.distances[q * k + r]!) <= 1e-5, 'mapped index is not at the reported distance');
          if (r === 0 || Math.abs(a.distances[q * k + r]! - a.distances[q * k + r - 1]!) > 1e-5) {
            const unique = (r === k - 1 || Math.abs(a.distances[q * k + r + 1]! - a.distances[q * k + r]!) > 1e-5);
            if (unique) assert.equal(original, a.indices[q * k + r], `query ${q} rank ${r}: index does not map back`);
          }
        }
      }
    }),
    RUNS,
  );
});

test('knnSearch: translating all points leaves the distances and neighbours unchanged', async () => {
  await fc.assert(
    fc.asyncProperty(matrix(3, 10, 4), matrix(1, 3, 4), fc.array(fc.integer({ min: -300, max: 300 }), { minLength: 4, maxLength: 4 }), async (ref, qry, t) => {
      const shift = (m: FloatMatrix): FloatMatrix => ({ data: m.data.map((v, i) => v + t[i % m.cols]! / 10), rows: m.rows, cols: m.cols });
      const k = Math.min(2, ref.rows);
      const a = await knnSearch(ref, qry, { k });
      const b = await knnSearch(shift(ref), shift(qry), { k });
      // float32 coordinates of magnitude ≤ 35: translation changes the rounding by ~1e-6 relative
      close(a.distances, b.distances, 2e-5, 'distances');
      for (let i = 0; i < a.indices.length; i++) {
        if (a.indices[i] !== b.indices[i]) {
          const q = Math.floor(i / k);
          assert.ok(Math.abs(dist64(ref, a.indices[i]!, qry, q) - dist64(ref, b.indices[i]!, qry, q)) <= 1e-4, 'different neighbour at a different distance');
        }
      }
    }),
    RUNS,
  );
});

test('knnSearch: duplicated points are neighbours at distance 0, ties broken by index', async () => {
  await fc.assert(
    fc.asyncProperty(matrix(2, 8, 3), fc.nat(), fc.integer({ min: 2, max: 4 }), async (ref, pick, copies) => {
      const row = pick % ref.rows;
      const rows = ref.rows + copies - 1;
      const dup: FloatMatrix = { data: new Float32Array(rows * ref.cols), rows, cols: ref.cols };
      dup.data.set(ref.data);
      for (let c = 0; c < copies - 1; c++) dup.data.set(ref.data.subarray(row * ref.cols, (row + 1) * ref.cols), (ref.rows + c) * ref.cols);
      const query: FloatMatrix = { data: ref.data.slice(row * ref.cols, (row + 1) * ref.cols), rows: 1, cols: ref.cols };
      const r = await knnSearch(dup, query, { k: copies });
      assert.deepEqual(Array.from(r.distances), new Array<number>(copies).fill(0));
      // every copy (and any other identical row) is at 0; reported in increasing index order
      for (let i = 1; i < copies; i++) assert.ok(r.indices[i]! > r.indices[i - 1]!, `ties not ordered by index: ${Array.from(r.indices)}`);
      const self = await knnSearch(dup, dup, { k: 1, excludeSelf: true });
      assert.equal(self.distances[row], 0, 'a duplicated row must find its copy at distance 0 with excludeSelf');
    }),
    RUNS,
  );
});

/** Three classes around separated centres in 3-D, plus queries that sit between classes. */
const classData = fc
  .record({
    centres: fc.array(fc.integer({ min: -50, max: 50 }), { minLength: 9, maxLength: 9 }),
    noise: fc.array(fc.integer({ min: -100, max: 100 }), { minLength: 18 * 3 + 4 * 3, maxLength: 18 * 3 + 4 * 3 }),
  })
  .map(({ centres, noise }) => {
    const ref = new Float32Array(18 * 3);
    const labels: number[] = [];
    for (let i = 0; i < 18; i++) {
      const c = i % 3;
      labels.push(c);
      for (let d = 0; d < 3; d++) ref[i * 3 + d] = centres[c * 3 + d]! / 10 + (c === d ? 8 : 0) + noise[i * 3 + d]! / 100;
    }
    const q = new Float32Array(4 * 3);
    for (let i = 0; i < q.length; i++) q[i] = 2 + noise[54 + i]! / 50;
    return {
      reference: { data: ref, rows: 18, cols: 3 } as FloatMatrix,
      referenceLabels: labels,
      queries: { data: q, rows: 4, cols: 3 } as FloatMatrix,
      originalClass: [0, 1, 2, 0],
      predictedClass: [1, 2, 0, 2],
    };
  });

const scaleInput = <T extends { reference: FloatMatrix; queries: FloatMatrix }>(inp: T, s: number, t = 0): T => ({
  ...inp,
  reference: { ...inp.reference, data: inp.reference.data.map((v) => v * s + t) },
  queries: { ...inp.queries, data: inp.queries.data.map((v) => v * s + t) },
});

test('normalizedCentroidDistance is unchanged by scaling and translating all points', async () => {
  await fc.assert(
    fc.asyncProperty(classData, fc.constantFrom(0.25, 0.5, 2, 8), fc.integer({ min: -20, max: 20 }), async (inp, s, t) => {
      const before = tf.memory().numTensors;
      const a = await normalizedCentroidDistance(inp);
      const b = await normalizedCentroidDistance(scaleInput(inp, s, t));
      assert.equal(tf.memory().numTensors, before);
      close(a.original, b.original, 1e-4, 'original');
      close(a.predicted, b.predicted, 1e-4, 'predicted');
      close(a.difference, b.difference, 1e-3, 'difference');
    }),
    { ...RUNS, numRuns: 20 },
  );
});

test('knnPercentileRank is unchanged by scaling and translating all points', async () => {
  await fc.assert(
    fc.asyncProperty(classData, fc.constantFrom(0.25, 0.5, 2, 8), fc.integer({ min: -20, max: 20 }), async (inp, s, t) => {
      const full = { ...inp, calibration: inp.reference, calibrationLabels: inp.referenceLabels };
      const scaled = scaleInput(inp, s, t);
      const a = await knnPercentileRank(full, { k: 3 });
      const b = await knnPercentileRank({ ...scaled, calibration: scaled.reference, calibrationLabels: inp.referenceLabels }, { k: 3 });
      close(a.original, b.original, 1e-6, 'original percentile');
      close(a.predicted, b.predicted, 1e-6, 'predicted percentile');
    }),
    { ...RUNS, numRuns: 20 },
  );
});

test("optimalSnnl: the optimal loss is unchanged by scaling (the temperature absorbs the scale)", async () => {
  await fc.assert(
    fc.asyncProperty(classData, fc.constantFrom(0.5, 3), async (inp, s) => {
      const x = inp.reference;
      const a = await optimalSnnl(x, inp.referenceLabels);
      const b = await optimalSnnl({ ...x, data: x.data.map((v) => v * s) }, inp.referenceLabels);
      assert.ok(Math.abs(a.loss - b.loss) <= 1e-3 * Math.max(1, Math.abs(a.loss)), `optimal SNNL ${a.loss} vs ${b.loss} at scale ${s}`);
      assert.ok(Math.abs(a.temperatureRatio - b.temperatureRatio) <= 1e-2 * Math.max(1, a.temperatureRatio), `temperature ratio ${a.temperatureRatio} vs ${b.temperatureRatio}`);
    }),
    { ...RUNS, numRuns: 10 },
  );
});
