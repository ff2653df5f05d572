/**
 * Exact Euclidean k-nearest-neighbour search on tfjs (any backend), blocked so that the full
 * query × reference distance matrix is never allocated: brute force (one matMul per block), or,
 * for large problems, the pruned search of ./knn-pruned.ts.
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeMismatchError } from '../errors.js';
import type { FloatMatrix, Progress } from '../types.js';
import { checkInteger, checkKnownOptions, throwIfAborted, yieldToEventLoop } from '../internal/validate.js';
import { readMatrix } from './matrix-input.js';
import { buildPrunedIndex, DEFAULT_PRUNE_COMPONENTS, DEFAULT_REFINE_COMPONENTS, emptyPrunedStats, MAX_BOUND_VALUES, prunedChunk, prunedScratch } from './knn-pruned.js';
import type { PrunedStats, RefView } from './knn-pruned.js';
import { sqDist } from './sq-dist.js';

/**
 * Options of {@link knnSearch}.
 * @category Metrics
 */
export interface KnnOptions {
  /** Neighbours per query (required), at most the reference size (minus one with `excludeSelf`). */
  k: number;
  /**
   * The queries are the reference rows themselves, in the same order: each row's own index is
   * never returned as its neighbour. Default `false`.
   */
  excludeSelf?: boolean;
  /** Queries per matMul chunk. Default 1024 (lowered automatically so a score block stays ≤ 64 MB). */
  batchSize?: number;
  /** Checked once per chunk; aborts with an `AbortedError`. */
  signal?: AbortSignal;
  /** Called once per chunk with stage `'knn'`. */
  onProgress?: (p: Progress) => void;
  /**
   * `'auto'` (default): the pruned search for large problems (N·Q·D ≥ 2³², D ≥ 64, N ≥ 2048, a
   * float32 backend), which gives up after a first chunk of 32 queries (or any later chunk) when
   * its counters show it costs more than brute force, and brute force otherwise. `'brute'`: always
   * the full matMul. `'pruned'`: the pruned search whenever it can run (a float32 backend, 3 to
   * ~1.3 M reference rows). All return the same neighbours.
   */
  method?: 'auto' | 'brute' | 'pruned';
}

/**
 * Result of {@link knnSearch}: row-major `[queries, k]`, nearest first, ties broken by the lower
 * reference index.
 * @category Metrics
 */
export interface KnnResult {
  /** Reference row index of each neighbour. */
  indices: Int32Array;
  /**
   * Euclidean (not squared) distance of each neighbour, recomputed exactly: each squared
   * coordinate difference in float64, summed in one fixed order (the same on every path).
   */
  distances: Float32Array;
  /** Neighbours per query. */
  k: number;
  /** Number of queries (rows of the result). */
  queries: number;
}

/**
 * Largest augmented reference block held as one tensor, in float32 values (64 MB). It exists twice
 * (the JS array and the tensor), and the wasm heap keeps its largest size for the life of the
 * process, so it is kept small: a smaller block changes neither the scores nor the result.
 */
const MAX_BLOCK_VALUES = 1 << 24;
/** Largest score block ([chunk, block]) in float32 values (64 MB). */
const MAX_SCORE_VALUES = 1 << 24;
/** Extra float32 candidates per query, re-ranked exactly in float64. */
function candidateMargin(k: number): number {
  return Math.max(4, Math.ceil(k / 8));
}

