/**
 * UMAP projection (`projectUmap`, `transformUmap`): umap-js's algorithm with an exact neighbour
 * graph from the library's kNN engine, a seeded random source, progress per epoch and abort.
 * @module
 */
import type * as tf from '@tensorflow/tfjs-core';
import { UMAP } from 'umap-js';
import { findABParams } from 'umap-js/dist/umap.js';
import { InvalidArgumentError, ShapeMismatchError } from '../errors.js';
import { createRng } from '../internal/rng.js';
import { checkInteger, checkKnownOptions, checkNumber, throwIfAborted, yieldToEventLoop } from '../internal/validate.js';
import { knnSearch } from '../metrics/knn.js';
import { readMatrix } from '../metrics/matrix-input.js';
import type { FloatMatrix, Progress } from '../types.js';
import {
  epochsPerSample,
  fuzzyUnion,
  membershipStrengths,
  pruneEdges,
  smoothKnnDistance,
  type NeighbourTable,
} from './umap-graph.js';
import { createLayoutState, optimizeEpoch, type LayoutState } from './umap-optimize.js';

/**
 * How the layout is optimised. `'typed'` (default) runs umap-js's epoch on flat typed arrays, with
 * the same graph, start layout, edge order and random draws as umap-js, evaluating d^b as
 * exp(b·ln d) (2× cheaper than `Math.pow`); `'umap-js'` drives umap-js's own `initializeFit` +
 * `step`. With `Math.pow` the typed loop reproduces umap-js bit for bit (tested); with exp·ln the
 * last-bit differences grow chaotically, so the two engines give different but equally good maps.
 * Each engine is deterministic for a given seed.
 * @category Projection
 */
export type UmapEngine = 'typed' | 'umap-js';

/**
 * A UMAP neighbour graph in umap's convention: row-major `[rows, k]`, each row's first neighbour is
 * the row itself at distance 0, then the `k − 1` nearest other rows, nearest first.
 * @category Projection
 */
export interface UmapNeighbours {
  indices: Int32Array;
  distances: Float32Array;
  rows: number;
  k: number;
}

/**
 * Options of {@link projectUmap}. Defaults are umap-learn's (and umap-js's).
 * @category Projection
 */
export interface UmapOptions {
  /** Neighbours per point, the point itself included (umap convention). Default 15. */
  nNeighbors?: number;
  /** Minimum distance between embedded points. Default 0.1. */
  minDist?: number;
  /** Output dimensions, 1–100. Default 2. */
  nComponents?: number;
  /** Optimisation epochs. Default: umap-js's size rule, 500 / 400 / 300 / 200 for ≤ 2,500 / ≤ 5,000 / ≤ 7,500 / more rows. */
  nEpochs?: number;
  /** Scale of the embedded points (with `minDist`). Default 1. */
  spread?: number;
  /** Initial SGD learning rate. Default 1. */
  learningRate?: number;
  /** Neighbours assumed connected locally. Default 1. */
  localConnectivity?: number;
  /** 1 = fuzzy union, 0 = fuzzy intersection. Default 1. */
  setOpMixRatio?: number;
  /** Negative samples per positive sample. Default 5. */
  negativeSampleRate?: number;
  /** Weight of the negative samples. Default 1. */
  repulsionStrength?: number;
  /** Seed of the random start layout and negative sampling (a uint32). Default: drawn, echoed. */
  seed?: number;
  /** Layout optimiser. Default `'typed'`. */
  engine?: UmapEngine;
  /** A precomputed neighbour graph (umap convention) instead of the exact kNN search. */
  neighbours?: UmapNeighbours;
  /** Queries per matMul chunk of the kNN search. Default: the kNN engine's (512). */
  knnBatchSize?: number;
  /** Stages `'umap-knn'` (per kNN chunk), `'umap-graph'`, `'umap-optimize'` (per epoch). */
  onProgress?: (p: Progress) => void;
  /** Checked per kNN chunk and per epoch; aborts with an `AbortedError`. */
  signal?: AbortSignal;
}

