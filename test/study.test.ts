/**
 * The study end to end on the shipped MNIST MLP at a tiny size: every stage runs, the report is
 * written, a rerun comes from the cache, a changed setting recomputes only what it touches, an
 * abort leaves no half-written file, and no tensor leaks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { AbortedError, InvalidArgumentError } from '../src/index.js';
import { runStudy, resolveStudyConfig } from '../src/node/index.js';
import type { StudyConfig } from '../src/node/index.js';
import { useWasm } from './support/wasm.js';
import { craftInputs } from '../src/study/craft.js';
import { AttackWorkerPool } from '../src/parallel/attack-in-workers.js';
import { StageCache } from '../src/study/stage-cache.js';
import { loadPretrained } from '../src/models/node.js';
import { loadMnist } from '../src/data/mnist.js';
import { expectTypedError, tf } from './support/tf.js';

const tiny = (out: string): StudyConfig => ({
  model: 'mnist-mlp',
  attacks: ['l2', 'rubbish'],
  n: 4,
  rubbishPerClass: 1,
  maxIterations: 300,
  referenceSize: 400,
  testSize: 120,
  umapTestSize: 60,
  k: 8,
  snnlSize: 20,
  snnlRepeats: 2,
  // The C&W examples are crafted on a two-worker pool (runStudy's pool path).
  attackWorkers: 2,
  seed: 5,
  out,
});

function allFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? allFiles(join(dir, e.name)) : [join(dir, e.name)]));
}

test('runStudy: a tiny MNIST-MLP study writes the report, reuses its cache and recomputes only what a change touches', async () => {
  await useWasm();
  const out = mkdtempSync(join(tmpdir(), 'ae-study-'));
  try {
    const before = tf.memory().numTensors;
    const first = await runStudy(tiny(out));
    assert.equal(tf.memory().numTensors, before, 'tensor leak');
    assert.deepEqual(first.cached, []);
    assert.equal(first.config.seed, 5);
    // Every analysis point of the MLP (METHODS.md §2): input + 2 × (dense, relu) + logits.
    assert.deepEqual(first.layers.map((l) => l.layer), ['standardize', 'dense1', 'relu1', 'dense2', 'relu2', 'logits']);
    const l2 = first.attacks.find((a) => a.attack === 'l2')!;
    assert.equal(l2.attempted, 4);
    assert.ok(l2.succeeded >= 1, 'CW-L2 found no adversarial example');
    // Method A counts over a two-class reference add up to k for every reported pair.
    for (const layer of first.layers) {
      const m = layer.metrics.find((x) => x.attack === 'l2')!;
      for (const p of m.knnClassCounts) {
        assert.ok(Math.abs(p.summaries.original!.mean + p.summaries.predicted!.mean - 8) < 1e-9);
      }
      assert.equal(layer.hidden, layer.layer !== 'standardize' && layer.layer !== 'logits');
      if (layer.hidden) {
        assert.equal(layer.umap.length, 1);
        assert.equal(layer.snnl.length, 2); // test vs l2, test vs rubbish
      }
    }
    for (const f of ['index.html', 'report.json', 'results.json']) assert.ok(existsSync(join(out, f)), f);
    const html = readFileSync(join(out, 'index.html'), 'utf8');
    assert.match(html, /<svg/);
    assert.ok(!allFiles(out).some((f) => f.includes('.tmp')), 'temporary file left behind');

    const again = await runStudy(tiny(out));
    assert.deepEqual(again.cached, ['craft-l2', 'craft-rubbish', ...first.layers.map((l) => `layer-${l.layer}`)]);
    assert.deepEqual(again.attacks, first.attacks);

    // One Adam step from noise cannot reach 0.9 confidence as often as the full budget: the
    // rubbish-only budget must reach the recipe, not just the cache key.
    const changed = await runStudy({ ...tiny(out), k: 6, rubbishMaxIterations: 1, rubbishBinarySearchSteps: 1 });
    assert.deepEqual(changed.cached, ['craft-l2'], 'changing k must keep CW-L2 and redo the layers; the rubbish settings redo only the rubbish');
    const rubbishOf = (r: typeof first) => r.attacks.find((a) => a.attack === 'rubbish')!.succeeded;
    assert.ok(rubbishOf(changed) < rubbishOf(first), `rubbish successes ${rubbishOf(changed)} with one step vs ${rubbishOf(first)}`);

    // A subset of the layers reuses their cached analyses, and a study without hidden layers (no
    // SNNL, no UMAP) still writes its report.
    const logitsOnly = await runStudy({ ...tiny(out), k: 6, rubbishMaxIterations: 1, rubbishBinarySearchSteps: 1, layers: ['logits'] });
    assert.deepEqual(logitsOnly.layers.map((l) => l.layer), ['logits']);
    assert.deepEqual(logitsOnly.cached, ['craft-l2', 'craft-rubbish', 'layer-logits']);
    assert.doesNotMatch(readFileSync(join(out, 'index.html'), 'utf8'), /id="snnl"/);
    assert.equal(tf.memory().numTensors, before, 'tensor leak');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('runStudy: an abort stops with AbortedError and leaves no half-written file', async () => {
  await useWasm();
  const out = mkdtempSync(join(tmpdir(), 'ae-study-abort-'));
  try {
    const before = tf.memory().numTensors;
    const ac = new AbortController();
    let seen = 0;
    await expectTypedError(
      () =>
        runStudy(tiny(out), {
          signal: ac.signal,
          onProgress: (p) => {
            if (p.stage === 'craft-rubbish' && ++seen === 1) ac.abort(new Error('test abort'));
          },
        }),
      AbortedError,
      'runStudy',
    );
    assert.equal(tf.memory().numTensors, before, 'tensor leak after abort');
    assert.ok(!existsSync(join(out, 'index.html')));
    assert.ok(!allFiles(out).some((f) => f.includes('.tmp')), 'temporary file left behind');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('resolveStudyConfig: defaults and typed errors', async () => {
  const c = resolveStudyConfig({ seed: 1 });
  assert.equal(c.model, 'mnist-cnn');
  assert.deepEqual(c.attacks, ['l0', 'l2', 'linf', 'rubbish']);
  assert.equal(c.k, 300);
  assert.equal(c.referenceSize, 'all');
  assert.equal(c.rubbishMaxIterations, null);
  assert.equal(c.rubbishBinarySearchSteps, null);
  await expectTypedError(() => resolveStudyConfig({ rubbishMaxIterations: 0 }), InvalidArgumentError, 'config.rubbishMaxIterations');
  await expectTypedError(() => resolveStudyConfig({ rubbishBinarySearchSteps: 1.5 }), InvalidArgumentError, 'config.rubbishBinarySearchSteps');
  await expectTypedError(() => resolveStudyConfig({ attacks: ['l3' as 'l2'] }), InvalidArgumentError, 'config.attacks');
  await expectTypedError(() => resolveStudyConfig({ n: 0 }), InvalidArgumentError, 'config.n');
  await expectTypedError(() => resolveStudyConfig({ nn: 3 } as StudyConfig), InvalidArgumentError, 'options.nn');
  assert.equal(c.attackWorkers, 1);
  assert.equal(resolveStudyConfig({ attackWorkers: 'auto' }).attackWorkers, availableParallelism());
  await expectTypedError(() => resolveStudyConfig({ attackWorkers: 0 }), InvalidArgumentError, 'config.attackWorkers');
});

test('craftInputs: C&W examples crafted by two worker threads equal those crafted in this thread (wasm, one thread each), so the cache key may ignore the worker count', async () => {
  await useWasm();
  const { model } = await loadPretrained('mnist-mlp');
  const set = await loadMnist({ split: 'test', subset: { count: 6 } });
  const out = mkdtempSync(join(tmpdir(), 'aem-craft-'));
  try {
    const pool = await AttackWorkerPool.create({ workers: 2 });
    const request = (attackPool: (() => Promise<AttackWorkerPool>) | null, dir: string) => ({
      attack: 'linf' as const,
      model,
      images: set.images,
      exampleShape: [28, 28, 1],
      labels: set.labels,
      sourceIndex: Int32Array.from({ length: 6 }, (_, i) => i),
      preset: 'fast' as const,
      maxIterations: 50,
      rubbishMaxIterations: null,
      rubbishBinarySearchSteps: null,
      batchSize: 128,
      attackPool,
      rubbishPerClass: 1,
      seed: 1,
      cacheKey: { test: 1 },
      cache: new StageCache(join(out, dir)),
    });
    const before = tf.memory().numTensors;
    const here = await craftInputs(request(null, 'a'));
    // The progress of a pooled run says how many workers ran it: proof that the pool was used.
    const workersSeen = new Set<number | undefined>();
    const there = await craftInputs({ ...request(async () => pool, 'b'), onProgress: (p) => workersSeen.add(p.detail?.workers) });
    assert.deepEqual([...workersSeen], [2]);
    assert.equal(tf.memory().numTensors, before);
    assert.equal(here.cached, false);
    assert.equal(there.cached, false);
    assert.ok(here.set.success.some((v) => v === 1), 'some attack must succeed for the comparison to mean something');
    assert.deepEqual(Array.from(there.set.success), Array.from(here.set.success));
    assert.deepEqual(Array.from(there.set.predicted), Array.from(here.set.predicted));
    assert.deepEqual(Array.from(there.set.distance), Array.from(here.set.distance));
    assert.deepEqual(Array.from(there.set.images), Array.from(here.set.images));
    await pool.close();
  } finally {
    rmSync(out, { recursive: true, force: true });
    model.dispose();
  }
});