/**
 * Exact k nearest neighbours (Euclidean) of each query row among the reference rows.
 *
 * Brute force: scores from one float32 matMul per chunk against the centred, augmented reference
 * X̃ = [Xᵀ; −½‖x‖²] (ranking by q·x − ½‖x‖² equals ranking by distance); a few extra candidates per
 * query are kept, their distances recomputed exactly, and the best `k` sorted by (distance,
 * index). References too large for one block are streamed in blocks whose candidates are merged.
 *
 * Pruned (`method`, see {@link KnnOptions}): principal directions fitted on a seeded sample of the
 * reference give lower bounds ‖Vᵀ(q − r)‖² ≤ ‖q − r‖²: one cheap matMul over 48 directions bounds
 * every pair, a second bound over 128 directions and finally the exact distance are computed only
 * for rows whose bound may still beat the query's current k-th distance (a slack covers float32
 * rounding). The result is the same as brute force's, up to exactly tied distances, which are
 * broken by index on both paths. It holds a [chunk, N] score block (≤ 64 MB), the projected
 * reference (N × 129 values), and a copy of the reference (up to 1 GB) in a WebAssembly SIMD
 * distance kernel (beyond that, or without WebAssembly SIMD, a JavaScript twin with identical
 * arithmetic reads it in place). On MNIST
 * (60,000 × 784, k = 50) it measures ~0.4 % of the rows exactly per query and takes well under half
 * the brute-force time.
 *
 * Tensors passed in are read, not disposed; no tensor is left behind.
 *
 * @example
 * ```ts
 * import { knnSearch } from 'ae-manifold';
 * const reference = { data: new Float32Array([0, 0, 1, 0, 5, 5]), rows: 3, cols: 2 };
 * const queries = { data: new Float32Array([0.9, 0.1]), rows: 1, cols: 2 };
 * const { indices, distances } = await knnSearch(reference, queries, { k: 2 });
 * // indices = [1, 0], distances ≈ [0.141, 0.906]
 * ```
 * @param reference [N, D] reference rows (a {@link FloatMatrix} or a 2-D tensor)
 * @param queries [Q, D] query rows
 * @param options `k` (required), `excludeSelf`, `batchSize`, `signal`, `onProgress`, `method`
 * @category Metrics
 */
export async function knnSearch(
  reference: FloatMatrix | tf.Tensor2D,
  queries: FloatMatrix | tf.Tensor2D,
  options: KnnOptions,
): Promise<KnnResult> {
  const FN = 'knnSearch';
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError(FN, 'options', 'an object with k', options);
  checkKnownOptions(FN, options, ['k', 'excludeSelf', 'batchSize', 'signal', 'onProgress', 'method']);
  const method = options.method ?? 'auto';
  if (method !== 'auto' && method !== 'brute' && method !== 'pruned') {
    throw new InvalidArgumentError(FN, 'options.method', "'auto', 'brute' or 'pruned'", method);
  }
  const excludeSelf = options.excludeSelf ?? false;
  if (typeof excludeSelf !== 'boolean') throw new InvalidArgumentError(FN, 'options.excludeSelf', 'a boolean', excludeSelf);
  const ref = await readMatrix(FN, 'reference', reference);
  const qry = queries === reference ? ref : await readMatrix(FN, 'queries', queries, ref.cols);
  if (excludeSelf && qry.rows !== ref.rows) {
    throw new ShapeMismatchError(FN, 'queries', [ref.rows, ref.cols], [qry.rows, qry.cols], 'with excludeSelf the queries are the reference rows');
  }
  const maxK = ref.rows - (excludeSelf ? 1 : 0);
  if (maxK < 1) throw new InvalidArgumentError(FN, 'reference', 'at least 2 rows with excludeSelf', ref.rows);
  const k = checkInteger(FN, 'options.k', options.k, 1, maxK);
  const batchSize = checkInteger(FN, 'options.batchSize', options.batchSize ?? 1024, 1);
  const { signal, onProgress } = options;
  return knnSearchMatrices(ref, qry, k, excludeSelf, batchSize, signal, onProgress, FN, { method });
}

/**
 * Internal entry for validated matrices (used by the other metrics, which validate themselves).
 * `refRows` (ascending row numbers of `ref`) restricts the search to those rows without copying
 * them; the returned indices are then positions in `refRows`, exactly as if the rows had been
 * copied out first. `internal` is {@link KnnInternalOptions} (`method` defaults to `'auto'`), or a
 * number: the brute-force path's `maxBlockRows` (tests force small blocks).
 * @internal
 */
