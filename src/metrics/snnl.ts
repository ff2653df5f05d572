/**
 * Soft nearest neighbour loss (METHODS §6; Frosst, Papernot & Hinton 2019) as a differentiable
 * tfjs scalar, and its temperature-free minimum found by a deterministic grid + golden-section
 * search.
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeMismatchError } from '../errors.js';
import type { FloatMatrix, Progress } from '../types.js';
import { checkKnownOptions, checkLabels, checkNumber, throwIfAborted, yieldToEventLoop } from '../internal/validate.js';
import { isTensor, readMatrix } from './matrix-input.js';
import { backendFloatPrecision } from '../backend/precision.js';

/** Label counts; throws (naming the label) when a label occurs only once. */
function checkSnnlLabels(fn: string, labels: unknown, rows: number): { labels: Int32Array; counts: Map<number, number> } {
  const lab = checkLabels(fn, 'labels', labels, rows);
  const counts = new Map<number, number>();
  for (const c of lab) counts.set(c, (counts.get(c) ?? 0) + 1);
  for (const [c, n] of counts) {
    if (n < 2) throw new InvalidArgumentError(fn, 'labels', `a labelling in which every label occurs at least twice (label ${c} occurs once)`, `label ${c}`);
  }
  return { labels: lab, counts };
}

/**
 * Options of {@link softNearestNeighborLoss}.
 * @category Metrics
 */
export interface SnnlOptions {
  /** Temperature T > 0 (required). */
  temperature: number;
}

/**
 * ℓ(T) = −(1/b) Σᵢ log( Σ_{j≠i, yⱼ=yᵢ} e^{−dᵢⱼ/T} / Σ_{k≠i} e^{−dᵢₖ/T} ), dᵢⱼ = ‖xᵢ − xⱼ‖²,
 * computed as a log-sum-exp of the same-label terms minus a log-sum-exp of all terms (no epsilon).
 * Returns a scalar tensor, differentiable with respect to `x` (call it inside `tf.grad`). Every label
 * must occur at least twice. Tensor rows are not checked for NaN (that would need a read-back).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { softNearestNeighborLoss } from 'ae-manifold';
 * const x = tf.tensor2d([[0, 0], [0, 1], [5, 0], [5, 1]]);
 * const loss = softNearestNeighborLoss(x, [0, 0, 1, 1], { temperature: 1 }); // ≈ 0: the labels are well separated
 * ```
 * @param x [b, D] rows (tensor or FloatMatrix)
 * @param labels b integer labels
 * @category Metrics
 */
export function softNearestNeighborLoss(x: tf.Tensor2D | FloatMatrix, labels: Int32Array | readonly number[], options: SnnlOptions): tf.Scalar {
  const FN = 'softNearestNeighborLoss';
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError(FN, 'options', 'an object with temperature', options);
  checkKnownOptions(FN, options, ['temperature']);
  const T = checkNumber(FN, 'options.temperature', options.temperature, 0, Infinity, true);
  let rows: number;
  if (isTensor(x)) {
    if (x.rank !== 2) throw new ShapeMismatchError(FN, 'x', [null, null], x.shape, 'a rank-2 tensor [b, D]');
    if (x.isDisposed) throw new InvalidArgumentError(FN, 'x', 'a live tensor', 'a disposed tensor');
    rows = x.shape[0];
  } else {
    const m = readMatrixSyncChecked(FN, x);
    rows = m.rows;
  }
  if (rows < 2) throw new InvalidArgumentError(FN, 'x', 'at least 2 rows', rows);
  const { labels: lab } = checkSnnlLabels(FN, labels, rows);
  const float16 = backendFloatPrecision() === 16;
  return tf.tidy(() => {
    const xt = isTensor(x) ? (x as tf.Tensor2D) : tf.tensor2d((x as FloatMatrix).data, [rows, (x as FloatMatrix).cols]);
    const y = tf.tensor1d(lab, 'int32');
    const same = tf.equal(tf.reshape(y, [rows, 1]), tf.reshape(y, [1, rows]));
    const offDiag = tf.logicalNot(tf.cast(tf.eye(rows), 'bool'));
    const logits = float16 ? float16Logits(xt, T, offDiag) : tf.div(tf.neg(pairwiseSquaredDistances(xt)), tf.scalar(T));
    const negInf = tf.fill([rows, rows], float16 ? FLOAT16_MASK : -Infinity);
    const all = tf.where(offDiag, logits, negInf);
    const sameOnly = tf.where(tf.logicalAnd(same, offDiag), logits, negInf);
    const ratio = tf.sub(tf.logSumExp(sameOnly, 1), tf.logSumExp(all, 1));
    return tf.neg(tf.mean(ratio)) as tf.Scalar;
  });
}

