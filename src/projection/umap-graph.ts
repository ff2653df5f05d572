/**
 * Internal: UMAP's fuzzy neighbour graph on typed arrays. The arithmetic mirrors umap-js 1.4
 * (`smoothKNNDistance`, `computeMembershipStrengths`, the fuzzy union and the edge list of
 * `initializeSimplicialSetEmbedding`) operation for operation, so that the same neighbour graph
 * gives the same edges and weights bit for bit, without umap-js's string-keyed sparse matrices.
 * @module
 */

const SMOOTH_K_TOLERANCE = 1e-5;
const MIN_K_DIST_SCALE = 1e-3;

/** A neighbour table: row-major `[rows, k]`, nearest first (umap convention: self first when fitting). */
export interface NeighbourTable {
  indices: Int32Array;
  distances: Float64Array;
  rows: number;
  k: number;
}

/** Per-row bandwidths (sigma) and local-connectivity offsets (rho), as umap's `smooth_knn_dist`. */
export function smoothKnnDistance(
  table: NeighbourTable,
  k: number,
  localConnectivity: number,
  nIter = 64,
  bandwidth = 1.0,
): { sigmas: Float64Array; rhos: Float64Array } {
  const { distances, rows, k: width } = table;
  const target = (Math.log(k) / Math.log(2)) * bandwidth;
  const rhos = new Float64Array(rows);
  const sigmas = new Float64Array(rows);
  let globalMean: number | undefined;
  const nonZero = new Float64Array(width);
  for (let i = 0; i < rows; i++) {
    const base = i * width;
    let lo = 0.0;
    let hi = Infinity;
    let mid = 1.0;
    let nz = 0;
    let rowSum = 0;
    let rowMax = 0;
    for (let j = 0; j < width; j++) {
      const d = distances[base + j]!;
      rowSum = j === 0 ? d : rowSum + d;
      if (d > 0.0) {
        nonZero[nz++] = d;
        if (d > rowMax) rowMax = d;
      }
    }
    if (nz >= localConnectivity) {
      const index = Math.floor(localConnectivity);
      const interpolation = localConnectivity - index;
      if (index > 0) {
        rhos[i] = nonZero[index - 1]!;
        if (interpolation > SMOOTH_K_TOLERANCE) {
          rhos[i] = rhos[i]! + interpolation * (nonZero[index]! - nonZero[index - 1]!);
        }
      } else {
        rhos[i] = interpolation * nonZero[0]!;
      }
    } else if (nz > 0) {
      rhos[i] = rowMax;
    }
    const rho = rhos[i]!;
    for (let n = 0; n < nIter; n++) {
      let psum = 0.0;
      for (let j = 1; j < width; j++) {
        const d = distances[base + j]! - rho;
        if (d > 0) psum += Math.exp(-(d / mid));
        else psum += 1.0;
      }
      if (Math.abs(psum - target) < SMOOTH_K_TOLERANCE) break;
      if (psum > target) {
        hi = mid;
        mid = (lo + hi) / 2.0;
      } else {
        lo = mid;
        if (hi === Infinity) mid *= 2;
        else mid = (lo + hi) / 2.0;
      }
    }
    let sigma = mid;
    if (rho > 0.0) {
      const meanRow = rowSum / width;
      if (sigma < MIN_K_DIST_SCALE * meanRow) sigma = MIN_K_DIST_SCALE * meanRow;
    } else {
      if (globalMean === undefined) {
        // mean over rows of each row's mean, summed left to right as umap-js does
        let acc = 0;
        for (let r = 0; r < rows; r++) {
          let s = 0;
          for (let j = 0; j < width; j++) s = j === 0 ? distances[r * width]! : s + distances[r * width + j]!;
          acc = r === 0 ? s / width : acc + s / width;
        }
        globalMean = acc / rows;
      }
      if (sigma < MIN_K_DIST_SCALE * globalMean) sigma = MIN_K_DIST_SCALE * globalMean;
    }
    sigmas[i] = sigma;
  }
  return { sigmas, rhos };
}

/**
 * Membership strength of every table entry (row-major like the table). `selfIsZero` gives an
 * entry pointing at its own row index strength 0 (fitting); transforms pass `false`.
 */
export function membershipStrengths(
  table: NeighbourTable,
  sigmas: Float64Array,
  rhos: Float64Array,
  selfIsZero: boolean,
): Float64Array {
  const { indices, distances, rows, k } = table;
  const vals = new Float64Array(rows * k);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < k; j++) {
      const p = i * k + j;
      const idx = indices[p]!;
      if (idx === -1) continue;
      let val: number;
      if (selfIsZero && idx === i) val = 0.0;
      else if (distances[p]! - rhos[i]! <= 0.0) val = 1.0;
      else val = Math.exp(-((distances[p]! - rhos[i]!) / sigmas[i]!));
      vals[p] = val;
    }
  }
  return vals;
}

