import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tfl from '@tensorflow/tfjs-layers';
import {
  createCifarCnn,
  createMnistCnn,
  createMnistMlp,
  createModelFor,
  createReplicatePadding2D,
  createStandardization,
  replicatePad2d,
  ReplicatePadding2D,
  Standardization,
} from '../src/models/index.js';
import { InvalidArgumentError } from '../src/errors.js';
import { NORMALIZATION } from '../src/data/normalization.js';
import { expectNoLeaks, expectTypedError, tf, useCpu } from './support/tf.js';

await useCpu();

/** Analysis points by the rule of METHODS.md §2: the Standardization output, then every layer but Flatten, Dropout, BatchNorm and padding. */
function analysisPoints(model: tfl.LayersModel): string[] {
  const skip = new Set(['InputLayer', 'Flatten', 'Dropout', 'BatchNormalization', 'ReplicatePadding2D']);
  return model.layers.filter((l) => !skip.has(l.getClassName())).map((l) => l.name);
}

test('MNIST MLP: layer names, shapes and the 6 analysis points', async () => {
  await expectNoLeaks(() => {
    const m = createMnistMlp({ seed: 1 });
    assert.deepEqual(
      m.layers.map((l) => l.name),
      ['input', 'standardize', 'flatten', 'dense1', 'relu1', 'dense2', 'relu2', 'logits'],
    );
    assert.deepEqual(m.inputs[0]!.shape, [null, 28, 28, 1]);
    assert.deepEqual(m.getLayer('dense1').outputShape, [null, 128]);
    assert.deepEqual(m.outputs[0]!.shape, [null, 10]);
    assert.equal(m.getLayer('relu1').getClassName(), 'Activation');
    assert.equal(m.countParams(), 784 * 128 + 128 + 128 * 128 + 128 + 128 * 10 + 10);
    assert.deepEqual(analysisPoints(m), ['standardize', 'dense1', 'relu1', 'dense2', 'relu2', 'logits']);
    m.dispose();
  });
});

test('MNIST CNN: the paper group’s net, 8 analysis points with the widths of METHODS.md §8', async () => {
  await expectNoLeaks(() => {
    const m = createMnistCnn({ seed: 1 });
    const pts = analysisPoints(m);
    assert.deepEqual(pts, ['standardize', 'conv1', 'pool1', 'relu1', 'conv2', 'pool2', 'relu2', 'logits']);
    const widths = pts.map((n) => (m.getLayer(n).outputShape as number[]).slice(1).reduce((a, b) => a * b, 1));
    assert.deepEqual(widths, [784, 9216, 2304, 2304, 1024, 256, 256, 10]);
    m.dispose();
  });
});

test('CIFAR-10 CNN: 19 analysis points, replicate padding, BatchNorm eps 1e-5 / momentum 0.9', async () => {
  await expectNoLeaks(() => {
    const m = createCifarCnn({ seed: 1 });
    const pts = analysisPoints(m);
    assert.equal(pts.length, 19);
    assert.deepEqual(pts.slice(0, 4), ['standardize', 'conv1', 'relu1', 'conv2']);
    assert.deepEqual(pts.slice(-3), ['dense1', 'relu7', 'logits']);
    const width = (n: string) => (m.getLayer(n).outputShape as number[]).slice(1).reduce((a, b) => a * b, 1);
    assert.deepEqual(['conv1', 'conv3', 'conv5'].map(width), [32768, 16384, 8192]);
    assert.deepEqual(['pool1', 'pool2', 'pool3'].map(width), [8192, 4096, 2048]);
    assert.equal(m.getLayer('pad1').getClassName(), 'ReplicatePadding2D');
    assert.deepEqual(m.getLayer('pad1').outputShape, [null, 34, 34, 3]);
    const bn = m.getLayer('bn1').getConfig();
    assert.equal(bn.epsilon, 1e-5);
    assert.equal(bn.momentum, 0.9);
    assert.equal(m.getLayer('dropout3').getConfig().rate, 0.4);
    const x = tf.zeros([2, 32, 32, 3]);
    const y = m.predict(x) as tf.Tensor;
    assert.deepEqual(y.shape, [2, 10]);
    tf.dispose([x, y]);
    m.dispose();
  });
});

test('softmax option appends a separate softmax layer; logits are the default output', async () => {
  await expectNoLeaks(async () => {
    const m = createMnistMlp({ seed: 2, softmax: true });
    assert.equal(m.layers[m.layers.length - 1]!.name, 'softmax');
    assert.equal(m.layers[m.layers.length - 2]!.name, 'logits');
    const x = tf.randomUniform([3, 28, 28, 1], 0, 1, 'float32', 5);
    const p = m.predict(x) as tf.Tensor;
    const total = tf.sum(p, 1);
    const sums = await total.array();
    total.dispose();
    for (const s of sums as number[]) assert.ok(Math.abs(s - 1) < 1e-5);
    tf.dispose([x, p]);
    m.dispose();
  });
});

test('seeded weights are reproducible; different seeds differ', async () => {
  await expectNoLeaks(async () => {
    const a = createMnistCnn({ seed: 7 });
    const b = createMnistCnn({ seed: 7 });
    const c = createMnistCnn({ seed: 8 });
    const wa = await a.getWeights()[0]!.data();
    assert.deepEqual(await b.getWeights()[0]!.data(), wa);
    assert.notDeepEqual(await c.getWeights()[0]!.data(), wa);
    for (const m of [a, b, c]) m.dispose();
  });
});

test('createModelFor uses the data set’s constants', () => {
  const m = createModelFor('fashion-mnist', 'cnn', { seed: 1 });
  assert.deepEqual((m.getLayer('standardize') as Standardization).mean, [...NORMALIZATION['fashion-mnist'].mean]);
  m.dispose();
  assert.throws(() => createModelFor('cifar10', 'mlp'), InvalidArgumentError);
});

