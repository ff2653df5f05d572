// Bad inputs across the public API of both entries ('ae-manifold' and 'ae-manifold/node'): each
// case must be rejected with a typed AeManifoldError subclass whose message names the argument,
// and leave no tensor behind. Table-driven; the number of cases is printed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import { useCpu, tf } from './support/tf.js';
import {
  AbortedError,
  AeManifoldError,
  DataUnavailableError,
  InvalidArgumentError,
  ShapeMismatchError,
  UnsupportedModelError,
  carliniWagnerL0,
  carliniWagnerL2,
  carliniWagnerLinf,
  convexHullProximity,
  createRng,
  fitPca,
  generateRubbish,
  knnClassCounts,
  knnPercentileRank,
  knnSearch,
  listLayers,
  normalizedCentroidDistance,
  optimalSnnl,
  probeLayers,
  projectUmap,
  projectUmapMap,
  renderReport,
  reportFromJson,
  softNearestNeighborLoss,
} from '../src/index.js';
import type { FloatMatrix } from '../src/index.js';
import {
  loadCifar10,
  loadFashionMnist,
  loadMnist,
  loadModelFromFolder,
  resolveStudyConfig,
  saveModelToFolder,
  useWasmBackend,
} from '../src/node/index.js';

type ErrorClass = new (...args: never[]) => Error;
interface Case {
  fn: string;
  what: string;
  run: () => unknown;
  cls: ErrorClass;
  /** The argument the message must name. */
  arg: string | RegExp;
  /**
   * 'throw' (default): must throw. 'aborted-result': the attacks' documented behaviour for a
   * signal (AttackResult.aborted): resolve with `aborted: true`, every tensor freed by dispose().
   */
  mode?: 'throw' | 'aborted-result';
}

const M = (rows: number, cols: number, f: (i: number) => number = (i) => Math.sin(i * 1.3) * 0.5 + 0.5): FloatMatrix => ({
  data: Float32Array.from({ length: rows * cols }, (_, i) => f(i)),
  rows,
  cols,
});
/** 12 rows, 4 columns, three separated classes (labels 0,1,2 repeating). */
const REF = M(12, 4, (i) => ((Math.floor(i / 4) % 3) === Math.floor(i % 4) ? 1 : 0) + 0.05 * Math.sin(i));
const REF_LABELS = Array.from({ length: 12 }, (_, i) => i % 3);
const Q = M(3, 4);
const ORIG = [0, 1, 2];
const PRED = [1, 2, 0];
const withNaN = (m: FloatMatrix): FloatMatrix => {
  const d = Float32Array.from(m.data);
  d[1] = Number.NaN;
  return { data: d, rows: m.rows, cols: m.cols };
};
const withInf = (m: FloatMatrix): FloatMatrix => {
  const d = Float32Array.from(m.data);
  d[2] = Number.POSITIVE_INFINITY;
  return { data: d, rows: m.rows, cols: m.cols };
};
const aborted = (): AbortSignal => {
  const ac = new AbortController();
  ac.abort(new Error('stop'));
  return ac.signal;
};

let model: tfl.LayersModel;
let x: tf.Tensor2D; // [2, 4] in [0, 1]
let tmp = '';

