/**
 * Method B (METHODS §4): convex-hull proximity measured in input space. Each query activation is
 * projected on the convex hull of its k nearest training activations (after PCA), the weights are
 * applied to those neighbours' input images (a pre-image), and the pre-image's distance to the
 * convex hulls of its k nearest original- and predicted-class training images is measured.
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import type { FloatMatrix, Progress } from '../types.js';
import { InvalidArgumentError, ShapeMismatchError } from '../errors.js';
import { createRng } from '../internal/rng.js';
import { checkInteger, checkKnownOptions, checkLabels, checkNumber, throwIfAborted, yieldToEventLoop } from '../internal/validate.js';
import { readMatrix, selectRows } from './matrix-input.js';
import { checkClassesPresent } from './centroid-distance.js';
import { knnSearchMatrices } from './knn.js';
import { fitPcaInternal, seededSubsample } from './pca.js';
import type { PcaModel } from './pca.js';
import { combinationDistance, solveSimplexLeastSquaresGram } from './simplex-lsq.js';
import { summarizePairs } from './pairs.js';
import type { PairSummary } from './pairs.js';

/**
 * Input of {@link convexHullProximity} for one analysis point.
 * @category Metrics
 */
export interface ConvexHullInput {
  /** Normalised, flattened input images of the training rows [N, D₀]. */
  referenceInputs: FloatMatrix | tf.Tensor2D;
  /** Activations of the same training rows at this analysis point [N, D_l] (the inputs again for Input). */
  referenceActivations: FloatMatrix | tf.Tensor2D;
  /** Class of each training row. */
  referenceLabels: Int32Array | readonly number[];
  /** Query activations at this point [Q, D_l] (e.g. adversarial examples). */
  queries: FloatMatrix | tf.Tensor2D;
  /** Original class o of each query. */
  originalClass: Int32Array | readonly number[];
  /** Predicted class p of each query. */
  predictedClass: Int32Array | readonly number[];
}

/**
 * Options of {@link convexHullProximity}.
 * @category Metrics
 */
export interface ConvexHullOptions {
  /** Neighbours in layer space and per class in input space. Default 300. */
  k?: number;
  /** Seeded subsample of the training rows when there are more. Default 50,000. */
  maxReference?: number;
  /** PCA variance threshold. Default 0.95. */
  varianceThreshold?: number;
  /** Rows on which the PCA's number of components is estimated. Default 1000. */
  pcaEstimationRows?: number;
  /** Randomised-SVD oversampling (default 10) and power iterations (default 4). */
  oversampling?: number;
  powerIterations?: number;
  /** Ridge factor of the least squares (λ = ridge · mean‖aᵢ − b‖²/D). Default 1e-6. */
  ridge?: number;
  /** FISTA stopping tolerance (default 1e-9) and iteration cap (default 5000). */
  tolerance?: number;
  maxIterations?: number;
  /** Least-squares problems whose Gram matrices are formed per tensor round trip. Default 8. */
  gramBatch?: number;
  /** Seed of the subsample and the PCA; drawn and echoed when omitted. */
  seed?: number;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
}

/**
 * Result of {@link convexHullProximity}.
 * @category Metrics
 */
export interface ConvexHullResult {
  k: number;
  seed: number;
  /** Training rows used (after the subsample). */
  referenceRows: number;
  /** PCA components m and their cumulative explained-variance ratio. */
  pcaComponents: number;
  pcaExplainedVariance: number;
  /** d_o per query: distance of the pre-image to the hull of its k nearest class-o images. */
  original: Float64Array;
  /** d_p per query. */
  predicted: Float64Array;
  /** Distance of each query to the hull of its layer-space neighbours, in PCA space. */
  layerDistance: Float64Array;
  /** Pre-images x̂ [Q, D₀], in the normalised input space. */
  preImages: FloatMatrix;
  /** Solver report over all 3·Q problems. */
  solver: { maxIterations: number; meanIterations: number; maxResidual: number; unconverged: number };
  /** Seconds spent per phase. */
  timings: { pca: number; knn: number; gram: number; solve: number; total: number };
  /** Per (o, p) pair, most frequent first. */
  pairs: Array<PairSummary<'original' | 'predicted'>>;
}