export async function knnSearchMatrices(
  ref: FloatMatrix,
  qry: FloatMatrix,
  k: number,
  excludeSelf: boolean,
  batchSize: number,
  signal: AbortSignal | undefined,
  onProgress: ((p: Progress) => void) | undefined,
  fn: string,
  internal?: number | KnnInternalOptions,
  refRows?: ArrayLike<number>,
): Promise<KnnResult> {
  throwIfAborted(fn, signal);
  const opts: KnnInternalOptions = typeof internal === 'number' ? { maxBlockRows: internal } : (internal ?? {});
  const method = opts.method ?? 'auto';
  const Q = qry.rows;
  const D = ref.cols;
  // The reference: rows of `ref`, or the rows `refRows` of it read in place.
  const view: RefView = { data: ref.data, rows: refRows ? refRows.length : ref.rows, cols: D, rowOffset: refRows ? (i) => refRows[i]! * D : (i) => i * D };
  const indices = new Int32Array(Q * k);
  const distances = new Float32Array(Q * k);
  const progress = { step: 0, total: 0 };
  const tick = async (detail: Record<string, number>): Promise<void> => {
    progress.step++;
    onProgress?.({ stage: 'knn', step: progress.step, total: progress.total, detail });
    if (signal || onProgress) await yieldToEventLoop();
  };
  let done = 0;
  const limits = { ...AUTO_LIMITS, ...opts.autoLimits };
  if (usePruned(method, view, qry, limits)) {
    const giveUp = method === 'auto' ? limits.giveUp : Infinity;
    done = await prunedRange(view, qry, k, excludeSelf, batchSize, signal, tick, progress, fn, giveUp, opts, indices, distances);
  }
  opts.prunedQueries = done;
  if (done < Q) {
    await bruteForceRange(view, qry, done, k, excludeSelf, batchSize, signal, tick, progress, fn, opts.maxBlockRows, indices, distances);
  }
  throwIfAborted(fn, signal);
  return { indices, distances, k, queries: Q };
}

/**
 * Internal knobs of {@link knnSearchMatrices} (tests and benchmarks).
 * @internal
 */
export interface KnnInternalOptions {
  /** Largest reference block of the brute-force path. */
  maxBlockRows?: number;
  /** `'auto'` (default), `'brute'` or `'pruned'` (no fallback once started). */
  method?: KnnMethod;
  /** Principal directions of the matMul bound and of the second bound (defaults 48 and 128). */
  components?: number;
  refineComponents?: number;
  /** Filled with the pruned path's counters and timings. */
  stats?: PrunedStats;
  /** Use the WebAssembly SIMD distance kernel when available (default true; false: the JavaScript twin). */
  wasm?: boolean;
  /** Overrides of when `'auto'` tries the pruned path (tests). */
  autoLimits?: Partial<typeof AUTO_LIMITS>;
  /** Set to the number of queries answered by the pruned path. */
  prunedQueries?: number;
}

/**
 * Search strategy (see `KnnOptions.method`).
 * @internal
 */
export type KnnMethod = 'auto' | 'brute' | 'pruned';

/** Largest reference for the pruned path (more rows: brute force). */
const MAX_PRUNED_ROWS = Math.floor(2 ** 26 / (DEFAULT_PRUNE_COMPONENTS + 1));
/**
 * When `'auto'` tries the pruned path (N·Q·D, D and N at least these), and the estimated cost
 * relative to brute force above which it gives up (see {@link JS_COORD_COST}).
 */
const AUTO_LIMITS = { work: 2 ** 32, dims: 64, rows: 2048, giveUp: 0.8 };
/**
 * Cost of one coordinate of the distance loops (second bounds, exact distances; JavaScript or the
 * WebAssembly kernel) and of one bound scanned (two passes), in units of one multiply-add of the
 * float32 matMul on 2 wasm threads (rough, from MNIST runs). `'auto'` falls back to brute force for
 * the remaining queries when the pruned path's estimated cost per query is above `giveUp` times
 * brute force's.
 */
const JS_COORD_COST = 48;
const WASM_COORD_COST = 16;
const SCAN_COST = 24;
/** Queries of the first pruned chunk under `'auto'` (a cheap probe of how well pruning works). */
const AUTO_PROBE = 32;

function usePruned(method: KnnMethod, ref: RefView, qry: FloatMatrix, limits: typeof AUTO_LIMITS): boolean {
  const N = ref.rows;
  // The bounds' rounding slack assumes float32 arithmetic; the matMul operand [m + 1, N] stays ≤ 256 MB.
  if (method === 'brute' || N < 3 || N > MAX_PRUNED_ROWS || tf.backend().floatPrecision() !== 32) return false;
  if (method === 'pruned') return true;
  return ref.cols >= limits.dims && N >= limits.rows && N * qry.rows * ref.cols >= limits.work;
}

