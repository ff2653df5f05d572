/**
 * The attacks' replayed forward pass (src/attacks/input-gradient-forward.ts): the same logits and
 * input gradients as `model.apply` on cpu and wasm for the study's three architectures, a
 * Sequential reference CNN and a functional model with multi-input layers and a nested model; no
 * kernel (weight) gradient computed; the fallbacks; no tensor leaks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tfl from '@tensorflow/tfjs-layers';
import { expectNoLeaks, tf, useCpu } from './support/tf.js';
import { useWasm } from './support/wasm.js';
import { inputGradientForward } from '../src/attacks/input-gradient-forward.js';
import { toLogitsModel } from '../src/attacks/logits-model.js';
import { createCifarCnn, createMnistCnn, createMnistMlp } from '../src/models/index.js';
import { createRng } from '../src/internal/rng.js';

/** max |a − b| / max |b|. */
function relErr(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= num)) num = d; // NaN-safe: a NaN difference makes num NaN and the test fail
    den = Math.max(den, Math.abs(b[i]!));
  }
  return den === 0 ? num : num / den;
}

function randomTensor(shape: number[], seed: number, lo = 0, hi = 1): tf.Tensor {
  const rng = createRng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = lo + (hi - lo) * rng.next();
  return tf.tensor(v, shape);
}

/** Gives every weight of `model` seeded values (BatchNorm variances positive, nested models too), so no layer is trivial. */
function randomizeWeights(model: tfl.LayersModel, seed: number): void {
  const rng = createRng(seed);
  for (const layer of model.layers) {
    const ws = layer.getWeights();
    if (ws.length === 0) continue;
    const fresh = ws.map((w, i) => {
      const v = new Float32Array(w.size);
      const isVariance = layer.weights[i]!.name.includes('moving_variance');
      for (let k = 0; k < v.length; k++) v[k] = isVariance ? 0.5 + rng.next() : 0.3 * rng.normal();
      return tf.tensor(v, w.shape);
    });
    layer.setWeights(fresh);
    tf.dispose(fresh);
  }
}

/** The reference MNIST CNN of the backend benchmark (Sequential, ReLU fused into the convs). */
function referenceCnn(): tfl.Sequential {
  const m = tfl.sequential();
  m.add(tfl.layers.conv2d({ inputShape: [12, 12, 1], filters: 4, kernelSize: 3, activation: 'relu' }));
  m.add(tfl.layers.conv2d({ filters: 6, kernelSize: 3, activation: 'relu' }));
  m.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tfl.layers.flatten());
  m.add(tfl.layers.dense({ units: 16, activation: 'relu' }));
  m.add(tfl.layers.dense({ units: 10 }));
  return m;
}

/**
 * Functional: strided 'same' conv without bias, a tanh conv, a nested Sequential, Add and
 * Concatenate (multi-input layers), a layer used twice, a dense on rank-3 input, a tanh dense.
 */
function functionalModel(): tfl.LayersModel {
  const input = tfl.input({ shape: [9, 9, 2] });
  const a = tfl.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', useBias: false }).apply(input) as tfl.SymbolicTensor;
  const b = tfl.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'tanh' }).apply(input) as tfl.SymbolicTensor;
  const inner = tfl.sequential();
  inner.add(tfl.layers.conv2d({ inputShape: [5, 5, 4], filters: 4, kernelSize: 1, activation: 'relu' }));
  inner.add(tfl.layers.batchNormalization());
  const c = inner.apply(b) as tfl.SymbolicTensor;
  const shared = tfl.layers.activation({ activation: 'elu' });
  const sum = tfl.layers.add().apply([shared.apply(a) as tfl.SymbolicTensor, c]) as tfl.SymbolicTensor;
  const cat = tfl.layers.concatenate().apply([sum, shared.apply(c) as tfl.SymbolicTensor]) as tfl.SymbolicTensor;
  const rows = tfl.layers.reshape({ targetShape: [25, 8] }).apply(cat) as tfl.SymbolicTensor;
  const perRow = tfl.layers.dense({ units: 3, activation: 'relu' }).apply(rows) as tfl.SymbolicTensor; // rank-3 input: layer.call
  const flat = tfl.layers.flatten().apply(perRow) as tfl.SymbolicTensor;
  const hidden = tfl.layers.dense({ units: 12, activation: 'tanh' }).apply(flat) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 5 }).apply(hidden) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out });
}

