import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Kwargs } from '@tensorflow/tfjs-layers/dist/types.js';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { useCpu, expectNoLeaks, expectTypedError, tf } from './support/tf.js';
import { listLayers, probeLayers, probeLayersStream } from '../src/probes/index.js';
import type { ActivationSet, ProbeableModel } from '../src/probes/index.js';
import { AbortedError, InvalidArgumentError, ShapeMismatchError, UnsupportedModelError } from '../src/errors.js';
import type { FloatMatrix } from '../src/types.js';

before(async () => {
  await useCpu();
});

const BATCH_SIZES = [1, 3, 10, 256];

function seeded(shape: number[], seed: number): tf.Tensor {
  return tf.randomNormal(shape, 0, 1, 'float32', seed);
}

/** Sets every weight of a model to seeded normals, so results do not depend on initialisers. */
function setSeededWeights(model: tfl.LayersModel, seed: number): void {
  const ws = model.getWeights().map((w, i) => seeded(w.shape, seed + i));
  model.setWeights(ws);
  tf.dispose(ws);
}

async function rows(t: tf.Tensor): Promise<Float32Array> {
  return (await t.data()) as Float32Array;
}

function assertClose(actual: Float32Array, expected: Float32Array, label: string, tol = 1e-5): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Math.abs(a - e) > tol * (1 + Math.abs(e))) assert.fail(`${label}: value ${i} is ${a}, expected ${e}`);
  }
}

/** Probes with every batch size and both output kinds, comparing each layer with `expected`. */
async function checkAgainst(model: ProbeableModel, x: tf.Tensor, layers: string[], expected: Map<string, Float32Array>): Promise<void> {
  for (const batchSize of BATCH_SIZES) {
    await expectNoLeaks(async () => {
      const set = await probeLayers(model, x, { layers, batchSize });
      assert.equal(set.count, x.shape[0]);
      assert.deepEqual(set.options, { layers: set.layers.map((l) => l.layer.name), batchSize, output: 'arrays' });
      for (const name of layers) {
        const m = set.get(name).activations;
        assert.equal(m.rows, x.shape[0]);
        assert.equal(m.data.length, m.rows * m.cols);
        assertClose(m.data, expected.get(name)!, `${name} (batch ${batchSize}, arrays)`);
      }
      set.dispose();
    });
    await expectNoLeaks(async () => {
      const set = await probeLayers(model, x, { layers, batchSize, output: 'tensors' });
      for (const name of layers) {
        const t = set.get(name).activations;
        assert.equal(t.rank, 2);
        assert.equal(t.shape[0], x.shape[0]);
        assertClose(await rows(t), expected.get(name)!, `${name} (batch ${batchSize}, tensors)`);
      }
      set.dispose();
      set.dispose(); // twice is safe
    });
  }
}

/** Reference activations read from tensors computed by hand (then disposed). */
async function reference(entries: Record<string, tf.Tensor>): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [k, t] of Object.entries(entries)) {
    out.set(k, Float32Array.from(await t.data()));
    t.dispose();
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Sequential CNN (the shape of the MNIST CNN of METHODS.md §8, scaled down).

function smallCnn(): tfl.Sequential {
  const m = tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [6, 6, 1], filters: 2, kernelSize: 3, name: 'conv1' }),
      tfl.layers.maxPooling2d({ poolSize: 2, name: 'pool1' }),
      tfl.layers.activation({ activation: 'relu', name: 'relu1' }),
      tfl.layers.dropout({ rate: 0.5, name: 'drop1' }),
      tfl.layers.flatten({ name: 'flat' }),
      tfl.layers.dense({ units: 3, name: 'logits' }),
      tfl.layers.activation({ activation: 'softmax', name: 'probs' }),
    ],
  });
  setSeededWeights(m, 11);
  return m;
}

