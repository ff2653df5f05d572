/**
 * attackInWorkers: the same results as the attack run in this thread (bit for bit when the workers
 * use the same backend), examples back in the caller's order, summed progress, abort, typed errors
 * that name the caller's example indices, no leaked tensors; and real wasm workers on the shipped
 * MNIST CNN.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf, useCpu, expectNoLeaks, expectTypedError } from './support/tf.js';
import { carliniWagnerL0, carliniWagnerL2, carliniWagnerLinf } from '../src/attacks/index.js';
import type { AttackResult } from '../src/attacks/index.js';
import { attackInWorkers, AttackWorkerPool } from '../src/parallel/attack-in-workers.js';
import { loadPretrained } from '../src/models/node.js';
import { loadMnist } from '../src/data/mnist.js';
import { InvalidArgumentError, UnsupportedModelError } from '../src/errors.js';
import { createRng } from '../src/internal/rng.js';
import type { Progress } from '../src/types.js';
import { linearLayersModel, randomLinear } from './attacks-support.js';
import { TimesTwo } from './support/custom-layer.js';
import * as tfl from '@tensorflow/tfjs-layers';
import { fileURLToPath } from 'node:url';

before(async () => {
  await useCpu();
});

const SHAPE = [3, 3, 2];
const D = 18;
const K = 4;

function inputsFor(N: number, seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: N * D }, () => 0.1 + 0.8 * rng.next());
}

/** Every per-example field and every adversarial value equal. */
async function assertSameResult(a: AttackResult<object>, b: AttackResult<object>): Promise<void> {
  assert.deepEqual(Array.from(b.success), Array.from(a.success));
  assert.deepEqual(Array.from(b.predicted), Array.from(a.predicted));
  assert.deepEqual(Array.from(b.distance), Array.from(a.distance));
  assert.deepEqual(Array.from(b.constant), Array.from(a.constant));
  assert.deepEqual(Array.from(b.iterations), Array.from(a.iterations));
  assert.equal(b.totalIterations, a.totalIterations);
  assert.deepEqual(Array.from((await b.adversarial.data()) as Float32Array), Array.from((await a.adversarial.data()) as Float32Array));
  assert.deepEqual(b.adversarial.shape, a.adversarial.shape);
  assert.deepEqual(b.options, a.options);
  assert.equal(b.norm, a.norm);
}

test('attackInWorkers gives the in-thread result of each attack, bit for bit, examples in order (3 workers, 7 examples)', async () => {
  const lin = randomLinear(D, K, 11);
  const model = linearLayersModel(lin, SHAPE);
  const N = 7;
  const x = tf.tensor(inputsFor(N, 3), [N, ...SHAPE]);
  const labels = Int32Array.from({ length: N }, (_, i) => i % K);
  const targets = Int32Array.from(labels, (y) => (y + 1) % K);
  const cases = [
    { attack: 'cw-l2', run: carliniWagnerL2, options: { binarySearchSteps: 3, maxIterations: 60, targets } },
    { attack: 'cw-linf', run: carliniWagnerLinf, options: { maxIterations: 40 } },
    { attack: 'cw-l0', run: carliniWagnerL0, options: { maxIterations: 40, targets } },
  ] as const;
  for (const c of cases) {
    const mine = await c.run(model, x, labels, { ...c.options, batchSize: 4 });
    const theirs = await expectNoLeaks(async () => {
      const r = await attackInWorkers(c.attack, model, x, labels, { ...c.options, batchSize: 4 }, { workers: 3, backend: 'cpu' });
      assert.deepEqual(r.pool, { workers: 3, backend: 'cpu', threadsPerWorker: 1, simd: false });
      await assertSameResult(mine, r);
      assert.ok(r.success.some((s) => s === 1), `${c.attack}: some example must succeed for the comparison to mean something`);
      r.dispose();
      return true;
    });
    assert.ok(theirs);
    mine.dispose();
  }
  x.dispose();
  model.dispose();
});

