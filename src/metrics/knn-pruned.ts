/**
 * Exact k-nearest-neighbour search pruned by principal-subspace lower bounds. For orthonormal
 * directions V, ‖Vᵀ(q − r)‖ ≤ ‖q − r‖. One cheap float32 matMul over the first `m` directions
 * bounds every query–reference distance from below; a reference row whose bound may be below the
 * query's current k-th exact distance is bounded again with `M` directions (stopping early), and
 * only the rows that pass both are measured exactly (stopping early too). A slack covering float32
 * rounding keeps the bounds below the true distances, so nothing is lost. The reference is held in
 * a cluster order (nearby rows together in memory, and in the bound's score blocks of 16, whole
 * blocks of which are skipped); results use the original indices. Internal to {@link knnSearch}.
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import type { FloatMatrix } from '../types.js';
import { createRng } from '../internal/rng.js';
import { fitPcaInternal, seededSubsample } from './pca.js';
import { createWasmSqDist, paddedLength, sqDist, sqDistFrom } from './sq-dist.js';
import type { WasmSqDist } from './sq-dist.js';

/** Directions of the matMul bound (`m`) and of the second bound (`M`), capped by D and the fit rows. */
export const DEFAULT_PRUNE_COMPONENTS = 48;
export const DEFAULT_REFINE_COMPONENTS = 128;
/** Reference rows (seeded subsample) on which the directions are fitted. */
const FIT_ROWS = 2048;
/** Fixed seed of that subsample and of the randomised PCA (the result never depends on it). */
const FIT_SEED = 0x6b6e6e;
/** Largest bound block ([chunk, N]) and projection block, in float32 values (64 MB). */
export const MAX_BOUND_VALUES = 1 << 24;
/** Leading projected coordinates, rows per cluster and assignment rounds of the row ordering. */
const ORDER_DIMS = 16;
const ORDER_ROWS_PER_CLUSTER = 256;
const ORDER_ROUNDS = 3;
/** Best-bound rows whose exact distances give each query's first k-th-distance bound. */
function seedCandidates(k: number): number {
  return k + Math.max(4, Math.ceil(k / 8));
}

/** Reference rows read in place: row i starts at `rowOffset(i)` in `data`. */
export interface RefView {
  data: Float32Array;
  rows: number;
  cols: number;
  rowOffset: (i: number) => number;
}

/**
 * Where the rows, query chunk and second-bound coordinates live: the SIMD kernel's memory, or
 * JavaScript arrays. Rows are `stride` values apart (padded with zeros in the kernel's memory).
 */
interface Store {
  wasm: WasmSqDist | undefined;
  /** Reference row (view index) at each position: positions follow clusters, for memory locality. */
  order: Int32Array;
  /** Position of each reference row. */
  position: Int32Array;
  /** Reference rows: `refData` with the row at position p at `refRow(p)` (values). */
  refData: Float32Array;
  refRow: (r: number) => number;
  refStride: number;
  /** The query chunk, `chunk` rows of `refStride` values from `qBase`. */
  qData: Float32Array;
  qBase: number;
  /** Second-bound coordinates (by position [N, tailStride] from `tailBase`; queries [chunk, tailStride] from `qTailBase`). */
  tailData: Float32Array;
  tailBase: number;
  qTailBase: number;
  tailStride: number;
}

/**
 * The reference side of the pruned search. Owns two tensors: call `dispose()`.
 */
export interface PrunedIndex {
  /** Directions of the matMul bound (≤ M). */
  m: number;
  /** Directions of the second bound (≤ D). */
  M: number;
  /** Mean subtracted before projecting (float32, as used). */
  mean: Float32Array;
  /** Vᵀ as a [D, M] tensor (orthonormal columns, by decreasing variance). */
  basis: tf.Tensor2D;
  /** [m + 1, N]: the first m projected coordinates of each row as columns, last row −½‖a‖² + ½ε‖r − μ‖². */
  right: tf.Tensor2D;
  /** Relative slack ε (see {@link boundSlack}). */
  eps: number;
  /** Queries per chunk the store has room for. */
  chunk: number;
  store: Store;
  dispose(): void;
}