test('listLayers: Sequential CNN, default analysis points per METHODS.md §2', () => {
  const m = smallCnn();
  const layers = listLayers(m);
  assert.deepEqual(
    layers.map((l) => [l.index, l.name, l.className, l.isDefault]),
    [
      [0, 'conv1_input', 'InputLayer', true],
      [1, 'conv1', 'Conv2D', true],
      [2, 'pool1', 'MaxPooling2D', true],
      [3, 'relu1', 'Activation', true],
      [4, 'drop1', 'Dropout', false],
      [5, 'flat', 'Flatten', false],
      [6, 'logits', 'Dense', true],
      [7, 'probs', 'Activation', false],
    ],
  );
  assert.deepEqual(layers[1]!.outputShape, [null, 4, 4, 2]);
  assert.equal(layers[1]!.size, 32);
  assert.equal(layers[2]!.size, 8);
  assert.equal(layers[0]!.kind, 'input');
  // The returned objects are copies: editing them does not change the model's catalogue.
  layers[1]!.isDefault = false;
  assert.equal(listLayers(m)[1]!.isDefault, true);
});

test('probeLayers: Sequential CNN matches a layer-by-layer forward pass (all batch sizes, arrays and tensors)', async () => {
  const m = smallCnn();
  const x = seeded([10, 6, 6, 1], 5);
  const expected = await reference(
    tf.tidy(() => {
      const conv = m.getLayer('conv1').apply(x) as tf.Tensor;
      const pool = m.getLayer('pool1').apply(conv) as tf.Tensor;
      const relu = tf.relu(pool);
      const logits = m.getLayer('logits').apply(tf.reshape(relu, [10, -1])) as tf.Tensor;
      return { conv1_input: tf.reshape(x, [10, -1]), conv1: tf.reshape(conv, [10, -1]), pool1: tf.reshape(pool, [10, -1]), relu1: tf.reshape(relu, [10, -1]), logits, drop1: tf.reshape(relu, [10, -1]), probs: tf.softmax(logits) };
    }),
  );
  await checkAgainst(m, x, ['conv1_input', 'conv1', 'pool1', 'relu1', 'drop1', 'logits', 'probs'], expected);
  // Default selection: the analysis points, in listLayers order, with their shapes.
  const set = await expectNoLeaks(() => probeLayers(m, x));
  assert.deepEqual(set.layers.map((l) => l.layer.name), ['conv1_input', 'conv1', 'pool1', 'relu1', 'logits']);
  assert.deepEqual(set.layers.map((l) => l.shape), [[6, 6, 1], [4, 4, 2], [2, 2, 2], [2, 2, 2], [3]]);
  assert.deepEqual(set.layers.map((l) => l.size), [36, 32, 8, 8, 3]);
  assert.equal(set.options.batchSize, 256);
  // Indices and predicates select the same layers.
  const byIndex = await probeLayers(m, x, { layers: [6, 1] });
  assert.deepEqual(byIndex.layers.map((l) => l.layer.name), ['conv1', 'logits']);
  const byPredicate = await probeLayers(m, x, { layers: (l) => l.className === 'Dense' });
  assert.deepEqual(byPredicate.layers.map((l) => l.layer.name), ['logits']);
  assert.deepEqual(byPredicate.layers[0]!.activations.data, set.get('logits').activations.data);
  const all = await probeLayers(m, x, { layers: 'all' });
  assert.equal(all.layers.length, 8);
  x.dispose();
});

test('probeLayers: flat arrays and ImageSets give the same activations as a tensor', async () => {
  const m = smallCnn();
  const x = seeded([7, 6, 6, 1], 9);
  const data = Float32Array.from(await x.data());
  const fromTensor = await probeLayers(m, x, { batchSize: 3 });
  const fromFlat = await expectNoLeaks(() => probeLayers(m, { data, shape: [7, 6, 6, 1] }, { batchSize: 3 }));
  const fromSet = await expectNoLeaks(() =>
    probeLayers(m, { images: data, labels: new Int32Array(7), shape: [7, 6, 6, 1], classNames: ['a'] }, { batchSize: 4 }),
  );
  for (const l of fromTensor.layers) {
    assert.deepEqual(fromFlat.get(l.layer.name).activations, l.activations);
    assert.deepEqual(fromSet.get(l.layer.name).activations, l.activations);
  }
  // The input is neither disposed nor aliased by the result.
  assert.equal(x.isDisposed, false);
  fromFlat.get('conv1_input').activations.data[0] = 12345;
  assert.notEqual(data[0], 12345);
  x.dispose();
});

// ---------------------------------------------------------------------------------------------
// Functional model with a branch and a layer applied twice.