function readMatrixSyncChecked(fn: string, x: unknown): FloatMatrix {
  const m = x as FloatMatrix;
  if (!m || typeof m !== 'object' || !(m.data instanceof Float32Array)) throw new InvalidArgumentError(fn, 'x', 'a 2-D tensor or a FloatMatrix', x);
  if (m.data.length !== m.rows * m.cols) throw new ShapeMismatchError(fn, 'x.data', [m.rows * m.cols], [m.data.length]);
  for (let i = 0; i < m.data.length; i++) if (!Number.isFinite(m.data[i]!)) throw new InvalidArgumentError(fn, 'x', 'finite values only', m.data[i]);
  return m;
}

/** Lowest logit on a float16 backend: −dᵢⱼ/T is clamped here (e^{−30000} is 0 in any precision). */
const FLOAT16_LOGIT_FLOOR = -30000;
/** What masked entries get on a float16 backend, where tfjs-webgl reads ±∞ back as NaN (measured). */
const FLOAT16_MASK = -2 * 30000;

/** The smallest power of two ≥ v (v > 0). */
function powerOfTwoAbove(v: number): number {
  return 2 ** Math.ceil(Math.log2(v));
}

/**
 * −dᵢⱼ/T on a float16 backend, where any value (results and constants alike) above 65504 comes
 * back as NaN. The centred rows are divided by powers of two σ₁ ≥ max|xᵢₖ| (read back once) and
 * σ₂ ≥ √D, so that every scaled squared distance d̂ᵢⱼ lies in [0, 4]; each row is shifted by its
 * nearest off-diagonal d̂ (ℓ does not change when a row of logits is shifted); then
 * (d̂ᵢⱼ − min d̂ᵢ)·k, k = (σ₁σ₂)²/T, is formed in factors of at most 2¹², clamping before each so
 * that no logit falls below −30000 (e^{−30000} is 0 in any precision). Exact in real arithmetic
 * (so the gradient is that of ℓ) up to the float16 rounding of each d̂ᵢⱼ (≈ 1e-3 of the largest
 * squared row norm) and of the last factor of k (≈ 5e-4 relative, as if T were off by that much).
 */
function float16Logits(x: tf.Tensor2D, T: number, offDiag: tf.Tensor2D): tf.Tensor2D {
  const xc = tf.sub(x, tf.mean(x, 0, true));
  const amax = (tf.max(tf.abs(xc)).dataSync() as Float32Array)[0]!;
  const s1 = amax > 0 ? powerOfTwoAbove(amax) : 1;
  const s2 = powerOfTwoAbove(Math.sqrt(x.shape[1]));
  const dn = pairwiseSquaredDistances(tf.div(tf.div(xc, tf.scalar(s1)), tf.scalar(s2)) as tf.Tensor2D);
  const nearest = tf.min(tf.where(offDiag, dn, tf.fill(dn.shape, 5)), 1, true);
  let v: tf.Tensor = tf.relu(tf.sub(dn, nearest));
  const CHUNK = 4096;
  let k = (s1 * s1 * s2 * s2) / T;
  while (k > CHUNK) {
    v = tf.mul(tf.minimum(v, tf.scalar(-FLOAT16_LOGIT_FLOOR / CHUNK)), tf.scalar(CHUNK));
    k /= CHUNK;
  }
  // v ≤ 4 before the last factor when it was never clamped, so a factor k < 1 needs no clamp.
  if (k >= 1) v = tf.minimum(v, tf.scalar(-FLOAT16_LOGIT_FLOOR / k));
  return tf.mul(v, tf.scalar(-k)) as tf.Tensor2D;
}

