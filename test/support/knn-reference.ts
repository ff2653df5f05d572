/**
 * Shared helpers of the kNN tests: seeded random matrices and an independent float64 brute-force
 * kNN (stable sort by distance, then index) to check the library's search against.
 */
import { createRng } from '../../src/internal/rng.js';
import type { FloatMatrix } from '../../src/types.js';

/** A seeded [rows, cols] matrix of standard normal values (or integers 0–2, for exact ties). */
export function randMatrix(rows: number, cols: number, seed: number, integer = false): FloatMatrix {
  const rng = createRng(seed);
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = integer ? rng.int(3) : rng.normal();
  return { data, rows, cols };
}

/** Independent brute force: float64 distances, stable sort by (distance, index). */
export function bruteKnn(ref: FloatMatrix, q: FloatMatrix, k: number, excludeSelf = false): { indices: number[][]; dists: number[][] } {
  const indices: number[][] = [];
  const dists: number[][] = [];
  for (let i = 0; i < q.rows; i++) {
    const all: Array<[number, number]> = [];
    for (let r = 0; r < ref.rows; r++) {
      if (excludeSelf && r === i) continue;
      let s = 0;
      for (let j = 0; j < ref.cols; j++) s += (q.data[i * q.cols + j]! - ref.data[r * ref.cols + j]!) ** 2;
      all.push([Math.sqrt(s), r]);
    }
    all.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    indices.push(all.slice(0, k).map((p) => p[1]));
    dists.push(all.slice(0, k).map((p) => p[0]));
  }
  return { indices, dists };
}
