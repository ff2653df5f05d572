/**
 * Principal component analysis fitted on a sample and applied in batches (METHODS §4 step 1):
 * the number of components from a variance threshold estimated on a seeded subsample, then a
 * seeded randomised subspace iteration (or an exact decomposition for small data).
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { InvalidArgumentError } from '../errors.js';
import type { FloatMatrix, Progress } from '../types.js';
import { createRng } from '../internal/rng.js';
import type { Rng } from '../internal/rng.js';
import { checkInteger, checkKnownOptions, checkNumber, throwIfAborted, yieldToEventLoop } from '../internal/validate.js';
import { readMatrix, selectRows } from './matrix-input.js';
import type { MatrixInput } from './matrix-input.js';
import { symmetricEigenvalues } from './eigen.js';

/**
 * Options of {@link fitPca}.
 * @category Metrics
 */
export interface PcaOptions {
  /** Number of components. Omitted: the fewest reaching `varianceThreshold`. */
  components?: number;
  /** Cumulative explained-variance ratio that picks the number of components. Default 0.95. */
  varianceThreshold?: number;
  /** Rows (seeded subsample) on which the number of components is estimated exactly. Default 1000. */
  estimationRows?: number;
  /**
   * `'randomized'` (default): seeded Gaussian test matrix, `oversampling` extra columns,
   * `powerIterations` power iterations with QR re-orthonormalisation, then Rayleigh–Ritz.
   * `'exact'`: a full eigendecomposition, allowed when min(rows, cols) ≤ 1024. The randomised
   * method also falls back to exact when m + oversampling ≥ min(rows, cols).
   */
  method?: 'randomized' | 'exact';
  /** Extra random directions. Default 10. */
  oversampling?: number;
  /** Power iterations. Default 4. */
  powerIterations?: number;
  /** Seed of the subsample and the test matrix; drawn and echoed when omitted. */
  seed?: number;
  /** Rows per tensor block. Default: as many as fit in 2^24 values. */
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
}

/**
 * A fitted PCA: `transform` projects rows onto the components (centred by `mean`).
 * @category Metrics
 */
export interface PcaModel {
  /** Column means of the fit sample. */
  mean: Float32Array;
  /** Components as rows, [m, D], orthonormal, by decreasing variance. */
  components: FloatMatrix;
  /** Variance along each component (divided by rows − 1). */
  explainedVariance: Float64Array;
  /** `explainedVariance / totalVariance`. */
  explainedVarianceRatio: Float64Array;
  /** Total variance of the fit sample (sum of the column variances). */
  totalVariance: number;
  /** m. */
  numComponents: number;
  /** D. */
  inputDims: number;
  /** Method actually used. */
  method: 'randomized' | 'exact';
  /** Threshold used to pick m (null when `components` was given). */
  varianceThreshold: number | null;
  /** Rows on which m was estimated (null when `components` was given). */
  estimationRows: number | null;
  oversampling: number;
  powerIterations: number;
  /** Seed used (echoed). */
  seed: number;
  /** Projects rows [N, D] to [N, m]. Tensors are read, not disposed. */
  transform(batch: FloatMatrix | tf.Tensor2D, options?: { batchSize?: number }): Promise<FloatMatrix>;
}

/**
 * Fits a PCA on `sample` ([N, D] rows).
 *
 * @example
 * ```ts
 * import { fitPca } from 'ae-manifold';
 * const sample = { data: Float32Array.from({ length: 200 }, (_, i) => (i % 2 ? 0.01 : 1) * Math.sin(i)), rows: 100, cols: 2 };
 * const pca = await fitPca(sample, { varianceThreshold: 0.9, seed: 1 });
 * const z = await pca.transform(sample); // z.cols === pca.numComponents
 * ```
 * @category Metrics
 */
export async function fitPca(sample: FloatMatrix | tf.Tensor2D, options: PcaOptions = {}): Promise<PcaModel> {
  return (await fitPcaInternal('fitPca', sample, options, false)).model;
}

/**
 * Rows of a matrix read in place: all of them, or the rows `index` (ascending) of `base`, which
 * then stand for a matrix of `index.length` rows without being copied out.
 */
interface RowView {
  base: FloatMatrix;
  index: ArrayLike<number> | undefined;
  rows: number;
  cols: number;
}

function rowView(base: FloatMatrix, index?: ArrayLike<number>): RowView {
  return { base, index, rows: index ? index.length : base.rows, cols: base.cols };
}

