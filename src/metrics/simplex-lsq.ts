/**
 * Simplex-constrained least squares (METHODS §4.1): Euclidean projection onto the probability
 * simplex and a deterministic FISTA solver in float64, with the ridge term that makes the weights
 * unique.
 * @module
 */
import { InvalidArgumentError, ShapeMismatchError } from '../errors.js';
import { checkInteger, checkKnownOptions, checkNumber } from '../internal/validate.js';

/**
 * Exact Euclidean projection of `u` onto the probability simplex {w ≥ 0, Σw = 1} (sort-based).
 *
 * @example
 * ```ts
 * import { projectOntoSimplex } from 'ae-manifold';
 * projectOntoSimplex(Float64Array.from([0.5, 0.5, 1])); // [0.1667, 0.1667, 0.6667]
 * ```
 * @category Metrics
 */
export function projectOntoSimplex(u: ArrayLike<number>, out: Float64Array = new Float64Array(u.length)): Float64Array {
  const n = u.length;
  const s = Float64Array.from(u as ArrayLike<number>).sort().reverse();
  let cum = 0;
  let theta = 0;
  for (let j = 0; j < n; j++) {
    cum += s[j]!;
    const t = (cum - 1) / (j + 1);
    if (s[j]! - t > 0) theta = t;
  }
  for (let i = 0; i < n; i++) out[i] = Math.max(u[i]! - theta, 0);
  return out;
}

/**
 * Options of {@link solveSimplexLeastSquares}.
 * @category Metrics
 */
export interface SimplexLsqOptions {
  /** Ridge factor: λ = ridge · mean‖aᵢ − b‖²/D. Default 1e-6. */
  ridge?: number;
  /** Stop when ‖w − P(w − ∇g/L)‖∞ ≤ tolerance. Default 1e-9. */
  tolerance?: number;
  /** Iteration cap. Default 5000. */
  maxIterations?: number;
}

/**
 * Solution of {@link solveSimplexLeastSquares}.
 * @category Metrics
 */
export interface SimplexLsqResult {
  /** Weights w* on the simplex, one per column of A. */
  weights: Float64Array;
  /** ‖A w* − b‖₂ (plain norm), from the Gram form. */
  distance: number;
  /** Objective g(w*) = ‖Aw − b‖²/D + λ‖w‖². */
  objective: number;
  /** The λ used. */
  lambda: number;
  /** FISTA iterations run. */
  iterations: number;
  /** Final fixed-point residual ‖w − P(w − ∇g/L)‖∞. */
  residual: number;
  /** Whether the residual reached the tolerance. */
  converged: boolean;
}

/**
 * Solves min_w ‖Aw − b‖²/D + λ‖w‖² on the simplex from the **centred Gram matrix**
 * C = ÃᵀÃ with Ã = [aᵢ − b] (k × k, row-major, float64): since Σw = 1, Aw − b = Ãw, so the
 * objective is wᵀ(C/D + λI)w with no linear term. λ = ridge · trace(C)/(kD).
 *
 * FISTA with step 1/L, L = 2·1.01·λ_max (50 power iterations from the all-ones vector), start
 * w = 1/k, adaptive restart when the objective increases. Deterministic.
 *
 * @example
 * ```ts
 * import { solveSimplexLeastSquaresGram } from 'ae-manifold';
 * // Points a1 = (1, 0), a2 = (0, 1), b = (1, 1): Ã = [(0, -1), (-1, 0)], C = [[1, 0], [0, 1]]
 * const r = solveSimplexLeastSquaresGram(Float64Array.from([1, 0, 0, 1]), 2, 2);
 * // r.weights ≈ [0.5, 0.5], r.distance ≈ 0.7071
 * ```
 * @param gram C = ÃᵀÃ, k × k row-major
 * @param k number of points (columns of A)
 * @param dims D, the dimension of the space (scales the objective only)
 * @category Metrics
 */