interface Case {
  name: string;
  make: () => tfl.LayersModel;
  batch: number;
}

const CASES: Case[] = [
  { name: 'createMnistMlp', make: () => createMnistMlp({ seed: 1 }), batch: 5 },
  { name: 'createMnistCnn', make: () => createMnistCnn({ seed: 2 }), batch: 5 },
  { name: 'createCifarCnn (BatchNorm, ReplicatePadding2D, Standardization, Dropout)', make: () => createCifarCnn({ seed: 3 }), batch: 3 },
  { name: 'Sequential reference CNN', make: referenceCnn, batch: 5 },
  { name: 'functional model (multi-input layers, nested Sequential, shared layer)', make: functionalModel, batch: 4 },
];

/** Logits and input gradient of Σ r·logits through `forward`. */
async function logitsAndGrad(forward: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor, r: tf.Tensor): Promise<{ z: Float32Array; g: Float32Array }> {
  const [z, g] = tf.tidy(() => [forward(x), tf.grad((v: tf.Tensor) => tf.sum(tf.mul(forward(v), r)))(x)]);
  const out = { z: (await z!.data()) as Float32Array, g: (await g!.data()) as Float32Array };
  tf.dispose([z!, g!]);
  return out;
}

/** The kernels run by one input gradient through `forward`. */
async function gradientKernels(forward: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor): Promise<string[]> {
  const info = await tf.profile(() => {
    const g = tf.grad((v: tf.Tensor) => tf.sum(forward(v)))(x);
    g.dispose();
  });
  return info.kernels.map((k) => k.name);
}

for (const backend of ['cpu', 'wasm'] as const) {
  const activate = async () => {
    if (backend === 'cpu') await useCpu();
    else await useWasm();
  };

  for (const c of CASES) {
    test(`${backend}: ${c.name}: same logits and input gradient as model.apply`, async () => {
      await activate();
      const model = c.make();
      randomizeWeights(model, 11);
      const x = randomTensor([c.batch, ...(model.inputs[0]!.shape.slice(1) as number[])], 5);
      const K = (model.outputs[0]!.shape as number[])[1]!;
      const r = randomTensor([c.batch, K], 6, -1, 1);
      const forward = inputGradientForward(model);
      assert.ok(forward, 'the model is replayed, not run through apply');
      const ref = await logitsAndGrad((v) => model.apply(v, { training: false }) as tf.Tensor, x, r);
      const got = await expectNoLeaks(() => logitsAndGrad(forward, x, r));
      const zErr = relErr(got.z, ref.z);
      const gErr = relErr(got.g, ref.g);
      assert.ok(zErr <= 1e-6, `logits differ: relative error ${zErr}`);
      assert.ok(gErr <= 1e-5, `input gradients differ: relative error ${gErr}`);
      assert.ok(ref.g.some((v) => v !== 0), 'the reference gradient is not all zero');
      tf.dispose([x, r]);
      model.dispose();
    });
  }

  test(`${backend}: no kernel gradient is computed (Conv2DBackpropFilter only under model.apply)`, async () => {
    await activate();
    const model = createMnistCnn({ seed: 4 });
    const x = randomTensor([2, 28, 28, 1], 7);
    const forward = inputGradientForward(model)!;
    const viaApply = await gradientKernels((v) => model.apply(v) as tf.Tensor, x);
    const viaReplay = await gradientKernels(forward, x);
    // The linear convs of this model are fused under a tape: their customGrad computes the filter gradient.
    assert.ok(viaApply.includes('Conv2DBackpropFilter'), `model.apply ran: ${viaApply.join(', ')}`);
    assert.ok(!viaReplay.includes('Conv2DBackpropFilter'), `the replay ran: ${viaReplay.join(', ')}`);
    assert.ok(viaReplay.includes('Conv2DBackpropInput'));
    // Dense: one matMul forward, one for d/dx; under apply a second one for d/dkernel.
    const count = (names: string[], k: string) => names.filter((n) => n === k).length;
    assert.equal(count(viaReplay, 'BatchMatMul'), 1);
    assert.equal(count(viaApply, 'BatchMatMul'), 2);
    x.dispose();
    model.dispose();
  });
}

