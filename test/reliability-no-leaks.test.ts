// No leaks over time: public functions called in a loop (10 iterations, tiny inputs) must leave
// tf.memory().numTensors flat on cpu; the same loop runs on wasm in a child process (the wasm
// backend initialises once per process), where numTensors, numDataIds and the wasm heap must stay
// flat after warm-up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as tfl from '@tensorflow/tfjs-layers';
import { tf, useCpu } from './support/tf.js';
import {
  carliniWagnerL2,
  convexHullProximity,
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
  softNearestNeighborLoss,
} from '../src/index.js';

const CHILD_FLAG = 'AE_RELIABILITY_WASM_CHILD';
const ITERATIONS = 10;

interface Sample {
  numTensors: number;
  numDataIds: number;
  heapBytes: number;
}

/** One round of public calls on tiny inputs; everything returned is disposed. */
async function round(model: tfl.LayersModel): Promise<void> {
  const x = tf.tensor2d(Float32Array.from({ length: 6 * 4 }, (_, i) => 0.5 + 0.4 * Math.sin(i)), [6, 4]);
  const ref = tf.tensor2d(Float32Array.from({ length: 12 * 4 }, (_, i) => ((Math.floor(i / 4) % 3) === i % 4 ? 1 : 0) + 0.1 * Math.sin(i * 1.7)), [12, 4]);
  const labels = Array.from({ length: 12 }, (_, i) => i % 3);
  const q = tf.slice(ref, [0, 0], [3, 4]);
  const cls = { reference: ref, referenceLabels: labels, queries: q, originalClass: [0, 1, 2], predictedClass: [1, 2, 0] };
  try {
    listLayers(model);
    (await probeLayers(model, x, { layers: 'all' })).dispose();
    (await probeLayers(model, x, { layers: 'all', output: 'tensors' })).dispose();
    const pred = tf.tidy(() => tf.argMax(model.predict(x) as tf.Tensor, 1));
    const lab = Array.from(await pred.data());
    pred.dispose();
    (await carliniWagnerL2(model, x, lab, { maxIterations: 5, binarySearchSteps: 1 })).dispose();
    (await generateRubbish(model, { perClass: 1, seed: 1, maxIterations: 5, binarySearchSteps: 1 })).dispose();
    await knnSearch(ref, q, { k: 3 });
    await normalizedCentroidDistance(cls);
    await knnClassCounts(cls, { k: 3 });
    await knnPercentileRank({ ...cls, calibration: ref, calibrationLabels: labels }, { k: 2 });
    await convexHullProximity(
      { referenceInputs: ref, referenceActivations: ref, referenceLabels: labels, queries: q, originalClass: cls.originalClass, predictedClass: cls.predictedClass },
      { k: 3 },
    );
    await fitPca(ref, { components: 2, seed: 1 });
    softNearestNeighborLoss(ref, labels, { temperature: 1 }).dispose();
    await optimalSnnl(ref, labels);
    await projectUmap(ref, { nNeighbors: 4, nEpochs: 10, seed: 1 });
  } finally {
    x.dispose();
    ref.dispose();
    q.dispose();
  }
}

function buildModel(): tfl.LayersModel {
  return tfl.sequential({
    layers: [tfl.layers.dense({ units: 5, inputShape: [4], activation: 'relu', name: 'h' }), tfl.layers.dense({ units: 3, name: 'out' })],
  });
}

function sample(): Sample {
  const m = tf.memory() as tf.MemoryInfo & { numDataIds?: number };
  const b = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return { numTensors: m.numTensors, numDataIds: m.numDataIds ?? -1, heapBytes: b.wasm?.HEAPU8?.length ?? -1 };
}

async function loop(): Promise<Sample[]> {
  const samples: Sample[] = [sample()]; // before the model exists
  const model = buildModel();
  for (let i = 0; i < ITERATIONS; i++) {
    await round(model);
    samples.push(sample());
  }
  model.dispose();
  samples.push(sample());
  return samples;
}

if (process.env[CHILD_FLAG] === '1') {
  // Child mode: run the loop on wasm and print the samples as one JSON line.
  const { useWasmBackend } = await import('../src/backend/index.js');
  await useWasmBackend({ threads: 1 });
  const samples = await loop();
  process.stdout.write(JSON.stringify({ backend: tf.getBackend(), samples }) + '\n');
} else {
  test(`${ITERATIONS} rounds of public calls leave numTensors flat (cpu)`, { timeout: 60_000 }, async () => {
    await useCpu();
    const s = await loop();
    const counts = s.map((v) => v.numTensors);
    assert.equal(counts.at(-1), counts[0], `tensors before the model ${counts[0]}, after model.dispose() ${counts.at(-1)} (per round: ${counts.join(' ')})`);
    assert.ok(counts.slice(1, -1).every((c) => c === counts[1]), `numTensors not flat over the rounds: ${counts.join(' ')}`);
  });

  test(`${ITERATIONS} rounds on wasm (child process): numTensors, numDataIds and the wasm heap stay flat`, { timeout: 90_000 }, () => {
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url)], { env: { ...process.env, [CHILD_FLAG]: '1' }, encoding: 'utf8', timeout: 80_000 });
    assert.equal(r.status, 0, `wasm child failed: ${r.stderr}`);
    const line = r.stdout.trim().split('\n').at(-1) ?? '';
    const out = JSON.parse(line) as { backend: string; samples: Sample[] };
    assert.equal(out.backend, 'wasm');
    const s = out.samples;
    assert.equal(s.at(-1)!.numTensors, s[0]!.numTensors, 'tensors left after the loop on wasm');
    assert.ok(s.slice(1, -1).every((v) => v.numTensors === s[1]!.numTensors), `numTensors: ${s.map((v) => v.numTensors).join(' ')}`);
    assert.ok(s.slice(1, -1).every((v) => v.numDataIds === s[1]!.numDataIds), `numDataIds: ${s.map((v) => v.numDataIds).join(' ')}`);
    // the heap may grow while the first rounds warm up; after round 3 it must not grow any more
    const heap = s.map((v) => v.heapBytes);
    assert.ok(heap[3]! > 0, 'wasm heap size not readable');
    assert.ok(heap.slice(3, -1).every((h) => h === heap[3]), `wasm heap grew after warm-up: ${heap.join(' ')}`);
    console.log(`# wasm: numTensors ${s[1]!.numTensors} flat, heap ${(heap[3]! / 2 ** 20).toFixed(1)} MiB flat over rounds 3-${ITERATIONS}`);
  });
}