test('AttackWorkerPool runs several attacks in a row on the same workers, each equal to the in-thread run; a closed pool refuses', async () => {
  const lin = randomLinear(D, K, 21);
  const model = linearLayersModel(lin, SHAPE);
  const N = 5;
  const x = tf.tensor(inputsFor(N, 4), [N, ...SHAPE]);
  const labels = Int32Array.from({ length: N }, (_, i) => (i + 1) % K);
  const pool = await AttackWorkerPool.create({ workers: 2, backend: 'cpu' });
  assert.equal(pool.size, 2);
  // Queued: both runs are started at once, and run one after the other.
  const [a, b] = await Promise.all([
    pool.run('cw-l2', model, x, labels, { binarySearchSteps: 2, maxIterations: 50 }),
    pool.run('cw-linf', model, x, labels, { maxIterations: 30 }),
  ]);
  const a0 = await carliniWagnerL2(model, x, labels, { binarySearchSteps: 2, maxIterations: 50 });
  const b0 = await carliniWagnerLinf(model, x, labels, { maxIterations: 30 });
  await assertSameResult(a0, a);
  await assertSameResult(b0, b);
  // An error inside the workers leaves the pool usable.
  await expectTypedError(() => pool.run('cw-l2', model, x, labels, { learningRate: 0 }), InvalidArgumentError, 'options.learningRate');
  const c = await pool.run('cw-l2', model, x, labels, { binarySearchSteps: 2, maxIterations: 50 });
  await assertSameResult(a0, c);
  [a, b, c, a0, b0].forEach((r) => r.dispose());
  await pool.close();
  await expectTypedError(() => pool.run('cw-l2', model, x, labels), InvalidArgumentError, 'closed pool');
  await expectTypedError(() => AttackWorkerPool.create({ workers: 1.5 }), InvalidArgumentError, 'options.workers');
  x.dispose();
  model.dispose();
});

test('attackInWorkers sums progress over workers and stops every worker on abort, returning what was found', async () => {
  const lin = randomLinear(D, K, 5);
  const model = linearLayersModel(lin, SHAPE);
  const N = 6;
  const x = tf.tensor(inputsFor(N, 8), [N, ...SHAPE]);
  const labels = Int32Array.from({ length: N }, (_, i) => i % K);
  const seen: Progress[] = [];
  const full = await attackInWorkers('cw-l2', model, x, labels, { maxIterations: 30, binarySearchSteps: 2, onProgress: (p) => seen.push(p) }, { workers: 2, backend: 'cpu' });
  assert.ok(seen.length >= 2);
  const last = seen.at(-1)!;
  assert.equal(last.total, N);
  assert.equal(last.step, N, 'the last report counts every example finished');
  assert.equal(last.detail?.workers, 2);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i]!.step >= seen[i - 1]!.step);
  assert.equal(full.aborted, false);
  full.dispose();

  const controller = new AbortController();
  const r = await attackInWorkers(
    'cw-l2',
    model,
    x,
    labels,
    { maxIterations: 100_000, binarySearchSteps: 9, abortEarly: false, signal: controller.signal, onProgress: () => controller.abort() },
    { workers: 2, backend: 'cpu' },
  );
  assert.equal(r.aborted, true);
  assert.ok(r.totalIterations < N * 100_000, 'the workers stopped long before the end');
  // Unfinished examples hold the best found so far, or the original input.
  const adv = (await r.adversarial.data()) as Float32Array;
  const orig = (await x.data()) as Float32Array;
  for (let i = 0; i < N; i++) {
    if (r.success[i]) continue;
    assert.deepEqual(Array.from(adv.subarray(i * D, (i + 1) * D)), Array.from(orig.subarray(i * D, (i + 1) * D)));
  }
  r.dispose();

  const pre = new AbortController();
  pre.abort();
  const early = await attackInWorkers('cw-linf', model, x, labels, { signal: pre.signal }, { workers: 2, backend: 'cpu' });
  assert.equal(early.aborted, true);
  early.dispose();
  x.dispose();
  model.dispose();
});