function branchModel(): tfl.LayersModel {
  const x = tfl.input({ shape: [5], name: 'x' });
  const shared = tfl.layers.dense({ units: 5, name: 'shared' });
  const a = shared.apply(x) as tfl.SymbolicTensor;
  const r = tfl.layers.activation({ activation: 'relu', name: 'relu_a' }).apply(a) as tfl.SymbolicTensor;
  const b = shared.apply(r) as tfl.SymbolicTensor; // second application of 'shared'
  const c = tfl.layers.dense({ units: 2, activation: 'tanh', name: 'side' }).apply(x) as tfl.SymbolicTensor; // branch
  const cat = tfl.layers.concatenate({ name: 'cat' }).apply([b, c]) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 3, name: 'out' }).apply(cat) as tfl.SymbolicTensor;
  const m = tfl.model({ inputs: x, outputs: out });
  setSeededWeights(m, 21);
  return m;
}

test('listLayers: functional model with a branch and a reused layer names the second application name@1', () => {
  const layers = listLayers(branchModel());
  assert.deepEqual(
    layers.map((l) => [l.name, l.className, l.application, l.isDefault]),
    [
      ['x', 'InputLayer', 0, true],
      ['shared', 'Dense', 0, true],
      ['shared@1', 'Dense', 1, true],
      ['relu_a', 'Activation', 0, true],
      ['side', 'Dense', 0, true],
      ['cat', 'Concatenate', 0, true],
      ['out', 'Dense', 0, true],
    ],
  );
  assert.equal(layers[2]!.layerName, 'shared');
});

test('probeLayers: functional model with a branch and a reused layer matches matMuls by hand', async () => {
  const m = branchModel();
  const x = seeded([10, 5], 3);
  const [w, bias] = m.getLayer('shared').getWeights() as [tf.Tensor, tf.Tensor];
  const [ws, bs] = m.getLayer('side').getWeights() as [tf.Tensor, tf.Tensor];
  const [wo, bo] = m.getLayer('out').getWeights() as [tf.Tensor, tf.Tensor];
  const expected = await reference(
    tf.tidy(() => {
      const a = tf.add(tf.matMul(x, w), bias);
      const r = tf.relu(a);
      const b = tf.add(tf.matMul(r, w), bias);
      const c = tf.tanh(tf.add(tf.matMul(x, ws), bs));
      const cat = tf.concat([b, c], 1);
      return { x: tf.clone(x), shared: a, relu_a: r, 'shared@1': b, side: c, cat, out: tf.add(tf.matMul(cat, wo), bo) };
    }),
  );
  await checkAgainst(m, x, ['x', 'shared', 'shared@1', 'relu_a', 'side', 'cat', 'out'], expected);
  x.dispose();
});

// ---------------------------------------------------------------------------------------------
// Nested model (applied twice) and a Standardization first layer.

function nestedModel(): { outer: tfl.LayersModel; enc: tfl.Sequential } {
  const enc = tfl.sequential({
    name: 'enc',
    layers: [tfl.layers.dense({ inputShape: [4], units: 3, name: 'enc_d' }), tfl.layers.activation({ activation: 'relu', name: 'enc_r' })],
  });
  const x = tfl.input({ shape: [4], name: 'nx' });
  const pre = tfl.layers.dense({ units: 4, name: 'pre' }).apply(x) as tfl.SymbolicTensor;
  const e0 = enc.apply(pre) as tfl.SymbolicTensor;
  const e1 = enc.apply(x) as tfl.SymbolicTensor; // second application of the nested model
  const sum = tfl.layers.add({ name: 'sum' }).apply([e0, e1]) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 2, name: 'head' }).apply(sum) as tfl.SymbolicTensor;
  const outer = tfl.model({ inputs: x, outputs: out });
  setSeededWeights(outer, 31);
  return { outer, enc };
}