before(async () => {
  await useCpu();
  model = tfl.sequential({ layers: [tfl.layers.dense({ units: 3, inputShape: [4], name: 'logits' })] });
  const w = [tf.tensor2d([1, -1, 0.5, -0.5, 1, 0.2, 0.3, -0.7, 1, 0.1, 0.9, -0.4], [4, 3]), tf.tensor1d([0.1, 0, -0.1])];
  model.setWeights(w);
  w.forEach((t) => t.dispose());
  x = tf.tensor2d([0.2, 0.4, 0.6, 0.8, 0.9, 0.1, 0.3, 0.5], [2, 4]);
  tmp = mkdtempSync(join(tmpdir(), 'ae-bad-inputs-'));
});
after(() => {
  model.dispose();
  x.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

/** Runs `make(t)` with temporary tensors from `alloc`, disposing them afterwards. */
function withTensor<T extends tf.Tensor>(alloc: () => T, use: (t: T) => unknown): () => Promise<unknown> {
  return async () => {
    const t = alloc();
    try {
      return await use(t);
    } finally {
      t.dispose();
    }
  };
}

const W43 = () => tf.tensor2d([1, -1, 0.5, -0.5, 1, 0.2, 0.3, -0.7, 1, 0.1, 0.9, -0.4], [4, 3]);

function attackCases(name: string, attackFn: unknown): Case[] {
  const attack = attackFn as (model: unknown, x: tf.Tensor, labels: number[], options: Record<string, unknown>) => Promise<unknown>;
  const fast = { maxIterations: 5, binarySearchSteps: 1 } as const;
  const opts = (o: Record<string, unknown>) => (name === 'carliniWagnerL2' ? { ...fast, ...o } : { maxIterations: 5, ...o });
  return [
    { fn: name, what: 'labels of the wrong length', run: () => attack(model, x, [0], opts({})), cls: AeManifoldError, arg: 'labels' },
    { fn: name, what: 'label out of range', run: () => attack(model, x, [0, 7], opts({})), cls: InvalidArgumentError, arg: 'labels' },
    { fn: name, what: 'negative label', run: () => attack(model, x, [-1, 0], opts({})), cls: InvalidArgumentError, arg: 'labels' },
    { fn: name, what: 'non-integer label', run: () => attack(model, x, [0.5, 1], opts({})), cls: InvalidArgumentError, arg: 'labels' },
    { fn: name, what: 'NaN input', run: withTensor(() => tf.tensor2d([NaN, 0, 0, 0, 0, 0, 0, 0], [2, 4]), (t) => attack(model, t, [0, 1], opts({}))), cls: InvalidArgumentError, arg: 'inputs' },
    { fn: name, what: 'input outside the bounds', run: withTensor(() => tf.tensor2d([1.5, 0, 0, 0, 0, 0, 0, 0], [2, 4]), (t) => attack(model, t, [0, 1], opts({}))), cls: InvalidArgumentError, arg: 'inputs' },
    { fn: name, what: 'rank-1 input', run: withTensor(() => tf.zeros([4]), (t) => attack(model, t, [0], opts({}))), cls: AeManifoldError, arg: 'inputs' },
    { fn: name, what: 'int32 input', run: withTensor(() => tf.zeros([2, 4], 'int32'), (t) => attack(model, t, [0, 1], opts({}))), cls: AeManifoldError, arg: 'inputs' },
    { fn: name, what: 'empty input', run: withTensor(() => tf.zeros([0, 4]), (t) => attack(model, t, [], opts({}))), cls: AeManifoldError, arg: 'inputs' },
    { fn: name, what: 'negative confidence', run: () => attack(model, x, [0, 1], opts({ confidence: -1 })), cls: InvalidArgumentError, arg: 'options.confidence' },
    { fn: name, what: 'NaN learning rate', run: () => attack(model, x, [0, 1], opts({ learningRate: NaN })), cls: InvalidArgumentError, arg: 'options.learningRate' },
    { fn: name, what: 'zero iterations', run: () => attack(model, x, [0, 1], opts({ maxIterations: 0 })), cls: InvalidArgumentError, arg: 'options.maxIterations' },
    { fn: name, what: 'unknown option', run: () => attack(model, x, [0, 1], opts({ confidance: 1 })), cls: InvalidArgumentError, arg: 'confidance' },
    { fn: name, what: 'targets equal to labels', run: () => attack(model, x, [0, 1], opts({ targets: [0, 1] })), cls: InvalidArgumentError, arg: 'targets' },
    { fn: name, what: 'targets of the wrong length', run: () => attack(model, x, [0, 1], opts({ targets: [2] })), cls: AeManifoldError, arg: 'targets' },
    { fn: name, what: 'inverted bounds', run: () => attack(model, x, [0, 1], opts({ bounds: [1, 0] })), cls: InvalidArgumentError, arg: 'options.bounds' },
    { fn: name, what: 'not a model', run: () => attack('model' as never, x, [0, 1], opts({})), cls: AeManifoldError, arg: 'model' },

    { fn: name, what: 'aborted signal', run: () => attack(model, x, [0, 1], opts({ signal: aborted() })), cls: AbortedError, arg: /abort/i, mode: 'aborted-result' },
  ];
}

function cases(): Case[] {
  const out: Case[] = [
    ...attackCases('carliniWagnerL2', carliniWagnerL2),
    ...attackCases('carliniWagnerL0', carliniWagnerL0),
    ...attackCases('carliniWagnerLinf', carliniWagnerLinf),
    // rubbish class
    { fn: 'generateRubbish', what: 'perClass 0', run: () => generateRubbish(model, { perClass: 0, maxIterations: 5 }), cls: InvalidArgumentError, arg: 'options.perClass' },
    { fn: 'generateRubbish', what: 'minConfidence 2', run: () => generateRubbish(model, { minConfidence: 2, maxIterations: 5 }), cls: InvalidArgumentError, arg: 'options.minConfidence' },
    { fn: 'generateRubbish', what: 'unknown noise', run: () => generateRubbish(model, { noise: 'pink' as never, maxIterations: 5 }), cls: InvalidArgumentError, arg: 'options.noise' },
    { fn: 'generateRubbish', what: 'target out of range', run: () => generateRubbish(model, { targets: [5], maxIterations: 5 }), cls: InvalidArgumentError, arg: 'targets' },
    { fn: 'generateRubbish', what: 'function model without shape', run: withTensor(W43, (w) => generateRubbish((t) => tf.matMul(t as tf.Tensor2D, w), { maxIterations: 5 })), cls: InvalidArgumentError, arg: 'options.shape' },
    { fn: 'generateRubbish', what: 'aborted signal', run: () => generateRubbish(model, { maxIterations: 5, signal: aborted() }), cls: AbortedError, arg: /abort/i, mode: 'aborted-result' },
    // probes
    { fn: 'probeLayers', what: 'unknown layer', run: () => probeLayers(model, x, { layers: ['nope'] }), cls: InvalidArgumentError, arg: 'options.layers' },
    { fn: 'probeLayers', what: 'layer index out of range', run: () => probeLayers(model, x, { layers: [99] }), cls: InvalidArgumentError, arg: 'options.layers' },
    { fn: 'probeLayers', what: 'inputs of the wrong width', run: withTensor(() => tf.zeros([2, 5]), (t) => probeLayers(model, t)), cls: AeManifoldError, arg: 'inputs' },
    { fn: 'probeLayers', what: 'NaN inputs', run: withTensor(() => tf.tensor2d([NaN, 0, 0, 0], [1, 4]), (t) => probeLayers(model, t)), cls: InvalidArgumentError, arg: 'inputs' },
    { fn: 'probeLayers', what: 'Infinity in flat inputs', run: () => probeLayers(model, { data: new Float32Array([Infinity, 0, 0, 0]), shape: [1, 4] }), cls: InvalidArgumentError, arg: 'inputs' },
    { fn: 'probeLayers', what: 'flat inputs with a wrong length', run: () => probeLayers(model, { data: new Float32Array(7), shape: [2, 4] }), cls: AeManifoldError, arg: 'inputs' },
    { fn: 'probeLayers', what: 'empty inputs', run: withTensor(() => tf.zeros([0, 4]), (t) => probeLayers(model, t)), cls: AeManifoldError, arg: 'inputs' },
    { fn: 'probeLayers', what: 'batchSize 0', run: () => probeLayers(model, x, { batchSize: 0 }), cls: InvalidArgumentError, arg: 'options.batchSize' },
    { fn: 'probeLayers', what: 'not a model', run: () => probeLayers({} as never, x), cls: AeManifoldError, arg: 'model' },
    { fn: 'probeLayers', what: 'aborted signal', run: () => probeLayers(model, x, { signal: aborted() }), cls: AbortedError, arg: /abort/i },
    { fn: 'listLayers', what: 'not a model', run: () => listLayers(42 as never), cls: AeManifoldError, arg: 'model' },
    // kNN engine
    { fn: 'knnSearch', what: 'k larger than the reference', run: () => knnSearch(REF, Q, { k: 13 }), cls: InvalidArgumentError, arg: 'options.k' },
    { fn: 'knnSearch', what: 'k 0', run: () => knnSearch(REF, Q, { k: 0 }), cls: InvalidArgumentError, arg: 'options.k' },
    { fn: 'knnSearch', what: 'k not an integer', run: () => knnSearch(REF, Q, { k: 1.5 }), cls: InvalidArgumentError, arg: 'options.k' },
    { fn: 'knnSearch', what: 'queries of another width', run: () => knnSearch(REF, M(2, 3), { k: 1 }), cls: AeManifoldError, arg: 'queries' },
    { fn: 'knnSearch', what: 'NaN in the reference', run: () => knnSearch(withNaN(REF), Q, { k: 1 }), cls: InvalidArgumentError, arg: 'reference' },
    { fn: 'knnSearch', what: 'Infinity in the queries', run: () => knnSearch(REF, withInf(Q), { k: 1 }), cls: InvalidArgumentError, arg: 'queries' },
    { fn: 'knnSearch', what: 'empty reference', run: () => knnSearch(M(0, 4), Q, { k: 1 }), cls: AeManifoldError, arg: 'reference' },
    { fn: 'knnSearch', what: 'matrix data of the wrong length', run: () => knnSearch({ data: new Float32Array(5), rows: 2, cols: 3 }, Q, { k: 1 }), cls: AeManifoldError, arg: 'reference' },
    { fn: 'knnSearch', what: 'rank-3 tensor', run: withTensor(() => tf.zeros([2, 2, 2]), (t) => knnSearch(t as never, Q, { k: 1 })), cls: AeManifoldError, arg: 'reference' },
    { fn: 'knnSearch', what: 'NaN in a tensor reference', run: withTensor(() => tf.tensor2d([NaN, 0, 0, 0, 1, 1, 1, 1], [2, 4]), (t) => knnSearch(t, Q, { k: 1 })), cls: InvalidArgumentError, arg: 'reference' },
    { fn: 'knnSearch', what: 'a plain array', run: () => knnSearch([[1, 2]] as never, Q, { k: 1 }), cls: AeManifoldError, arg: 'reference' },
    { fn: 'knnSearch', what: 'missing options', run: () => knnSearch(REF, Q, undefined as never), cls: InvalidArgumentError, arg: 'options' },
    { fn: 'knnSearch', what: 'aborted signal', run: () => knnSearch(REF, Q, { k: 1, signal: aborted() }), cls: AbortedError, arg: /abort/i },
    // metrics
    { fn: 'normalizedCentroidDistance', what: 'referenceLabels of the wrong length', run: () => normalizedCentroidDistance({ reference: REF, referenceLabels: [0, 1], queries: Q, originalClass: ORIG, predictedClass: PRED }), cls: AeManifoldError, arg: 'referenceLabels' },
    { fn: 'normalizedCentroidDistance', what: 'originalClass of a class not in the reference', run: () => normalizedCentroidDistance({ reference: REF, referenceLabels: REF_LABELS, queries: Q, originalClass: [0, 1, 9], predictedClass: PRED }), cls: InvalidArgumentError, arg: /referenceLabels|originalClass/ },
    { fn: 'normalizedCentroidDistance', what: 'predictedClass of the wrong length', run: () => normalizedCentroidDistance({ reference: REF, referenceLabels: REF_LABELS, queries: Q, originalClass: ORIG, predictedClass: [1] }), cls: AeManifoldError, arg: 'predictedClass' },
    { fn: 'normalizedCentroidDistance', what: 'unknown normalize', run: () => normalizedCentroidDistance({ reference: REF, referenceLabels: REF_LABELS, queries: Q, originalClass: ORIG, predictedClass: PRED }, { normalize: 'z' as never }), cls: InvalidArgumentError, arg: 'options.normalize' },
    { fn: 'normalizedCentroidDistance', what: 'NaN query', run: () => normalizedCentroidDistance({ reference: REF, referenceLabels: REF_LABELS, queries: withNaN(Q), originalClass: ORIG, predictedClass: PRED }), cls: InvalidArgumentError, arg: 'queries' },
    { fn: 'knnPercentileRank', what: 'k larger than a class', run: () => knnPercentileRank({ reference: REF, referenceLabels: REF_LABELS, queries: Q, originalClass: ORIG, predictedClass: PRED, calibration: REF, calibrationLabels: REF_LABELS }, { k: 50 }), cls: InvalidArgumentError, arg: 'options.k' },
    { fn: 'knnPercentileRank', what: 'calibrationLabels of the wrong length', run: () => knnPercentileRank({ reference: REF, referenceLabels: REF_LABELS, queries: Q, originalClass: ORIG, predictedClass: PRED, calibration: REF, calibrationLabels: [0] }, { k: 2 }), cls: AeManifoldError, arg: 'calibrationLabels' },
    { fn: 'knnPercentileRank', what: 'calibration of another width', run: () => knnPercentileRank({ reference: REF, referenceLabels: REF_LABELS, queries: Q, originalClass: ORIG, predictedClass: PRED, calibration: M(12, 3), calibrationLabels: REF_LABELS }, { k: 2 }), cls: AeManifoldError, arg: 'calibration' },
    { fn: 'knnPercentileRank', what: 'aborted signal', run: () => knnPercentileRank({ reference: REF, referenceLabels: REF_LABELS, queries: Q, originalClass: ORIG, predictedClass: PRED, calibration: REF, calibrationLabels: REF_LABELS }, { k: 2, signal: aborted() }), cls: AbortedError, arg: /abort/i },
    { fn: 'knnClassCounts', what: 'k larger than the reference', run: () => knnClassCounts({ reference: REF, referenceLabels: REF_LABELS, queries: Q, originalClass: ORIG, predictedClass: PRED }, { k: 100 }), cls: InvalidArgumentError, arg: 'options.k' },
    { fn: 'knnClassCounts', what: 'negative reference label', run: () => knnClassCounts({ reference: REF, referenceLabels: REF_LABELS.map((l, i) => (i === 0 ? -1 : l)), queries: Q, originalClass: ORIG, predictedClass: PRED }, { k: 2 }), cls: InvalidArgumentError, arg: 'referenceLabels' },
    { fn: 'knnClassCounts', what: 'queries of another width', run: () => knnClassCounts({ reference: REF, referenceLabels: REF_LABELS, queries: M(3, 2), originalClass: ORIG, predictedClass: PRED }, { k: 2 }), cls: AeManifoldError, arg: 'queries' },
    { fn: 'convexHullProximity', what: 'inputs and activations of different rows', run: () => convexHullProximity({ referenceInputs: M(10, 4), referenceActivations: REF, referenceLabels: REF_LABELS, queries: Q, originalClass: ORIG, predictedClass: PRED }, { k: 2 }), cls: AeManifoldError, arg: /referenceInputs|referenceActivations/ },
    { fn: 'convexHullProximity', what: 'k 0', run: () => convexHullProximity({ referenceInputs: REF, referenceActivations: REF, referenceLabels: REF_LABELS, queries: Q, originalClass: ORIG, predictedClass: PRED }, { k: 0 }), cls: InvalidArgumentError, arg: 'options.k' },
    { fn: 'convexHullProximity', what: 'NaN in the reference inputs', run: () => convexHullProximity({ referenceInputs: withNaN(REF), referenceActivations: REF, referenceLabels: REF_LABELS, queries: Q, originalClass: ORIG, predictedClass: PRED }, { k: 2 }), cls: InvalidArgumentError, arg: 'referenceInputs' },
    { fn: 'fitPca', what: 'more components than columns', run: () => fitPca(REF, { components: 9 }), cls: InvalidArgumentError, arg: 'options.components' },
    { fn: 'fitPca', what: 'NaN sample', run: () => fitPca(withNaN(REF)), cls: InvalidArgumentError, arg: 'sample' },
    { fn: 'fitPca', what: 'empty sample', run: () => fitPca(M(0, 4)), cls: AeManifoldError, arg: 'sample' },
    { fn: 'fitPca', what: 'unknown method', run: () => fitPca(REF, { method: 'svd' as never }), cls: InvalidArgumentError, arg: 'options.method' },
    { fn: 'fitPca', what: 'varianceThreshold 1.5', run: () => fitPca(REF, { varianceThreshold: 1.5 }), cls: InvalidArgumentError, arg: 'options.varianceThreshold' },
    { fn: 'softNearestNeighborLoss', what: 'temperature 0', run: () => softNearestNeighborLoss(REF, REF_LABELS, { temperature: 0 }), cls: InvalidArgumentError, arg: 'options.temperature' },
    { fn: 'softNearestNeighborLoss', what: 'labels of the wrong length', run: () => softNearestNeighborLoss(REF, [0, 1], { temperature: 1 }), cls: AeManifoldError, arg: 'labels' },
    { fn: 'softNearestNeighborLoss', what: 'NaN x', run: () => softNearestNeighborLoss(withNaN(REF), REF_LABELS, { temperature: 1 }), cls: InvalidArgumentError, arg: 'x' },
    { fn: 'softNearestNeighborLoss', what: 'missing options', run: () => softNearestNeighborLoss(REF, REF_LABELS, undefined as never), cls: InvalidArgumentError, arg: /options/ },
    { fn: 'optimalSnnl', what: 'labels of the wrong length', run: () => optimalSnnl(REF, [0, 1, 2]), cls: AeManifoldError, arg: 'labels' },
    { fn: 'optimalSnnl', what: 'Infinity in x', run: () => optimalSnnl(withInf(REF), REF_LABELS), cls: InvalidArgumentError, arg: 'x' },
    // projection
    { fn: 'projectUmap', what: 'nNeighbors larger than the data', run: () => projectUmap(REF, { nNeighbors: 50, seed: 1 }), cls: InvalidArgumentError, arg: 'options.nNeighbors' },
    { fn: 'projectUmap', what: 'NaN data', run: () => projectUmap(withNaN(REF), { nNeighbors: 3, seed: 1 }), cls: InvalidArgumentError, arg: 'data' },
    { fn: 'projectUmap', what: 'empty data', run: () => projectUmap(M(0, 4), { seed: 1 }), cls: AeManifoldError, arg: 'data' },
    { fn: 'projectUmap', what: 'seed not an integer', run: () => projectUmap(REF, { nNeighbors: 3, seed: 0.5 }), cls: InvalidArgumentError, arg: 'options.seed' },
    { fn: 'projectUmap', what: 'minDist negative', run: () => projectUmap(REF, { nNeighbors: 3, minDist: -1, seed: 1 }), cls: InvalidArgumentError, arg: 'options.minDist' },
    { fn: 'projectUmap', what: 'aborted signal', run: () => projectUmap(REF, { nNeighbors: 3, seed: 1, signal: aborted() }), cls: AbortedError, arg: /abort/i },
    { fn: 'projectUmapMap', what: 'labels of the wrong length', run: () => projectUmapMap({ test: { activations: REF, labels: [0, 1] } }, { nNeighbors: 3, seed: 1 }), cls: AeManifoldError, arg: /groups\.test\.labels|labels/ },
    // report
    { fn: 'renderReport', what: 'empty object', run: () => renderReport({} as never), cls: InvalidArgumentError, arg: /data/ },
    { fn: 'reportFromJson', what: 'not JSON', run: () => reportFromJson('{nope'), cls: AeManifoldError, arg: /json/i },
    // utilities
    { fn: 'createRng', what: 'NaN seed', run: () => createRng(NaN), cls: InvalidArgumentError, arg: 'seed' },
    { fn: 'createRng', what: 'non-integer seed', run: () => createRng(1.5), cls: InvalidArgumentError, arg: 'seed' },
    // Node entry: loaders, model files, backend, study
    { fn: 'loadMnist', what: 'missing folder', run: () => loadMnist({ dir: join(tmp, 'no-such-dir') }), cls: DataUnavailableError, arg: /no-such-dir/ },
    { fn: 'loadMnist', what: 'unknown split', run: () => loadMnist({ split: 'val' as never }), cls: InvalidArgumentError, arg: 'options.split' },
    { fn: 'loadMnist', what: 'negative subset count', run: () => loadMnist({ subset: { count: -1 } }), cls: InvalidArgumentError, arg: 'options.subset' },
    { fn: 'loadMnist', what: 'unknown option', run: () => loadMnist({ splitt: 'test' } as never), cls: InvalidArgumentError, arg: 'splitt' },
    { fn: 'loadMnist', what: 'aborted signal', run: () => loadMnist({ subset: { count: 3 }, signal: aborted() }), cls: AbortedError, arg: /abort/i },
    { fn: 'loadFashionMnist', what: 'missing folder', run: () => loadFashionMnist({ dir: join(tmp, 'no-such-dir') }), cls: DataUnavailableError, arg: /no-such-dir/ },
    { fn: 'loadCifar10', what: 'missing folder', run: () => loadCifar10({ dir: join(tmp, 'no-such-dir') }), cls: DataUnavailableError, arg: /no-such-dir/ },
    { fn: 'loadModelFromFolder', what: 'missing folder', run: () => loadModelFromFolder(join(tmp, 'no-model')), cls: DataUnavailableError, arg: /no-model/ },
    { fn: 'saveModelToFolder', what: 'not a model', run: () => saveModelToFolder({} as never, join(tmp, 'out-model')), cls: AeManifoldError, arg: 'model' },
    { fn: 'useWasmBackend', what: 'threads -1', run: () => useWasmBackend({ threads: -1 }), cls: InvalidArgumentError, arg: 'options.threads' },
    { fn: 'resolveStudyConfig', what: 'unknown dataset', run: () => resolveStudyConfig({ dataset: 'imagenet' as never }), cls: InvalidArgumentError, arg: /dataset/ },
    { fn: 'resolveStudyConfig', what: 'n 0', run: () => resolveStudyConfig({ n: 0 }), cls: InvalidArgumentError, arg: /\bn\b/ },
    { fn: 'resolveStudyConfig', what: 'k 0', run: () => resolveStudyConfig({ k: 0 }), cls: InvalidArgumentError, arg: /\bk\b/ },
    { fn: 'resolveStudyConfig', what: 'unknown attack', run: () => resolveStudyConfig({ attacks: ['fgsm' as never] }), cls: InvalidArgumentError, arg: /attacks/ },
    { fn: 'resolveStudyConfig', what: 'unknown key', run: () => resolveStudyConfig({ seeed: 1 } as never), cls: InvalidArgumentError, arg: /seeed/ },
  ];
  return out;
}

const failures: string[] = [];

test('bad inputs are rejected with a typed AeManifoldError naming the argument, without leaks', { timeout: 120_000 }, async () => {
  const all = cases();
  for (const c of all) {
    const label = `${c.fn}: ${c.what}`;
    try {
      await useCpu();
      const before = tf.memory().numTensors;
      let caught: unknown;
      let returned: unknown;
      try {
        returned = await c.run();
      } catch (e) {
        caught = e;
      }
      if (returned && typeof returned === 'object' && typeof (returned as { dispose?: unknown }).dispose === 'function') (returned as { dispose(): void }).dispose();
      else if (returned instanceof tf.Tensor) returned.dispose();
      const leaked = tf.memory().numTensors - before;
      if (c.mode === 'aborted-result') {
        assert.equal(caught, undefined, `threw ${caught instanceof Error ? caught.message : String(caught)}`);
        assert.equal((returned as { aborted?: unknown }).aborted, true, 'result.aborted is not true');
        assert.equal(leaked, 0, `${leaked} tensor(s) left after dispose()`);
        continue;
      }
      assert.ok(caught !== undefined, `did not throw (returned ${returned === undefined ? 'undefined' : typeof returned})`);
      assert.ok(caught instanceof AeManifoldError, `threw ${caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught)}, not an AeManifoldError`);
      assert.ok(caught instanceof c.cls, `threw ${(caught as Error).name}, expected ${c.cls.name}: ${(caught as Error).message}`);
      const msg = (caught as Error).message;
      if (typeof c.arg === 'string') assert.ok(msg.includes(c.arg), `message does not name ${c.arg}: ${msg}`);
      else assert.match(msg, c.arg, `message does not match ${c.arg}`);
      assert.equal(leaked, 0, `${leaked} tensor(s) leaked`);
    } catch (e) {
      failures.push(`${label} → ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    }
  }
  await useCpu(); // useWasmBackend may have been called
  console.log(`# bad-input cases: ${all.length} across ${new Set(all.map((c) => c.fn)).size} public functions; ${all.length - failures.length} passed`);
  assert.deepEqual(failures, [], `${failures.length} bad-input case(s) failed:\n${failures.join('\n')}`);
});

test('every error class derives from AeManifoldError and carries a code', () => {
  for (const e of [new InvalidArgumentError('f', 'a', 'b', 1), new ShapeMismatchError('f', 'a', [1], [2]), new UnsupportedModelError('f', 'm'), new AbortedError('f'), new DataUnavailableError('f', 'm')]) {
    assert.ok(e instanceof AeManifoldError);
    assert.equal(typeof e.code, 'string');
    assert.match(e.message, /^f: /);
  }
});