/**
 * The settings a projection used, every default filled in (echoed in results).
 * @category Projection
 */
export interface UmapSettings {
  nNeighbors: number;
  minDist: number;
  nComponents: number;
  nEpochs: number;
  spread: number;
  learningRate: number;
  localConnectivity: number;
  setOpMixRatio: number;
  negativeSampleRate: number;
  repulsionStrength: number;
  seed: number;
  engine: UmapEngine;
  /** Where the neighbour graph came from. */
  neighbourSource: 'exact-knn' | 'given';
}

/**
 * A fitted UMAP: what {@link transformUmap} needs to place new rows in the same map.
 * @category Projection
 */
export interface UmapModel {
  /** The rows the map was fitted on (kept by reference, not copied). */
  readonly fitData: FloatMatrix;
  /** The fitted embedding in float64, row-major [rows, nComponents]. */
  readonly embedding: Float64Array;
  readonly settings: UmapSettings;
  /** Curve parameters of the low-dimensional similarity 1 / (1 + a·d^(2b)). */
  readonly a: number;
  readonly b: number;
}

/**
 * Result of {@link projectUmap}.
 * @category Projection
 */
export interface UmapProjection {
  /** [rows, nComponents] coordinates. */
  embedding: FloatMatrix;
  /** Seed used (also in `settings`). */
  seed: number;
  /** Epochs used (also in `settings`). */
  nEpochs: number;
  settings: UmapSettings;
  /** The neighbour graph the map was built from (umap convention). */
  neighbours: UmapNeighbours;
  /** Wall time of each phase, in seconds. */
  timings: { knnSec: number; graphSec: number; optimizeSec: number };
  /** Keep it to place more rows with {@link transformUmap}. */
  model: UmapModel;
}

const OPTION_KEYS = [
  'nNeighbors',
  'minDist',
  'nComponents',
  'nEpochs',
  'spread',
  'learningRate',
  'localConnectivity',
  'setOpMixRatio',
  'negativeSampleRate',
  'repulsionStrength',
  'seed',
  'engine',
  'neighbours',
  'knnBatchSize',
  'onProgress',
  'signal',
] as const;

/** Time slice after which the optimisation loop yields to the event loop (abort, timers, UI). */
const YIELD_EVERY_MS = 25;

const abCache = new Map<string, { a: number; b: number }>();
/** umap-js's least-squares fit of a and b (cached per spread and minDist). */
function abParams(spread: number, minDist: number): { a: number; b: number } {
  const key = `${spread}:${minDist}`;
  let ab = abCache.get(key);
  if (!ab) {
    ab = findABParams(spread, minDist);
    abCache.set(key, ab);
  }
  return ab;
}

/**
 * The number of optimisation epochs UMAP uses when none is given: umap-js's size rule.
 *
 * @example
 * ```ts
 * import { defaultUmapEpochs } from 'ae-manifold';
 * defaultUmapEpochs(10000); // 200
 * defaultUmapEpochs(1000); // 500
 * ```
 * @param rows number of rows fitted
 * @category Projection
 */
export function defaultUmapEpochs(rows: number): number {
  if (rows <= 2500) return 500;
  if (rows <= 5000) return 400;
  if (rows <= 7500) return 300;
  return 200;
}

function now(): number {
  return typeof performance !== 'undefined' ? performance.now() : Date.now();
}

