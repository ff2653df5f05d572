/**
 * Exact Euclidean k-nearest-neighbour search on tfjs (any backend), blocked so that the full
 * query × reference distance matrix is never allocated.
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeMismatchError } from '../errors.js';
import type { FloatMatrix, Progress } from '../types.js';
import { checkInteger, checkKnownOptions, throwIfAborted, yieldToEventLoop } from '../internal/validate.js';
import { readMatrix } from './matrix-input.js';

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
  /** Queries per matMul chunk. Default 1024 (lowered automatically so a score block stays ≤ 256 MB). */
  batchSize?: number;
  /** Checked once per chunk; aborts with an `AbortedError`. */
  signal?: AbortSignal;
  /** Called once per chunk with stage `'knn'`. */
  onProgress?: (p: Progress) => void;
}

/**
 * Result of {@link knnSearch}: row-major `[queries, k]`, nearest first, ties broken by the lower
 * reference index.
 * @category Metrics
 */
export interface KnnResult {
  /** Reference row index of each neighbour. */
  indices: Int32Array;
  /** Euclidean (not squared) distance of each neighbour, recomputed exactly in float64. */
  distances: Float32Array;
  /** Neighbours per query. */
  k: number;
  /** Number of queries (rows of the result). */
  queries: number;
}

/** Largest augmented reference block held as one tensor, in float32 values (512 MB). */
const MAX_BLOCK_VALUES = 1 << 27;
/** Largest score block ([chunk, block]) in float32 values (256 MB). */
const MAX_SCORE_VALUES = 1 << 26;
/** Extra float32 candidates per query, re-ranked exactly in float64. */
function candidateMargin(k: number): number {
  return Math.max(4, Math.ceil(k / 8));
}

/**
 * Exact k nearest neighbours (Euclidean) of each query row among the reference rows.
 *
 * Scores come from one float32 matMul per chunk against the augmented, once-transposed reference
 * X̃ = [Xᵀ; −½‖x‖²] (ranking by q·x − ½‖x‖² equals ranking by distance) followed by `topk`. A few
 * extra candidates are kept, their distances recomputed in float64, and the best `k` sorted by
 * (distance, index). References too large for one block are streamed in blocks whose per-block
 * candidates are merged. Tensors passed in are read, not disposed; no tensor is left behind.
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
 * @param options `k` (required), `excludeSelf`, `batchSize`, `signal`, `onProgress`
 * @category Metrics
 */
export async function knnSearch(
  reference: FloatMatrix | tf.Tensor2D,
  queries: FloatMatrix | tf.Tensor2D,
  options: KnnOptions,
): Promise<KnnResult> {
  const FN = 'knnSearch';
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError(FN, 'options', 'an object with k', options);
  checkKnownOptions(FN, options, ['k', 'excludeSelf', 'batchSize', 'signal', 'onProgress']);
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
  return knnSearchMatrices(ref, qry, k, excludeSelf, batchSize, signal, onProgress, FN);
}

/**
 * Internal entry for validated matrices (used by the other metrics, which validate themselves).
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
  maxBlockRows?: number,
): Promise<KnnResult> {
  throwIfAborted(fn, signal);
  const N = ref.rows;
  const D = ref.cols;
  const Q = qry.rows;
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
  const total = numBlocks * numChunks;
  let step = 0;
  // Columns that are constant over the whole reference shift every score of a query by the same
  // amount, so they cannot change the ranking: leave them out of the matMul (exact; e.g. the
  // border pixels of MNIST, which are 0 in every training image).
  const cols = varyingColumns(ref);
  const Dk = cols.length;
  // Transposed query chunk [Dk + 1, chunk] with the trailing row of ones (reused).
  const qT = new Float32Array((Dk + 1) * chunk);
  for (let b = 0; b < numBlocks; b++) {
    const r0 = b * blockRows;
    const rows = Math.min(N, r0 + blockRows) - r0;
    // Augmented block [rows, Dk + 1]: each reference row followed by −½‖x‖² (float64 sum).
    const aug = new Float32Array(rows * (Dk + 1));
    for (let i = 0; i < rows; i++) {
      let s = 0;
      const o = (r0 + i) * D;
      const a = i * (Dk + 1);
      for (let j = 0; j < Dk; j++) {
        const v = ref.data[o + cols[j]!]!;
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
          const o = (q0 + i) * D;
          for (let j = 0; j < Dk; j++) qT[j * qn + i] = qry.data[o + cols[j]!]!;
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
        step++;
        onProgress?.({ stage: 'knn', step, total, detail: { block: b, blocks: numBlocks } });
        if (signal || onProgress) await yieldToEventLoop();
      }
    } finally {
      xAug.dispose();
    }
  }
  throwIfAborted(fn, signal);
  const cand = heapIndex;
  const candPerQuery = kb;

  // Exact float64 re-ranking of the candidates: (distance, index) ascending.
  const indices = new Int32Array(Q * k);
  const distances = new Float32Array(Q * k);
  const d2 = new Float64Array(candPerQuery);
  const order: number[] = new Array<number>(candPerQuery);
  const qd = qry.data;
  const rd = ref.data;
  for (let q = 0; q < Q; q++) {
    const base = q * candPerQuery;
    const qo = q * D;
    let n = 0;
    const live0 = heapSize[q]!;
    for (let j = 0; j < live0; j++) {
      const r = cand[base + j]!;
      if (excludeSelf && r === q) continue;
      const ro = r * D;
      let s = 0;
      for (let t = 0; t < D; t++) {
        const diff = qd[qo + t]! - rd[ro + t]!;
        s += diff * diff;
      }
      d2[j] = s;
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
  return { indices, distances, k, queries: Q };
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

/** Indices of the columns whose value is not the same in every reference row. */
function varyingColumns(ref: FloatMatrix): Int32Array {
  const { data, rows, cols } = ref;
  const varying = new Uint8Array(cols);
  let left = cols;
  for (let i = 1; i < rows && left > 0; i++) {
    const o = i * cols;
    for (let j = 0; j < cols; j++) {
      if (varying[j] === 0 && data[o + j] !== data[j]) {
        varying[j] = 1;
        left--;
      }
    }
  }
  const out: number[] = [];
  for (let j = 0; j < cols; j++) if (varying[j]) out.push(j);
  return Int32Array.from(out);
}