/**
 * Method B for one analysis point. Steps: seeded subsample (≤ `maxReference` rows); PCA of the
 * activations to `varianceThreshold` (estimated on 1,000 rows, fitted by randomised SVD);
 * k nearest projected training rows of each projected query; simplex-constrained least squares
 * (FISTA, float64, ridge) giving weights w; pre-image x̂ = Σ wᵢxᵢ; for c ∈ {o, p} the k nearest
 * class-c training images of x̂ and d_c = ‖Σ vⱼxⱼ − x̂‖ with v from the same solver.
 *
 * @example
 * ```ts
 * import { convexHullProximity } from 'ae-manifold';
 * // Inputs = activations (the Input analysis point), two classes on a line.
 * const xs = { data: new Float32Array([0, 1, 2, 10, 11, 12]), rows: 6, cols: 1 };
 * const r = await convexHullProximity({
 *   referenceInputs: xs, referenceActivations: xs, referenceLabels: [0, 0, 0, 1, 1, 1],
 *   queries: { data: new Float32Array([1.5]), rows: 1, cols: 1 }, originalClass: [0], predictedClass: [1],
 * }, { k: 2, seed: 1 });
 * // pre-image 1.5 lies in the class-0 hull: r.original[0] ≈ 0, r.predicted[0] ≈ 8.5
 * ```
 * @category Metrics
 */
export async function convexHullProximity(input: ConvexHullInput, options: ConvexHullOptions = {}): Promise<ConvexHullResult> {
  return convexHullProximityShared(input, options, {});
}

/**
 * @internal The query-independent part of Method B (the subsample's PCA and projection), kept so
 * that further calls on the same reference with the same seed and PCA settings reuse it.
 */
export interface ConvexHullShared {
  fit?: { inputs: Float32Array; acts: Float32Array; key: string; pca: PcaModel; projection: FloatMatrix };
}

/**
 * @internal {@link convexHullProximity} that reuses the PCA fitted by an earlier call with the
 * same `shared` holder when it was fitted on the same arrays with the same settings and seed (the
 * fit is deterministic, so every result is exactly that of a fresh call; only the time differs).
 */