test('probeLayers: layers inside a nested model are named by path and match a forward pass by hand', async () => {
  const { outer, enc } = nestedModel();
  const infos = listLayers(outer);
  assert.deepEqual(
    infos.map((l) => [l.name, l.isDefault]),
    [
      ['nx', true],
      ['pre', true],
      ['enc/enc_d_input', false],
      ['enc/enc_d', true],
      ['enc/enc_r', true],
      ['enc', false],
      ['enc@1/enc_d_input', false],
      ['enc@1/enc_d', true],
      ['enc@1/enc_r', true],
      ['enc@1', false],
      ['sum', true],
      ['head', true],
    ],
  );
  assert.deepEqual(infos[3]!.path, ['enc']);
  assert.deepEqual(infos[7]!.path, ['enc@1']);
  const x = seeded([10, 4], 8);
  const [wp, bp] = outer.getLayer('pre').getWeights() as [tf.Tensor, tf.Tensor];
  const [we, be] = enc.getLayer('enc_d').getWeights() as [tf.Tensor, tf.Tensor];
  const [wh, bh] = outer.getLayer('head').getWeights() as [tf.Tensor, tf.Tensor];
  const expected = await reference(
    tf.tidy(() => {
      const pre = tf.add(tf.matMul(x, wp), bp);
      const d0 = tf.add(tf.matMul(pre, we), be);
      const d1 = tf.add(tf.matMul(x, we), be);
      const sum = tf.add(tf.relu(d0), tf.relu(d1));
      return {
        pre,
        'enc/enc_d_input': tf.clone(pre),
        'enc/enc_d': d0,
        'enc/enc_r': tf.relu(d0),
        enc: tf.relu(d0),
        'enc@1/enc_d': d1,
        'enc@1/enc_r': tf.relu(d1),
        sum,
        head: tf.add(tf.matMul(sum, wh), bh),
      };
    }),
  );
  await checkAgainst(outer, x, [...expected.keys()], expected);
  x.dispose();
});

/** A stand-in for the model zoo's preprocessing layer: only its class name matters to the probes. */
class Standardization extends tfl.layers.Layer {
  static className = 'Standardization';
  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    return tf.tidy(() => tf.div(tf.sub(x, 0.5), 0.25));
  }
}

test('listLayers: point 0 is the Standardization output when the model starts with one', async () => {
  const m = tfl.sequential({
    layers: [new Standardization({ inputShape: [3], name: 'std' }), tfl.layers.dense({ units: 2, name: 'dense' })],
  });
  assert.deepEqual(
    listLayers(m).map((l) => [l.name, l.className, l.isDefault]),
    [
      ['std_input', 'InputLayer', false],
      ['std', 'Standardization', true],
      ['dense', 'Dense', true],
    ],
  );
  const x = tf.tensor2d([[0.5, 0.75, 1]]);
  const set = await expectNoLeaks(() => probeLayers(m, x));
  assert.deepEqual(Array.from(set.layers[0]!.activations.data), [0, 1, 2]);
  x.dispose();
});

// ---------------------------------------------------------------------------------------------
// GraphModel built from a hand-written GraphDef and weights.

function b64(s: string): string {
  return Buffer.from(s).toString('base64');
}

async function buildGraphModel() {
  const f = { type: 'DT_FLOAT' };
  const constNode = (name: string, dims: number[]) => ({
    name,
    op: 'Const',
    attr: { dtype: f, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: { dim: dims.map((d) => ({ size: String(d) })) } } } },
  });
  const nodes = [
    { name: 'x', op: 'Placeholder', attr: { dtype: f, shape: { shape: { dim: [{ size: '-1' }, { size: '4' }] } } } },
    constNode('w1', [4, 3]),
    constNode('b1', [3]),
    constNode('w2', [3, 2]),
    { name: 'mm1', op: 'MatMul', input: ['x', 'w1'], attr: { T: f, transpose_a: { b: false }, transpose_b: { b: false } } },
    { name: 'bias1', op: 'BiasAdd', input: ['mm1', 'b1'], attr: { T: f, data_format: { s: b64('NHWC') } } },
    { name: 'relu1', op: 'Relu', input: ['bias1'], attr: { T: f } },
    { name: 'mm2', op: 'MatMul', input: ['relu1', 'w2'], attr: { T: f, transpose_a: { b: false }, transpose_b: { b: false } } },
    { name: 'probs', op: 'Softmax', input: ['mm2'], attr: { T: f } },
  ];
  const w1 = Float32Array.from({ length: 12 }, (_, i) => Math.sin(i + 1));
  const b1 = Float32Array.from([0.1, -0.2, 0.3]);
  const w2 = Float32Array.from({ length: 6 }, (_, i) => Math.cos(i + 2));
  const weightData = new Float32Array([...w1, ...b1, ...w2]).buffer;
  const artifacts = {
    modelTopology: { node: nodes, library: {}, versions: { producer: 1 } },
    format: 'graph-model',
    weightSpecs: [
      { name: 'w1', shape: [4, 3], dtype: 'float32' as const },
      { name: 'b1', shape: [3], dtype: 'float32' as const },
      { name: 'w2', shape: [3, 2], dtype: 'float32' as const },
    ],
    weightData,
  };
  const model = await loadGraphModel({ load: async () => artifacts });
  return { model, w1, b1, w2 };
}