test('toLogitsModel: a trailing softmax layer is skipped and the rest replayed; the logits match the sub-model', async () => {
  await useCpu();
  const model = createMnistCnn({ seed: 5, softmax: true });
  randomizeWeights(model, 12);
  const x = randomTensor([3, 28, 28, 1], 8);
  const lm = toLogitsModel('test', model);
  assert.equal(lm.skippedSoftmax, true);
  const sub = tfl.model({ inputs: model.inputs, outputs: model.getLayer('logits').output as tfl.SymbolicTensor });
  const [a, b] = tf.tidy(() => [lm.logits(x), sub.apply(x) as tf.Tensor]);
  assert.equal(relErr((await a!.data()) as Float32Array, (await b!.data()) as Float32Array), 0);
  const kernels = await gradientKernels((v) => lm.logits(v), x);
  assert.ok(!kernels.includes('Conv2DBackpropFilter'), 'toLogitsModel uses the replay');
  tf.dispose([a!, b!, x]);
  model.dispose();
});

test('the replay reads the weights at every call and follows a Sequential that grew', async () => {
  await useCpu();
  const m = tfl.sequential();
  m.add(tfl.layers.dense({ inputShape: [4], units: 3 }));
  const x = randomTensor([2, 4], 9);
  const first = inputGradientForward(m)!;
  const before = tf.tidy(() => first(x));
  randomizeWeights(m, 13);
  const after = tf.tidy(() => first(x));
  const expected = tf.tidy(() => m.apply(x) as tf.Tensor);
  assert.ok(relErr((await before.data()) as Float32Array, (await after.data()) as Float32Array) > 0, 'new weights, new logits');
  assert.equal(relErr((await after.data()) as Float32Array, (await expected.data()) as Float32Array), 0);
  m.add(tfl.layers.dense({ units: 2 }));
  const grown = inputGradientForward(m)!;
  const y = tf.tidy(() => grown(x));
  assert.deepEqual(y.shape, [2, 2]);
  tf.dispose([before, after, expected, y, x]);
  m.dispose();
});

test('fallbacks: a masking layer runs the model through apply; dilated convs and subclassed layers run their own call', async () => {
  await useCpu();
  const masked = tfl.sequential();
  masked.add(tfl.layers.masking({ inputShape: [3, 2] }));
  masked.add(tfl.layers.flatten());
  masked.add(tfl.layers.dense({ units: 2 }));
  assert.equal(inputGradientForward(masked), null);
  assert.equal(toLogitsModel('test', masked).kind, 'layers');

  // A subclass of Dense (same class name, kernel and bias) with its own call must run that call.
  type DenseLayer = tfl.layers.Layer & { call(inputs: tf.Tensor | tf.Tensor[], kwargs: object): tf.Tensor };
  const DenseClass = Object.getPrototypeOf(tfl.layers.dense({ units: 1, name: 'probe_dense' })).constructor as new (args: object) => DenseLayer;
  class Doubled extends DenseClass {
    override call(inputs: tf.Tensor | tf.Tensor[], kwargs: object): tf.Tensor {
      return tf.tidy(() => tf.mul(super.call(inputs, kwargs) as tf.Tensor, 2));
    }
  }
  const doubled = new Doubled({ units: 2 });
  assert.equal(doubled.getClassName(), 'Dense');
  const input = tfl.input({ shape: [6, 6, 1] });
  const dil = tfl.layers.conv2d({ filters: 2, kernelSize: 2, dilationRate: 2 }).apply(input) as tfl.SymbolicTensor;
  const flat = tfl.layers.flatten().apply(dil) as tfl.SymbolicTensor;
  const out = doubled.apply(flat) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: out });
  const forward = inputGradientForward(model);
  assert.ok(forward);
  const x = randomTensor([2, 6, 6, 1], 10);
  const [a, b] = tf.tidy(() => [forward(x), model.apply(x) as tf.Tensor]);
  assert.equal(relErr((await a!.data()) as Float32Array, (await b!.data()) as Float32Array), 0);
  tf.dispose([a!, b!, x]);
  for (const m of [masked, model]) m.dispose();
});