/** Pruned search from query 0; returns how many queries it finished (all unless it gave up). */
async function prunedRange(
  ref: RefView,
  qry: FloatMatrix,
  k: number,
  excludeSelf: boolean,
  batchSize: number,
  signal: AbortSignal | undefined,
  tick: (detail: Record<string, number>) => Promise<void>,
  progress: { step: number; total: number },
  fn: string,
  giveUp: number,
  opts: KnnInternalOptions,
  indices: Int32Array,
  distances: Float32Array,
): Promise<number> {
  const N = ref.rows;
  const D = ref.cols;
  const Q = qry.rows;
  const stats = opts.stats ?? emptyPrunedStats();
  const chunk = Math.max(1, Math.min(batchSize, Q, Math.floor(MAX_BOUND_VALUES / N)));
  const index = await buildPrunedIndex(
    ref,
    opts.components ?? DEFAULT_PRUNE_COMPONENTS,
    opts.refineComponents ?? DEFAULT_REFINE_COMPONENTS,
    chunk,
    opts.wasm ?? true,
    fn,
    signal,
    stats,
  );
  try {
    // Under 'auto' the first chunk is a small probe.
    const first = giveUp < Infinity ? Math.min(chunk, AUTO_PROBE) : chunk;
    const numChunks = first >= Q ? 1 : 1 + Math.ceil((Q - first) / chunk);
    progress.total = progress.step + numChunks;
    const scratch = prunedScratch(N, k);
    const start = { queries: stats.queries, bounded: stats.bounded, visited: stats.visited };
    let q0 = 0;
    for (let c = 0; c < numChunks; c++) {
      throwIfAborted(fn, signal);
      const qn = Math.min(Q - q0, c === 0 ? first : chunk);
      await prunedChunk(index, ref, qry, q0, qn, k, excludeSelf, indices, distances, scratch, stats);
      q0 += qn;
      await tick({ chunk: c, chunks: numChunks });
      if (giveUp < Infinity && q0 < Q) {
        // Estimated cost per query relative to brute force (N·D multiply-adds), from the counters so
        // far: the matMul bound, the scans, a second bound per bounded row (most stop within 32
        // coordinates) and a full distance per measured row.
        const nq = stats.queries - start.queries;
        const coords = ((stats.bounded - start.bounded) * Math.min(32, index.M - index.m) + (stats.visited - start.visited) * D) / nq;
        const cost = ((index.m + 1 + SCAN_COST) * N + (stats.wasm ? WASM_COORD_COST : JS_COORD_COST) * coords) / (N * D);
        if (cost > giveUp) return q0;
      }
    }
    return Q;
  } finally {
    index.dispose();
  }
}