/** Counters filled by the pruned search (benchmarks and the automatic fallback). */
export interface PrunedStats {
  /** Queries searched. */
  queries: number;
  /** Rows that passed the matMul bound (second bound computed), summed over queries. */
  bounded: number;
  /** Rows measured exactly (at least partly), summed over queries. */
  visited: number;
  /** Whether the WebAssembly SIMD kernel computed the distances. */
  wasm: boolean;
  /** Milliseconds: fit, reference projection, query projection, bound matMul, the rest. */
  msFit: number;
  msIndex: number;
  msProject: number;
  msBound: number;
  msExact: number;
}

/** Fresh zeroed {@link PrunedStats}. */
export function emptyPrunedStats(): PrunedStats {
  return { queries: 0, bounded: 0, visited: 0, wasm: false, msFit: 0, msIndex: 0, msProject: 0, msBound: 0, msExact: 0 };
}

/**
 * Slack ε such that a computed bound stays ≤ d² + ε(‖q − μ‖² + ‖r − μ‖²): first-order float32
 * error of the centring and projection on M directions (each coordinate within (D + 2)u‖x − μ‖,
 * V orthonormal to float32 precision) and of the (m + 1)-term score product, doubled to spare.
 */
export function boundSlack(D: number, m: number, M: number): number {
  const u = 2 ** -24;
  return 2 * (6 * Math.sqrt(M) * (D + 2) + 4 * (m + 2)) * u;
}

/**
 * Fits M directions on a seeded subsample of the reference and projects the whole reference, for
 * query chunks of at most `chunk` rows. `M` is capped by D and the subsample rows − 1, `m` by `M`.
 * With `useWasm` (and WebAssembly SIMD available), the reference rows are copied into the distance
 * kernel's memory.
 */
export async function buildPrunedIndex(
  ref: RefView,
  m: number,
  M: number,
  chunk: number,
  useWasm: boolean,
  fn: string,
  signal: AbortSignal | undefined,
  stats: PrunedStats,
): Promise<PrunedIndex> {
  const t0 = performance.now();
  const { rows: N, cols: D } = ref;
  const idx = seededSubsample(createRng(FIT_SEED), N, Math.min(N, FIT_ROWS));
  const sample = gatherRows(ref, idx, 0, idx.length);
  const MM = Math.max(1, Math.min(M, D, sample.rows - 1));
  const mm = Math.min(m, MM);
  const { model } = await fitPcaInternal(fn, sample, { components: MM, seed: FIT_SEED, powerIterations: 1, oversampling: 8, ...(signal ? { signal } : {}) }, false);
  const t1 = performance.now();
  stats.msFit += t1 - t0;
  const mean = model.mean;
  const comps = model.components.data; // [MM, D] rows, orthonormal in float64 before rounding
  const basisT = new Float32Array(D * MM);
  for (let j = 0; j < MM; j++) for (let t = 0; t < D; t++) basisT[t * MM + j] = comps[j * D + t]!;
  const eps = boundSlack(D, mm, MM);
  const T = MM - mm;
  const basis = tf.tensor2d(basisT, [D, MM]);
  // Rows [a_1..a_m, c] (transposed once into the matMul operand), the tails, and the leading
  // coordinates that order the rows.
  const rows = new Float32Array(N * (mm + 1));
  const tails = new Float32Array(N * T);
  const L = Math.min(ORDER_DIMS, mm);
  const lead = new Float32Array(N * L);
  let rightT: tf.Tensor2D;
  let store: Store;
  try {
    await projectRows(ref, 0, N, mean, basis, (a, r0, nb) => {
      for (let i = 0; i < nb; i++) {
        const ai = i * MM;
        const r = r0 + i;
        let s = 0;
        for (let j = 0; j < mm; j++) {
          const v = a[ai + j]!;
          rows[r * (mm + 1) + j] = v;
          s += v * v;
        }
        rows[r * (mm + 1) + mm] = -0.5 * s + 0.5 * eps * centredNorm2(ref.data, ref.rowOffset(r), mean, D);
        tails.set(a.subarray(ai + mm, ai + MM), r * T);
        lead.set(a.subarray(ai, ai + L), r * L);
      }
    });
    const order = await clusterOrder(lead, N, L);
    store = makeStore(ref, order, chunk, T, useWasm);
    const byPosition = new Float32Array(N * (mm + 1));
    for (let p = 0; p < N; p++) {
      const r = order[p]!;
      byPosition.set(rows.subarray(r * (mm + 1), (r + 1) * (mm + 1)), p * (mm + 1));
      if (T > 0) store.tailData.set(tails.subarray(r * T, (r + 1) * T), store.tailBase + p * store.tailStride);
    }
    rightT = tf.tidy(() => tf.transpose(tf.tensor2d(byPosition, [N, mm + 1])));
  } catch (e) {
    basis.dispose();
    throw e;
  }
  stats.wasm = store.wasm !== undefined;
  stats.msIndex += performance.now() - t1;
  return {
    m: mm,
    M: MM,
    mean,
    basis,
    right: rightT,
    eps,
    chunk,
    store,
    dispose() {
      basis.dispose();
      rightT.dispose();
    },
  };
}