test('probeLayers: GraphModel nodes by name match a forward pass by hand', async () => {
  const { model, w1, b1, w2 } = await buildGraphModel();
  const infos = listLayers(model);
  assert.deepEqual(
    infos.map((l) => [l.name, l.className, l.isDefault]),
    [
      ['x', 'Placeholder', true],
      ['mm1', 'MatMul', false],
      ['bias1', 'BiasAdd', true],
      ['relu1', 'Relu', true],
      ['mm2', 'MatMul', true],
      ['probs', 'Softmax', false],
    ],
  );
  const x = seeded([10, 4], 4);
  const expected = await reference(
    tf.tidy(() => {
      const mm1 = tf.matMul(x, tf.tensor2d(w1, [4, 3]));
      const bias1 = tf.add(mm1, tf.tensor1d(b1));
      const relu1 = tf.relu(bias1);
      const mm2 = tf.matMul(relu1, tf.tensor2d(w2, [3, 2]));
      return { x: tf.clone(x), mm1, bias1, relu1, mm2, probs: tf.softmax(mm2) };
    }),
  );
  await checkAgainst(model, x, ['x', 'mm1', 'bias1', 'relu1', 'mm2', 'probs'], expected);
  const set = await probeLayers(model, x);
  assert.deepEqual(set.layers.map((l) => [l.layer.name, l.size, l.shape]), [['x', 4, [4]], ['bias1', 3, [3]], ['relu1', 3, [3]], ['mm2', 2, [2]]]);
  await expectTypedError(() => probeLayers(model, x, { layers: ['nope'] }), InvalidArgumentError, /options\.layers\[0\].*x, mm1, bias1, relu1, mm2, probs/);
  const wrong = tf.zeros([2, 5]);
  await expectTypedError(() => probeLayers(model, wrong), ShapeMismatchError, /\[any, 4\].*\[2, 5\]/);
  tf.dispose([x, wrong]);
  model.dispose();
});

// ---------------------------------------------------------------------------------------------
// Streaming, progress, abort.

test('probeLayersStream yields batches that concatenate to probeLayers, and leaks nothing when left early', async () => {
  const m = smallCnn();
  const x = seeded([10, 6, 6, 1], 6);
  const whole = await probeLayers(m, x, { layers: ['conv1', 'logits'] });
  await expectNoLeaks(async () => {
    const parts: Array<{ start: number; count: number; conv1: FloatMatrix }> = [];
    for await (const batch of probeLayersStream(m, x, { layers: ['conv1', 'logits'], batchSize: 4 })) {
      assert.equal(batch.total, 10);
      assert.deepEqual(batch.layers.map((l) => l.layer.name), ['conv1', 'logits']);
      parts.push({ start: batch.start, count: batch.count, conv1: batch.layers[0]!.activations });
    }
    assert.deepEqual(parts.map((p) => [p.start, p.count]), [[0, 4], [4, 4], [8, 2]]);
    const joined = new Float32Array(10 * 32);
    for (const p of parts) joined.set(p.conv1.data, p.start * 32);
    assert.deepEqual(joined, whole.get('conv1').activations.data);
  });
  await expectNoLeaks(async () => {
    let seen = 0;
    for await (const batch of probeLayersStream(m, x, { batchSize: 3 })) {
      seen += batch.count;
      break;
    }
    assert.equal(seen, 3);
  });
  x.dispose();
});

