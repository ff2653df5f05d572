/**
 * `projectUmapMap`: one 2-D UMAP map of test, adversarial and rubbish activations of one layer.
 * @module
 */
import type * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, ShapeMismatchError } from '../errors.js';
import { checkLabels } from '../internal/validate.js';
import { readMatrix } from '../metrics/matrix-input.js';
import type { FloatMatrix } from '../types.js';
import { projectUmap, transformUmap, type UmapOptions, type UmapSettings } from './umap.js';

/**
 * Activations of one group of points and the class each is coloured by.
 * @category Projection
 */
export interface UmapPointGroup {
  /** [rows, dims] activations (a FloatMatrix or a 2-D tensor, not disposed). */
  activations: FloatMatrix | tf.Tensor2D;
  /** Per row: true class (test), predicted class (adversarial) or target class (rubbish). */
  labels: Int32Array | number[];
}

/**
 * Options of {@link projectUmapMap}: the UMAP options (2 components) plus the fitting mode.
 * @category Projection
 */
export interface UmapMapOptions extends Omit<UmapOptions, 'nComponents' | 'neighbours'> {
  /**
   * `'union'` (default; METHODS §7): fit one map on test ∪ adversarial ∪ rubbish, so every point
   * shapes the map and entanglement or separation is measured on equal terms.
   * `'fit-transform'`: fit on the test rows, then place the others with {@link transformUmap}
   * without moving the test map (faster to add points; the extra points cannot form their own
   * clusters, which biases the picture towards entanglement).
   */
  mode?: 'union' | 'fit-transform';
}

/**
 * A 2-D map: coordinates, point kinds and classes, in the layout of the report's `UmapPanel`.
 * @category Projection
 */
export interface UmapMap {
  mode: 'union' | 'fit-transform';
  seed: number;
  nEpochs: number;
  settings: UmapSettings;
  x: Float32Array;
  y: Float32Array;
  /** 0 test, 1 adversarial, 2 rubbish (rows in this order: test, adversarial, rubbish). */
  kind: Uint8Array;
  label: Int32Array;
}

/**
 * Projects test activations together with adversarial and rubbish activations of the same layer
 * into one 2-D UMAP map. The points come back in input order (test, then adversarial, then
 * rubbish) with their kind and class, ready for the report's UMAP panel.
 *
 * @example
 * ```ts
 * import { projectUmapMap } from 'ae-manifold';
 * const rnd = (n: number, d: number, o: number) => ({ data: Float32Array.from({ length: n * d }, (_, i) => Math.sin(i * 1.7 + o)), rows: n, cols: d });
 * const map = await projectUmapMap(
 *   { test: { activations: rnd(200, 8, 0), labels: Array.from({ length: 200 }, (_, i) => i % 10) },
 *     adversarial: { activations: rnd(20, 8, 1), labels: Array.from({ length: 20 }, (_, i) => i % 10) } },
 *   { seed: 3 },
 * );
 * // map.x.length === 220, map.kind[219] === 1, map.mode === 'union'
 * ```
 * @category Projection
 */
export async function projectUmapMap(
  groups: { test: UmapPointGroup; adversarial?: UmapPointGroup; rubbish?: UmapPointGroup },
  options: UmapMapOptions = {},
): Promise<UmapMap> {
  const FN = 'projectUmapMap';
  if (!groups || typeof groups !== 'object' || !groups.test) throw new InvalidArgumentError(FN, 'groups.test', 'a { activations, labels } group', groups?.test);
  for (const key of Object.keys(groups)) {
    if (key !== 'test' && key !== 'adversarial' && key !== 'rubbish') throw new InvalidArgumentError(FN, `groups.${key}`, 'one of test, adversarial, rubbish', key);
  }
  const { mode = 'union', ...umapOptions } = options;
  if (mode !== 'union' && mode !== 'fit-transform') throw new InvalidArgumentError(FN, 'options.mode', "'union' or 'fit-transform'", mode);
  const parts: { m: FloatMatrix; labels: Int32Array; kind: number }[] = [];
  const names = ['test', 'adversarial', 'rubbish'] as const;
  for (let kind = 0; kind < 3; kind++) {
    const name = names[kind]!;
    const g = groups[name];
    if (g === undefined) continue;
    const m = await readMatrix(FN, `groups.${name}.activations`, g.activations, parts[0]?.m.cols);
    const labels = checkLabels(FN, `groups.${name}.labels`, g.labels, m.rows);
    parts.push({ m, labels, kind });
  }
  const total = parts.reduce((s, p) => s + p.m.rows, 0);
  const kind = new Uint8Array(total);
  const label = new Int32Array(total);
  let off = 0;
  for (const p of parts) {
    kind.fill(p.kind, off, off + p.m.rows);
    label.set(p.labels, off);
    off += p.m.rows;
  }
  const x = new Float32Array(total);
  const y = new Float32Array(total);
  const put = (emb: FloatMatrix, at: number) => {
    if (emb.cols !== 2) throw new ShapeMismatchError(FN, 'embedding', [emb.rows, 2], [emb.rows, emb.cols]);
    for (let i = 0; i < emb.rows; i++) {
      x[at + i] = emb.data[2 * i]!;
      y[at + i] = emb.data[2 * i + 1]!;
    }
  };
  if (mode === 'union') {
    const cols = parts[0]!.m.cols;
    const all = new Float32Array(total * cols);
    let o = 0;
    for (const p of parts) {
      all.set(p.m.data, o);
      o += p.m.data.length;
    }
    const fit = await projectUmap({ data: all, rows: total, cols }, { ...umapOptions, nComponents: 2 });
    put(fit.embedding, 0);
    return { mode, seed: fit.seed, nEpochs: fit.nEpochs, settings: fit.settings, x, y, kind, label };
  }
  const test = parts[0]!;
  const fit = await projectUmap(test.m, { ...umapOptions, nComponents: 2 });
  put(fit.embedding, 0);
  const rest = parts.slice(1);
  if (rest.length) {
    const cols = test.m.cols;
    const n = total - test.m.rows;
    const more = new Float32Array(n * cols);
    let o = 0;
    for (const p of rest) {
      more.set(p.m.data, o);
      o += p.m.data.length;
    }
    const placed = await transformUmap(fit.model, { data: more, rows: n, cols }, {
      ...(umapOptions.signal ? { signal: umapOptions.signal } : {}),
      ...(umapOptions.onProgress ? { onProgress: umapOptions.onProgress } : {}),
    });
    put(placed.embedding, test.m.rows);
  }
  return { mode, seed: fit.seed, nEpochs: fit.nEpochs, settings: fit.settings, x, y, kind, label };
}