/** The brute-force matMul path for queries [qStart, Q). */
async function bruteForceRange(
  ref: RefView,
  qry: FloatMatrix,
  qStart: number,
  k: number,
  excludeSelf: boolean,
  batchSize: number,
  signal: AbortSignal | undefined,
  tick: (detail: Record<string, number>) => Promise<void>,
  progress: { step: number; total: number },
  fn: string,
  maxBlockRows: number | undefined,
  indices: Int32Array,
  distances: Float32Array,
): Promise<void> {
  const N = ref.rows;
  const D = ref.cols;
  const Q = qry.rows - qStart;
  const blockRows = Math.max(1, Math.min(N, maxBlockRows ?? Infinity, Math.floor(MAX_BLOCK_VALUES / (ref.cols + 1)), MAX_SCORE_VALUES));
  const numBlocks = Math.ceil(N / blockRows);
  const chunk = Math.max(1, Math.min(batchSize, Q, Math.floor(MAX_SCORE_VALUES / blockRows)));
  const numChunks = Math.ceil(Q / chunk);
  // Candidates kept per query (a few more than k, re-ranked exactly below).
  const kb = Math.min(N, k + (excludeSelf ? 1 : 0) + candidateMargin(k));
  // One min-heap of float32 scores per query (root = worst kept candidate), shared by all blocks.
  const heapScore = new Float32Array(Q * kb);
  const heapIndex = new Int32Array(Q * kb);
  const heapSize = new Int32Array(Q);
  progress.total = progress.step + numBlocks * numChunks;
  // Columns that are constant over the whole reference shift every score of a query by the same
  // amount, so they cannot change the ranking: leave them out of the matMul (exact; e.g. the
  // border pixels of MNIST, which are 0 in every training image).
  const cols = varyingColumns(ref.data, N, D, ref.rowOffset);
  const Dk = cols.length;
  // Centring does not change the ranking either, and keeps the float32 scores accurate when the
  // data sit far from the origin (‖x‖² ≫ distances²). The centre of each column is its mean rounded
  // to a multiple of g = 2^⌊log2(range)⌋, so values on a grid of spacing ≤ g (integers, say) stay
  // exact after the subtraction and exactly tied distances stay tied.
  const mu = new Float64Array(Dk);
  const lo = new Float64Array(Dk).fill(Infinity);
  const hi = new Float64Array(Dk).fill(-Infinity);
  for (let i = 0; i < N; i++) {
    const o = ref.rowOffset(i);
    for (let j = 0; j < Dk; j++) {
      const v = ref.data[o + cols[j]!]!;
      mu[j]! += v;
      if (v < lo[j]!) lo[j] = v;
      if (v > hi[j]!) hi[j] = v;
    }
  }
  for (let j = 0; j < Dk; j++) {
    const g = 2 ** Math.floor(Math.log2(hi[j]! - lo[j]!));
    mu[j] = Math.round(mu[j]! / N / g) * g;
  }
  // Transposed query chunk [Dk + 1, chunk] with the trailing row of ones (reused).
  const qT = new Float32Array((Dk + 1) * chunk);
  for (let b = 0; b < numBlocks; b++) {
    const r0 = b * blockRows;
    const rows = Math.min(N, r0 + blockRows) - r0;
    // Augmented block [rows, Dk + 1]: each centred reference row followed by −½‖x‖² (float64 sum).
    const aug = new Float32Array(rows * (Dk + 1));
    for (let i = 0; i < rows; i++) {
      let s = 0;
      const o = ref.rowOffset(r0 + i);
      const a = i * (Dk + 1);
      for (let j = 0; j < Dk; j++) {
        const v = Math.fround(ref.data[o + cols[j]!]! - mu[j]!);
        aug[a + j] = v;
        s += v * v;
      }
      aug[a + Dk] = -0.5 * s;
    }
    const xAug = tf.tensor2d(aug, [rows, Dk + 1]);
    try {
      for (let c = 0; c < numChunks; c++) {
        throwIfAborted(fn, signal);
        const q0 = c * chunk;
        const qn = Math.min(Q, q0 + chunk) - q0;
        for (let i = 0; i < qn; i++) {
          const o = (qStart + q0 + i) * D;
          for (let j = 0; j < Dk; j++) qT[j * qn + i] = qry.data[o + cols[j]!]! - mu[j]!;
          qT[Dk * qn + i] = 1;
        }
        // Scores [rows, qn]: the reference is the row operand, so no transpose flag is needed.
        const scoresT = tf.tidy(() => tf.matMul(xAug, tf.tensor2d(qT.subarray(0, (Dk + 1) * qn), [Dk + 1, qn])));
        let scores: Float32Array;
        try {
          scores = (await scoresT.data()) as Float32Array;
        } finally {
          scoresT.dispose();
        }
        selectTop(scores, rows, qn, r0, q0, kb, heapScore, heapIndex, heapSize);
        await tick({ block: b, blocks: numBlocks });
      }
    } finally {
      xAug.dispose();
    }
  }
  throwIfAborted(fn, signal);
  const cand = heapIndex;
  const candPerQuery = kb;

  // Exact float64 re-ranking of the candidates: (distance, index) ascending.
  const d2 = new Float64Array(candPerQuery);
  const order: number[] = new Array<number>(candPerQuery);
  const qd = qry.data;
  const rd = ref.data;
  for (let ql = 0; ql < Q; ql++) {
    const q = qStart + ql;
    const base = ql * candPerQuery;
    const qo = q * D;
    let n = 0;
    const live0 = heapSize[ql]!;
    for (let j = 0; j < live0; j++) {
      const r = cand[base + j]!;
      if (excludeSelf && r === q) continue;
      d2[j] = sqDist(qd, qo, rd, ref.rowOffset(r), D);
      order[n++] = j;
    }
    const live = order.slice(0, n);
    live.sort((a, b) => d2[a]! - d2[b]! || cand[base + a]! - cand[base + b]!);
    for (let j = 0; j < k; j++) {
      const slot = live[j]!;
      indices[q * k + j] = cand[base + slot]!;
      distances[q * k + j] = Math.sqrt(d2[slot]!);
    }
  }
}

