// Determinism: the same seed gives bit-identical results on the same backend (cpu) for an attack,
// the rubbish class, a stratified data subset, PCA and UMAP, and (on wasm) for the whole study.
// Each is run twice (small sizes).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import { useCpu, tf } from './support/tf.js';
import { carliniWagnerL2, carliniWagnerLinf, fitPca, generateRubbish, projectUmap } from '../src/index.js';
import type { FloatMatrix } from '../src/index.js';
import { loadMnist, runStudy } from '../src/node/index.js';
import type { StudyConfig } from '../src/node/index.js';
import { useWasm } from './support/wasm.js';

let model: tfl.LayersModel;
let x: tf.Tensor2D;

before(async () => {
  await useCpu();
  model = tfl.sequential({
    layers: [tfl.layers.dense({ units: 6, inputShape: [5], activation: 'relu' }), tfl.layers.dense({ units: 3 })],
  });
  const w = model.getWeights().map((t, k) => tf.tensor(Float32Array.from({ length: t.size }, (_, i) => Math.sin(7.3 * i + k)), t.shape));
  model.setWeights(w);
  w.forEach((t) => t.dispose());
  x = tf.tensor2d(Float32Array.from({ length: 4 * 5 }, (_, i) => 0.5 + 0.4 * Math.cos(i * 2.1)), [4, 5]);
});
after(() => {
  model.dispose();
  x.dispose();
});

const sameBits = (a: ArrayLike<number>, b: ArrayLike<number>, what: string) => {
  assert.equal(a.length, b.length, `${what}: lengths differ`);
  for (let i = 0; i < a.length; i++) assert.ok(Object.is(a[i], b[i]), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
};

async function labelsOf(t: tf.Tensor2D): Promise<number[]> {
  const p = tf.tidy(() => tf.argMax(model.predict(t) as tf.Tensor, 1));
  const v = Array.from(await p.data());
  p.dispose();
  return v;
}

test('carliniWagnerL2 and carliniWagnerLinf: same inputs → identical adversarials', async () => {
  const labels = await labelsOf(x);
  const runs = [
    ['carliniWagnerL2', () => carliniWagnerL2(model, x, labels, { maxIterations: 30, binarySearchSteps: 2, initialConst: 1 })],
    ['carliniWagnerLinf', () => carliniWagnerLinf(model, x, labels, { maxIterations: 30, initialConst: 1 })],
  ] as const;
  for (const [name, attack] of runs) {
    const run = async () => {
      const r = await attack();
      const out = { adv: await r.adversarial.data(), distance: r.distance, success: r.success, iterations: r.iterations };
      r.dispose();
      return out;
    };
    const before = tf.memory().numTensors;
    const a = await run();
    const b = await run();
    assert.equal(tf.memory().numTensors, before);
    sameBits(a.adv, b.adv, `${name} adversarial`);
    sameBits(a.distance, b.distance, `${name} distance`);
    sameBits(a.success, b.success, `${name} success`);
    sameBits(a.iterations, b.iterations, `${name} iterations`);
  }
});

test('generateRubbish: same seed → identical noise and rubbish; another seed → other noise', async () => {
  const run = async (seed: number) => {
    const r = await generateRubbish(model, { perClass: 1, seed, maxIterations: 20, binarySearchSteps: 1 });
    const out = { noise: await r.noise.data(), adv: await r.adversarial.data(), seed: r.seed, confidence: r.confidence };
    r.dispose();
    return out;
  };
  const before = tf.memory().numTensors;
  const a = await run(12);
  const b = await run(12);
  const c = await run(13);
  assert.equal(tf.memory().numTensors, before);
  assert.equal(a.seed, 12);
  sameBits(a.noise, b.noise, 'noise');
  sameBits(a.adv, b.adv, 'rubbish');
  sameBits(a.confidence, b.confidence, 'confidence');
  assert.ok(a.noise.some((v, i) => v !== c.noise[i]), 'seed 13 gave the same noise as seed 12');
});

test('loadMnist stratified subset: same seed → the same examples; another seed → others', async () => {
  const load = (seed: number) => loadMnist({ split: 'test', subset: { count: 30, mode: 'stratified', seed } });
  const a = await load(5);
  const b = await load(5);
  const c = await load(6);
  sameBits(a.labels, b.labels, 'labels');
  sameBits(a.images, b.images, 'images');
  const counts = new Array<number>(10).fill(0);
  for (const l of a.labels) counts[l]! += 1;
  assert.deepEqual(counts, new Array<number>(10).fill(3), 'stratified: 3 per class');
  assert.ok(a.images.some((v, i) => v !== c.images[i]), 'seed 6 gave the same subset as seed 5');
});

test('fitPca (randomized) and projectUmap: same seed → identical output', async () => {
  const data: FloatMatrix = { data: Float32Array.from({ length: 60 * 6 }, (_, i) => Math.sin(i * 0.37) + (i % 6) * 0.1 * Math.cos(i)), rows: 60, cols: 6 };
  const pca = () => fitPca(data, { components: 3, method: 'randomized', seed: 9 });
  const p1 = await pca();
  const p2 = await pca();
  sameBits(p1.components.data, p2.components.data, 'pca components');
  sameBits(p1.mean, p2.mean, 'pca mean');
  sameBits(p1.explainedVariance, p2.explainedVariance, 'pca variance');

  const before = tf.memory().numTensors;
  const t = tf.tensor2d(data.data, [60, 6]);
  const umap = () => projectUmap(t, { nNeighbors: 8, nEpochs: 80, seed: 21 });
  const u1 = await umap();
  const u2 = await umap();
  t.dispose();
  assert.equal(tf.memory().numTensors, before);
  assert.equal(u1.seed, 21);
  sameBits(u1.embedding.data, u2.embedding.data, 'umap embedding');
  const u3 = await projectUmap(data, { nNeighbors: 8, nEpochs: 80, seed: 21 });
  sameBits(u1.embedding.data, u3.embedding.data, 'umap embedding from a FloatMatrix vs a tensor');
});

/** Keys whose values are wall times, cache bookkeeping or the output path: the rest must repeat exactly. */
const NOT_RESULTS = new Set(['seconds', 'timings', 'time per stage', 'cached', 'out', 'written']);

/** The study's JSON outputs without {@link NOT_RESULTS}; lists every dropped key path in `dropped`. */
function results(json: string, dropped: Set<string>, path = ''): unknown {
  const walk = (v: unknown, p: string): unknown => {
    if (Array.isArray(v)) return v.map((e) => walk(e, `${p}[]`));
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, e] of Object.entries(v)) {
        if (NOT_RESULTS.has(k)) dropped.add(`${p}.${k}`);
        else if (k === 'notes' && Array.isArray(e)) {
          // Each note ends its numbers with the attack's wall time ("…, 1.4 s"): blank that out.
          out[k] = e.map((n: string) => n.replace(/, \d+\.\d s\b/, ', <wall time> s'));
          dropped.add(`${p}.${k}[] wall time`);
        } else out[k] = walk(e, `${p}.${k}`);
      }
      return out;
    }
    return v;
  };
  return walk(JSON.parse(json), path);
}