/** ‖xᵢ − xⱼ‖² for all pairs (rows centred first to limit cancellation), clamped at 0. */
function pairwiseSquaredDistances(x: tf.Tensor2D): tf.Tensor2D {
  const xc = tf.sub(x, tf.mean(x, 0, true));
  const sq = tf.sum(tf.square(xc), 1, true);
  const g = tf.matMul(xc, tf.transpose(xc));
  return tf.relu(tf.sub(tf.add(sq, tf.transpose(sq)), tf.mul(tf.scalar(2), g))) as tf.Tensor2D;
}

/** ‖xᵢ − xⱼ‖² for all pairs in float64 on the host, `[b·b]` row-major (O(b²·D)). */
function hostSquaredDistances(X: FloatMatrix): Float64Array {
  const { rows: b, cols: D, data } = X;
  const d = new Float64Array(b * b);
  for (let i = 0; i < b; i++) {
    for (let j = i + 1; j < b; j++) {
      let acc = 0;
      for (let k = 0; k < D; k++) {
        const v = data[i * D + k]! - data[j * D + k]!;
        acc += v * v;
      }
      d[i * b + j] = acc;
      d[j * b + i] = acc;
    }
  }
  return d;
}

/**
 * Options of {@link optimalSnnl}.
 * @category Metrics
 */
export interface OptimalSnnlOptions {
  /** Grid points, log-spaced over [10⁻³μ, 10³μ]. Default 61. */
  gridSize?: number;
  /** Stop the golden-section search when the log-T bracket is narrower. Default 1e-4. */
  tolerance?: number;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
}

/**
 * Result of {@link optimalSnnl}.
 * @category Metrics
 */
export interface OptimalSnnlResult {
  /** ℓ* = min_T ℓ(T) (within the search range). */
  loss: number;
  /** T* at the minimum. */
  temperature: number;
  /** T* divided by μ. */
  temperatureRatio: number;
  /** μ, the median off-diagonal squared distance. */
  medianSquaredDistance: number;
  /** ℓ_∞ = −(1/b) Σᵢ log((n_{yᵢ} − 1)/(b − 1)), the chance value as T → ∞. */
  chanceLoss: number;
  /** ℓ evaluations made (grid + golden section). */
  evaluations: number;
  /** b. */
  points: number;
}

/**
 * The temperature-free SNNL: ℓ* = min_T ℓ(T), found deterministically (METHODS §6): ℓ on 61
 * log-spaced T over [10⁻³μ, 10³μ] (μ = median off-diagonal squared distance), then golden-section
 * search on log T between the best grid point's neighbours until the bracket is < 1e-4. ℓ is
 * evaluated in float64 from squared distances computed once with tfjs.
 *
 * @example
 * ```ts
 * import { optimalSnnl } from 'ae-manifold';
 * const x = { data: new Float32Array([0, 0, 0, 1, 9, 0, 9, 1]), rows: 4, cols: 2 };
 * const r = await optimalSnnl(x, [0, 0, 1, 1]);
 * // r.loss ≈ 0 (separated), r.chanceLoss = ln 3 ≈ 1.0986
 * ```
 * @category Metrics
 */