export function solveSimplexLeastSquaresGram(gram: Float64Array, k: number, dims: number, options: SimplexLsqOptions = {}): SimplexLsqResult {
  const FN = 'solveSimplexLeastSquaresGram';
  checkKnownOptions(FN, options, ['ridge', 'tolerance', 'maxIterations']);
  checkInteger(FN, 'k', k, 1);
  checkInteger(FN, 'dims', dims, 1);
  if (!(gram instanceof Float64Array) || gram.length !== k * k) throw new ShapeMismatchError(FN, 'gram', [k * k], [gram?.length ?? 0], 'a k × k Float64Array');
  const ridge = checkNumber(FN, 'options.ridge', options.ridge ?? 1e-6, 0);
  const tol = checkNumber(FN, 'options.tolerance', options.tolerance ?? 1e-9, 0);
  const maxIt = checkInteger(FN, 'options.maxIterations', options.maxIterations ?? 5000, 1);
  for (let i = 0; i < gram.length; i++) if (!Number.isFinite(gram[i]!)) throw new InvalidArgumentError(FN, 'gram', 'finite values only', gram[i]);

  let trace = 0;
  for (let i = 0; i < k; i++) trace += gram[i * k + i]!;
  const lambda = (ridge * trace) / (k * dims);
  // G = C/D + λI.
  const G = new Float64Array(k * k);
  for (let i = 0; i < k * k; i++) G[i] = gram[i]! / dims;
  for (let i = 0; i < k; i++) G[i * k + i] = G[i * k + i]! + lambda;
  // G·v, exploiting the sparsity of simplex iterates (G is symmetric: sum rows j with v_j ≠ 0).
  const nz = new Int32Array(k);
  const matvec = (v: Float64Array, out: Float64Array): Float64Array => {
    let nnz = 0;
    for (let j = 0; j < k; j++) if (v[j] !== 0) nz[nnz++] = j;
    out.fill(0);
    for (let t = 0; t < nnz; t++) {
      const j = nz[t]!;
      const vj = v[j]!;
      const o = j * k;
      for (let i = 0; i < k; i++) out[i]! += G[o + i]! * vj;
    }
    return out;
  };
  const dot = (a: Float64Array, b: Float64Array): number => {
    let s = 0;
    for (let i = 0; i < k; i++) s += a[i]! * b[i]!;
    return s;
  };
  // λ_max by 50 power iterations from the all-ones vector.
  const v = new Float64Array(k).fill(1);
  const tmp = new Float64Array(k);
  let lmax = 0;
  for (let it = 0; it < 50; it++) {
    matvec(v, tmp);
    const norm = Math.sqrt(dot(tmp, tmp));
    if (norm === 0) break;
    lmax = norm / Math.sqrt(dot(v, v));
    for (let i = 0; i < k; i++) v[i] = tmp[i]! / norm;
  }
  const L = 2 * 1.01 * Math.max(lmax, Number.MIN_VALUE);

  let w = new Float64Array(k).fill(1 / k);
  let y = Float64Array.from(w);
  let t = 1;
  const Gw = matvec(w, new Float64Array(k));
  let gw = dot(w, Gw);
  const Gy = new Float64Array(k);
  const step = new Float64Array(k);
  let wNew = new Float64Array(k);
  const GwNew = new Float64Array(k);
  const check = new Float64Array(k);
  let residual = fixedPointResidual(w, Gw, L, step, check);
  let iterations = 0;
  // G·y is kept up to date from G·w and G·wNew (y is their linear combination): one matvec per
  // iteration.
  Gy.set(Gw);
  while (residual > tol && iterations < maxIt) {
    iterations++;
    for (let i = 0; i < k; i++) step[i] = y[i]! - (2 * Gy[i]!) / L;
    projectOntoSimplex(step, wNew);
    matvec(wNew, GwNew);
    const gNew = dot(wNew, GwNew);
    if (gNew > gw && t !== 1) {
      // Adaptive restart: drop the momentum and retry from w. (With t = 1 the step is a plain
      // projected-gradient step, monotone in exact arithmetic, and is accepted.)
      t = 1;
      y.set(w);
      Gy.set(Gw);
      continue;
    }
    const tNext = (1 + Math.sqrt(1 + 4 * t * t)) / 2;
    const beta = (t - 1) / tNext;
    for (let i = 0; i < k; i++) {
      y[i] = wNew[i]! + beta * (wNew[i]! - w[i]!);
      Gy[i] = GwNew[i]! + beta * (GwNew[i]! - Gw[i]!);
    }
    [w, wNew] = [wNew, w];
    Gw.set(GwNew);
    gw = gNew;
    t = tNext;
    residual = fixedPointResidual(w, Gw, L, step, check);
  }
  // ‖Ãw‖² = wᵀCw = D·(wᵀGw − λ‖w‖²).
  const ww = dot(w, w);
  const sq = Math.max(0, dims * (gw - lambda * ww));
  return { weights: w, distance: Math.sqrt(sq), objective: gw, lambda, iterations, residual, converged: residual <= tol };
}

