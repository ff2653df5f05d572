/**
 * Internal: UMAP's layout optimisation (stochastic gradient descent on the fuzzy cross-entropy
 * with negative sampling) on flat typed arrays. Each epoch performs the operations of umap-js
 * 1.4's `optimizeLayoutStep`, in the same order and with the same calls to `random`: with
 * `exactPow` the same graph, start layout and random source give umap-js's embedding bit for bit;
 * by default d^b is evaluated as exp(b·ln d), which halves the cost of the inner loop.
 * @module
 */

/** Everything one epoch needs; mutated in place by {@link optimizeEpoch}. */
export interface LayoutState {
  /** Points being moved, row-major [rows, dim] (float64, like umap-js's numbers). */
  headEmbedding: Float64Array;
  /** Points the edges pull towards; the same array as `headEmbedding` when fitting. */
  tailEmbedding: Float64Array;
  /** Edge endpoints: `head[i]` indexes `headEmbedding`, `tail[i]` indexes `tailEmbedding`. */
  head: Int32Array;
  tail: Int32Array;
  epochsPerSample: Float64Array;
  epochOfNextSample: Float64Array;
  epochsPerNegativeSample: Float64Array;
  epochOfNextNegativeSample: Float64Array;
  /** Move the tail end of an edge too (fitting: true; transform: false). */
  moveOther: boolean;
  initialAlpha: number;
  alpha: number;
  gamma: number;
  a: number;
  b: number;
  dim: number;
  nEpochs: number;
  /** Number of rows negative samples are drawn from (rows of `tailEmbedding`). */
  nVertices: number;
  currentEpoch: number;
}

/** Builds the state umap-js sets up in `initializeOptimization` + `prepareForOptimizationLoop`. */
export function createLayoutState(args: {
  headEmbedding: Float64Array;
  tailEmbedding: Float64Array;
  head: Int32Array;
  tail: Int32Array;
  epochsPerSample: Float64Array;
  moveOther: boolean;
  learningRate: number;
  repulsionStrength: number;
  negativeSampleRate: number;
  a: number;
  b: number;
  dim: number;
  nEpochs: number;
  nVertices: number;
}): LayoutState {
  const eps = args.epochsPerSample;
  const epochsPerNegativeSample = new Float64Array(eps.length);
  for (let i = 0; i < eps.length; i++) epochsPerNegativeSample[i] = eps[i]! / args.negativeSampleRate;
  return {
    headEmbedding: args.headEmbedding,
    tailEmbedding: args.tailEmbedding,
    head: args.head,
    tail: args.tail,
    epochsPerSample: eps,
    epochOfNextSample: Float64Array.from(eps),
    epochsPerNegativeSample,
    epochOfNextNegativeSample: Float64Array.from(epochsPerNegativeSample),
    moveOther: args.moveOther,
    initialAlpha: args.learningRate,
    alpha: args.learningRate,
    gamma: args.repulsionStrength,
    a: args.a,
    b: args.b,
    dim: args.dim,
    nEpochs: args.nEpochs,
    nVertices: args.nVertices,
    currentEpoch: 0,
  };
}

/**
 * Runs one epoch (umap-js `optimizeLayoutStep(currentEpoch)`), then advances the epoch.
 * `exactPow` evaluates d^b with `Math.pow` exactly as umap-js does (bit-identical results, used
 * by the tests); the default evaluates it as exp(b·ln d), which rounds differently in the last bits
 * and is about twice as fast.
 */
export function optimizeEpoch(s: LayoutState, random: () => number, exactPow = false): void {
  if (s.dim === 2) optimizeEpoch2d(s, random, exactPow);
  else optimizeEpochNd(s, random, exactPow);
  s.alpha = s.initialAlpha * (1.0 - s.currentEpoch / s.nEpochs);
  s.currentEpoch += 1;
}

function clip4(x: number): number {
  return x > 4.0 ? 4.0 : x < -4.0 ? -4.0 : x;
}