export async function optimalSnnl(x: tf.Tensor2D | FloatMatrix, labels: Int32Array | readonly number[], options: OptimalSnnlOptions = {}): Promise<OptimalSnnlResult> {
  const FN = 'optimalSnnl';
  checkKnownOptions(FN, options, ['gridSize', 'tolerance', 'signal', 'onProgress']);
  const gridSize = Math.round(checkNumber(FN, 'options.gridSize', options.gridSize ?? 61, 3));
  const tol = checkNumber(FN, 'options.tolerance', options.tolerance ?? 1e-4, 0, Infinity, true);
  const { signal, onProgress } = options;
  const X = await readMatrix(FN, 'x', x);
  const b = X.rows;
  if (b < 2) throw new InvalidArgumentError(FN, 'x', 'at least 2 rows', b);
  const { labels: lab, counts } = checkSnnlLabels(FN, labels, b);
  let d: Float64Array;
  if (backendFloatPrecision() === 16) {
    // float16 storage overflows above 65504 and rounds to 11 bits: compute them here in float64.
    d = hostSquaredDistances(X);
  } else {
    const dT = tf.tidy(() => pairwiseSquaredDistances(tf.tensor2d(X.data, [b, X.cols])));
    try {
      d = Float64Array.from((await dT.data()) as Float32Array);
    } finally {
      dT.dispose();
    }
  }
  const off: number[] = [];
  for (let i = 0; i < b; i++) for (let j = i + 1; j < b; j++) off.push(d[i * b + j]!);
  off.sort((p, q) => p - q);
  const mid = off.length >> 1;
  const mu = off.length % 2 ? off[mid]! : (off[mid - 1]! + off[mid]!) / 2;
  if (!(mu > 0)) throw new InvalidArgumentError(FN, 'x', 'rows with a positive median pairwise squared distance', mu);
  let chance = 0;
  for (let i = 0; i < b; i++) chance -= Math.log((counts.get(lab[i]!)! - 1) / (b - 1));
  chance /= b;

  let evaluations = 0;
  const lossAt = (logT: number): number => {
    evaluations++;
    const invT = Math.exp(-logT);
    let total = 0;
    for (let i = 0; i < b; i++) {
      const o = i * b;
      let minAll = Infinity;
      let minSame = Infinity;
      for (let j = 0; j < b; j++) {
        if (j === i) continue;
        const v = d[o + j]!;
        if (v < minAll) minAll = v;
        if (lab[j] === lab[i] && v < minSame) minSame = v;
      }
      let sAll = 0;
      let sSame = 0;
      for (let j = 0; j < b; j++) {
        if (j === i) continue;
        const v = d[o + j]!;
        sAll += Math.exp(-(v - minAll) * invT);
        if (lab[j] === lab[i]) sSame += Math.exp(-(v - minSame) * invT);
      }
      // log Σ_same − log Σ_all, each as a log-sum-exp.
      total += -minSame * invT + Math.log(sSame) - (-minAll * invT + Math.log(sAll));
    }
    return -total / b;
  };
  const lo = Math.log(mu) + Math.log(1e-3);
  const hi = Math.log(mu) + Math.log(1e3);
  const grid = Array.from({ length: gridSize }, (_, i) => lo + ((hi - lo) * i) / (gridSize - 1));
  const values: number[] = [];
  const maxGolden = Math.ceil(Math.log(tol / ((2 * (hi - lo)) / (gridSize - 1))) / Math.log(0.618)) + 2;
  const totalSteps = gridSize + Math.max(0, maxGolden);
  for (let i = 0; i < gridSize; i++) {
    values.push(lossAt(grid[i]!));
    if ((i & 7) === 7) {
      throwIfAborted(FN, signal);
      onProgress?.({ stage: 'snnl', step: i + 1, total: totalSteps });
      if (signal || onProgress) await yieldToEventLoop();
    }
  }
  let g = 0;
  for (let i = 1; i < gridSize; i++) if (values[i]! < values[g]!) g = i;
  let bestLogT = grid[g]!;
  let best = values[g]!;
  let a = grid[Math.max(0, g - 1)]!;
  let c = grid[Math.min(gridSize - 1, g + 1)]!;
  const phi = (Math.sqrt(5) - 1) / 2;
  let x1 = c - phi * (c - a);
  let x2 = a + phi * (c - a);
  let f1 = lossAt(x1);
  let f2 = lossAt(x2);
  while (c - a >= tol) {
    throwIfAborted(FN, signal);
    if (f1 <= f2) {
      c = x2;
      x2 = x1;
      f2 = f1;
      x1 = c - phi * (c - a);
      f1 = lossAt(x1);
    } else {
      a = x1;
      x1 = x2;
      f1 = f2;
      x2 = a + phi * (c - a);
      f2 = lossAt(x2);
    }
  }
  for (const [t, f] of [[x1, f1], [x2, f2]] as const) {
    if (f < best) {
      best = f;
      bestLogT = t;
    }
  }
  onProgress?.({ stage: 'snnl', step: totalSteps, total: totalSteps });
  const temperature = Math.exp(bestLogT);
  return { loss: best + 0, temperature, temperatureRatio: temperature / mu, medianSquaredDistance: mu, chanceLoss: chance, evaluations, points: b };
}