export async function convexHullProximityShared(input: ConvexHullInput, options: ConvexHullOptions, shared: ConvexHullShared): Promise<ConvexHullResult> {
  const FN = 'convexHullProximity';
  const t0 = performance.now();
  checkKnownOptions(FN, options, [
    'k', 'maxReference', 'varianceThreshold', 'pcaEstimationRows', 'oversampling', 'powerIterations', 'ridge', 'tolerance', 'maxIterations', 'gramBatch', 'seed', 'signal', 'onProgress',
  ]);
  if (input === null || typeof input !== 'object') throw new InvalidArgumentError(FN, 'input', 'an object', input);
  checkKnownOptions(FN, input, ['referenceInputs', 'referenceActivations', 'referenceLabels', 'queries', 'originalClass', 'predictedClass']);
  const k = checkInteger(FN, 'options.k', options.k ?? 300, 1);
  const maxReference = checkInteger(FN, 'options.maxReference', options.maxReference ?? 50000, 2);
  const varianceThreshold = checkNumber(FN, 'options.varianceThreshold', options.varianceThreshold ?? 0.95, 0, 1, true);
  const estimationRows = checkInteger(FN, 'options.pcaEstimationRows', options.pcaEstimationRows ?? 1000, 2);
  const oversampling = checkInteger(FN, 'options.oversampling', options.oversampling ?? 10, 0);
  const powerIterations = checkInteger(FN, 'options.powerIterations', options.powerIterations ?? 4, 0);
  const ridge = checkNumber(FN, 'options.ridge', options.ridge ?? 1e-6, 0);
  const tolerance = checkNumber(FN, 'options.tolerance', options.tolerance ?? 1e-9, 0);
  const maxIterations = checkInteger(FN, 'options.maxIterations', options.maxIterations ?? 5000, 1);
  const gramBatch = checkInteger(FN, 'options.gramBatch', options.gramBatch ?? 8, 1);
  const { signal, onProgress } = options;
  const rng = createRng(options.seed);

  const inputsAll = await readMatrix(FN, 'input.referenceInputs', input.referenceInputs);
  const actsAll = await readMatrix(FN, 'input.referenceActivations', input.referenceActivations);
  if (actsAll.rows !== inputsAll.rows) {
    throw new ShapeMismatchError(FN, 'input.referenceActivations', [inputsAll.rows, null], [actsAll.rows, actsAll.cols], 'one activation row per training image');
  }
  const labelsAll = checkLabels(FN, 'input.referenceLabels', input.referenceLabels, inputsAll.rows);
  const queries = await readMatrix(FN, 'input.queries', input.queries, actsAll.cols);
  const originalClass = checkLabels(FN, 'input.originalClass', input.originalClass, queries.rows);
  const predictedClass = checkLabels(FN, 'input.predictedClass', input.predictedClass, queries.rows);

  // Seeded subsample (drawn first, so the same seed gives the same rows at every layer).
  // The subsample is read in place (row i of it is row keep[i] of the inputs and activations): a
  // copy of it would double the memory held for a wide layer (50,000 × 9,216 floats = 1.8 GB).
  const keep = seededSubsample(rng, inputsAll.rows, Math.min(inputsAll.rows, maxReference));
  const sub = keep.length === inputsAll.rows;
  const labels = sub ? labelsAll : Int32Array.from(keep, (r) => labelsAll[r]!);
  const inputRow = (i: number): number => (sub ? i : keep[i]!);
  const n = keep.length;
  const D0 = inputsAll.cols;
  const classRows = new Map<number, number[]>();
  labels.forEach((c, i) => (classRows.get(c) ?? classRows.set(c, []).get(c)!).push(i));
  checkClassesPresent(FN, 'input.referenceLabels', new Set(classRows.keys()), originalClass);
  checkClassesPresent(FN, 'input.referenceLabels', new Set(classRows.keys()), predictedClass);
  if (k > n) throw new InvalidArgumentError(FN, 'options.k', `at most the number of reference rows used, ${n}`, k);
  for (const c of new Set([...originalClass, ...predictedClass])) {
    const size = classRows.get(c)!.length;
    if (k > size) throw new InvalidArgumentError(FN, 'options.k', `at most the number of class-${c} reference rows used, ${size}`, k);
  }
  const Q = queries.rows;
  const totalSteps = 4;
  const report = async (step: number, stage: string): Promise<void> => {
    onProgress?.({ stage: `convex-hull:${stage}`, step, total: totalSteps });
    throwIfAborted(FN, signal);
    if (signal || onProgress) await yieldToEventLoop();
  };
  const timings = { pca: 0, knn: 0, gram: 0, solve: 0, total: 0 };
  const solverStats = { maxIterations: 0, sumIterations: 0, maxResidual: 0, unconverged: 0, count: 0 };
  const lsqOptions = { ridge, tolerance, maxIterations };

  // 1. PCA of the activations.
  let tt = performance.now();
  const pcaSeed = rng.uint32();
  const fitKey = JSON.stringify([rng.seed, inputsAll.rows, inputsAll.cols, actsAll.cols, maxReference, varianceThreshold, estimationRows, oversampling, powerIterations, pcaSeed]);
  const prev = shared.fit;
  if (!prev || prev.key !== fitKey || prev.inputs !== inputsAll.data || prev.acts !== actsAll.data) {
    delete shared.fit;
    const fitted = await fitPcaInternal(
      FN,
      actsAll,
      { varianceThreshold, estimationRows, oversampling, powerIterations, seed: pcaSeed, ...(signal ? { signal } : {}) },
      true,
      sub ? undefined : keep,
    );
    shared.fit = { inputs: inputsAll.data, acts: actsAll.data, key: fitKey, pca: fitted.model, projection: fitted.projection! };
  }
  const { pca, projection: Zp } = shared.fit!;
  const qp = await pca.transform(queries);
  timings.pca += (performance.now() - tt) / 1000;
  await report(1, 'pca');

  // 2. Layer-space neighbours.
  tt = performance.now();
  const layerNn = await knnSearchMatrices(Zp, qp, k, false, 512, signal, undefined, FN);
  timings.knn += (performance.now() - tt) / 1000;
  await report(2, 'layer-knn');

  // 3–4. Convex projection in layer space; pre-images.
  const layerProblems = Array.from({ length: Q }, (_, q) => ({ points: Zp, rows: layerNn.indices.subarray(q * k, (q + 1) * k), target: qp.data.subarray(q * qp.cols, (q + 1) * qp.cols) }));
  const layerSol = await solveBatch(layerProblems, k, gramBatch, lsqOptions, timings, solverStats, signal, FN);
  const layerDistance = Float64Array.from(layerSol, (s) => s.distance);
  const preImages = new Float32Array(Q * D0);
  for (let q = 0; q < Q; q++) {
    const w = layerSol[q]!.weights;
    const acc = new Float64Array(D0);
    for (let i = 0; i < k; i++) {
      const r = layerNn.indices[q * k + i]!;
      const wi = w[i]!;
      if (wi === 0) continue;
      for (let t = 0, o = inputRow(r) * D0; t < D0; t++) acc[t]! += wi * inputsAll.data[o + t]!;
    }
    preImages.set(acc, q * D0);
  }
  await report(3, 'layer-hull');

  // 5. Distances to the class hulls in input space.
  const original = new Float64Array(Q);
  const predicted = new Float64Array(Q);
  const classes = [...new Set([...originalClass, ...predictedClass])].sort((a, b) => a - b);
  const pre: FloatMatrix = { data: preImages, rows: Q, cols: D0 };
  for (const c of classes) {
    const qRows: number[] = [];
    for (let q = 0; q < Q; q++) if (originalClass[q] === c || predictedClass[q] === c) qRows.push(q);
    const rowsC = classRows.get(c)!;
    const Xc = selectRows(inputsAll, sub ? rowsC : rowsC.map(inputRow));
    tt = performance.now();
    const nn = await knnSearchMatrices(Xc, selectRows(pre, qRows), k, false, 512, signal, undefined, FN);
    timings.knn += (performance.now() - tt) / 1000;
    const problems = qRows.map((q, i) => ({ points: Xc, rows: nn.indices.subarray(i * k, (i + 1) * k), target: preImages.subarray(q * D0, (q + 1) * D0) }));
    const sol = await solveBatch(problems, k, gramBatch, lsqOptions, timings, solverStats, signal, FN);
    qRows.forEach((q, i) => {
      if (originalClass[q] === c) original[q] = sol[i]!.distance;
      if (predictedClass[q] === c) predicted[q] = sol[i]!.distance;
    });
  }
  await report(4, 'class-hulls');
  timings.total = (performance.now() - t0) / 1000;
  let cum = 0;
  for (const v of pca.explainedVarianceRatio) cum += v;
  return {
    k,
    seed: rng.seed,
    referenceRows: n,
    pcaComponents: pca.numComponents,
    pcaExplainedVariance: cum,
    original,
    predicted,
    layerDistance,
    preImages: pre,
    solver: {
      maxIterations: solverStats.maxIterations,
      meanIterations: solverStats.count ? solverStats.sumIterations / solverStats.count : 0,
      maxResidual: solverStats.maxResidual,
      unconverged: solverStats.unconverged,
    },
    timings,
    pairs: summarizePairs(originalClass, predictedClass, { original, predicted }),
  };
}