/** Offset in `v.base.data` of row i of the view. */
function rowAt(v: RowView, i: number): number {
  return (v.index ? v.index[i]! : i) * v.cols;
}

/** Rows [r0, r0 + nb) of the view as one contiguous array (a subarray when no copy is needed). */
function blockOf(v: RowView, r0: number, nb: number, scratch: Float32Array | undefined): Float32Array {
  const D = v.cols;
  if (!v.index) return v.base.data.subarray(r0 * D, (r0 + nb) * D);
  const out = scratch!.subarray(0, nb * D);
  for (let i = 0; i < nb; i++) {
    const o = rowAt(v, r0 + i);
    out.set(v.base.data.subarray(o, o + D), i * D);
  }
  return out;
}

/**
 * @internal Fit and also return the projection of the fit rows. With `rows` (ascending row numbers
 * of `sample`), the fit runs on those rows only, read in place: the same result as fitting a copy
 * of them, without the copy.
 */
export async function fitPcaInternal(
  fn: string,
  sample: MatrixInput,
  options: PcaOptions,
  wantProjection: boolean,
  rows?: Int32Array,
): Promise<{ model: PcaModel; projection: FloatMatrix | undefined }> {
  checkKnownOptions(fn, options, [
    'components', 'varianceThreshold', 'estimationRows', 'method', 'oversampling', 'powerIterations', 'seed', 'batchSize', 'signal', 'onProgress',
  ]);
  const X = rowView(await readMatrix(fn, 'sample', sample), rows);
  const { rows: n, cols: D } = X;
  const Xd = X.base.data;
  if (n < 2) throw new InvalidArgumentError(fn, 'sample', 'at least 2 rows', n);
  const maxComp = Math.min(n - 1, D);
  const fixedM = options.components === undefined ? undefined : checkInteger(fn, 'options.components', options.components, 1, maxComp);
  const threshold = checkNumber(fn, 'options.varianceThreshold', options.varianceThreshold ?? 0.95, 0, 1, true);
  const estRows = checkInteger(fn, 'options.estimationRows', options.estimationRows ?? 1000, 2);
  const method = options.method ?? 'randomized';
  if (method !== 'randomized' && method !== 'exact') throw new InvalidArgumentError(fn, 'options.method', "'randomized' or 'exact'", method);
  const oversampling = checkInteger(fn, 'options.oversampling', options.oversampling ?? 10, 0);
  const powerIterations = checkInteger(fn, 'options.powerIterations', options.powerIterations ?? 4, 0);
  const rng = createRng(options.seed);
  const blockRows = checkInteger(fn, 'options.batchSize', options.batchSize ?? Math.max(1, Math.floor((1 << 24) / D)), 1);
  const { signal, onProgress } = options;
  throwIfAborted(fn, signal);

  // Mean and total variance in float64.
  const mean64 = new Float64Array(D);
  for (let i = 0; i < n; i++) for (let j = 0, o = rowAt(X, i); j < D; j++) mean64[j]! += Xd[o + j]!;
  for (let j = 0; j < D; j++) mean64[j]! /= n;
  let total = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0, o = rowAt(X, i); j < D; j++) {
      const v = Xd[o + j]! - mean64[j]!;
      total += v * v;
    }
  }
  total /= n - 1;
  const mean = Float32Array.from(mean64);

  // Number of components: exact eigenvalues on a seeded subsample.
  let m: number;
  let estimationRows: number | null = null;
  if (fixedM !== undefined) m = fixedM;
  else {
    const idx = seededSubsample(rng, n, Math.min(n, estRows));
    estimationRows = idx.length;
    const sub = selectRows(X.base, X.index ? Int32Array.from(idx, (i) => X.index![i]!) : idx);
    const ev = await sampleEigenvalues(sub);
    let sum = 0;
    for (const v of ev) sum += Math.max(v, 0);
    m = ev.length;
    let cum = 0;
    for (let j = 0; j < ev.length; j++) {
      cum += Math.max(ev[j]!, 0);
      if (cum >= threshold * sum * (1 - 1e-12)) {
        m = j + 1;
        break;
      }
    }
    m = Math.max(1, Math.min(m, maxComp));
  }
  throwIfAborted(fn, signal);

  const l = Math.min(m + oversampling, Math.min(n, D));
  const useExact = method === 'exact' || l >= Math.min(n, D);
  if (method === 'exact' && Math.min(n, D) > 1024) {
    throw new InvalidArgumentError(fn, 'options.method', "'randomized' for data with min(rows, cols) > 1024", method);
  }
  // Basis [D, l] (column-major Float64) of the subspace searched by Rayleigh–Ritz.
  let basis: Float64Array;
  let basisCols: number;
  const totalSteps = useExact ? 2 : powerIterations + 3;
  let step = 0;
  const progress = async (): Promise<void> => {
    step++;
    onProgress?.({ stage: 'pca', step, total: totalSteps });
    throwIfAborted(fn, signal);
    if (signal || onProgress) await yieldToEventLoop();
  };
  if (useExact && D <= n) {
    basisCols = D;
    basis = new Float64Array(D * D);
    for (let j = 0; j < D; j++) basis[j * D + j] = 1;
  } else if (useExact) {
    // n < D: the centred rows span the row space; orthonormalise them.
    basisCols = n;
    basis = new Float64Array(D * n);
    for (let i = 0; i < n; i++) for (let t = 0, o = rowAt(X, i); t < D; t++) basis[i * D + t] = Xd[o + t]! - mean64[t]!;
    orthonormalizeColumns(basis, D, basisCols);
  } else {
    basisCols = l;
    basis = new Float64Array(D * l);
    for (let i = 0; i < basis.length; i++) basis[i] = rng.normal();
    orthonormalizeColumns(basis, D, l);
    // Range step plus `powerIterations` power iterations, each XcᵀXc application re-orthonormalised.
    for (let it = 0; it <= powerIterations; it++) {
      basis = await applyXtX(X, mean64, basis, l, blockRows);
      orthonormalizeColumns(basis, D, l);
      await progress();
    }
  }
  // Rayleigh–Ritz: P = Xc·B [n, c], C = PᵀP, eigenvectors E; components = (B·E)ᵀ.
  const { gram: C } = await applyXWithGram(X, mean64, basis, basisCols, blockRows);
  await progress();
  const evd = new EigenvalueDecomposition(new Matrix(Array.from({ length: basisCols }, (_, a) => Array.from(C.subarray(a * basisCols, (a + 1) * basisCols)))), { assumeSymmetric: true });
  const vals = evd.realEigenvalues;
  const vecs = evd.eigenvectorMatrix;
  const order = Array.from(vals.keys()).sort((a, b) => vals[b]! - vals[a]! || a - b);
  m = Math.min(m, basisCols);
  const components = new Float32Array(m * D);
  const explainedVariance = new Float64Array(m);
  const E = new Float64Array(basisCols * m); // [c, m]
  for (let j = 0; j < m; j++) {
    const col = order[j]!;
    explainedVariance[j] = Math.max(0, vals[col]!) / (n - 1);
    // Sign convention: the largest-magnitude loading is positive.
    let big = 0;
    for (let a = 0; a < basisCols; a++) E[a * m + j] = vecs.get(a, col);
    const comp = new Float64Array(D);
    for (let a = 0; a < basisCols; a++) {
      const e = E[a * m + j]!;
      if (e === 0) continue;
      for (let t = 0, o = a * D; t < D; t++) comp[t]! += basis[o + t]! * e;
    }
    for (let t = 0; t < D; t++) if (Math.abs(comp[t]!) > Math.abs(big)) big = comp[t]!;
    const sign = big < 0 ? -1 : 1;
    for (let t = 0; t < D; t++) components[j * D + t] = sign * comp[t]!;
    if (sign < 0) for (let a = 0; a < basisCols; a++) E[a * m + j] = -E[a * m + j]!;
  }
  const explainedVarianceRatio = explainedVariance.map((v) => (total > 0 ? v / total : 0));
  let projection: FloatMatrix | undefined;
  if (wantProjection) {
    // One more pass: Xc · Vᵀ (components row-major [m, D] = column-major [D, m]).
    const pz = await applyX(X, mean64, Float64Array.from(components), m, blockRows);
    const pd = new Float32Array(n * m);
    for (let j = 0; j < m; j++) for (let i = 0, o = j * n; i < n; i++) pd[i * m + j] = pz[o + i]!;
    projection = { data: pd, rows: n, cols: m };
  }
  const componentsT = new Float32Array(D * m);
  for (let j = 0; j < m; j++) for (let t = 0; t < D; t++) componentsT[t * m + j] = components[j * D + t]!;
  const model: PcaModel = {
    mean,
    components: { data: components, rows: m, cols: D },
    explainedVariance,
    explainedVarianceRatio,
    totalVariance: total,
    numComponents: m,
    inputDims: D,
    method: useExact ? 'exact' : 'randomized',
    varianceThreshold: fixedM === undefined ? threshold : null,
    estimationRows,
    oversampling,
    powerIterations,
    seed: rng.seed,
    transform: (batch, opts = {}) => pcaTransform(batch, mean, componentsT, D, m, opts.batchSize ?? blockRows),
  };
  return { model, projection };
}

