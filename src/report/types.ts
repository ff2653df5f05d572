/**
 * The plain data a study report is drawn from. The study fills it from the attack, probe, metric,
 * SNNL and UMAP results; {@link renderReport} turns it into SVG figures, one HTML page and JSON.
 * @module
 */

/**
 * Summary of one value across examples at one layer.
 * @category Report
 */
export interface LayerStat {
  mean: number;
  /** Population standard deviation; the spread band is mean ± std. */
  std: number;
  q1?: number;
  median?: number;
  q3?: number;
  /** Number of examples summarised. */
  count?: number;
}

/**
 * One metric across layers for one attack type and one class pair (original o → predicted p):
 * the distance (or count) to the original class's manifold and to the predicted class's.
 * @category Report
 */
export interface MetricCurve {
  /** Attack type, e.g. `'cw-l0'`. */
  attack: string;
  /** Original class o and predicted class p (indices into `ReportData.classNames`). */
  pair: { original: number; predicted: number };
  /** Metric id, e.g. `'knnPercentileRank'`, `'normalizedCentroidDistance'`, `'convexHullProximity'`. */
  metric: string;
  /** Axis label, e.g. `'distance to class hull (input space)'`. Default: the metric id. */
  metricLabel?: string;
  /** Analysis point names, input first. */
  layers: string[];
  /** Per layer, relative to the original class manifold. */
  original: LayerStat[];
  /** Per layer, relative to the predicted class manifold. */
  predicted: LayerStat[];
}

/**
 * Kind of a point in a UMAP panel: 0 test, 1 adversarial, 2 rubbish.
 * @category Report
 */
export const UMAP_POINT_KINDS = ['test', 'adversarial', 'rubbish'] as const;

/**
 * One UMAP map of one layer's activations.
 * @category Report
 */
export interface UmapPanel {
  /** Attack type of the adversarial points shown. */
  attack: string;
  layer: string;
  /** How the map was made: fitted on the union of all points, or fitted on test then transformed. */
  mode: 'union' | 'fit-transform';
  seed: number;
  nEpochs: number;
  x: Float32Array;
  y: Float32Array;
  /** Per point: index into {@link UMAP_POINT_KINDS}. */
  kind: Uint8Array;
  /** Per point: true class (test), predicted class (adversarial) or target class (rubbish). */
  label: Int32Array;
}

/**
 * Images in [0, 1] (or `range`), NHWC without the batch axis.
 * @category Report
 */
export interface ImageGrid {
  /** Figure title, e.g. `'C&W-L2: adversarial examples'`. */
  title: string;
  /** What the images are (drives the caption and the default value range). */
  kind: 'original' | 'adversarial' | 'perturbation' | 'rubbish' | 'pre-image';
  /** [count, height, width, channels] with channels 1 or 3. */
  shape: [number, number, number, number];
  /** count·height·width·channels values, row-major. */
  images: Float32Array;
  /** Caption under each image (e.g. `'4→9'`). */
  captions?: string[];
  /** Images per row. Default min(count, 10). */
  columns?: number;
  /** Value shown black..white. Default [0, 1]; perturbations default to a symmetric range around 0. */
  range?: [number, number];
  /** For perturbations: the factor they were amplified by, stated in the caption. */
  amplification?: number;
  /** Optional attack and layer the grid belongs to (pre-images are per layer). */
  attack?: string;
  layer?: string;
}

/**
 * SNNL per layer: test vs adversarial and test vs rubbish, with the chance level ℓ∞.
 * @category Report
 */
export interface SnnlSeries {
  attack: string;
  layers: string[];
  testVsAdversarial: LayerStat[];
  testVsRubbish: LayerStat[];
  /** ℓ∞ per layer (≈ ln 2 for balanced groups). */
  chance: number[];
}

/**
 * Everything a report shows. Plain data (typed arrays allowed), so it serialises to JSON.
 *
 * @example
 * ```ts
 * import type { ReportData } from 'ae-manifold';
 * const data: ReportData = {
 *   title: 'MNIST CNN', seed: 1, config: { dataset: 'mnist' }, classNames: ['0', '1'],
 *   curves: [], umap: [], grids: [], snnl: [],
 * };
 * ```
 * @category Report
 */
export interface ReportData {
  title: string;
  subtitle?: string;
  /** Study settings (echoed in the page and the JSON). */
  config: Record<string, unknown>;
  seed: number;
  classNames: string[];
  curves: MetricCurve[];
  umap: UmapPanel[];
  grids: ImageGrid[];
  snnl: SnnlSeries[];
  /** Free-text remarks shown under the title. */
  notes?: string[];
}