/**
 * The kernel's memory laid out as [reference rows | query chunk | reference tails | query tails]
 * (rows padded to multiples of 16 values), with the reference copied in; or, without the kernel,
 * the reference read in place and fresh arrays for the rest.
 */
function makeStore(ref: RefView, order: Int32Array, chunk: number, T: number, useWasm: boolean): Store {
  const { rows: N, cols: D } = ref;
  const position = new Int32Array(N);
  for (let p = 0; p < N; p++) position[order[p]!] = p;
  const PD = paddedLength(D);
  const PT = paddedLength(T);
  const values = (N + chunk) * (PD + PT);
  // The kernel copies the reference: up to 1 GB of it (beyond, the JavaScript twin reads it in place).
  const wasm = useWasm && 4 * values <= 2 ** 30 ? createWasmSqDist(4 * values) : undefined;
  if (wasm) {
    const f32 = wasm.f32;
    for (let p = 0; p < N; p++) f32.set(ref.data.subarray(ref.rowOffset(order[p]!), ref.rowOffset(order[p]!) + D), p * PD);
    const qBase = N * PD;
    const tailBase = (N + chunk) * PD;
    return { wasm, order, position, refData: f32, refRow: (p) => p * PD, refStride: PD, qData: f32, qBase, tailData: f32, tailBase, qTailBase: tailBase + N * PT, tailStride: PT };
  }
  const tails = new Float32Array((N + chunk) * T);
  return {
    wasm: undefined,
    order,
    position,
    refData: ref.data,
    refRow: (p) => ref.rowOffset(order[p]!),
    refStride: D,
    qData: new Float32Array(chunk * D),
    qBase: 0,
    tailData: tails,
    tailBase: 0,
    qTailBase: N * T,
    tailStride: T,
  };
}

/**
 * An order of the rows that keeps nearby rows together (so that a query's candidates are close in
 * memory): a few rounds of k-means (seeded centres, assignment by matMul) on the leading projected
 * coordinates [N, L], then rows by cluster, by index within a cluster. Any order gives the same
 * search result.
 */