/** Validates the options and fills in the defaults (all but seed/nEpochs, which need the data). */
function resolveSettings(fn: string, options: UmapOptions, rows: number): UmapSettings {
  checkKnownOptions(fn, options, OPTION_KEYS);
  const nNeighbors = checkInteger(fn, 'options.nNeighbors', options.nNeighbors ?? 15, 2);
  if (rows <= nNeighbors) {
    throw new InvalidArgumentError(fn, 'data', `more rows than options.nNeighbors (${nNeighbors}): add rows or lower nNeighbors`, `${rows} rows`);
  }
  const engine = options.engine ?? 'typed';
  if (engine !== 'typed' && engine !== 'umap-js') throw new InvalidArgumentError(fn, 'options.engine', "'typed' or 'umap-js'", engine);
  const seed = options.seed === undefined ? createRng().seed : checkInteger(fn, 'options.seed', options.seed, 0, 2 ** 32 - 1);
  return {
    nNeighbors,
    minDist: checkNumber(fn, 'options.minDist', options.minDist ?? 0.1, 0),
    nComponents: checkInteger(fn, 'options.nComponents', options.nComponents ?? 2, 1, 100),
    nEpochs: options.nEpochs === undefined ? defaultUmapEpochs(rows) : checkInteger(fn, 'options.nEpochs', options.nEpochs, 1),
    spread: checkNumber(fn, 'options.spread', options.spread ?? 1, 0, Infinity, true),
    learningRate: checkNumber(fn, 'options.learningRate', options.learningRate ?? 1, 0, Infinity, true),
    localConnectivity: checkNumber(fn, 'options.localConnectivity', options.localConnectivity ?? 1, 0),
    setOpMixRatio: checkNumber(fn, 'options.setOpMixRatio', options.setOpMixRatio ?? 1, 0, 1),
    negativeSampleRate: checkNumber(fn, 'options.negativeSampleRate', options.negativeSampleRate ?? 5, 0, Infinity, true),
    repulsionStrength: checkNumber(fn, 'options.repulsionStrength', options.repulsionStrength ?? 1, 0),
    seed,
    engine,
    neighbourSource: options.neighbours === undefined ? 'exact-knn' : 'given',
  };
}

/** Checks a caller-supplied neighbour graph against the data and the settings. */
function checkNeighbours(fn: string, nb: unknown, rows: number, nNeighbors: number): UmapNeighbours {
  const g = nb as Partial<UmapNeighbours> | null;
  if (!g || typeof g !== 'object' || !(g.indices instanceof Int32Array) || !(g.distances instanceof Float32Array)) {
    throw new InvalidArgumentError(fn, 'options.neighbours', '{ indices: Int32Array, distances: Float32Array, rows, k }', nb);
  }
  if (g.rows !== rows) throw new ShapeMismatchError(fn, 'options.neighbours', [rows, nNeighbors], [Number(g.rows), Number(g.k)], 'one row per data row');
  if (g.k !== nNeighbors) throw new ShapeMismatchError(fn, 'options.neighbours', [rows, nNeighbors], [rows, Number(g.k)], 'k must equal options.nNeighbors');
  if (g.indices.length !== rows * nNeighbors || g.distances.length !== rows * nNeighbors) {
    throw new ShapeMismatchError(fn, 'options.neighbours.indices', [rows * nNeighbors], [g.indices.length]);
  }
  for (let i = 0; i < g.indices.length; i++) {
    const v = g.indices[i]!;
    if (v < -1 || v >= rows) throw new InvalidArgumentError(fn, `options.neighbours.indices[${i}]`, `a row index in [0, ${rows}) or -1`, v);
    if (!(g.distances[i]! >= 0)) throw new InvalidArgumentError(fn, `options.neighbours.distances[${i}]`, 'a distance >= 0', g.distances[i]);
  }
  return g as UmapNeighbours;
}

/**
 * The exact neighbour graph UMAP builds on, in umap's convention (self first at distance 0, then
 * the `nNeighbors − 1` nearest other rows by Euclidean distance, ties to the lower index), from
 * the library's exact kNN search on the active tfjs backend (columns constant over all rows, such
 * as blank pixels or dead units, are skipped: they add nothing to any distance). This is what umap-js's own
 * (approximate) nearest-neighbour descent computes, exactly.
 *
 * @example
 * ```ts
 * import { umapNeighbours } from 'ae-manifold';
 * const data = { data: Float32Array.from({ length: 40 }, (_, i) => i % 7), rows: 20, cols: 2 };
 * const g = await umapNeighbours(data, { nNeighbors: 5 });
 * g.indices[0]; // 0: every row's first neighbour is itself
 * ```
 * @category Projection
 */
