import { test } from 'node:test';
import assert from 'node:assert/strict';
import { projectOntoSimplex, solveSimplexLeastSquares } from '../src/metrics/simplex-lsq.js';
import { createRng } from '../src/internal/rng.js';

/** Wolfe's minimum-norm-point algorithm on the hull of `pts` (independent cross-check). */
function wolfeMinNorm(pts: number[][]): { point: number[]; norm: number } {
  const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i]!, 0);
  const n = pts.length;
  let best = 0;
  for (let i = 1; i < n; i++) if (dot(pts[i]!, pts[i]!) < dot(pts[best]!, pts[best]!)) best = i;
  let S = [best];
  let lam = [1];
  let x = [...pts[best]!];
  for (let outer = 0; outer < 1000; outer++) {
    let j = 0;
    for (let i = 1; i < n; i++) if (dot(x, pts[i]!) < dot(x, pts[j]!)) j = i;
    if (dot(x, pts[j]!) >= dot(x, x) - 1e-12 * Math.max(1, dot(x, x)) || S.includes(j)) break;
    S.push(j);
    lam.push(0);
    for (;;) {
      // Affine minimiser of the points in S: solve [[P^T P, 1], [1^T, 0]] [a; mu] = [0; 1].
      const m = S.length;
      const A: number[][] = [];
      for (let a = 0; a < m; a++) A.push([...S.map((s) => dot(pts[S[a]!]!, pts[s]!)), 1, 0]);
      A.push([...new Array(m).fill(1), 0, 1]);
      for (let c = 0; c <= m; c++) {
        let p = c;
        for (let r = c + 1; r <= m; r++) if (Math.abs(A[r]![c]!) > Math.abs(A[p]![c]!)) p = r;
        [A[c], A[p]] = [A[p]!, A[c]!];
        for (let r = 0; r <= m; r++) {
          if (r === c) continue;
          const f = A[r]![c]! / A[c]![c]!;
          for (let t = c; t <= m + 1; t++) A[r]![t]! -= f * A[c]![t]!;
        }
      }
      const alpha = S.map((_, a) => A[a]![m + 1]! / A[a]![a]!);
      if (alpha.every((v) => v > 1e-14)) {
        lam = alpha;
        break;
      }
      let theta = 1;
      for (let a = 0; a < m; a++) if (alpha[a]! <= 1e-14) theta = Math.min(theta, lam[a]! / (lam[a]! - alpha[a]!));
      lam = lam.map((l, a) => l + theta * (alpha[a]! - l));
      const keep = lam.map((l) => l > 1e-14);
      S = S.filter((_, a) => keep[a]);
      lam = lam.filter((_, a) => keep[a]);
    }
    x = pts[0]!.map((_, t) => S.reduce((s, idx, a) => s + lam[a]! * pts[idx]![t]!, 0));
  }
  return { point: x, norm: Math.sqrt(dot(x, x)) };
}

test('projectOntoSimplex: exact projection, against a brute-force check on the KKT conditions', () => {
  assert.deepEqual(Array.from(projectOntoSimplex([0.2, 0.3, 0.5])).map((v) => +v.toFixed(12)), [0.2, 0.3, 0.5]);
  const p = projectOntoSimplex([0.5, 0.5, 1]);
  assert.ok(Math.abs(p[0]! - 1 / 6) < 1e-12 && Math.abs(p[2]! - 2 / 3) < 1e-12);
  const rng = createRng(3);
  for (let trial = 0; trial < 50; trial++) {
    const u = Array.from({ length: 7 }, () => 3 * rng.normal());
    const w = projectOntoSimplex(u);
    assert.ok(Math.abs(w.reduce((s, v) => s + v, 0) - 1) < 1e-12);
    // KKT: w_i = max(u_i − θ, 0) for one θ; u_i − w_i = θ on the support, u_i ≤ θ off it.
    const support = [...w.keys()].filter((i) => w[i]! > 0);
    const theta = u[support[0]!]! - w[support[0]!]!;
    for (let i = 0; i < 7; i++) {
      if (w[i]! > 0) assert.ok(Math.abs(u[i]! - w[i]! - theta) < 1e-12);
      else assert.ok(u[i]! <= theta + 1e-12);
      assert.ok(w[i]! >= 0);
    }
    // No random simplex point is closer to u.
    const d = (a: ArrayLike<number>) => Array.from(a).reduce((s, v, i) => s + (v - u[i]!) ** 2, 0);
    for (let r = 0; r < 50; r++) {
      const e = Array.from({ length: 7 }, () => -Math.log(1 - rng.next()));
      const s = e.reduce((a, b) => a + b, 0);
      assert.ok(d(e.map((v) => v / s)) >= d(w) - 1e-12);
    }
  }
});

test('FISTA simplex least squares: known geometry (triangle, inside point)', () => {
  const tri = [0, 0, 2, 0, 0, 2];
  const r = solveSimplexLeastSquares(tri, 3, 2, [2, 2]);
  assert.ok(Math.abs(r.distance - Math.SQRT2) < 1e-6, `${r.distance}`);
  assert.ok(Math.abs(r.weights[1]! - 0.5) < 1e-3 && Math.abs(r.weights[2]! - 0.5) < 1e-3);
  const inside = solveSimplexLeastSquares(tri, 3, 2, [0.5, 0.5]);
  assert.ok(inside.distance < 1e-4, `${inside.distance}`);
  // The ridge makes the weights unique: for a point inside, w is the minimum-norm representation.
  assert.ok(inside.converged);
  assert.ok(Math.abs(inside.weights.reduce((s, v) => s + v, 0) - 1) < 1e-12);
});

test('FISTA simplex least squares vs Wolfe minimum-norm point on random small cases', () => {
  const rng = createRng(11);
  for (let trial = 0; trial < 30; trial++) {
    const k = 3 + rng.int(10);
    const D = 2 + rng.int(6);
    const pts = Array.from({ length: k }, () => Array.from({ length: D }, () => rng.normal() + 1.5));
    const b = Array.from({ length: D }, () => rng.normal());
    const r = solveSimplexLeastSquares(pts.flat(), k, D, b);
    const wolfe = wolfeMinNorm(pts.map((p) => p.map((v, t) => v - b[t]!)));
    assert.ok(Math.abs(r.distance - wolfe.norm) <= 1e-5 * Math.max(1, wolfe.norm), `trial ${trial}: ${r.distance} vs ${wolfe.norm}`);
    // Weights loosely: the hull point they give matches Wolfe's point.
    for (let t = 0; t < D; t++) {
      const x = pts.reduce((s, p, i) => s + r.weights[i]! * p[t]!, 0) - b[t]!;
      assert.ok(Math.abs(x - wolfe.point[t]!) < 1e-3, `coordinate ${t}: ${x} vs ${wolfe.point[t]}`);
    }
    assert.ok(r.iterations <= 5000 && r.residual >= 0);
  }
});