async function clusterOrder(lead: Float32Array, N: number, L: number): Promise<Int32Array> {
  const C = Math.min(1024, Math.round(N / ORDER_ROWS_PER_CLUSTER));
  if (C < 2) return Int32Array.from({ length: N }, (_, i) => i);
  const centres = new Float32Array(C * L);
  const first = seededSubsample(createRng(FIT_SEED + 1), N, C);
  for (let c = 0; c < C; c++) centres.set(lead.subarray(first[c]! * L, (first[c]! + 1) * L), c * L);
  const x = tf.tensor2d(lead, [N, L]);
  let assign = new Int32Array(N);
  try {
    for (let round = 0; round < ORDER_ROUNDS; round++) {
      // argmin_c ‖x − c‖² = argmin_c (‖c‖² − 2 x·c)
      const a = tf.tidy(() => {
        const ct = tf.tensor2d(centres, [C, L]);
        const cn = tf.sum(tf.square(ct), 1);
        return tf.argMin(tf.sub(cn, tf.mul(tf.scalar(2), tf.matMul(x, ct, false, true))), 1);
      });
      try {
        assign = Int32Array.from((await a.data()) as Int32Array);
      } finally {
        a.dispose();
      }
      if (round === ORDER_ROUNDS - 1) break;
      const sum = new Float64Array(C * L);
      const count = new Int32Array(C);
      for (let r = 0; r < N; r++) {
        const c = assign[r]!;
        count[c]!++;
        for (let j = 0; j < L; j++) sum[c * L + j]! += lead[r * L + j]!;
      }
      for (let c = 0; c < C; c++) if (count[c]! > 0) for (let j = 0; j < L; j++) centres[c * L + j] = sum[c * L + j]! / count[c]!;
    }
  } finally {
    x.dispose();
  }
  // Counting sort by cluster (stable: by index within a cluster).
  const start = new Int32Array(C + 1);
  for (let r = 0; r < N; r++) start[assign[r]! + 1]!++;
  for (let c = 0; c < C; c++) start[c + 1]! += start[c]!;
  const order = new Int32Array(N);
  for (let r = 0; r < N; r++) order[start[assign[r]!]!++] = r;
  return order;
}

/** Projects rows [r0, r0 + n) of the view, (x − μ)·V, in blocks; `use(a, r0, nb)` gets [nb, M] each. */
async function projectRows(
  ref: RefView,
  r0: number,
  n: number,
  mean: Float32Array,
  basis: tf.Tensor2D,
  use: (a: Float32Array, r0: number, nb: number) => void,
): Promise<void> {
  const D = ref.cols;
  const blockRows = Math.max(1, Math.floor(MAX_BOUND_VALUES / D));
  const mu = tf.tensor2d(mean, [1, D]);
  try {
    for (let b0 = r0; b0 < r0 + n; b0 += blockRows) {
      const nb = Math.min(r0 + n, b0 + blockRows) - b0;
      const block = gatherRows(ref, undefined, b0, nb);
      const t = tf.tidy(() => tf.matMul(tf.sub(tf.tensor2d(block.data, [nb, D]), mu), basis));
      try {
        use((await t.data()) as Float32Array, b0, nb);
      } finally {
        t.dispose();
      }
    }
  } finally {
    mu.dispose();
  }
}

/**
 * Rows (idx[i] for i in [i0, i0 + n), or i0 + i without idx) of the view as a matrix; a subarray
 * when they are contiguous in `data`.
 */
function gatherRows(ref: RefView, idx: ArrayLike<number> | undefined, i0: number, n: number): FloatMatrix {
  const D = ref.cols;
  const at = (i: number): number => ref.rowOffset(idx ? idx[i0 + i]! : i0 + i);
  const first = at(0);
  let contiguous = true;
  for (let i = 1; i < n && contiguous; i++) contiguous = at(i) === first + i * D;
  if (contiguous) return { data: ref.data.subarray(first, first + n * D), rows: n, cols: D };
  const out = new Float32Array(n * D);
  for (let i = 0; i < n; i++) out.set(ref.data.subarray(at(i), at(i) + D), i * D);
  return { data: out, rows: n, cols: D };
}

/** ‖x − μ‖² in float64 for the row at offset o. */
function centredNorm2(data: Float32Array, o: number, mean: Float32Array, D: number): number {
  let s = 0;
  for (let t = 0; t < D; t++) {
    const v = data[o + t]! - mean[t]!;
    s += v * v;
  }
  return s;
}