export async function umapNeighbours(
  data: FloatMatrix | tf.Tensor2D,
  options: { nNeighbors?: number; batchSize?: number; signal?: AbortSignal; onProgress?: (p: Progress) => void } = {},
): Promise<UmapNeighbours> {
  const FN = 'umapNeighbours';
  checkKnownOptions(FN, options, ['nNeighbors', 'batchSize', 'signal', 'onProgress']);
  const m = await readMatrix(FN, 'data', data);
  const nNeighbors = checkInteger(FN, 'options.nNeighbors', options.nNeighbors ?? 15, 2, m.rows);
  return exactNeighbours(m, nNeighbors, options.batchSize, options.signal, options.onProgress);
}

/**
 * Drops the columns that hold the same value in every row (blank border pixels, dead ReLU units):
 * they add exactly 0 to every distance between rows, so the neighbour graph is unchanged while the
 * kNN's matMul gets narrower. Returns `m` itself when no column is constant.
 */
export function dropConstantColumns(m: FloatMatrix): FloatMatrix {
  const { data, rows, cols } = m;
  const keep: number[] = [];
  for (let j = 0; j < cols; j++) {
    const v = data[j]!;
    let constant = true;
    for (let i = 1; i < rows; i++) {
      if (data[i * cols + j] !== v) {
        constant = false;
        break;
      }
    }
    if (!constant) keep.push(j);
  }
  if (keep.length === cols) return m;
  if (keep.length === 0) keep.push(0); // all rows equal: one column keeps the matrix valid
  const out = new Float32Array(rows * keep.length);
  for (let i = 0; i < rows; i++) {
    const src = i * cols;
    const dst = i * keep.length;
    for (let t = 0; t < keep.length; t++) out[dst + t] = data[src + keep[t]!]!;
  }
  return { data: out, rows, cols: keep.length };
}

async function exactNeighbours(
  full: FloatMatrix,
  nNeighbors: number,
  batchSize: number | undefined,
  signal: AbortSignal | undefined,
  onProgress: ((p: Progress) => void) | undefined,
): Promise<UmapNeighbours> {
  const m = dropConstantColumns(full);
  const knn = await knnSearch(m, m, {
    k: nNeighbors - 1,
    excludeSelf: true,
    ...(batchSize !== undefined ? { batchSize } : {}),
    ...(signal !== undefined ? { signal } : {}),
    ...(onProgress !== undefined ? { onProgress: (p: Progress) => onProgress({ ...p, stage: 'umap-knn' }) } : {}),
  });
  const rows = m.rows;
  const k = nNeighbors;
  const indices = new Int32Array(rows * k);
  const distances = new Float32Array(rows * k);
  for (let i = 0; i < rows; i++) {
    indices[i * k] = i;
    distances[i * k] = 0;
    indices.set(knn.indices.subarray(i * (k - 1), (i + 1) * (k - 1)), i * k + 1);
    distances.set(knn.distances.subarray(i * (k - 1), (i + 1) * (k - 1)), i * k + 1);
  }
  return { indices, distances, rows, k };
}

function toTable(nb: { indices: Int32Array; distances: Float32Array; k: number }, rows: number): NeighbourTable {
  return { indices: nb.indices, distances: Float64Array.from(nb.distances), rows, k: nb.k };
}

/**
 * Internal (exported for the tests): the fuzzy graph, pruned edge list and seeded random start
 * layout of a fit, as umap-js's `initializeFit` builds them, ready for {@link optimizeEpoch}.
 */
