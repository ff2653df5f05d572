import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Matrix, SingularValueDecomposition } from 'ml-matrix';
import { fitPca } from '../src/metrics/pca.js';
import { symmetricEigenvalues } from '../src/metrics/eigen.js';
import { InvalidArgumentError } from '../src/errors.js';
import { createRng } from '../src/internal/rng.js';
import type { FloatMatrix } from '../src/types.js';
import { expectNoLeaks, expectTypedError, useCpu } from './support/tf.js';

await useCpu();

/** Low-rank data with decaying spectrum plus small noise. */
function lowRank(n: number, D: number, r: number, seed: number): FloatMatrix {
  const rng = createRng(seed);
  const basis = Array.from({ length: r }, () => Array.from({ length: D }, () => rng.normal()));
  const data = new Float32Array(n * D);
  for (let i = 0; i < n; i++) {
    const coef = Array.from({ length: r }, (_, j) => rng.normal() * 3 * 0.6 ** j);
    for (let t = 0; t < D; t++) data[i * D + t] = 2 + coef.reduce((s, c, j) => s + c * basis[j]![t]!, 0) + 0.01 * rng.normal();
  }
  return { data, rows: n, cols: D };
}

function svdReference(X: FloatMatrix) {
  const rows = Array.from({ length: X.rows }, (_, i) => Array.from(X.data.subarray(i * X.cols, (i + 1) * X.cols)));
  const M = new Matrix(rows);
  const mean = M.mean('column');
  M.subRowVector(mean);
  const svd = new SingularValueDecomposition(M, { autoTranspose: true });
  const variances = svd.diagonal.map((s) => (s * s) / (X.rows - 1));
  const total = variances.reduce((a, b) => a + b, 0);
  return { variances, total, V: svd.rightSingularVectors };
}

for (const [n, D, method] of [
  [200, 30, 'randomized'],
  [60, 90, 'randomized'],
  [150, 20, 'exact'],
  [40, 70, 'exact'],
] as Array<[number, number, 'randomized' | 'exact']>) {
  test(`fitPca (${method}, ${n}×${D}) matches ml-matrix SVD: variances, subspace, transform`, async () => {
    const X = lowRank(n, D, 6, n + D);
    const ref = svdReference(X);
    const pca = await expectNoLeaks(() => fitPca(X, { varianceThreshold: 0.95, seed: 5, method }));
    assert.equal(pca.seed, 5);
    // m: the fewest components reaching 95 % of the variance.
    let cum = 0;
    let mRef = 0;
    while (cum < 0.95 * ref.total) cum += ref.variances[mRef++]!;
    assert.equal(pca.numComponents, mRef);
    for (let j = 0; j < pca.numComponents; j++) {
      assert.ok(Math.abs(pca.explainedVariance[j]! - ref.variances[j]!) <= 1e-3 * ref.variances[0]!, `variance ${j}`);
      // Same direction up to sign: |<v, v_ref>| ≈ 1.
      let dot = 0;
      for (let t = 0; t < D; t++) dot += pca.components.data[j * D + t]! * ref.V.get(t, j);
      assert.ok(Math.abs(Math.abs(dot) - 1) < 1e-3, `component ${j}: |dot| = ${Math.abs(dot)}`);
    }
    assert.ok(Math.abs(pca.totalVariance - ref.total) < 1e-4 * ref.total);
    const z = await expectNoLeaks(() => pca.transform(X));
    assert.equal(z.cols, pca.numComponents);
    // Projection variance along component 0 equals its explained variance.
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      s += z.data[i * z.cols]!;
      s2 += z.data[i * z.cols]! ** 2;
    }
    assert.ok(Math.abs(s / n) < 1e-3 * Math.sqrt(ref.variances[0]!));
    assert.ok(Math.abs(s2 / (n - 1) - pca.explainedVariance[0]!) < 1e-3 * pca.explainedVariance[0]!);
  });
}

test('fitPca: fixed components, seeded determinism, typed errors', async () => {
  const X = lowRank(100, 12, 4, 1);
  const a = await fitPca(X, { components: 3, seed: 9 });
  const b = await fitPca(X, { components: 3, seed: 9 });
  assert.deepEqual(a.components.data, b.components.data);
  assert.equal(a.varianceThreshold, null);
  await expectTypedError(() => fitPca(X, { components: 13 }), InvalidArgumentError, 'options.components');
  await expectTypedError(() => fitPca(X, { varianceThreshold: 1.5 }), InvalidArgumentError, 'options.varianceThreshold');
  await expectTypedError(() => a.transform({ data: new Float32Array(5), rows: 1, cols: 5 }), Error, 'batch');
});

test('symmetricEigenvalues matches ml-matrix', () => {
  const rng = createRng(2);
  const n = 25;
  const A = Array.from({ length: n }, () => Array.from({ length: n }, () => rng.normal()));
  const S = new Matrix(A).mmul(new Matrix(A).transpose());
  const ev = symmetricEigenvalues(Float64Array.from(S.to1DArray()), n);
  const ref = new SingularValueDecomposition(S).diagonal.sort((x, y) => y - x);
  for (let i = 0; i < n; i++) assert.ok(Math.abs(ev[i]! - ref[i]!) < 1e-9 * ref[0]!);
});