/** Per-search scratch (sized for the reference and k). */
export interface PrunedScratch {
  /** stamp[r] = 1 + the query that last measured r exactly. */
  stamp: Int32Array;
  heapD: Float64Array;
  heapI: Int32Array;
  seedS: Float32Array;
  seedI: Int32Array;
  /** Largest score of each block of 16 rows (current query). */
  blockMax: Float32Array;
  order: number[];
  bounded: number;
  visited: number;
}

export function prunedScratch(N: number, k: number): PrunedScratch {
  const ks = Math.min(N, seedCandidates(k));
  return {
    stamp: new Int32Array(N),
    heapD: new Float64Array(k),
    heapI: new Int32Array(k),
    seedS: new Float32Array(ks),
    seedI: new Int32Array(ks),
    blockMax: new Float32Array(Math.ceil(N / 16)),
    order: Array.from({ length: k }, (_, j) => j),
    bounded: 0,
    visited: 0,
  };
}

/**
 * Exact k nearest neighbours of queries [q0, q0 + qn) (qn ≤ the index's chunk; with `excludeSelf`,
 * query q is reference row q). Writes rows q0.. of `indices` / `distances` ([Q, k], nearest first,
 * ties by lower index), distances from {@link sqDist}, as in the brute-force path.
 */
export async function prunedChunk(
  index: PrunedIndex,
  ref: RefView,
  qry: FloatMatrix,
  q0: number,
  qn: number,
  k: number,
  excludeSelf: boolean,
  indices: Int32Array,
  distances: Float32Array,
  scratch: PrunedScratch,
  stats: PrunedStats,
): Promise<void> {
  const { rows: N, cols: D } = ref;
  const { m, M, mean, eps, store } = index;
  const T = M - m;
  const qd = qry.data;
  let t0 = performance.now();
  // The query rows in the store, the left operand [qn, m + 1] (with a trailing 1) and the tails.
  for (let i = 0; i < qn; i++) store.qData.set(qd.subarray((q0 + i) * D, (q0 + i + 1) * D), store.qBase + i * store.refStride);
  const left = new Float32Array(qn * (m + 1));
  const base = new Float64Array(qn);
  const qView: RefView = { data: qd, rows: qry.rows, cols: D, rowOffset: (i) => i * D };
  await projectRows(qView, q0, qn, mean, index.basis, (a, b0, nb) => {
    for (let ib = 0; ib < nb; ib++) {
      const i = b0 - q0 + ib;
      let s = 0;
      for (let j = 0; j < m; j++) {
        const v = a[ib * M + j]!;
        left[i * (m + 1) + j] = v;
        s += v * v;
      }
      left[i * (m + 1) + m] = 1;
      if (T > 0) store.tailData.set(a.subarray(ib * M + m, ib * M + M), store.qTailBase + i * store.tailStride);
      // Bound − slack = base − 2s + (tail part), with base = ‖a_q‖² − ε‖q − μ‖².
      base[i] = s - eps * centredNorm2(qd, (b0 + ib) * D, mean, D);
    }
  });
  const t1 = performance.now();
  stats.msProject += t1 - t0;
  // Scores [qn, N]: s = a_q·a_r − ½‖a_r‖² + ½ε‖r − μ‖² over the first m directions.
  const st = tf.tidy(() => tf.matMul(tf.tensor2d(left, [qn, m + 1]), index.right));
  try {
    // On wasm the scores are read in place (no await, hence no other tfjs call, until disposed).
    const S = heapView(st) ?? ((await st.data()) as Float32Array);
    t0 = performance.now();
    stats.msBound += t0 - t1;
    scratch.bounded = 0;
    scratch.visited = 0;
    const ks = Math.min(N - (excludeSelf ? 1 : 0), seedCandidates(k));
    for (let i = 0; i < qn; i++) {
      const q = q0 + i;
      searchOne(S, i * N, N, D, T, base[i]!, store, i, excludeSelf ? store.position[q]! : -1, q + 1, k, ks, scratch);
      const { heapD, heapI, order } = scratch;
      for (let j = 0; j < k; j++) order[j] = j;
      order.sort((x, y) => heapD[x]! - heapD[y]! || heapI[x]! - heapI[y]!);
      for (let j = 0; j < k; j++) {
        indices[q * k + j] = heapI[order[j]!]!;
        distances[q * k + j] = Math.sqrt(heapD[order[j]!]!);
      }
    }
  } finally {
    st.dispose();
  }
  stats.queries += qn;
  stats.bounded += scratch.bounded;
  stats.visited += scratch.visited;
  stats.msExact += performance.now() - t0;
}