function fixedPointResidual(w: Float64Array, Gw: Float64Array, L: number, step: Float64Array, out: Float64Array): number {
  for (let i = 0; i < w.length; i++) step[i] = w[i]! - (2 * Gw[i]!) / L;
  projectOntoSimplex(step, out);
  let r = 0;
  for (let i = 0; i < w.length; i++) r = Math.max(r, Math.abs(w[i]! - out[i]!));
  return r;
}

/**
 * Convenience form of {@link solveSimplexLeastSquaresGram} from the points themselves:
 * `points` holds the k columns of A as rows ([k, D] row-major), `target` is b. The Gram matrix is
 * formed in float64 and the returned distance is recomputed directly as ‖Σ wᵢaᵢ − b‖₂.
 *
 * @example
 * ```ts
 * import { solveSimplexLeastSquares } from 'ae-manifold';
 * const triangle = Float64Array.from([0, 0, 2, 0, 0, 2]);
 * const r = solveSimplexLeastSquares(triangle, 3, 2, Float64Array.from([2, 2]));
 * // r.distance ≈ 1.4142 (the hull point is (1, 1)), r.weights ≈ [0, 0.5, 0.5]
 * ```
 * @category Metrics
 */
export function solveSimplexLeastSquares(
  points: ArrayLike<number>,
  k: number,
  dims: number,
  target: ArrayLike<number>,
  options: SimplexLsqOptions = {},
): SimplexLsqResult {
  const FN = 'solveSimplexLeastSquares';
  checkInteger(FN, 'k', k, 1);
  checkInteger(FN, 'dims', dims, 1);
  if (points.length !== k * dims) throw new ShapeMismatchError(FN, 'points', [k * dims], [points.length], 'k rows of dims values');
  if (target.length !== dims) throw new ShapeMismatchError(FN, 'target', [dims], [target.length]);
  const centred = new Float64Array(k * dims);
  for (let i = 0; i < k; i++) for (let j = 0; j < dims; j++) centred[i * dims + j] = points[i * dims + j]! - target[j]!;
  const gram = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    for (let j = i; j < k; j++) {
      let s = 0;
      for (let t = 0; t < dims; t++) s += centred[i * dims + t]! * centred[j * dims + t]!;
      gram[i * k + j] = s;
      gram[j * k + i] = s;
    }
  }
  const r = solveSimplexLeastSquaresGram(gram, k, dims, options);
  r.distance = combinationDistance(centred, r.weights, k, dims);
  return r;
}

/** ‖Σ wᵢ cᵢ‖₂ for centred rows cᵢ = aᵢ − b (float64). */
export function combinationDistance(centred: ArrayLike<number>, w: ArrayLike<number>, k: number, dims: number): number {
  let s = 0;
  for (let t = 0; t < dims; t++) {
    let v = 0;
    for (let i = 0; i < k; i++) v += w[i]! * centred[i * dims + t]!;
    s += v * v;
  }
  return Math.sqrt(s);
}