async function pcaTransform(batch: MatrixInput, mean: Float32Array, componentsT: Float32Array, D: number, m: number, blockRows: number): Promise<FloatMatrix> {
  const FN = 'PcaModel.transform';
  const X = await readMatrix(FN, 'batch', batch, D);
  checkInteger(FN, 'options.batchSize', blockRows, 1);
  const out = new Float32Array(X.rows * m);
  const V = tf.tensor2d(componentsT, [D, m]);
  const mu = tf.tensor2d(mean, [1, D]);
  try {
    for (let r0 = 0; r0 < X.rows; r0 += blockRows) {
      const nb = Math.min(X.rows, r0 + blockRows) - r0;
      const t = tf.tidy(() => tf.matMul(tf.sub(tf.tensor2d(X.data.subarray(r0 * D, (r0 + nb) * D), [nb, D]), mu), V));
      try {
        out.set((await t.data()) as Float32Array, r0 * m);
      } finally {
        t.dispose();
      }
    }
  } finally {
    V.dispose();
    mu.dispose();
  }
  return { data: out, rows: X.rows, cols: m };
}

/** `count` distinct row indices drawn without replacement, sorted (all rows when count ≥ n). */
export function seededSubsample(rng: Rng, n: number, count: number): Int32Array {
  if (count >= n) return Int32Array.from({ length: n }, (_, i) => i);
  const all = Array.from({ length: n }, (_, i) => i);
  // Partial Fisher–Yates.
  for (let i = 0; i < count; i++) {
    const j = i + rng.int(n - i);
    const t = all[i]!;
    all[i] = all[j]!;
    all[j] = t;
  }
  return Int32Array.from(all.slice(0, count)).sort();
}