interface Problem {
  points: FloatMatrix;
  rows: Int32Array;
  target: Float32Array;
}

/**
 * Solves a list of problems: centred Gram matrices formed as one batched float32 matMul per
 * `gramBatch` problems, FISTA in float64, distances recomputed directly in float64.
 */
async function solveBatch(
  problems: Problem[],
  k: number,
  gramBatch: number,
  lsqOptions: { ridge: number; tolerance: number; maxIterations: number },
  timings: { gram: number; solve: number },
  stats: { maxIterations: number; sumIterations: number; maxResidual: number; unconverged: number; count: number },
  signal: AbortSignal | undefined,
  fn: string,
): Promise<Array<{ weights: Float64Array; distance: number }>> {
  const out: Array<{ weights: Float64Array; distance: number }> = [];
  for (let p0 = 0; p0 < problems.length; p0 += gramBatch) {
    throwIfAborted(fn, signal);
    const batch = problems.slice(p0, p0 + gramBatch);
    const D = batch[0]!.points.cols;
    let tt = performance.now();
    const centred = batch.map((p) => {
      const c = new Float32Array(k * D);
      for (let i = 0; i < k; i++) {
        const o = p.rows[i]! * D;
        for (let t = 0; t < D; t++) c[i * D + t] = p.points.data[o + t]! - p.target[t]!;
      }
      return c;
    });
    // One 2-D matMul per problem against a once-transposed copy (batched 3-D matMuls and transpose
    // flags are much slower on wasm), stacked for a single read-back.
    const g = tf.tidy(() =>
      tf.stack(
        centred.map((c) => {
          const a = tf.tensor2d(c, [k, D]);
          return tf.matMul(a, tf.transpose(a));
        }),
      ),
    );
    let gd: Float32Array;
    try {
      gd = (await g.data()) as Float32Array;
    } finally {
      g.dispose();
    }
    timings.gram += (performance.now() - tt) / 1000;
    tt = performance.now();
    for (let i = 0; i < batch.length; i++) {
      const gram = new Float64Array(k * k);
      for (let a = 0; a < k; a++) {
        for (let b = a; b < k; b++) {
          // Symmetrise the float32 product.
          const v = 0.5 * (gd[i * k * k + a * k + b]! + gd[i * k * k + b * k + a]!);
          gram[a * k + b] = v;
          gram[b * k + a] = v;
        }
      }
      const r = solveSimplexLeastSquaresGram(gram, k, D, lsqOptions);
      const distance = combinationDistance(centred[i]!, r.weights, k, D);
      stats.maxIterations = Math.max(stats.maxIterations, r.iterations);
      stats.sumIterations += r.iterations;
      stats.maxResidual = Math.max(stats.maxResidual, r.residual);
      if (!r.converged) stats.unconverged++;
      stats.count++;
      out.push({ weights: r.weights, distance });
    }
    timings.solve += (performance.now() - tt) / 1000;
    if (signal) await yieldToEventLoop();
  }
  return out;
}