test('onProgress reports every batch; an abort stops between batches with AbortedError and no leaks', async () => {
  const m = smallCnn();
  const x = seeded([10, 6, 6, 1], 7);
  const steps: Array<[number, number, number | undefined]> = [];
  await probeLayers(m, x, { batchSize: 4, onProgress: (p) => steps.push([p.step, p.total, p.detail?.examples]) });
  assert.deepEqual(steps, [[1, 3, 4], [2, 3, 8], [3, 3, 10]]);

  for (const output of ['arrays', 'tensors'] as const) {
    await expectNoLeaks(async () => {
      const ac = new AbortController();
      let calls = 0;
      await expectTypedError(
        () => probeLayers(m, x, { batchSize: 2, output, signal: ac.signal, onProgress: () => (++calls === 2 ? ac.abort(new Error('enough')) : undefined) }),
        AbortedError,
        'enough',
      );
      assert.equal(calls, 2);
    });
  }
  const ac = new AbortController();
  ac.abort();
  await expectTypedError(() => probeLayers(m, x, { signal: ac.signal }), AbortedError, 'probeLayers');
  await expectNoLeaks(() =>
    expectTypedError(
      async () => {
        for await (const _ of probeLayersStream(m, x, { batchSize: 2, signal: ac.signal })) void _;
      },
      AbortedError,
      'probeLayersStream',
    ),
  );
  x.dispose();
});

// ---------------------------------------------------------------------------------------------
// Errors.

test('errors are typed and name the function, the argument and both shapes', async () => {
  const m = smallCnn();
  const x = seeded([4, 6, 6, 1], 1);
  const wrongHeight = tf.zeros([4, 5, 6, 1]);
  const flat = tf.zeros([4, 36]);
  const empty = tf.zeros([0, 6, 6, 1]);
  await expectNoLeaks(async () => {
    const e = await expectTypedError(() => probeLayers(m, x, { layers: ['conv1', 'conv9'] }), InvalidArgumentError, 'options.layers[1]');
    assert.match(e.message, /probeLayers: .*conv1_input, conv1, pool1, relu1, drop1, flat, logits, probs.*"conv9"/);
    await expectTypedError(() => probeLayers(m, x, { layers: [8] }), InvalidArgumentError, /options\.layers\[0\].*\[0, 7\]/);
    await expectTypedError(() => probeLayers(m, x, { layers: [] }), InvalidArgumentError, 'options.layers');
    await expectTypedError(() => probeLayers(m, x, { layers: () => false }), InvalidArgumentError, /options\.layers.*matched none/);
    const s = await expectTypedError(() => probeLayers(m, wrongHeight), ShapeMismatchError, 'inputs');
    assert.match(s.message, /\[any, 6, 6, 1\].*\[4, 5, 6, 1\]/);
    await expectTypedError(() => probeLayers(m, flat), ShapeMismatchError, /\[4, 36\]/);
    await expectTypedError(() => probeLayers(m, { data: new Float32Array(35), shape: [1, 6, 6, 1] }), ShapeMismatchError, 'inputs.data');
    await expectTypedError(() => probeLayers(m, empty), InvalidArgumentError, /inputs must be at least one example/);
    await expectTypedError(() => probeLayers(m, [x, x]), InvalidArgumentError, /1 input\(s\)/);
    await expectTypedError(() => probeLayers(m, 'pixels' as never), InvalidArgumentError, 'inputs');
    await expectTypedError(() => probeLayers(m, x, { batchSize: 0 }), InvalidArgumentError, 'options.batchSize');
    await expectTypedError(() => probeLayers(m, x, { batchsize: 4 } as never), InvalidArgumentError, 'options.batchsize');
    await expectTypedError(() => probeLayers(m, x, { output: 'matrix' } as never), InvalidArgumentError, 'options.output');
    await expectTypedError(() => probeLayers({ predict: () => x } as never, x), UnsupportedModelError, /tf\.LayersModel/);
    await expectTypedError(() => listLayers(null as never), UnsupportedModelError, 'listLayers');
    await expectTypedError(() => probeLayers(tfl.sequential(), x), UnsupportedModelError, /no inputs|tf\.LayersModel/);
    const set: ActivationSet = await probeLayers(m, x);
    await expectTypedError(() => set.get('flat'), InvalidArgumentError, /probeLayers\(\)\.get: name/);
  });
  // Non-finite input: found per batch, the message names the example.
  const bad = tf.tidy(() => tf.concat([tf.zeros([5, 6, 6, 1]), tf.fill([1, 6, 6, 1], NaN), tf.zeros([1, 6, 6, 1])]));
  await expectNoLeaks(async () => {
    for (const output of ['arrays', 'tensors'] as const) {
      await expectTypedError(() => probeLayers(m, bad, { batchSize: 2, output }), InvalidArgumentError, /finite values only.*example 5/);
    }
    const inf = new Float32Array(36 * 3);
    inf[36 * 2 + 7] = Infinity;
    await expectTypedError(() => probeLayers(m, { data: inf, shape: [3, 6, 6, 1] }), InvalidArgumentError, /example 2/);
    await expectTypedError(
      async () => {
        for await (const _ of probeLayersStream(m, bad, { batchSize: 4 })) void _;
      },
      InvalidArgumentError,
      /example 5/,
    );
  });
  tf.dispose([bad, x, wrongHeight, flat, empty]);
});

