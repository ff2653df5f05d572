/**
 * Types shared by every part of the library.
 * @module
 */

/**
 * Progress of long work, reported through {@link RunOptions.onProgress}.
 * @category Utilities
 */
export interface Progress {
  /** What is running, e.g. `'cw-l2'`, `'probe'`, `'knn'`. */
  stage: string;
  /** Units done so far (batches, iterations, epochs...). */
  step: number;
  /** Units in all; `step / total` is the fraction done. */
  total: number;
  /** Stage-specific numbers (loss, successes so far, ...). */
  detail?: Record<string, number>;
}

/**
 * Options every long-running public function accepts.
 * @category Utilities
 */
export interface RunOptions {
  /** Called once per batch or iteration block. Must not throw. */
  onProgress?: (progress: Progress) => void;
  /** Checked once per batch or iteration; aborts with an {@link AbortedError}. */
  signal?: AbortSignal;
}

/**
 * A dense row-major float32 matrix: `rows` examples of `cols` values each.
 * Activations, references and queries are passed around in this form.
 *
 * @example
 * ```ts
 * const m: FloatMatrix = { data: new Float32Array([1, 2, 3, 4, 5, 6]), rows: 2, cols: 3 };
 * ```
 * @category Utilities
 */
export interface FloatMatrix {
  data: Float32Array;
  rows: number;
  cols: number;
}

/** Summary statistics over a set of values (population std). @category Utilities */
export interface Summary {
  count: number;
  mean: number;
  std: number;
  min: number;
  q1: number;
  median: number;
  q3: number;
  max: number;
}
