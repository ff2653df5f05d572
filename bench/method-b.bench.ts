/**
 * Method B (convexHullProximity) on the MNIST CNN of METHODS §8, k = 300, 100 queries per
 * analysis point: time per layer and where it goes (PCA fit, kNN, Gram forming, FISTA).
 *
 * Weights: the shipped pretrained MNIST CNN when `loadPretrained` finds it, otherwise a seeded
 * untrained network (timing depends on the layer widths and the spectra, which training changes;
 * the record says which was used). Queries are MNIST test images standing in for AEs (o = label,
 * p = model prediction, or o + 1 when equal).
 *
 * node build-test/bench/run.js --only method-b [--quick] [--layers conv1,relu2] [--queries 100]
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { convexHullProximity } from '../src/metrics/convex-hull.js';
import { seededSubsample } from '../src/metrics/pca.js';
import { createRng } from '../src/internal/rng.js';
import { createMnistCnn } from '../src/models/index.js';
import { loadPretrained } from '../src/models/pretrained.js';
import type { FloatMatrix } from '../src/types.js';
import { emit, mnistDataDir, note, peakRssMB } from './util.js';
import { loadMnist, useBenchWasm } from './knn-support.js';

const POINTS = ['standardize', 'conv1', 'pool1', 'relu1', 'conv2', 'pool2', 'relu2', 'logits'];

async function activations(model: tfl.LayersModel, names: string[], images: Float32Array, rows: number): Promise<FloatMatrix[]> {
  const sub = tfl.model({ inputs: model.inputs, outputs: names.map((n) => model.getLayer(n).output as tfl.SymbolicTensor) });
  const widths = names.map((n) => (model.getLayer(n).outputShape as number[]).slice(1).reduce((a, b) => a * b, 1));
  const out = widths.map((w) => ({ data: new Float32Array(rows * w), rows, cols: w }));
  const batch = 500;
  for (let r0 = 0; r0 < rows; r0 += batch) {
    const nb = Math.min(rows, r0 + batch) - r0;
    const x = tf.tensor4d(images.subarray(r0 * 784, (r0 + nb) * 784), [nb, 28, 28, 1]);
    const ys = sub.predict(x) as tf.Tensor | tf.Tensor[];
    const list = Array.isArray(ys) ? ys : [ys];
    try {
      for (let i = 0; i < list.length; i++) out[i]!.data.set((await list[i]!.data()) as Float32Array, r0 * widths[i]!);
    } finally {
      x.dispose();
      tf.dispose(list);
    }
  }
  return out;
}

export async function run(args: Record<string, string | true>): Promise<void> {
  const quick = args.quick === true;
  const k = Number(args.k ?? 300);
  const numQueries = Number(args.queries ?? (quick ? 20 : 100));
  const numReference = Number(args.reference ?? (quick ? 5000 : 50000));
  const layers = typeof args.layers === 'string' ? args.layers.split(',') : POINTS;
  const seed = 7;
  const backend = await useBenchWasm(2);
  note(`method-b: backend ${JSON.stringify(backend)}`);
  let model: tfl.LayersModel;
  let weights = 'untrained (seed 1)';
  try {
    model = (await loadPretrained('mnist-cnn')).model;
    weights = 'pretrained mnist-cnn';
  } catch (e) {
    note(`method-b: pretrained weights unavailable (${(e as Error).message}); using an untrained CNN`);
    model = createMnistCnn({ seed: 1 });
  }
  const dir = mnistDataDir();
  const train = loadMnist(dir, 'train');
  const test = loadMnist(dir, 't10k', numQueries);
  // The same seeded 50,000-row subsample as convexHullProximity's own (so it keeps them all).
  const keep = seededSubsample(createRng(seed), train.rows, Math.min(numReference, train.rows));
  const refImages = new Float32Array(keep.length * 784);
  keep.forEach((r, i) => refImages.set(train.data.subarray(r * 784, (r + 1) * 784), i * 784));
  const refLabels = Int32Array.from(keep, (r) => train.labels[r]!);
  const tAct = performance.now();
  const names = [...new Set(['standardize', ...layers, 'logits'])];
  const refActs = await activations(model, names, refImages, keep.length);
  const qActs = await activations(model, names, test.data, test.rows);
  const actSec = (performance.now() - tAct) / 1000;
  const logits = qActs[names.indexOf('logits')]!;
  const predicted = new Int32Array(test.rows);
  for (let i = 0; i < test.rows; i++) {
    let best = 0;
    for (let c = 1; c < 10; c++) if (logits.data[i * 10 + c]! > logits.data[i * 10 + best]!) best = c;
    predicted[i] = best === test.labels[i] ? (best + 1) % 10 : best;
  }
  emit({ bench: 'method-b-setup', weights, referenceRows: keep.length, queries: test.rows, activationSec: actSec, ...backend });
  const inputs = refActs[names.indexOf('standardize')]!;
  for (const layer of layers) {
    const li = names.indexOf(layer);
    const t0 = performance.now();
    const r = await convexHullProximity(
      { referenceInputs: inputs, referenceActivations: refActs[li]!, referenceLabels: refLabels, queries: qActs[li]!, originalClass: test.labels, predictedClass: predicted },
      { k, seed, maxReference: 50000 },
    );
    const sec = (performance.now() - t0) / 1000;
    emit({
      bench: 'method-b',
      layer,
      dims: refActs[li]!.cols,
      k,
      queries: test.rows,
      referenceRows: r.referenceRows,
      pcaComponents: r.pcaComponents,
      seconds: sec,
      secondsPerQuery: sec / test.rows,
      phases: r.timings,
      solver: r.solver,
      meanDistanceOriginal: r.pairs.length ? r.original.reduce((a, b) => a + b, 0) / test.rows : null,
      meanDistancePredicted: r.predicted.reduce((a, b) => a + b, 0) / test.rows,
      peakRssMB: peakRssMB(),
    });
  }
}