test('a Sequential model grown after a probe is catalogued afresh', async () => {
  const m = tfl.sequential({ layers: [tfl.layers.dense({ units: 3, inputShape: [2], name: 'g1' })] });
  const x = tf.ones([2, 2]);
  const first = await probeLayers(m, x);
  assert.deepEqual(first.layers.map((l) => l.layer.name), ['g1_input', 'g1']);
  m.add(tfl.layers.dense({ units: 1, name: 'g2' }));
  const second = await expectNoLeaks(() => probeLayers(m, x));
  assert.deepEqual(second.layers.map((l) => [l.layer.name, l.size]), [['g1_input', 2], ['g1', 3], ['g2', 1]]);
  x.dispose();
});

test('multi-input models take one tensor per input; a wrong count or row mismatch is a typed error', async () => {
  const a = tfl.input({ shape: [2], name: 'a' });
  const b = tfl.input({ shape: [3], name: 'b' });
  const cat = tfl.layers.concatenate({ name: 'ab' }).apply([a, b]) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 2, name: 'mix' }).apply(cat) as tfl.SymbolicTensor;
  const m = tfl.model({ inputs: [a, b], outputs: out });
  setSeededWeights(m, 41);
  const xa = seeded([5, 2], 1);
  const xb = seeded([5, 3], 2);
  const xbShort = seeded([4, 3], 3);
  const [w, bias] = m.getLayer('mix').getWeights() as [tf.Tensor, tf.Tensor];
  const expected = await reference(
    tf.tidy(() => {
      const ab = tf.concat([xa, xb], 1);
      return { a: tf.clone(xa), b: tf.clone(xb), ab, mix: tf.add(tf.matMul(ab, w), bias) };
    }),
  );
  for (const batchSize of [2, 5]) {
    const set = await expectNoLeaks(() => probeLayers(m, [xa, xb], { batchSize }));
    assert.deepEqual(set.layers.map((l) => l.layer.name), ['a', 'b', 'ab', 'mix']);
    for (const l of set.layers) assertClose(l.activations.data, expected.get(l.layer.name)!, `${l.layer.name} (batch ${batchSize})`);
  }
  await expectTypedError(() => probeLayers(m, xa), InvalidArgumentError, /2 input\(s\).*\(a, b\)/);
  await expectTypedError(() => probeLayers(m, [xa, xbShort]), ShapeMismatchError, 'inputs[1]');
  await expectTypedError(() => probeLayers(m, [xb, xa]), ShapeMismatchError, /inputs\[0\].*model input 'a'/);
  tf.dispose([xa, xb, xbShort]);
});

test('tensors output from a flat array does not alias the caller\'s array', async () => {
  const m = tfl.sequential({ layers: [tfl.layers.dense({ units: 1, inputShape: [2], name: 'al' })] });
  const data = new Float32Array([1, 2, 3, 4]);
  const set = await expectNoLeaks(async () => {
    const s = await probeLayers(m, { data, shape: [2, 2] }, { layers: ['al_input'], output: 'tensors' });
    data[0] = 99;
    assert.deepEqual(Array.from(await s.layers[0]!.activations.data()), [1, 2, 3, 4]);
    s.dispose();
    return s;
  });
  assert.equal(set.layers[0]!.activations.isDisposed, true);
});
