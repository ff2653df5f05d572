/**
 * One analysis point of the study: probes the reference, the test sample and the crafted inputs at
 * that layer, then computes Methods A and B, KPR, NCD, the SNNL sets and the UMAP maps.
 * @module
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { knnClassCounts } from '../metrics/knn-class-counts.js';
import { knnPercentileRank } from '../metrics/knn-percentile.js';
import { normalizedCentroidDistance } from '../metrics/centroid-distance.js';
import { convexHullProximityShared } from '../metrics/convex-hull.js';
import type { ConvexHullShared } from '../metrics/convex-hull.js';
import { optimalSnnl } from '../metrics/snnl.js';
import type { PairSummary } from '../metrics/pairs.js';
import { probeLayers } from '../probes/probe-layers.js';
import { projectUmap } from '../projection/umap.js';
import { createRng } from '../internal/rng.js';
import { throwIfAborted } from '../internal/validate.js';
import type { FloatMatrix, Progress, Summary } from '../types.js';
import type { StudyAttack } from './config.js';
import type { CraftedSet } from './craft.js';
import { indicesWhere, stackRows, takeRows } from './matrix.js';

/** Per-pair summaries of one metric, in plain (JSON-able) form. */
export interface PairStats {
  original: number;
  predicted: number;
  count: number;
  summaries: Record<string, Summary>;
}

/** Every metric of one adversarial attack at one layer. */
export interface AttackLayerMetrics {
  attack: StudyAttack;
  layer: string;
  queries: number;
  knnClassCounts: PairStats[];
  knnPercentileRank: PairStats[];
  normalizedCentroidDistance: PairStats[];
  convexHullProximity?: PairStats[];
  /** Method B's pre-image of the first query of each reported pair (normalised input space). */
  preImages?: Array<{ original: number; predicted: number; query: number; image: number[] }>;
  methodB?: { pcaComponents: number; pcaExplainedVariance: number; timings: Record<string, number>; unconverged: number };
}

/** SNNL of test vs one crafted kind at one layer, over seeded repetitions. */
export interface LayerSnnl {
  attack: StudyAttack;
  layer: string;
  values: number[];
  temperatures: number[];
  chance: number;
  testPoints: number;
  craftedPoints: number;
}

/** One UMAP map at one layer: test sample + one attack's successes + the rubbish inputs. */
export interface LayerUmap {
  attack: StudyAttack;
  layer: string;
  seed: number;
  nEpochs: number;
  x: Float32Array;
  y: Float32Array;
  kind: Uint8Array;
  label: Int32Array;
  seconds: number;
}

/** Everything computed at one layer. */
export interface LayerAnalysis {
  layer: string;
  hidden: boolean;
  width: number;
  metrics: AttackLayerMetrics[];
  snnl: LayerSnnl[];
  umap: LayerUmap[];
  seconds: number;
}

/** Inputs of {@link analyseLayer}. */
export interface LayerAnalysisRequest {
  model: tfl.LayersModel;
  layer: string;
  /** Analysis point 0 (the normalised input): the Method B input space. */
  inputLayer: string;
  hidden: boolean;
  exampleShape: readonly number[];
  reference: { images: Float32Array; labels: Int32Array; count: number };
  /** Normalised reference inputs (point 0 activations), shared by every layer's Method B. */
  referenceInputs: FloatMatrix;
  /** Test sample: all rows are correctly classified (KPR calibration, UMAP, SNNL). */
  test: { images: Float32Array; labels: Int32Array; count: number };
  /** Rows of the test sample shown in UMAP maps. */
  umapRows: Int32Array;
  crafted: CraftedSet[];
  /** Pairs (o, p) reported per attack, most frequent first. */
  pairs: Map<StudyAttack, Array<{ original: number; predicted: number }>>;
  k: number;
  methodB: boolean;
  snnlSize: number;
  snnlRepeats: number;
  batchSize: number;
  seed: number;
  signal?: AbortSignal | undefined;
  onProgress?: ((fraction: number, detail?: Record<string, number>) => void) | undefined;
}

/** Reads one layer's activations of `count` examples. */
export async function probeOne(
  model: tfl.LayersModel,
  layer: string,
  images: Float32Array,
  count: number,
  exampleShape: readonly number[],
  batchSize: number,
  signal: AbortSignal | undefined,
): Promise<FloatMatrix> {
  const set = await probeLayers(model, { data: images, shape: [count, ...exampleShape] }, {
    layers: [layer],
    batchSize,
    ...(signal ? { signal } : {}),
  });
  const m = set.get(layer).activations;
  set.dispose();
  return m;
}