export function prepareTypedFit(
  neighbours: UmapNeighbours,
  settings: UmapSettings,
  random: () => number,
  a: number,
  b: number,
): LayoutState {
  const rows = neighbours.rows;
  const dim = settings.nComponents;
  const table = toTable(neighbours, rows);
  const { sigmas, rhos } = smoothKnnDistance(table, settings.nNeighbors, settings.localConnectivity);
  const vals = membershipStrengths(table, sigmas, rhos, true);
  const edges = pruneEdges(fuzzyUnion(table, vals, settings.setOpMixRatio), settings.nEpochs);
  // umap-js's random start layout in [-10, 10), drawn row by row
  const embedding = new Float64Array(rows * dim);
  for (let i = 0; i < rows * dim; i++) embedding[i] = random() * 20 + -10;
  return createLayoutState({
    headEmbedding: embedding,
    tailEmbedding: embedding,
    head: edges.head,
    tail: edges.tail,
    epochsPerSample: epochsPerSample(edges.weights, settings.nEpochs),
    moveOther: true,
    learningRate: settings.learningRate,
    repulsionStrength: settings.repulsionStrength,
    negativeSampleRate: settings.negativeSampleRate,
    a,
    b,
    dim,
    nEpochs: settings.nEpochs,
    nVertices: rows,
  });
}

/** umap-js's a and b for a spread and minDist (exported for the tests). */
export function umapCurveParams(spread: number, minDist: number): { a: number; b: number } {
  return abParams(spread, minDist);
}

/** Runs the epochs of `state`, with progress, abort checks and event-loop yields. */
async function runEpochs(
  fn: string,
  stage: string,
  epochs: number,
  step: () => void,
  signal: AbortSignal | undefined,
  onProgress: ((p: Progress) => void) | undefined,
): Promise<void> {
  let lastYield = now();
  for (let e = 0; e < epochs; e++) {
    throwIfAborted(fn, signal);
    step();
    onProgress?.({ stage, step: e + 1, total: epochs });
    if (now() - lastYield >= YIELD_EVERY_MS) {
      await yieldToEventLoop();
      lastYield = now();
    }
  }
  throwIfAborted(fn, signal);
}

/**
 * Embeds the rows of `data` with UMAP (umap-js's algorithm), seeded and reproducible: the same
 * seed on the same tfjs backend gives the same embedding bit for bit. The neighbour graph is the
 * exact kNN graph of {@link umapNeighbours} (or `options.neighbours`); the layout starts from
 * umap-js's seeded random layout (umap-learn starts from a spectral one, so pictures differ while
 * neighbourhood quality is equal). Returns a model for {@link transformUmap}.
 *
 * To show test, adversarial and rubbish activations in one map, fit on their union
 * ({@link projectUmapMap} does it).
 *
 * @example
 * ```ts
 * import { projectUmap } from 'ae-manifold';
 * const data = { data: Float32Array.from({ length: 200 * 8 }, (_, i) => Math.sin(i)), rows: 200, cols: 8 };
 * const { embedding, seed, nEpochs } = await projectUmap(data, { seed: 7 });
 * // embedding.rows === 200, embedding.cols === 2, seed === 7, nEpochs === 500
 * ```
 * @param data [rows, dims] rows to embed (a {@link FloatMatrix} or a 2-D tensor, not disposed)
 * @param options see {@link UmapOptions}; the settings used are echoed in the result
 * @category Projection
 */
