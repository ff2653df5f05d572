import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { evaluateClassifier, loadPretrained, PRETRAINED_MODELS } from '../src/models/node.js';
import type { PretrainedName } from '../src/models/node.js';
import { loadDataset } from '../src/data/load-dataset.js';
import { packageRoot } from '../src/node/package-root.js';
import { expectNoLeaks } from './support/tf.js';
import { useWasm } from './support/wasm.js';

// The records were measured on wasm, and the CIFAR-10 CNN takes minutes on the cpu backend.
await useWasm();

/** The study's floors for the shipped models (issue 4). */
const TARGET: Record<PretrainedName, number> = { 'mnist-mlp': 0.98, 'mnist-cnn': 0.99, 'cifar10-cnn': 0.8 };
const readme = existsSync(join(packageRoot(), 'models', 'README.md')) ? readFileSync(join(packageRoot(), 'models', 'README.md'), 'utf8') : '';

for (const name of Object.keys(PRETRAINED_MODELS) as PretrainedName[]) {
  const shipped = existsSync(join(packageRoot(), 'models', name, 'model.json'));
  test(`shipped ${name}: accuracy on the first 1,000 test images matches its record`, { skip: shipped ? false : `${name} is not shipped yet` }, async () => {
    const { model, metadata } = await loadPretrained(name);
    try {
      assert.equal(metadata.name, name);
      assert.equal(metadata.dataset, PRETRAINED_MODELS[name].dataset);
      assert.deepEqual(metadata.layers, model.layers.map((l) => l.name));
      assert.ok(metadata.testAccuracy >= TARGET[name], `${name}: recorded test accuracy ${metadata.testAccuracy} < ${TARGET[name]}`);
      const recorded = metadata.first1000TestAccuracy as number;
      assert.equal(typeof recorded, 'number');
      const test1000 = await loadDataset(metadata.dataset as 'mnist' | 'cifar10', { split: 'test', subset: { count: 1000 } });
      const { accuracy } = await expectNoLeaks(() => evaluateClassifier(model, test1000, { batchSize: 250 }));
      // Same backend as the record; the tolerance allows one borderline image on another thread count.
      assert.ok(Math.abs(accuracy - recorded) <= 0.001, `${name}: first 1,000 accuracy ${accuracy} vs recorded ${recorded}`);
      // models/README.md states the same full-test-set figure.
      assert.ok(readme.includes(`${(metadata.testAccuracy * 100).toFixed(2)} %`), `models/README.md gives ${name}'s test accuracy`);
    } finally {
      model.dispose();
    }
  });
}