function plainPairs<K extends string>(pairs: Array<PairSummary<K>>): PairStats[] {
  return pairs.map((p) => ({ original: p.original, predicted: p.predicted, count: p.count, summaries: { ...p.summaries } }));
}

const ADVERSARIAL: readonly StudyAttack[] = ['l0', 'l2', 'linf'];

/** Computes every metric of the study at one analysis point. */
export async function analyseLayer(req: LayerAnalysisRequest): Promise<LayerAnalysis> {
  const t0 = performance.now();
  const { model, layer, exampleShape, batchSize, signal } = req;
  const report = (f: number, detail?: Record<string, number>) => req.onProgress?.(f, detail);
  const sub = (from: number, to: number) => (p: Progress) => report(from + ((to - from) * p.step) / Math.max(1, p.total));
  // The layer's reference activations are the largest array of the study (60,000 × 9,216 floats
  // = 2.2 GB at the MNIST CNN's conv1): read in place by every metric (never copied) and let go
  // as soon as the metrics are done, before SNNL and UMAP, which do not need it.
  const held: { R?: FloatMatrix } = { R: await probeOne(model, layer, req.reference.images, req.reference.count, exampleShape, batchSize, signal) };
  const width = held.R!.cols;
  report(0.15);
  const T = await probeOne(model, layer, req.test.images, req.test.count, exampleShape, batchSize, signal);
  const crafted = new Map<StudyAttack, { set: CraftedSet; rows: Int32Array; acts: FloatMatrix }>();
  for (const set of req.crafted) {
    const rows = indicesWhere(set.count, (i) => set.success[i] === 1);
    if (rows.length === 0) continue;
    const per = set.images.length / set.count;
    const images = new Float32Array(rows.length * per);
    rows.forEach((r, i) => images.set(set.images.subarray(r * per, (r + 1) * per), i * per));
    crafted.set(set.attack, { set, rows, acts: await probeOne(model, layer, images, rows.length, exampleShape, batchSize, signal) });
  }
  report(0.25);

  const advAttacks = ADVERSARIAL.filter((a) => crafted.has(a));
  const metrics = await referenceMetrics(req, held, T, crafted, advAttacks, sub);
  // Nothing below needs the reference: let it go now (SNNL and UMAP allocate their own arrays).
  delete held.R;
  report(0.75);

  const snnl: LayerSnnl[] = [];
  const umap: LayerUmap[] = [];
  if (req.hidden) {
    const rng = createRng(req.seed);
    for (const [attack, c] of crafted) {
      throwIfAborted('runStudy', signal);
      const nt = Math.min(req.snnlSize, T.rows);
      const na = Math.min(req.snnlSize, c.acts.rows);
      if (na < 2 || nt < 2) continue;
      const values: number[] = [];
      const temperatures: number[] = [];
      let chance = NaN;
      for (let r = 0; r < req.snnlRepeats; r++) {
        const tRows = rng.shuffle(Array.from({ length: T.rows }, (_, i) => i)).slice(0, nt);
        const aRows = rng.shuffle(Array.from({ length: c.acts.rows }, (_, i) => i)).slice(0, na);
        const x = stackRows([takeRows(T, tRows), takeRows(c.acts, aRows)]);
        const labels = new Int32Array(nt + na);
        labels.fill(1, nt);
        const res = await optimalSnnl(x, labels, signal ? { signal } : {});
        values.push(res.loss);
        temperatures.push(res.temperature);
        chance = res.chanceLoss;
      }
      snnl.push({ attack, layer, values, temperatures, chance, testPoints: nt, craftedPoints: na });
    }
    report(0.85);
    const rubbish = crafted.get('rubbish');
    for (const attack of advAttacks) {
      throwIfAborted('runStudy', signal);
      const c = crafted.get(attack)!;
      const parts = [takeRows(T, req.umapRows), c.acts, ...(rubbish ? [rubbish.acts] : [])];
      const data = stackRows(parts);
      const kind = new Uint8Array(data.rows);
      const label = new Int32Array(data.rows);
      let o = 0;
      for (const r of req.umapRows) label[o++] = req.test.labels[r]!;
      for (const r of c.rows) {
        kind[o] = 1;
        label[o++] = c.set.predicted[r]!;
      }
      if (rubbish) {
        for (const r of rubbish.rows) {
          kind[o] = 2;
          label[o++] = rubbish.set.predicted[r]!;
        }
      }
      const t1 = performance.now();
      const proj = await projectUmap(data, { seed: req.seed, ...(signal ? { signal } : {}) });
      const e = proj.embedding;
      const x = new Float32Array(e.rows);
      const y = new Float32Array(e.rows);
      for (let i = 0; i < e.rows; i++) {
        x[i] = e.data[i * e.cols]!;
        y[i] = e.data[i * e.cols + 1]!;
      }
      umap.push({ attack, layer, seed: proj.seed, nEpochs: proj.nEpochs, x, y, kind, label, seconds: (performance.now() - t1) / 1000 });
    }
  }
  report(1);
  return { layer, hidden: req.hidden, width, metrics, snnl, umap, seconds: (performance.now() - t0) / 1000 };
}

