import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMnistMlp } from '../src/models/index.js';
import { evaluateClassifier, trainClassifier } from '../src/models/node.js';
import type { TrainResult } from '../src/models/node.js';
import { randomCropFlip } from '../src/models/augment.js';
import { loadMnist } from '../src/data/mnist.js';
import { createRng } from '../src/internal/rng.js';
import { AbortedError, InvalidArgumentError, ShapeMismatchError } from '../src/errors.js';
import type { ImageSet } from '../src/data/types.js';
import { expectNoLeaks, expectTypedError, tf, useCpu } from './support/tf.js';

await useCpu();
const root = mkdtempSync(join(tmpdir(), 'ae-train-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));

const train = await loadMnist({ split: 'train', subset: { count: 320, mode: 'stratified', seed: 1 } });
const test10 = await loadMnist({ split: 'test', subset: { count: 200 } });

async function weightsOf(r: TrainResult): Promise<number[]> {
  const out: number[] = [];
  for (const w of r.model.getWeights()) out.push(...(await w.data()));
  return out;
}

test('training learns, echoes seed and options, decays the learning rate, leaks nothing', async () => {
  const model = createMnistMlp({ seed: 1 });
  const before = (await evaluateClassifier(model, test10)).accuracy;
  const r = await expectNoLeaks(() => trainClassifier(model, train, test10, { epochs: 3, seed: 9, lrDecayEvery: 2, batchSize: 32 }));
  assert.equal(r.seed, 9);
  assert.equal(r.options.batchSize, 32);
  assert.equal(r.history.length, 3);
  assert.deepEqual(r.history.map((h) => h.learningRate), [1e-3, 1e-3, 1e-4]);
  assert.ok(r.history[2]!.trainLoss < r.history[0]!.trainLoss);
  assert.ok(r.testAccuracy > 0.6 && r.testAccuracy > before + 0.3, `accuracy ${before} -> ${r.testAccuracy}`);
  assert.equal(r.resumedFromEpoch, 0);
  model.dispose();
});

test('checkpoint resume: interrupted and resumed equals uninterrupted with the same seed', async () => {
  const opts = { epochs: 2, seed: 5, batchSize: 16, lrDecayEvery: 1 };
  const m1 = createMnistMlp({ seed: 3 });
  const straight = await trainClassifier(m1, train, test10, { ...opts, checkpointDir: join(root, 'straight') });

  const dir = join(root, 'resumed');
  const m2 = createMnistMlp({ seed: 3 });
  const ac = new AbortController();
  await expectNoLeaks(() =>
    expectTypedError(
      () =>
        trainClassifier(m2, train, test10, {
          ...opts,
          checkpointDir: dir,
          signal: ac.signal,
          onProgress: (p) => {
            if (p.stage === 'train' && p.detail?.epoch === 2 && (p.detail.batch ?? 0) >= 10) ac.abort('test interrupt');
          },
        }),
      AbortedError,
      'test interrupt',
    ),
  );
  m2.dispose();
  assert.ok(existsSync(join(dir, 'state.json')));

  const m3 = createMnistMlp({ seed: 99 }); // different initial weights: the checkpoint must overwrite them
  const resumed = await expectNoLeaks(() => trainClassifier(m3, train, test10, { ...opts, checkpointDir: dir }));
  assert.equal(resumed.resumedFromEpoch, 1);
  assert.equal(resumed.history.length, 2);
  assert.deepEqual(await weightsOf(resumed), await weightsOf(straight));
  assert.equal(resumed.testAccuracy, straight.testAccuracy);

  // Same command again: nothing left to train, same model back.
  const m4 = createMnistMlp({ seed: 98 });
  const again = await trainClassifier(m4, train, test10, { ...opts, checkpointDir: dir });
  assert.equal(again.resumedFromEpoch, 2);
  assert.deepEqual(await weightsOf(again), await weightsOf(straight));
  for (const m of [m1, m3, m4]) m.dispose();
});

test('a checkpoint made with other settings is refused', async () => {
  const dir = join(root, 'mismatch');
  const m = createMnistMlp({ seed: 1 });
  await trainClassifier(m, train, test10, { epochs: 1, seed: 1, checkpointDir: dir });
  await expectTypedError(() => trainClassifier(m, train, test10, { epochs: 2, seed: 1, batchSize: 32, checkpointDir: dir }), InvalidArgumentError, 'options.checkpointDir');
  m.dispose();
});

test('bad arguments are typed errors naming the argument', async () => {
  const m = createMnistMlp({ seed: 1 });
  await expectTypedError(() => trainClassifier(m, train, test10, { epochs: 0 }), InvalidArgumentError, 'options.epochs');
  await expectTypedError(() => trainClassifier(m, train, test10, { bogus: 1 } as never), InvalidArgumentError, 'options.bogus');
  await expectTypedError(() => trainClassifier({} as never, train, test10), InvalidArgumentError, 'model');
  const wrong: ImageSet = { ...train, images: new Float32Array(8 * 32 * 32 * 3), labels: new Int32Array(8), shape: [8, 32, 32, 3] };
  await expectTypedError(() => trainClassifier(m, wrong, test10), ShapeMismatchError, 'trainSet.shape');
  const badLabels: ImageSet = { ...test10, labels: Int32Array.from(test10.labels, (v, i) => (i === 3 ? 12 : v)) };
  await expectTypedError(() => trainClassifier(m, train, badLabels), InvalidArgumentError, 'testSet.labels[3]');
  const ac = new AbortController();
  ac.abort();
  await expectTypedError(() => trainClassifier(m, train, test10, { signal: ac.signal }), AbortedError, 'trainClassifier');
  m.dispose();
});

test('randomCropFlip: seeded, flips, shifts with zero fill', () => {
  const h = 3;
  const w = 4;
  const img = Float32Array.from({ length: h * w }, (_, i) => i + 1);
  const flipped = Float32Array.from(img);
  // padding 0 + flip: either unchanged or mirrored, decided by the rng
  const rng = createRng(1);
  randomCropFlip(flipped, 1, h, w, 1, rng, { padding: 0, flip: true });
  const mirrored = Float32Array.from({ length: h * w }, (_, i) => img[Math.floor(i / w) * w + (w - 1 - (i % w))]!);
  const firstFlip = createRng(1).next() < 0.5;
  assert.deepEqual(flipped, firstFlip ? mirrored : img);
  // padding 1, no flip: a shift of at most one pixel, new border pixels are 0
  const batch = new Float32Array(50 * h * w);
  for (let n = 0; n < 50; n++) batch.set(img, n * h * w);
  const copy = Float32Array.from(batch);
  randomCropFlip(batch, 50, h, w, 1, createRng(2), { padding: 1, flip: false });
  randomCropFlip(copy, 50, h, w, 1, createRng(2), { padding: 1, flip: false });
  assert.deepEqual(batch, copy);
  let shifted = 0;
  for (let n = 0; n < 50; n++) {
    const out = batch.subarray(n * h * w, (n + 1) * h * w);
    for (const v of out) assert.ok(v === 0 || img.includes(v));
    if (out.some((v, i) => v !== img[i])) shifted++;
  }
  assert.ok(shifted > 30, `${shifted} of 50 shifted`);
});

test('evaluateClassifier counts correctly and leaks nothing', async () => {
  const m = createMnistMlp({ seed: 1 });
  const r = await expectNoLeaks(() => evaluateClassifier(m, test10, { batchSize: 64 }));
  const x = tf.tensor(test10.images, test10.shape);
  const pred = tf.argMax(m.predict(x) as tf.Tensor, 1);
  const p = await pred.data();
  const want = p.filter((v, i) => v === test10.labels[i]).length / test10.labels.length;
  assert.equal(r.accuracy, want);
  assert.equal(r.count, 200);
  tf.dispose([x, pred]);
  m.dispose();
});