/** A weighted edge list sorted by (tail row, head column), as umap-js iterates it. */
export interface EdgeList {
  /** Row of each edge (umap-js `tail`). */
  tail: Int32Array;
  /** Column of each edge (umap-js `head`). */
  head: Int32Array;
  weights: Float64Array;
}

/**
 * The symmetric fuzzy union A + Aᵀ − A∘Aᵀ (umap's `set_op_mix_ratio` mixes in the intersection)
 * of the membership graph, as a sorted edge list with zero entries dropped.
 */
export function fuzzyUnion(table: NeighbourTable, vals: Float64Array, setOpMixRatio: number): EdgeList {
  const { indices, rows, k } = table;
  const lookup = (i: number, j: number): number => {
    // value of entry (i, j) in the membership matrix; the last occurrence wins, as in a map
    let v = 0;
    const base = i * k;
    for (let t = 0; t < k; t++) if (indices[base + t] === j) v = vals[base + t]!;
    return v;
  };
  // Union of the keys of A and Aᵀ, per row.
  const counts = new Int32Array(rows + 1);
  for (let i = 0; i < rows; i++) {
    for (let t = 0; t < k; t++) {
      const j = indices[i * k + t]!;
      if (j < 0 || rowHasBefore(indices, k, i, j, t)) continue;
      counts[i + 1]!++;
      if (!rowHas(indices, k, j, i)) counts[j + 1]!++;
    }
  }
  for (let i = 0; i < rows; i++) counts[i + 1] = counts[i + 1]! + counts[i]!;
  const total = counts[rows]!;
  const cols = new Int32Array(total);
  const fill = counts.slice(0, rows);
  for (let i = 0; i < rows; i++) {
    for (let t = 0; t < k; t++) {
      const j = indices[i * k + t]!;
      if (j < 0 || rowHasBefore(indices, k, i, j, t)) continue;
      cols[fill[i]!++] = j;
      if (!rowHas(indices, k, j, i)) cols[fill[j]!++] = i;
    }
  }
  const tail: number[] = [];
  const head: number[] = [];
  const weights: number[] = [];
  for (let i = 0; i < rows; i++) {
    const seg = cols.subarray(counts[i]!, fill[i]!).sort();
    for (let s = 0; s < seg.length; s++) {
      const j = seg[s]!;
      const a = lookup(i, j);
      const b = lookup(j, i);
      const prod = a * b;
      const union = a + b - prod;
      const value = union * setOpMixRatio + prod * (1.0 - setOpMixRatio);
      if (value) {
        tail.push(i);
        head.push(j);
        weights.push(value);
      }
    }
  }
  return { tail: Int32Array.from(tail), head: Int32Array.from(head), weights: Float64Array.from(weights) };
}

function rowHas(indices: Int32Array, k: number, row: number, col: number): boolean {
  const base = row * k;
  for (let t = 0; t < k; t++) if (indices[base + t] === col) return true;
  return false;
}

function rowHasBefore(indices: Int32Array, k: number, row: number, col: number, before: number): boolean {
  const base = row * k;
  for (let t = 0; t < before; t++) if (indices[base + t] === col) return true;
  return false;
}

/** Drops edges below max/nEpochs (umap's pruning before optimisation). */
export function pruneEdges(edges: EdgeList, nEpochs: number): EdgeList {
  let max = 0;
  for (let i = 0; i < edges.weights.length; i++) if (max < edges.weights[i]!) max = edges.weights[i]!;
  const keep: number[] = [];
  for (let i = 0; i < edges.weights.length; i++) if (!(edges.weights[i]! < max / nEpochs)) keep.push(i);
  return {
    tail: Int32Array.from(keep, (i) => edges.tail[i]!),
    head: Int32Array.from(keep, (i) => edges.head[i]!),
    weights: Float64Array.from(keep, (i) => edges.weights[i]!),
  };
}

/** Epochs between two samplings of each edge: nEpochs / (w / max · nEpochs), −1 for w = 0. */
export function epochsPerSample(weights: Float64Array, nEpochs: number): Float64Array {
  let max = 0;
  for (let i = 0; i < weights.length; i++) max = weights[i]! > max ? weights[i]! : max;
  const out = new Float64Array(weights.length);
  for (let i = 0; i < weights.length; i++) {
    const n = (weights[i]! / max) * nEpochs;
    out[i] = n > 0 ? nEpochs / n : -1.0;
  }
  return out;
}