/**
 * Streams a score block [rows, qn] (row r = reference row r0 + r, column i = query q0 + i) into the
 * per-query min-heaps of the kb largest scores. Rows arrive in ascending index order, so an equal
 * score never displaces a kept one: ties keep the lower index.
 */
function selectTop(
  scores: Float32Array,
  rows: number,
  qn: number,
  r0: number,
  q0: number,
  kb: number,
  heapScore: Float32Array,
  heapIndex: Int32Array,
  heapSize: Int32Array,
): void {
  const thr = new Float64Array(qn);
  for (let i = 0; i < qn; i++) thr[i] = heapSize[q0 + i]! < kb ? -Infinity : heapScore[(q0 + i) * kb]!;
  for (let r = 0; r < rows; r++) {
    const o = r * qn;
    for (let i = 0; i < qn; i++) {
      const s = scores[o + i]!;
      if (s > thr[i]!) {
        const q = q0 + i;
        const base = q * kb;
        const n = heapSize[q]!;
        if (n < kb) {
          // Sift up.
          let j = n;
          while (j > 0) {
            const p = (j - 1) >> 1;
            // The root holds the worst candidate: lower score, or equal score and higher index.
            if (heapScore[base + p]! < s || (heapScore[base + p]! === s && heapIndex[base + p]! > r0 + r)) break;
            heapScore[base + j] = heapScore[base + p]!;
            heapIndex[base + j] = heapIndex[base + p]!;
            j = p;
          }
          heapScore[base + j] = s;
          heapIndex[base + j] = r0 + r;
          heapSize[q] = n + 1;
          if (n + 1 === kb) thr[i] = heapScore[base]!;
        } else {
          // Replace the root and sift down.
          let j = 0;
          for (;;) {
            const l = 2 * j + 1;
            if (l >= kb) break;
            let m = l;
            if (l + 1 < kb && worse(heapScore[base + l + 1]!, heapIndex[base + l + 1]!, heapScore[base + l]!, heapIndex[base + l]!)) m = l + 1;
            if (!worse(heapScore[base + m]!, heapIndex[base + m]!, s, r0 + r)) break;
            heapScore[base + j] = heapScore[base + m]!;
            heapIndex[base + j] = heapIndex[base + m]!;
            j = m;
          }
          heapScore[base + j] = s;
          heapIndex[base + j] = r0 + r;
          thr[i] = heapScore[base]!;
        }
      }
    }
  }
}

/** Candidate (sa, ia) ranks below (sb, ib): lower score, or equal score and higher index. */
function worse(sa: number, ia: number, sb: number, ib: number): boolean {
  return sa < sb || (sa === sb && ia > ib);
}

/** Indices of the columns whose value is not the same in every reference row (`rows` rows at `rowOffset(i)`). */
function varyingColumns(data: Float32Array, rows: number, cols: number, rowOffset: (i: number) => number): Int32Array {
  const varying = new Uint8Array(cols);
  let left = cols;
  const o0 = rows > 0 ? rowOffset(0) : 0;
  for (let i = 1; i < rows && left > 0; i++) {
    const o = rowOffset(i);
    for (let j = 0; j < cols; j++) {
      if (varying[j] === 0 && data[o + j] !== data[o0 + j]) {
        varying[j] = 1;
        left--;
      }
    }
  }
  const out: number[] = [];
  for (let j = 0; j < cols; j++) if (varying[j]) out.push(j);
  return Int32Array.from(out);
}