/** Eigenvalues (descending) of the sample covariance ×(n−1), from the smaller of XcᵀXc and XcXcᵀ. */
async function sampleEigenvalues(S: FloatMatrix): Promise<Float64Array> {
  const { rows: n, cols: D } = S;
  const mean = new Float32Array(D);
  const m64 = new Float64Array(D);
  for (let i = 0; i < n; i++) for (let j = 0; j < D; j++) m64[j]! += S.data[i * D + j]!;
  for (let j = 0; j < D; j++) mean[j] = m64[j]! / n;
  const g = tf.tidy(() => {
    const xc = tf.sub(tf.tensor2d(S.data, [n, D]), tf.tensor2d(mean, [1, D]));
    const xt = tf.transpose(xc);
    return D <= n ? tf.matMul(xt, xc) : tf.matMul(xc, xt);
  });
  let gram: Float64Array;
  try {
    gram = Float64Array.from((await g.data()) as Float32Array);
  } finally {
    g.dispose();
  }
  return symmetricEigenvalues(gram, Math.min(n, D));
}

/**
 * Runs `perBlock(y, xb)` over row blocks with y = Xc_b·B computed as X_b·B − 1·(μᵀB) (the data
 * are never centred element-wise), B column-major [D, c].
 */
async function overBlocks(
  X: RowView,
  mean: Float64Array,
  B: Float64Array,
  c: number,
  blockRows: number,
  perBlock: (y: tf.Tensor2D, xb: tf.Tensor2D, r0: number, nb: number) => Promise<void>,
): Promise<void> {
  const { rows: n, cols: D } = X;
  const bt = new Float32Array(D * c); // row-major [D, c]
  const muB = new Float32Array(c);
  for (let a = 0; a < c; a++) {
    let s = 0;
    for (let t = 0; t < D; t++) {
      bt[t * c + a] = B[a * D + t]!;
      s += mean[t]! * B[a * D + t]!;
    }
    muB[a] = s;
  }
  const Bt = tf.tensor2d(bt, [D, c]);
  const muBt = tf.tensor2d(muB, [1, c]);
  const scratch = X.index ? new Float32Array(Math.min(n, blockRows) * D) : undefined;
  try {
    for (let r0 = 0; r0 < n; r0 += blockRows) {
      const nb = Math.min(n, r0 + blockRows) - r0;
      const xb = tf.tensor2d(blockOf(X, r0, nb, scratch), [nb, D]);
      let y: tf.Tensor2D | undefined;
      try {
        const yb = tf.tidy(() => tf.sub(tf.matMul(xb, Bt), muBt)) as tf.Tensor2D;
        y = yb;
        await perBlock(yb, xb, r0, nb);
      } finally {
        xb.dispose();
        y?.dispose();
      }
    }
  } finally {
    Bt.dispose();
    muBt.dispose();
  }
}