export async function projectUmap(data: FloatMatrix | tf.Tensor2D, options: UmapOptions = {}): Promise<UmapProjection> {
  const FN = 'projectUmap';
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError(FN, 'options', 'an object', options);
  const m = await readMatrix(FN, 'data', data);
  const settings = resolveSettings(FN, options, m.rows);
  const { signal, onProgress } = options;
  throwIfAborted(FN, signal);
  const rows = m.rows;

  const t0 = now();
  const neighbours =
    options.neighbours !== undefined
      ? checkNeighbours(FN, options.neighbours, rows, settings.nNeighbors)
      : await exactNeighbours(m, settings.nNeighbors, options.knnBatchSize, signal, onProgress);
  const t1 = now();
  throwIfAborted(FN, signal);

  const rng = createRng(settings.seed);
  const random = rng.next;
  const { a, b } = abParams(settings.spread, settings.minDist);
  const dim = settings.nComponents;
  let embedding: Float64Array;
  let t2: number;

  if (settings.engine === 'typed') {
    const state = prepareTypedFit(neighbours, settings, random, a, b);
    embedding = state.headEmbedding;
    t2 = now();
    onProgress?.({ stage: 'umap-graph', step: 1, total: 1, detail: { edges: state.head.length } });
    await runEpochs(FN, 'umap-optimize', settings.nEpochs, () => optimizeEpoch(state, random), signal, onProgress);
  } else {
    const umap = new UMAP({
      nNeighbors: settings.nNeighbors,
      minDist: settings.minDist,
      nComponents: dim,
      nEpochs: settings.nEpochs,
      spread: settings.spread,
      learningRate: settings.learningRate,
      localConnectivity: settings.localConnectivity,
      setOpMixRatio: settings.setOpMixRatio,
      negativeSampleRate: settings.negativeSampleRate,
      repulsionStrength: settings.repulsionStrength,
      random,
    });
    const k = neighbours.k;
    const idx: number[][] = [];
    const dist: number[][] = [];
    const X: number[][] = [];
    for (let i = 0; i < rows; i++) {
      idx.push(Array.from(neighbours.indices.subarray(i * k, (i + 1) * k)));
      dist.push(Array.from(neighbours.distances.subarray(i * k, (i + 1) * k)));
      X.push(Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols)));
    }
    umap.setPrecomputedKNN(idx, dist);
    const epochs = umap.initializeFit(X);
    t2 = now();
    onProgress?.({ stage: 'umap-graph', step: 1, total: 1 });
    await runEpochs(FN, 'umap-optimize', epochs, () => umap.step(), signal, onProgress);
    const emb = umap.getEmbedding();
    embedding = new Float64Array(rows * dim);
    for (let i = 0; i < rows; i++) for (let d = 0; d < dim; d++) embedding[i * dim + d] = emb[i]![d]!;
  }
  const t3 = now();
  return {
    embedding: { data: Float32Array.from(embedding), rows, cols: dim },
    seed: settings.seed,
    nEpochs: settings.nEpochs,
    settings,
    neighbours,
    timings: { knnSec: (t1 - t0) / 1000, graphSec: (t2 - t1) / 1000, optimizeSec: (t3 - t2) / 1000 },
    model: { fitData: m, embedding, settings, a, b },
  };
}

/**
 * Options of {@link transformUmap}.
 * @category Projection
 */
export interface UmapTransformOptions {
  /** Epochs of the placement. Default ⌊fit nEpochs / 3⌋ (umap-learn's rule for a fit with explicit epochs). */
  nEpochs?: number;
  /** Seed of the negative sampling. Default: the fit's seed + 1 (mod 2³²). */
  seed?: number;
  /** Queries per kNN chunk. */
  knnBatchSize?: number;
  onProgress?: (p: Progress) => void;
  signal?: AbortSignal;
}

/**
 * Result of {@link transformUmap}.
 * @category Projection
 */
export interface UmapTransformResult {
  /** [rows, nComponents] coordinates in the fitted map. */
  embedding: FloatMatrix;
  seed: number;
  nEpochs: number;
}

/**
 * Places new rows in a fitted UMAP map without moving the fitted points (umap's `transform`): each
 * new row starts at the membership-weighted mean of its `nNeighbors` exact nearest fitted rows and
 * is then optimised against the fixed map. Unlike umap-js's `transform`, the neighbours are exact
 * and a new row that happens to share an index with a fitted row is not treated as itself.
 *
 * @example
 * ```ts
 * import { projectUmap, transformUmap } from 'ae-manifold';
 * const fit = { data: Float32Array.from({ length: 300 * 4 }, (_, i) => Math.cos(i)), rows: 300, cols: 4 };
 * const { model } = await projectUmap(fit, { seed: 1 });
 * const more = { data: Float32Array.from({ length: 10 * 4 }, (_, i) => Math.cos(i + 0.5)), rows: 10, cols: 4 };
 * const placed = await transformUmap(model, more);
 * // placed.embedding.rows === 10
 * ```
 * @category Projection
 */