/**
 * A float32 view of a tensor's data in the wasm heap (tfjs-backend-wasm's `typedArrayFromHeap`),
 * or `undefined` on other backends. Valid until the next tfjs allocation; saves copying a 64 MB
 * score block per chunk.
 */
function heapView(t: tf.Tensor): Float32Array | undefined {
  if (tf.getBackend() !== 'wasm') return undefined;
  const backend = tf.backend() as unknown as { typedArrayFromHeap?: (info: { dataId: object; shape: number[]; dtype: string }) => unknown };
  if (typeof backend.typedArrayFromHeap !== 'function') return undefined;
  const view = backend.typedArrayFromHeap({ dataId: t.dataId, shape: t.shape, dtype: t.dtype });
  return view instanceof Float32Array && view.length === t.size ? view : undefined;
}

/**
 * One query (row i of the store's chunk; `self` the position of its own row or −1): leaves its k
 * nearest rows (reference indices) in scratch.heapD / heapI (a max-heap, root = worst kept: larger
 * d², or equal d² and higher index). S columns, stamps and the loops go by position.
 *  1. the ks rows of best matMul bound are measured exactly; τ = their k-th distance;
 *  2. every other row whose matMul bound may be ≤ τ gets the second bound (stopping once it
 *     exceeds τ), and if that may be ≤ τ too, its exact distance (stopping once it exceeds τ);
 *     τ shrinks as closer rows are found.
 */