/** Xc · B for a column-major basis B [D, c]; returns column-major [n, c] (float64). */
async function applyX(X: RowView, mean: Float64Array, B: Float64Array, c: number, blockRows: number): Promise<Float64Array> {
  const n = X.rows;
  const out = new Float64Array(n * c);
  await overBlocks(X, mean, B, c, blockRows, async (y, _xb, r0, nb) => {
    const yd = (await y.data()) as Float32Array;
    for (let i = 0; i < nb; i++) for (let a = 0; a < c; a++) out[a * n + r0 + i] = yd[i * c + a]!;
  });
  return out;
}

/** (Xc·B)ᵀ(Xc·B) [c, c] (float64, symmetrised), accumulated in tfjs over the blocks. */
async function applyXWithGram(X: RowView, mean: Float64Array, B: Float64Array, c: number, blockRows: number): Promise<{ gram: Float64Array }> {
  let acc: tf.Tensor2D | undefined;
  try {
    await overBlocks(X, mean, B, c, blockRows, async (y) => {
      const prev = acc;
      acc = tf.tidy(() => {
        const part = tf.matMul(tf.transpose(y), y);
        return prev ? tf.add(prev, part) : part;
      }) as tf.Tensor2D;
      prev?.dispose();
    });
    const g = Float64Array.from((await acc!.data()) as Float32Array);
    for (let a = 0; a < c; a++) for (let b = a + 1; b < c; b++) g[a * c + b] = g[b * c + a] = 0.5 * (g[a * c + b]! + g[b * c + a]!);
    return { gram: g };
  } finally {
    acc?.dispose();
  }
}

/**
 * XcᵀXc·B in one pass over the data: per block y = Xc_b·B, accumulate yᵀX_b and 1ᵀy, then
 * subtract (Σ1ᵀy)ᵀμᵀ. Returns column-major [D, c] (float64).
 */
async function applyXtX(X: RowView, mean: Float64Array, B: Float64Array, c: number, blockRows: number): Promise<Float64Array> {
  const D = X.cols;
  let acc: tf.Tensor2D | undefined;
  let colSum: tf.Tensor1D | undefined;
  try {
    await overBlocks(X, mean, B, c, blockRows, async (y, xb) => {
      const prevAcc = acc;
      const prevSum = colSum;
      [acc, colSum] = tf.tidy(() => {
        const part = tf.matMul(tf.transpose(y), xb); // [c, D]
        const s = tf.sum(y, 0) as tf.Tensor1D;
        return [prevAcc ? tf.add(prevAcc, part) : part, prevSum ? tf.add(prevSum, s) : s] as [tf.Tensor2D, tf.Tensor1D];
      });
      prevAcc?.dispose();
      prevSum?.dispose();
    });
    const z = Float64Array.from((await acc!.data()) as Float32Array); // row-major [c, D] = column-major [D, c]
    const s = (await colSum!.data()) as Float32Array;
    for (let a = 0; a < c; a++) for (let t = 0; t < D; t++) z[a * D + t]! -= s[a]! * mean[t]!;
    return z;
  } finally {
    acc?.dispose();
    colSum?.dispose();
  }
}

/** In-place orthonormalisation of the c columns (column-major, length D each), CGS2. */
export function orthonormalizeColumns(B: Float64Array, D: number, c: number): void {
  const r = new Float64Array(c);
  for (let j = 0; j < c; j++) {
    const cj = j * D;
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 0; i < j; i++) {
        let s = 0;
        for (let t = 0, ci = i * D; t < D; t++) s += B[ci + t]! * B[cj + t]!;
        r[i] = s;
      }
      for (let i = 0; i < j; i++) {
        const s = r[i]!;
        for (let t = 0, ci = i * D; t < D; t++) B[cj + t]! -= s * B[ci + t]!;
      }
    }
    let s = 0;
    for (let t = 0; t < D; t++) s += B[cj + t]! * B[cj + t]!;
    s = Math.sqrt(s);
    if (s > 1e-300) for (let t = 0; t < D; t++) B[cj + t]! /= s;
  }
}
