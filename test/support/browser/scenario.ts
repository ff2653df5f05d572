/**
 * The browser scenario of test/browser.test.ts: one small seeded model with fixed weights, run
 * through probeLayers, a short carliniWagnerL2 and projectUmap on whatever backend is active.
 * The same module runs in Node (reference, cpu backend) and, bundled by esbuild, in Chromium.
 * It imports only the browser entry of the library and tfjs: no Node built-ins.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { carliniWagnerL2, probeLayers, projectUmap } from '../../../src/index.js';
import { backendFloatPrecision } from '../../../src/backend/precision.js';

/** Plain numbers only, so that the result crosses page.evaluate unchanged. */
export interface ScenarioResult {
  backend: string;
  /** 32 or 16 (`backend.floatPrecision()`), or 0 when the backend does not say. */
  floatPrecision: number;
  /** The library's measured storage precision of the backend ({@link backendFloatPrecision}). */
  measuredPrecision: number;
  layers: Array<{ name: string; cols: number; data: number[] }>;
  labels: number[];
  cw: { success: number[]; distance: number[]; predicted: number[]; totalIterations: number };
  umap: { rows: number; cols: number; data: number[]; seed: number; nEpochs: number; knnIndices: number[]; knnDistances: number[] };
  /** A one-epoch embedding of the same data: separates start-layout differences from drift. */
  umapOneEpoch: number[];
  /** Whether a second projectUmap with the same seed gave the same embedding bit for bit. */
  umapRepeatIdentical: boolean;
  leakedTensors: number;
}

/** Deterministic pseudo-random numbers in [-1, 1] without any RNG state (fixed weights). */
function fixed(n: number, salt: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sin(12.9898 * (i + 1) + 78.233 * salt) * 0.9;
  return out;
}

/** The 8 → 6 (relu) → 3 model with fixed weights. */
export function buildScenarioModel(): tfl.LayersModel {
  const model = tfl.sequential({
    layers: [
      tfl.layers.dense({ units: 6, inputShape: [8], name: 'hidden' }),
      tfl.layers.activation({ activation: 'relu', name: 'relu' }),
      tfl.layers.dense({ units: 3, name: 'logits' }),
    ],
  });
  const shapes: number[][] = [[8, 6], [6], [6, 3], [3]];
  const tensors = shapes.map((s, k) => tf.tensor(fixed(s.reduce((a, b) => a * b, 1), k + 1), s));
  model.setWeights(tensors);
  for (const t of tensors) t.dispose();
  return model;
}

/** Inputs in [0.1, 0.9]: `rows` examples of 8 values. */
export function scenarioInputs(rows: number, salt: number): Float32Array {
  return fixed(rows * 8, salt).map((v) => 0.5 + 0.4 * v);
}

export const PROBE_ROWS = 12;
export const UMAP_ROWS = 40;

/** Runs the scenario on the active backend and returns its numbers. */
export async function runScenario(): Promise<ScenarioResult> {
  await tf.ready();
  const model = buildScenarioModel();
  const x = tf.tensor2d(scenarioInputs(PROBE_ROWS, 11), [PROBE_ROWS, 8]);
  try {
    const set = await probeLayers(model, x, { layers: ['hidden', 'relu', 'logits'] });
    const layers = ['hidden', 'relu', 'logits'].map((name) => {
      const a = set.get(name).activations;
      return { name, cols: a.cols, data: Array.from(a.data) };
    });
    set.dispose();

    // Labels: the model's own prediction, so that the attack has a class to leave.
    const logits = layers[2]!;
    const labels: number[] = [];
    for (let i = 0; i < PROBE_ROWS; i++) {
      const row = logits.data.slice(i * 3, i * 3 + 3);
      labels.push(row.indexOf(Math.max(...row)));
    }
    const r = await carliniWagnerL2(model, x, labels, {
      maxIterations: 40,
      binarySearchSteps: 3,
      initialConst: 1,
      learningRate: 0.05,
    });
    const cw = {
      success: Array.from(r.success),
      distance: Array.from(r.distance),
      predicted: Array.from(r.predicted),
      totalIterations: r.totalIterations,
    };
    r.dispose();

    const umapData = { data: scenarioInputs(UMAP_ROWS, 23), rows: UMAP_ROWS, cols: 8 };
    const u = await projectUmap(umapData, { nNeighbors: 6, nEpochs: 60, seed: 7 });
    const umap = {
      rows: u.embedding.rows,
      cols: u.embedding.cols,
      data: Array.from(u.embedding.data),
      seed: u.seed,
      nEpochs: u.nEpochs,
      knnIndices: Array.from(u.neighbours.indices),
      knnDistances: Array.from(u.neighbours.distances),
    };
    const again = await projectUmap(umapData, { nNeighbors: 6, nEpochs: 60, seed: 7 });
    const umapRepeatIdentical = again.embedding.data.every((v, i) => Object.is(v, u.embedding.data[i]));
    const u1 = await projectUmap(umapData, { nNeighbors: 6, nEpochs: 1, seed: 7 });
    const umapOneEpoch = Array.from(u1.embedding.data);

    const backendObj = tf.backend() as { floatPrecision?: () => number };
    return {
      backend: tf.getBackend(),
      floatPrecision: typeof backendObj.floatPrecision === 'function' ? backendObj.floatPrecision() : 0,
      measuredPrecision: backendFloatPrecision(),
      layers,
      labels,
      cw,
      umap,
      umapOneEpoch,
      umapRepeatIdentical,
      leakedTensors: 0,
    };
  } finally {
    x.dispose();
    model.dispose();
  }
}

/** runScenario plus the tensor count check (model weights freed by model.dispose()). */
export async function runScenarioChecked(): Promise<ScenarioResult> {
  const before = tf.memory().numTensors;
  const r = await runScenario();
  r.leakedTensors = tf.memory().numTensors - before;
  return r;
}