test('attackInWorkers: typed errors name the argument and the caller’s example index (checked before any thread starts); nothing leaks', async () => {
  const lin = randomLinear(D, K, 2);
  const model = linearLayersModel(lin, SHAPE);
  const N = 5;
  const x = tf.tensor(inputsFor(N, 1), [N, ...SHAPE]);
  const labels = Int32Array.from([0, 1, 2, 3, 0]);
  await expectNoLeaks(async () => {
    await expectTypedError(() => attackInWorkers('cw-l2', ((t: tf.Tensor) => t) as never, x, labels), UnsupportedModelError, 'function');
    await expectTypedError(() => attackInWorkers('cw-l3' as never, model, x, labels), InvalidArgumentError, 'attack');
    await expectTypedError(() => attackInWorkers('cw-l2', model, x, Int32Array.from([0, 1, 2, 9, 0])), InvalidArgumentError, 'labels[3]');
    await expectTypedError(() => attackInWorkers('cw-l2', model, x, labels, { targets: [1, 2, 3, 0, 0] }), InvalidArgumentError, 'options.targets[4]');
    const bad = inputsFor(N, 1);
    bad[3 * D + 5] = 1.5;
    const xb = tf.tensor(bad, [N, ...SHAPE]);
    await expectTypedError(() => attackInWorkers('cw-l2', model, xb, labels), InvalidArgumentError, 'example 3, element 5');
    xb.dispose();
    await expectTypedError(() => attackInWorkers('cw-l2', model, x, labels, {}, { workers: 0 }), InvalidArgumentError, 'pool.workers');
    await expectTypedError(() => attackInWorkers('cw-l2', model, x, labels, {}, { threads: 2 } as never), InvalidArgumentError, 'pool.threads');
    await expectTypedError(() => attackInWorkers('cw-l2', model, x, labels, {}, { backend: 'gpu' as never }), InvalidArgumentError, 'pool.backend');
    // Raised inside a worker: the same class, with its fields.
    const e = (await expectTypedError(
      () => attackInWorkers('cw-l2', model, x, labels, { confidence: -1 }, { workers: 2, backend: 'cpu' }),
      InvalidArgumentError,
      'options.confidence',
    )) as InvalidArgumentError;
    assert.equal(e.argument, 'options.confidence');
    assert.match(e.stack ?? '', /in worker \d of attackInWorkers/);
  });
  x.dispose();
  model.dispose();
});

test('setupModules: a model with a custom layer runs once the workers import the module that registers it', async () => {
  const lin = randomLinear(D, K, 9);
  const model = tfl.sequential({ layers: [tfl.layers.flatten({ inputShape: SHAPE }), new TimesTwo({}), tfl.layers.dense({ units: K })] });
  const w = tf.tensor2d(lin.W, [D, K]);
  const b = tf.tensor1d(lin.b);
  model.layers[2]!.setWeights([w, b]);
  tf.dispose([w, b]);
  const N = 3;
  const x = tf.tensor(inputsFor(N, 6), [N, ...SHAPE]);
  const labels = [0, 1, 2];
  const options = { binarySearchSteps: 2, maxIterations: 40 };
  await assert.rejects(() => attackInWorkers('cw-l2', model, x, labels, options, { workers: 2, backend: 'cpu' }), /AemTestTimesTwo/);
  const setup = fileURLToPath(new URL('./support/custom-layer.js', import.meta.url));
  const r = await attackInWorkers('cw-l2', model, x, labels, options, { workers: 2, backend: 'cpu', setupModules: [setup] });
  const mine = await carliniWagnerL2(model, x, labels, options);
  await assertSameResult(mine, r);
  r.dispose();
  mine.dispose();
  x.dispose();
  model.dispose();
});

test('attackInWorkers on the shipped MNIST CNN with wasm workers: wasm really runs, and results hold up to a fresh prediction here', async () => {
  const { model } = await loadPretrained('mnist-cnn');
  const N = 6;
  const set = await loadMnist({ split: 'test', subset: { count: N } });
  const x = tf.tensor4d(set.images, [N, 28, 28, 1]);
  const r = await attackInWorkers('cw-l2', model, x, set.labels, { binarySearchSteps: 1, maxIterations: 300, initialConst: 10 }, { workers: 2 });
  assert.equal(r.pool.backend, 'wasm');
  assert.equal(r.pool.threadsPerWorker, 1);
  assert.equal(r.pool.simd, true);
  assert.ok(r.success.reduce((a, b) => a + b, 0) === N, `the untargeted L2 attacks succeed: ${Array.from(r.success)}`);
  const pred = tf.tidy(() => tf.argMax(model.predict(r.adversarial) as tf.Tensor, 1));
  const here = (await pred.data()) as Int32Array;
  pred.dispose();
  const adv = (await r.adversarial.data()) as Float32Array;
  for (let i = 0; i < N; i++) {
    assert.equal(here[i], r.predicted[i], `example ${i}: predicted on the cpu backend here`);
    assert.equal(r.success[i], here[i] !== set.labels[i] ? 1 : 0);
    let s = 0;
    for (let j = i * 784; j < (i + 1) * 784; j++) {
      assert.ok(adv[j]! >= 0 && adv[j]! <= 1);
      s += (adv[j]! - set.images[j]!) ** 2;
    }
    if (r.success[i]) assert.ok(Math.abs(Math.sqrt(s) - r.distance[i]!) < 1e-4 * Math.max(1, r.distance[i]!));
  }
  r.dispose();
  x.dispose();
  model.dispose();
});