function searchOne(
  S: Float32Array,
  so: number,
  N: number,
  D: number,
  T: number,
  base: number,
  store: Store,
  i: number,
  self: number,
  tag: number,
  k: number,
  ks: number,
  scratch: PrunedScratch,
): void {
  const { stamp, heapD, heapI, seedS, seedI } = scratch;
  const { wasm, order, refData, refRow, refStride, qData, tailData, tailStride } = store;
  const qo = store.qBase + i * refStride;
  const qt = store.qTailBase + i * tailStride;
  const tb = store.tailBase;
  // Byte offsets and 16-value block counts for the kernel.
  const dBlocks = refStride >> 4;
  const tBlocks = tailStride >> 4;
  // 1. Seeds: the ks largest scores (min-heap, root = lowest kept score). The query's own row is
  //    taken out of both passes by giving it the lowest score (S is this search's scratch).
  if (self >= 0) S[so + self] = -Infinity;
  let n = 0;
  for (; n < ks; n++) {
    const s = S[so + n]!;
    let j = n;
    while (j > 0) {
      const p = (j - 1) >> 1;
      if (seedS[p]! <= s) break;
      seedS[j] = seedS[p]!;
      seedI[j] = seedI[p]!;
      j = p;
    }
    seedS[j] = s;
    seedI[j] = n;
  }
  // The rest in blocks of 16: each block's largest score is kept (pass 2 skips blocks whose
  // largest score is below its threshold) and only blocks that beat the root are looked into.
  const { blockMax } = scratch;
  let root = seedS[0]!;
  for (let b0 = 0, bi = 0; b0 < N; b0 += 16, bi++) {
    const end = b0 + 16 < N ? b0 + 16 : N;
    let bm = -Infinity;
    for (let r = b0; r < end; r++) {
      const s = S[so + r]!;
      if (s > bm) bm = s;
    }
    blockMax[bi] = bm;
    if (bm > root) {
      for (let r = b0 > ks ? b0 : ks; r < end; r++) {
        const s = S[so + r]!;
        if (s > root) {
          siftDownMin(seedS, seedI, ks, s, r);
          root = seedS[0]!;
        }
      }
    }
  }
  // (With excludeSelf ks ≤ N − 1, so at least one later row displaces the −∞ of the query's own row.)
  let h = 0;
  for (let c = 0; c < n; c++) {
    const p = seedI[c]!;
    stamp[p] = tag;
    const d2 = wasm ? wasm.dist(4 * qo, 4 * refRow(p), dBlocks, Infinity) : sqDist(qData, qo, refData, refRow(p), D);
    const r = order[p]!;
    if (h < k) h = pushMax(heapD, heapI, h, d2, r);
    else if (worseMax(heapD[0]!, heapI[0]!, d2, r)) replaceMax(heapD, heapI, k, d2, r);
  }
  let visited = n;
  let bounded = 0;
  // 2. Bound − slack = base − 2s (+ the second bound's terms) ≤ τ  ⇔  s ≥ (base − τ) / 2 first.
  let tau = heapD[0]!;
  let thr = 0.5 * (base - tau);
  for (let b0 = 0, bi = 0; b0 < N; b0 += 16, bi++) {
    if (blockMax[bi]! < thr) continue;
    const end = b0 + 16 < N ? b0 + 16 : N;
    for (let p = b0; p < end; p++) {
      const s = S[so + p]!;
      if (s < thr || stamp[p] === tag) continue;
      bounded++;
      if (T > 0) {
        const b = wasm
          ? wasm.distFrom(4 * qt, 4 * (tb + p * tailStride), tBlocks, base - 2 * s, tau)
          : sqDistFrom(base - 2 * s, tailData, qt, tailData, tb + p * tailStride, T, tau);
        if (b > tau) continue;
      }
      visited++;
      // Exact distance (the early stop only skips rows that cannot enter).
      const d2 = wasm ? wasm.dist(4 * qo, 4 * refRow(p), dBlocks, tau) : sqDist(qData, qo, refData, refRow(p), D, tau);
      const r = order[p]!;
      if (worseMax(heapD[0]!, heapI[0]!, d2, r)) {
        replaceMax(heapD, heapI, k, d2, r);
        tau = heapD[0]!;
        thr = 0.5 * (base - tau);
      }
    }
  }
  scratch.bounded += bounded;
  scratch.visited += visited;
}

function siftDownMin(hs: Float32Array, hi: Int32Array, n: number, s: number, r: number): void {
  let j = 0;
  for (;;) {
    const l = 2 * j + 1;
    if (l >= n) break;
    let c = l;
    if (l + 1 < n && hs[l + 1]! < hs[l]!) c = l + 1;
    if (hs[c]! >= s) break;
    hs[j] = hs[c]!;
    hi[j] = hi[c]!;
    j = c;
  }
  hs[j] = s;
  hi[j] = r;
}

/** (da, ia) ranks after (db, ib): larger distance, or equal distance and higher index. */
function worseMax(da: number, ia: number, db: number, ib: number): boolean {
  return da > db || (da === db && ia > ib);
}

function pushMax(hd: Float64Array, hi: Int32Array, n: number, d: number, r: number): number {
  let j = n;
  while (j > 0) {
    const p = (j - 1) >> 1;
    if (!worseMax(d, r, hd[p]!, hi[p]!)) break;
    hd[j] = hd[p]!;
    hi[j] = hi[p]!;
    j = p;
  }
  hd[j] = d;
  hi[j] = r;
  return n + 1;
}

function replaceMax(hd: Float64Array, hi: Int32Array, n: number, d: number, r: number): void {
  let j = 0;
  for (;;) {
    const l = 2 * j + 1;
    if (l >= n) break;
    let c = l;
    if (l + 1 < n && worseMax(hd[l + 1]!, hi[l + 1]!, hd[l]!, hi[l]!)) c = l + 1;
    if (!worseMax(hd[c]!, hi[c]!, d, r)) break;
    hd[j] = hd[c]!;
    hi[j] = hi[c]!;
    j = c;
  }
  hd[j] = d;
  hi[j] = r;
}
