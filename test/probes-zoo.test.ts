import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { useCpu, expectNoLeaks, tf } from './support/tf.js';
import { listLayers, probeLayers } from '../src/probes/index.js';
import { createCifarCnn, createMnistCnn, createMnistMlp } from '../src/models/index.js';

before(async () => {
  await useCpu();
});

const defaults = (m: Parameters<typeof listLayers>[0]) => listLayers(m).filter((l) => l.isDefault).map((l) => l.name);

test('default analysis points of the model zoo match METHODS.md §8 (6 / 8 / 19 points)', () => {
  const mlp = defaults(createMnistMlp({ seed: 1 }));
  assert.equal(mlp.length, 6, mlp.join(', '));
  const cnn = defaults(createMnistCnn({ seed: 1, softmax: true }));
  assert.deepEqual(cnn, ['standardize', 'conv1', 'pool1', 'relu1', 'conv2', 'pool2', 'relu2', 'logits']);
  const cifar = defaults(createCifarCnn({ seed: 1 }));
  assert.equal(cifar.length, 19, cifar.join(', '));
  assert.equal(cifar[0], 'standardize');
  assert.ok(cifar.every((n) => !/^(pad|bn|dropout|flatten)/.test(n)), cifar.join(', '));
});

test('probeLayers on the MNIST CNN: widths of METHODS.md §8, point 0 is the normalised input', async () => {
  const model = createMnistCnn({ seed: 2 });
  const x = tf.randomUniform([5, 28, 28, 1], 0, 1, 'float32', 3);
  const set = await expectNoLeaks(() => probeLayers(model, x, { batchSize: 2 }));
  assert.deepEqual(set.layers.map((l) => l.size), [784, 9216, 2304, 2304, 1024, 256, 256, 10]);
  const px = await x.data();
  const z = set.get('standardize').activations.data;
  const { mean, std } = { mean: 0.13066041, std: 0.30150411 };
  for (let i = 0; i < 50; i++) assert.ok(Math.abs(z[i]! - (px[i]! - mean) / std) < 1e-4);
  x.dispose();
});
