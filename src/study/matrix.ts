/**
 * Small helpers on row-major float matrices used by the study.
 * @module
 */
import type { FloatMatrix } from '../types.js';

/** The rows `rows` of `m`, in that order, as a new matrix. */
export function takeRows(m: FloatMatrix, rows: ArrayLike<number>): FloatMatrix {
  const out = new Float32Array(rows.length * m.cols);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    out.set(m.data.subarray(r * m.cols, (r + 1) * m.cols), i * m.cols);
  }
  return { data: out, rows: rows.length, cols: m.cols };
}

/** Rows of several matrices with equal column counts, stacked. */
export function stackRows(parts: FloatMatrix[]): FloatMatrix {
  const cols = parts[0]?.cols ?? 0;
  const rows = parts.reduce((s, p) => s + p.rows, 0);
  const out = new Float32Array(rows * cols);
  let offset = 0;
  for (const p of parts) {
    out.set(p.data, offset);
    offset += p.data.length;
  }
  return { data: out, rows, cols };
}

/** Indices `i` with `pred(i)`, for i in [0, n). */
export function indicesWhere(n: number, pred: (i: number) => boolean): Int32Array {
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (pred(i)) out.push(i);
  return Int32Array.from(out);
}
