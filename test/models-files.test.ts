import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import { createCifarCnn, createMnistMlp } from '../src/models/index.js';
import { folderIOHandler, loadModelFromFolder, loadPretrained, saveModelToFolder } from '../src/models/node.js';
import { DataUnavailableError, InvalidArgumentError } from '../src/errors.js';
import { expectNoLeaks, expectTypedError, tf, useCpu } from './support/tf.js';

await useCpu();
const root = mkdtempSync(join(tmpdir(), 'ae-models-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));

async function samePredictions(a: tfl.LayersModel, b: tfl.LayersModel, shape: number[]): Promise<void> {
  const x = tf.randomUniform(shape, 0, 1, 'float32', 3);
  const ya = a.predict(x) as tf.Tensor;
  const yb = b.predict(x) as tf.Tensor;
  assert.deepEqual(await yb.data(), await ya.data());
  tf.dispose([x, ya, yb]);
}

test('save and load round trip: MLP with metadata, same predictions, no leaks', async () => {
  await expectNoLeaks(async () => {
    const dir = join(root, 'mlp');
    const model = createMnistMlp({ seed: 4 });
    await saveModelToFolder(model, dir, { dataset: 'mnist', note: 'round trip' });
    const files = readdirSync(dir).sort();
    assert.equal(files.length, 2);
    assert.equal(files[0], 'model.json');
    assert.match(files[1]!, /^weights-[0-9a-f]{12}\.bin$/);
    const { model: loaded, metadata } = await loadModelFromFolder(dir);
    assert.deepEqual(metadata, { dataset: 'mnist', note: 'round trip' });
    assert.deepEqual(loaded.layers.map((l) => l.name), model.layers.map((l) => l.name));
    await samePredictions(model, loaded, [4, 28, 28, 1]);
    model.dispose();
    loaded.dispose();
  });
});

test('round trip of the CIFAR CNN keeps custom layers and BatchNorm statistics', async () => {
  await expectNoLeaks(async () => {
    const dir = join(root, 'cifar');
    const model = createCifarCnn({ seed: 5 });
    // Move the BatchNorm moving statistics away from their initial values.
    const mm = model.getLayer('bn8').getWeights()[2]!;
    const moved = tf.fill(mm.shape, 0.5);
    const w = model.getLayer('bn8').getWeights();
    model.getLayer('bn8').setWeights([w[0]!, w[1]!, w[2]!, moved]);
    moved.dispose();
    await model.save(folderIOHandler(dir));
    const loaded = await tfl.loadLayersModel(folderIOHandler(dir));
    assert.equal(loaded.getLayer('standardize').getClassName(), 'Standardization');
    assert.equal(loaded.getLayer('pad3').getClassName(), 'ReplicatePadding2D');
    await samePredictions(model, loaded, [2, 32, 32, 3]);
    model.dispose();
    loaded.dispose();
  });
});

test('saving again replaces the weights file; nothing temporary is left behind', async () => {
  const dir = join(root, 'again');
  const a = createMnistMlp({ seed: 1 });
  const b = createMnistMlp({ seed: 2 });
  await saveModelToFolder(a, dir);
  const first = readdirSync(dir).find((f) => f.endsWith('.bin'));
  await saveModelToFolder(b, dir);
  const files = readdirSync(dir);
  assert.equal(files.length, 2, files.join(','));
  assert.ok(!files.includes(first!));
  const { model } = await loadModelFromFolder(dir);
  await samePredictions(b, model, [2, 28, 28, 1]);
  for (const m of [a, b, model]) m.dispose();
});

test('missing or corrupt folders give DataUnavailableError', async () => {
  await expectTypedError(() => loadModelFromFolder(join(root, 'nothing-here')), DataUnavailableError, 'model.json');
  const dir = join(root, 'corrupt');
  const m = createMnistMlp({ seed: 1 });
  await saveModelToFolder(m, dir);
  m.dispose();
  const bin = readdirSync(dir).find((f) => f.endsWith('.bin'))!;
  writeFileSync(join(dir, bin), readFileSync(join(dir, bin)).subarray(0, 100));
  await expectTypedError(() => loadModelFromFolder(dir), DataUnavailableError, 'corrupt');
  rmSync(join(dir, bin));
  await expectTypedError(() => loadModelFromFolder(dir), DataUnavailableError, 'missing');
});

test('bad arguments are typed errors', async () => {
  await expectTypedError(() => saveModelToFolder({} as never, join(root, 'x')), InvalidArgumentError, 'model');
  await expectTypedError(() => folderIOHandler(''), InvalidArgumentError, 'folder');
  await expectTypedError(() => loadPretrained('mnist-rnn' as never), InvalidArgumentError, 'name');
});

test('loadPretrained says how to train a model that is not shipped', async () => {
  // An empty models folder: every name is "not shipped", whatever this checkout ships.
  const empty = join(root, 'no-models');
  mkdirSync(empty, { recursive: true });
  for (const name of ['cifar10-cnn', 'mnist-cnn', 'mnist-mlp'] as const) {
    await expectTypedError(() => loadPretrained(name, { modelsDir: empty }), DataUnavailableError, /ae-manifold train --dataset/);
  }
});