/** The 2-D epoch with the coordinate loops unrolled (same operations, same order). */
function optimizeEpoch2d(s: LayoutState, random: () => number, exactPow: boolean): void {
  const n = s.currentEpoch;
  const { head, tail, headEmbedding: he, tailEmbedding: te, epochsPerSample, epochOfNextSample } = s;
  const { epochOfNextNegativeSample, epochsPerNegativeSample, moveOther, alpha, gamma, a, b, nVertices } = s;
  const bm1 = b - 1.0;
  const negNumerator = 2.0 * gamma * b;
  const nEdges = epochsPerSample.length;
  for (let i = 0; i < nEdges; i++) {
    if (epochOfNextSample[i]! > n) continue;
    const j = head[i]!;
    const cj = j * 2;
    const ck = tail[i]! * 2;
    let c0 = he[cj]!;
    let c1 = he[cj + 1]!;
    const dx0 = c0 - te[ck]!;
    const dx1 = c1 - te[ck + 1]!;
    const distSquared = 0.0 + dx0 * dx0 + dx1 * dx1;
    let gradCoeff = 0;
    if (distSquared > 0) {
      let powB: number;
      let powBm1: number;
      if (exactPow) {
        powBm1 = Math.pow(distSquared, bm1);
        powB = Math.pow(distSquared, b);
      } else {
        powB = Math.exp(b * Math.log(distSquared));
        powBm1 = powB / distSquared;
      }
      gradCoeff = -2.0 * a * b * powBm1;
      gradCoeff /= a * powB + 1.0;
    }
    const g0 = clip4(gradCoeff * dx0);
    c0 = c0 + g0 * alpha;
    he[cj] = c0;
    if (moveOther) te[ck] = te[ck]! + -g0 * alpha;
    const g1 = clip4(gradCoeff * (c1 - te[ck + 1]!));
    c1 = c1 + g1 * alpha;
    he[cj + 1] = c1;
    if (moveOther) te[ck + 1] = te[ck + 1]! + -g1 * alpha;
    epochOfNextSample[i] = epochOfNextSample[i]! + epochsPerSample[i]!;

    const nNegSamples = Math.floor((n - epochOfNextNegativeSample[i]!) / epochsPerNegativeSample[i]!);
    for (let p = 0; p < nNegSamples; p++) {
      const kk = Math.floor(random() * nVertices);
      const ckk = kk * 2;
      // the head point may have moved (it can be its own negative sample)
      c0 = he[cj]!;
      c1 = he[cj + 1]!;
      const e0 = c0 - te[ckk]!;
      const e1 = c1 - te[ckk + 1]!;
      const dist2 = 0.0 + e0 * e0 + e1 * e1;
      if (dist2 > 0.0) {
        const powB = exactPow ? Math.pow(dist2, b) : Math.exp(b * Math.log(dist2));
        const coeff = negNumerator / ((0.001 + dist2) * (a * powB + 1));
        if (coeff > 0.0) {
          he[cj] = c0 + clip4(coeff * e0) * alpha;
          he[cj + 1] = c1 + clip4(coeff * (c1 - te[ckk + 1]!)) * alpha;
        } else {
          he[cj] = c0 + 4.0 * alpha;
          he[cj + 1] = c1 + 4.0 * alpha;
        }
      } else if (j === kk) {
        continue;
      } else {
        he[cj] = c0 + 4.0 * alpha;
        he[cj + 1] = c1 + 4.0 * alpha;
      }
    }
    epochOfNextNegativeSample[i] = epochOfNextNegativeSample[i]! + nNegSamples * epochsPerNegativeSample[i]!;
  }
}

/** Any number of dimensions (umap-js's loops as written). */
function optimizeEpochNd(s: LayoutState, random: () => number, exactPow: boolean): void {
  const n = s.currentEpoch;
  const { head, tail, headEmbedding: he, tailEmbedding: te, epochsPerSample, epochOfNextSample } = s;
  const { epochOfNextNegativeSample, epochsPerNegativeSample, moveOther, alpha, gamma, a, b, dim, nVertices } = s;
  const clipValue = 4.0;
  const bm1 = b - 1.0;
  const nEdges = epochsPerSample.length;
  for (let i = 0; i < nEdges; i++) {
    if (epochOfNextSample[i]! > n) continue;
    const j = head[i]!;
    const k = tail[i]!;
    const cj = j * dim;
    const ck = k * dim;
    let distSquared = 0.0;
    for (let d = 0; d < dim; d++) {
      const diff = he[cj + d]! - te[ck + d]!;
      distSquared += diff * diff;
    }
    let gradCoeff = 0;
    if (distSquared > 0) {
      let powB: number;
      let powBm1: number;
      if (exactPow) {
        powBm1 = Math.pow(distSquared, bm1);
        powB = Math.pow(distSquared, b);
      } else {
        powB = Math.exp(b * Math.log(distSquared));
        powBm1 = powB / distSquared;
      }
      gradCoeff = -2.0 * a * b * powBm1;
      gradCoeff /= a * powB + 1.0;
    }
    for (let d = 0; d < dim; d++) {
      let gradD = gradCoeff * (he[cj + d]! - te[ck + d]!);
      if (gradD > clipValue) gradD = clipValue;
      else if (gradD < -clipValue) gradD = -clipValue;
      he[cj + d] = he[cj + d]! + gradD * alpha;
      if (moveOther) te[ck + d] = te[ck + d]! + -gradD * alpha;
    }
    epochOfNextSample[i] = epochOfNextSample[i]! + epochsPerSample[i]!;

    const nNegSamples = Math.floor((n - epochOfNextNegativeSample[i]!) / epochsPerNegativeSample[i]!);
    for (let p = 0; p < nNegSamples; p++) {
      const kk = Math.floor(random() * nVertices);
      const ckk = kk * dim;
      let dist2 = 0.0;
      for (let d = 0; d < dim; d++) {
        const diff = he[cj + d]! - te[ckk + d]!;
        dist2 += diff * diff;
      }
      let coeff = 0.0;
      if (dist2 > 0.0) {
        coeff = 2.0 * gamma * b;
        const powB = exactPow ? Math.pow(dist2, b) : Math.exp(b * Math.log(dist2));
        coeff /= (0.001 + dist2) * (a * powB + 1);
      } else if (j === kk) {
        continue;
      }
      for (let d = 0; d < dim; d++) {
        let gradD = 4.0;
        if (coeff > 0.0) {
          gradD = coeff * (he[cj + d]! - te[ckk + d]!);
          if (gradD > clipValue) gradD = clipValue;
          else if (gradD < -clipValue) gradD = -clipValue;
        }
        he[cj + d] = he[cj + d]! + gradD * alpha;
      }
    }
    epochOfNextNegativeSample[i] = epochOfNextNegativeSample[i]! + nNegSamples * epochsPerNegativeSample[i]!;
  }
}