test('Standardization computes (x - mean) / std per channel and serialises its constants', async () => {
  await expectNoLeaks(async () => {
    const layer = createStandardization({ ...NORMALIZATION.cifar10, name: 'std' });
    const x = tf.tensor4d([0, 0.5, 1, 1, 0, 0.25], [1, 1, 2, 3]);
    const y = layer.apply(x) as tf.Tensor;
    const got = await y.data();
    const { mean, std } = NORMALIZATION.cifar10;
    const want = [0, 0.5, 1, 1, 0, 0.25].map((v, i) => (v - mean[i % 3]!) / std[i % 3]!);
    want.forEach((w, i) => assert.ok(Math.abs(got[i]! - w) < 1e-6, `value ${i}: ${got[i]} vs ${w}`));
    assert.equal(layer.countParams(), 0);
    const cfg = layer.getConfig();
    assert.deepEqual(cfg.mean, [...mean]);
    const again = Standardization.fromConfig(Standardization, cfg) as Standardization;
    assert.deepEqual(again.std, [...std]);
    tf.dispose([x, y]);
  });
  await expectTypedError(() => createStandardization({ mean: [0.5], std: [0] }), InvalidArgumentError, 'args.std');
  await expectTypedError(() => createStandardization({ mean: [0.5, 0.1], std: [1] }), InvalidArgumentError, 'args.mean');
});

test('replicatePad2d repeats the edge pixels (pad 1 and 2) and equals mirrorPad symmetric at pad 1', async () => {
  await expectNoLeaks(async () => {
    const [h, w, c] = [3, 4, 2];
    const vals = Array.from({ length: h * w * c }, (_, i) => i + 1);
    const x = tf.tensor4d(vals, [1, h, w, c]);
    for (const p of [1, 2]) {
      const y = replicatePad2d(x, p);
      assert.deepEqual(y.shape, [1, h + 2 * p, w + 2 * p, c]);
      const got = await y.data();
      const clamp = (v: number, n: number) => Math.min(n - 1, Math.max(0, v));
      let k = 0;
      for (let i = 0; i < h + 2 * p; i++)
        for (let j = 0; j < w + 2 * p; j++)
          for (let ch = 0; ch < c; ch++) {
            assert.equal(got[k++], vals[(clamp(i - p, h) * w + clamp(j - p, w)) * c + ch]);
          }
      y.dispose();
    }
    const mirror = tf.mirrorPad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], 'symmetric');
    const ours = replicatePad2d(x, 1);
    assert.deepEqual(await ours.data(), await mirror.data());
    tf.dispose([x, mirror, ours]);
  });
  assert.throws(() => replicatePad2d(tf.zeros([2, 2]), 1), InvalidArgumentError);
});

test('replicate padding gradient matches finite differences', async () => {
  await expectNoLeaks(async () => {
    const shape: [number, number, number, number] = [2, 3, 3, 2];
    const x = tf.randomNormal(shape, 0, 1, 'float32', 11);
    for (const p of [1, 2]) {
      const wts = tf.randomNormal([2, 3 + 2 * p, 3 + 2 * p, 2], 0, 1, 'float32', 12 + p);
      const f = (t: tf.Tensor) => tf.sum(tf.mul(tf.square(replicatePad2d(t, p)), wts));
      const g = tf.grad(f)(x);
      const analytic = await g.data();
      const xv = await x.data();
      const eps = 1e-2;
      for (let i = 0; i < xv.length; i++) {
        const plus = Float32Array.from(xv);
        const minus = Float32Array.from(xv);
        plus[i]! += eps;
        minus[i]! -= eps;
        const fp = tf.tidy(() => f(tf.tensor(plus, shape)));
        const fm = tf.tidy(() => f(tf.tensor(minus, shape)));
        const numeric = ((await fp.data())[0]! - (await fm.data())[0]!) / (2 * eps);
        tf.dispose([fp, fm]);
        assert.ok(Math.abs(numeric - analytic[i]!) < 2e-2 * Math.max(1, Math.abs(numeric)), `p=${p} i=${i}: ${analytic[i]} vs ${numeric}`);
      }
      tf.dispose([wts, g]);
    }
    x.dispose();
  });
});

test('ReplicatePadding2D layer: shape, config and registration for loading', async () => {
  await expectNoLeaks(async () => {
    const layer = createReplicatePadding2D({ padding: 2, name: 'padx' });
    assert.deepEqual(layer.computeOutputShape([null, 5, 6, 3]), [null, 9, 10, 3]);
    assert.equal(layer.getConfig().padding, 2);
    assert.ok(layer instanceof ReplicatePadding2D);
    const input = tfl.input({ shape: [4, 4, 1] });
    const m = tfl.model({ inputs: input, outputs: layer.apply(input) as tfl.SymbolicTensor });
    const clone = await tfl.models.modelFromJSON({ modelTopology: m.toJSON(null, false) } as never);
    assert.equal(clone.layers[1]!.getClassName(), 'ReplicatePadding2D');
    m.dispose();
    clone.dispose();
  });
  assert.throws(() => createReplicatePadding2D({ padding: -1 }), InvalidArgumentError);
});

test('architecture options are checked', async () => {
  await expectTypedError(() => createMnistMlp({ sed: 1 } as never), InvalidArgumentError, 'options.sed');
  await expectTypedError(() => createMnistCnn({ seed: -1 }), InvalidArgumentError, 'options.seed');
  await expectTypedError(() => createCifarCnn({ normalization: { mean: [0.5, 0.5], std: [0.2, 0.2] } }), InvalidArgumentError, 'options.normalization');
});