/**
 * Methods A and B, KPR and NCD of every adversarial attack at one layer: the only part of the layer
 * analysis that reads the reference activations (`held.R`, read in place, never copied). A separate
 * function, so that no variable of the caller keeps the reference alive once it returns.
 */
async function referenceMetrics(
  req: LayerAnalysisRequest,
  held: { R?: FloatMatrix },
  T: FloatMatrix,
  crafted: Map<StudyAttack, { set: CraftedSet; rows: Int32Array; acts: FloatMatrix }>,
  advAttacks: StudyAttack[],
  sub: (from: number, to: number) => (p: Progress) => void,
): Promise<AttackLayerMetrics[]> {
  const { layer, signal } = req;
  const reference = held.R!;
  const metrics: AttackLayerMetrics[] = [];
  // Method B's PCA depends on the reference and the seed only: fitted once, used for every attack.
  const hullShared: ConvexHullShared = {};
  for (const [ai, attack] of advAttacks.entries()) {
    throwIfAborted('runStudy', signal);
    const c = crafted.get(attack)!;
    const originalClass = Int32Array.from(c.rows, (r) => c.set.original[r]!);
    const predictedClass = Int32Array.from(c.rows, (r) => c.set.predicted[r]!);
    const base = { reference, referenceLabels: req.reference.labels, queries: c.acts, originalClass, predictedClass };
    const span = 0.5 / Math.max(1, advAttacks.length);
    const from = 0.25 + ai * span;
    const methodA = await knnClassCounts(base, { k: req.k, ...(signal ? { signal } : {}), onProgress: sub(from, from + span * 0.3) });
    const kpr = await knnPercentileRank(
      { ...base, calibration: T, calibrationLabels: req.test.labels },
      { k: req.k, ...(signal ? { signal } : {}), onProgress: sub(from + span * 0.3, from + span * 0.6) },
    );
    const ncd = await normalizedCentroidDistance(base);
    const entry: AttackLayerMetrics = {
      attack,
      layer,
      queries: c.rows.length,
      knnClassCounts: plainPairs(methodA.pairs),
      knnPercentileRank: plainPairs(kpr.pairs),
      normalizedCentroidDistance: plainPairs(ncd.pairs),
    };
    if (req.methodB) {
      // Method B only for the reported pairs (it is the expensive metric).
      const wanted = req.pairs.get(attack) ?? [];
      const qRows = indicesWhere(c.rows.length, (i) => wanted.some((w) => w.original === originalClass[i] && w.predicted === predictedClass[i]));
      if (qRows.length > 0) {
        const hull = await convexHullProximityShared(
          {
            referenceInputs: req.referenceInputs,
            referenceActivations: reference,
            referenceLabels: req.reference.labels,
            queries: takeRows(c.acts, qRows),
            originalClass: Int32Array.from(qRows, (i) => originalClass[i]!),
            predictedClass: Int32Array.from(qRows, (i) => predictedClass[i]!),
          },
          { k: req.k, seed: req.seed, ...(signal ? { signal } : {}), onProgress: sub(from + span * 0.6, from + span) },
          hullShared,
        );
        entry.convexHullProximity = plainPairs(hull.pairs);
        entry.preImages = hull.pairs.map((p) => {
          const q = p.queryIndices[0]!;
          const cols = hull.preImages.cols;
          return { original: p.original, predicted: p.predicted, query: qRows[q]!, image: Array.from(hull.preImages.data.subarray(q * cols, (q + 1) * cols)) };
        });
        entry.methodB = {
          pcaComponents: hull.pcaComponents,
          pcaExplainedVariance: hull.pcaExplainedVariance,
          timings: { ...hull.timings },
          unconverged: hull.solver.unconverged,
        };
      }
    }
    metrics.push(entry);
  }
  return metrics;
}