/** The first place where two JSON values differ, for the failure message. */
function firstDifference(a: unknown, b: unknown, p = ''): string | null {
  if (Object.is(a, b)) return null;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return `${p}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
  const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
  for (const k of keys) {
    const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${p}.${k}`);
    if (d) return d;
  }
  return null;
}

test('runStudy: the same seed gives identical results.json and report.json (wasm); another seed does not', async () => {
  const config = (out: string, seed: number): StudyConfig => ({
    model: 'mnist-mlp',
    attacks: ['l2', 'rubbish'],
    n: 3,
    rubbishPerClass: 1,
    maxIterations: 30,
    referenceSize: 200,
    testSize: 60,
    umapTestSize: 40,
    k: 5,
    snnlSize: 10,
    snnlRepeats: 1,
    seed,
    out,
  });
  await useWasm();
  const dirs: string[] = [];
  try {
    // Three output folders, so three separate caches: every run computes every stage.
    const run = async (seed: number) => {
      const out = mkdtempSync(join(tmpdir(), 'ae-determinism-'));
      dirs.push(out);
      const r = await runStudy(config(out, seed));
      assert.deepEqual(r.cached, [], 'a fresh output folder must not hit a cache');
      const dropped = new Set<string>();
      return {
        results: results(readFileSync(join(out, 'results.json'), 'utf8'), dropped),
        report: results(readFileSync(join(out, 'report.json'), 'utf8'), dropped),
        dropped,
      };
    };
    const before = tf.memory().numTensors;
    const a = await run(5);
    const b = await run(5);
    const c = await run(6);
    assert.equal(tf.memory().numTensors, before, 'tensor leak');
    // Only wall times (the model's training history included), cache lists and the output path are left out.
    assert.deepEqual([...a.dropped].sort(), [
      '.attacks[].seconds', '.cached', '.config.out', '.config.time per stage', '.layers[].seconds', '.model.metadata.history[].seconds',
      '.notes[] wall time', '.timings',
    ].sort());
    // 30 iterations are too few for CW-L2 to succeed here (its determinism is checked above); the
    // rubbish inputs do succeed, so every layer stage (kNN, centroids, hull, SNNL, UMAP) has queries.
    const attacks = (a.results as { attacks: Array<{ attack: string; attempted: number; succeeded: number }> }).attacks;
    assert.deepEqual(attacks.map((x) => [x.attack, x.attempted]), [['l2', 3], ['rubbish', 10]]);
    assert.ok(attacks[1]!.succeeded >= 5, `rubbish: only ${attacks[1]!.succeeded}/10 crafted`);
    assert.equal(firstDifference(a.results, b.results), null, 'results.json differs between two runs with seed 5');
    assert.equal(firstDifference(a.report, b.report), null, 'report.json differs between two runs with seed 5');
    assert.notEqual(firstDifference(a.results, c.results), null, 'seed 6 gave the same results.json as seed 5');
    assert.notEqual(firstDifference(a.report, c.report), null, 'seed 6 gave the same report.json as seed 5');
  } finally {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    await useCpu();
  }
});