export async function transformUmap(
  model: UmapModel,
  data: FloatMatrix | tf.Tensor2D,
  options: UmapTransformOptions = {},
): Promise<UmapTransformResult> {
  const FN = 'transformUmap';
  if (!model || typeof model !== 'object' || !(model.embedding instanceof Float64Array) || !model.settings || !model.fitData) {
    throw new InvalidArgumentError(FN, 'model', 'the model of a projectUmap result', model);
  }
  checkKnownOptions(FN, options, ['nEpochs', 'seed', 'knnBatchSize', 'onProgress', 'signal']);
  const s = model.settings;
  const m = await readMatrix(FN, 'data', data, model.fitData.cols);
  const { signal, onProgress } = options;
  throwIfAborted(FN, signal);
  const seed = options.seed === undefined ? (s.seed + 1) >>> 0 : checkInteger(FN, 'options.seed', options.seed, 0, 2 ** 32 - 1);
  const nEpochs =
    options.nEpochs !== undefined
      ? checkInteger(FN, 'options.nEpochs', options.nEpochs, 1)
      : Math.max(1, Math.floor(s.nEpochs / 3));
  const k = s.nNeighbors;
  const knn = await knnSearch(model.fitData, m, {
    k,
    ...(options.knnBatchSize !== undefined ? { batchSize: options.knnBatchSize } : {}),
    ...(signal !== undefined ? { signal } : {}),
    ...(onProgress !== undefined ? { onProgress: (p: Progress) => onProgress({ ...p, stage: 'umap-knn' }) } : {}),
  });
  throwIfAborted(FN, signal);
  const rows = m.rows;
  const table: NeighbourTable = { indices: knn.indices, distances: Float64Array.from(knn.distances), rows, k };
  const { sigmas, rhos } = smoothKnnDistance(table, k, Math.max(0, s.localConnectivity - 1));
  const vals = membershipStrengths(table, sigmas, rhos, false);
  const dim = s.nComponents;
  // start: l1-normalised membership-weighted mean of the neighbours' positions
  const start = new Float64Array(rows * dim);
  for (let i = 0; i < rows; i++) {
    let sum = 0;
    for (let j = 0; j < k; j++) sum += vals[i * k + j]!;
    for (let j = 0; j < k; j++) {
      const w = sum > 0 ? vals[i * k + j]! / sum : 1 / k;
      const r = knn.indices[i * k + j]!;
      for (let d = 0; d < dim; d++) start[i * dim + d] = start[i * dim + d]! + w * model.embedding[r * dim + d]!;
    }
  }
  // bipartite edges new row → fitted row, pruned below max/nEpochs
  let max = 0;
  for (let i = 0; i < vals.length; i++) if (vals[i]! > max) max = vals[i]!;
  const head: number[] = [];
  const tail: number[] = [];
  const weights: number[] = [];
  for (let p = 0; p < vals.length; p++) {
    const v = vals[p]!;
    if (v > 0 && !(v < max / nEpochs)) {
      head.push(Math.floor(p / k));
      tail.push(knn.indices[p]!);
      weights.push(v);
    }
  }
  const rng = createRng(seed);
  const state = createLayoutState({
    headEmbedding: start,
    tailEmbedding: Float64Array.from(model.embedding),
    head: Int32Array.from(head),
    tail: Int32Array.from(tail),
    epochsPerSample: epochsPerSample(Float64Array.from(weights), nEpochs),
    moveOther: false,
    learningRate: s.learningRate,
    repulsionStrength: s.repulsionStrength,
    negativeSampleRate: s.negativeSampleRate,
    a: model.a,
    b: model.b,
    dim,
    nEpochs,
    nVertices: model.fitData.rows,
  });
  await runEpochs(FN, 'umap-transform', nEpochs, () => optimizeEpoch(state, rng.next), signal, onProgress);
  return { embedding: { data: Float32Array.from(start), rows, cols: dim }, seed, nEpochs };
}
