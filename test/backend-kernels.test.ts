/**
 * The replacement and added wasm kernels against the cpu backend on random shapes, strides,
 * paddings, layouts and batch sizes, and the cases where they fall back to the stock kernel.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expectNoLeaks, tf } from './support/tf.js';
import { onBoth, randomArray, relErr, size } from './support/kernel-check.js';
import type { ConvCase, Pad } from './support/kernel-check.js';
import { useWasm } from './support/wasm.js';
import { fastBackpropInputPadding } from '../src/backend/kernels/conv2d-backprop-input.js';
import { isAeManifoldKernel } from '../src/backend/kernels/install.js';
import { createRng } from '../src/internal/rng.js';

function randomCase(rng: ReturnType<typeof createRng>, allowNchw: boolean): ConvCase {
  const n = 1 + rng.int(5);
  const h = 4 + rng.int(10);
  const w = 4 + rng.int(10);
  const ci = 1 + rng.int(4);
  const co = 1 + rng.int(5);
  const kh = [1, 2, 3, 5][rng.int(4)]!;
  const kw = Math.min([1, 2, 3, 5][rng.int(4)]!, w);
  const khc = Math.min(kh, h);
  const strides: [number, number] = [1 + (rng.next() < 0.35 ? 1 : 0), 1 + (rng.next() < 0.35 ? 1 : 0)];
  const pads: Pad[] = ['valid', 'same', 1, [[0, 0], [rng.int(khc), rng.int(khc)], [rng.int(kw), rng.int(kw)], [0, 0]]];
  const pad = pads[rng.int(pads.length)]!;
  const dataFormat = allowNchw && rng.next() < 0.3 ? 'NCHW' : 'NHWC';
  const xShape: [number, number, number, number] = dataFormat === 'NHWC' ? [n, h, w, ci] : [n, ci, h, w];
  const filterShape: [number, number, number, number] = [khc, kw, ci, co];
  const info = tf.backend_util.computeConv2DInfo(xShape, filterShape, strides, 1, pad, undefined, false, dataFormat === 'NHWC' ? 'channelsLast' : 'channelsFirst');
  return { xShape, filterShape, strides, pad, dataFormat, dyShape: info.outShape };
}

interface Arrays {
  x: Float32Array;
  filter: Float32Array;
  dy: Float32Array;
}

function runFilterGrad(c: ConvCase, a: Arrays): tf.Tensor {
  return tf.tidy(() =>
    tf.engine().runKernel(
      'Conv2DBackpropFilter',
      { x: tf.tensor4d(a.x, c.xShape), dy: tf.tensor4d(a.dy, c.dyShape) },
      { strides: c.strides, pad: c.pad, dataFormat: c.dataFormat, filterShape: c.filterShape } as unknown as tf.NamedAttrMap,
    ) as tf.Tensor,
  );
}

function runInputGrad(c: ConvCase, a: Arrays): tf.Tensor {
  return tf.tidy(() =>
    tf.engine().runKernel(
      'Conv2DBackpropInput',
      { dy: tf.tensor4d(a.dy, c.dyShape), filter: tf.tensor4d(a.filter, c.filterShape) },
      { strides: c.strides, pad: c.pad, dataFormat: c.dataFormat, inputShape: c.xShape } as unknown as tf.NamedAttrMap,
    ) as tf.Tensor,
  );
}

test('the ae-manifold kernels are the ones registered on wasm', async () => {
  await useWasm();
  for (const k of ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'BatchMatMul', 'MaxPoolGrad', 'Sum', 'Mean', 'Tile', 'SplitV', 'Identity', 'Cast']) assert.ok(isAeManifoldKernel(k), k);
});

test('Conv2DBackpropFilter matches cpu on 40 random shapes, strides, paddings, layouts and batches', async () => {
  const rng = createRng(11);
  for (let i = 0; i < 40; i++) {
    const c = randomCase(rng, true);
    const a = { x: randomArray(rng, size(c.xShape)), filter: new Float32Array(0), dy: randomArray(rng, size(c.dyShape)) };
    const r = await onBoth(() => runFilterGrad(c, a));
    assert.deepEqual(r.shape, c.filterShape);
    const e = relErr(r.wasm, r.cpu);
    assert.ok(e <= 1e-5, `case ${i} ${JSON.stringify(c)}: relative error ${e}`);
  }
});

test('Conv2DBackpropInput matches cpu on 40 random cases (fast path and stock fallback)', async () => {
  const rng = createRng(12);
  let fast = 0;
  for (let i = 0; i < 40; i++) {
    const c = randomCase(rng, true);
    const a = { x: new Float32Array(0), filter: randomArray(rng, size(c.filterShape)), dy: randomArray(rng, size(c.dyShape)) };
    if (fastBackpropInputPadding(c.dyShape, c.filterShape, { strides: c.strides, pad: c.pad, dataFormat: c.dataFormat, inputShape: c.xShape })) fast++;
    const r = await onBoth(() => runInputGrad(c, a));
    assert.deepEqual(r.shape, c.xShape);
    const e = relErr(r.wasm, r.cpu);
    assert.ok(e <= 1e-5, `case ${i} ${JSON.stringify(c)}: relative error ${e}`);
  }
  assert.ok(fast >= 10 && fast <= 35, `both paths exercised (fast ${fast} of 40)`);
});

test('the fast Conv2DBackpropInput path applies to stride 1 NHWC only', () => {
  const attrs = { strides: 1 as number | [number, number], pad: 'same' as Pad, dataFormat: 'NHWC' as const, inputShape: [2, 8, 8, 3] as [number, number, number, number] };
  assert.deepEqual(fastBackpropInputPadding([2, 8, 8, 4], [3, 3, 3, 4], attrs), [[0, 0], [1, 1], [1, 1], [0, 0]]);
  assert.deepEqual(fastBackpropInputPadding([2, 6, 6, 4], [3, 3, 3, 4], { ...attrs, pad: 'valid' }), [[0, 0], [2, 2], [2, 2], [0, 0]]);
  assert.equal(fastBackpropInputPadding([2, 4, 4, 4], [3, 3, 3, 4], { ...attrs, strides: 2 }), undefined);
  assert.equal(fastBackpropInputPadding([2, 4, 8, 8], [3, 3, 3, 4], { ...attrs, dataFormat: 'NCHW', inputShape: [2, 3, 8, 8] }), undefined);
  // Padding larger than the filter: k - 1 - p < 0, so the stock kernel must run.
  assert.equal(fastBackpropInputPadding([2, 12, 12, 4], [3, 3, 3, 4], { ...attrs, pad: 3 }), undefined);
});

test('BatchMatMul with transposed operands matches cpu (ranks 2 and 3, broadcast batch)', async () => {
  const rng = createRng(13);
  for (let i = 0; i < 24; i++) {
    const m = 1 + rng.int(40);
    const k = 1 + rng.int(40);
    const n = 1 + rng.int(40);
    const ta = rng.next() < 0.5;
    const tb = rng.next() < 0.5 || !ta;
    const rank3 = rng.next() < 0.5;
    const batchA = rank3 ? 1 + rng.int(3) : 0;
    const batchB = rank3 ? (rng.next() < 0.3 ? 1 : batchA) : 0;
    const aCore = ta ? [k, m] : [m, k];
    const bCore = tb ? [n, k] : [k, n];
    const aShape = rank3 ? [batchA, ...aCore] : aCore;
    const bShape = rank3 ? [batchB, ...bCore] : bCore;
    const av = randomArray(rng, size(aShape));
    const bv = randomArray(rng, size(bShape));
    const r = await onBoth(() => tf.tidy(() => tf.matMul(tf.tensor(av, aShape), tf.tensor(bv, bShape), ta, tb)));
    const e = relErr(r.wasm, r.cpu);
    assert.ok(e <= 1e-5, `case ${i} a ${aShape} b ${bShape} ta ${ta} tb ${tb}: relative error ${e}`);
  }
});

test('gradients of dense and conv layers through tf.grad match cpu (valid/same, 3x3 and 5x5, stride 2)', async () => {
  const rng = createRng(14);
  const configs: Array<{ k: number; pad: 'valid' | 'same'; stride: number }> = [
    { k: 3, pad: 'valid', stride: 1 },
    { k: 5, pad: 'same', stride: 1 },
    { k: 3, pad: 'same', stride: 2 },
    { k: 4, pad: 'same', stride: 1 },
  ];
  for (const cfg of configs) {
    const x = randomArray(rng, 4 * 11 * 11 * 3);
    const w = randomArray(rng, cfg.k * cfg.k * 3 * 6);
    const f = () =>
      tf.tidy(() => {
        const xt = tf.tensor4d(x, [4, 11, 11, 3]);
        const wt = tf.tensor4d(w, [cfg.k, cfg.k, 3, 6]);
        const loss = (xx: tf.Tensor4D, ww: tf.Tensor4D) => tf.sum(tf.square(tf.relu(tf.conv2d(xx, ww, cfg.stride, cfg.pad))));
        const [gx, gw] = tf.grads((xx, ww) => loss(xx as tf.Tensor4D, ww as tf.Tensor4D))([xt, wt]);
        return tf.concat([tf.reshape(gx!, [-1]), tf.reshape(gw!, [-1])]);
      });
    const r = await onBoth(f);
    const e = relErr(r.wasm, r.cpu);
    assert.ok(e <= 1e-5, `${JSON.stringify(cfg)}: relative error ${e}`);
  }
});

test('MaxPoolGrad matches cpu on 30 random pools, including ties (first maximum wins)', async () => {
  const rng = createRng(15);
  for (let i = 0; i < 30; i++) {
    const n = 1 + rng.int(4);
    const h = 3 + rng.int(10);
    const w = 3 + rng.int(10);
    const c = 1 + rng.int(6);
    const f: [number, number] = [1 + rng.int(Math.min(3, h)), 1 + rng.int(Math.min(3, w))];
    const s: [number, number] = [1 + rng.int(3), 1 + rng.int(3)];
    const pad = (['valid', 'same'] as const)[rng.int(2)]!;
    const ties = i % 3 === 0;
    const xv = randomArray(rng, n * h * w * c).map((v) => (ties ? Math.round(v) : v));
    const info = tf.backend_util.computePool2DInfo([n, h, w, c], f, s, 1, pad);
    const dyv = randomArray(rng, size(info.outShape));
    const r = await onBoth(() =>
      tf.tidy(() => {
        const x = tf.tensor4d(xv, [n, h, w, c]);
        const y = tf.maxPool(x, f, s, pad);
        return tf.engine().runKernel('MaxPoolGrad', { dy: tf.tensor(dyv, info.outShape), input: x, output: y }, { filterSize: f, strides: s, pad } as unknown as tf.NamedAttrMap) as tf.Tensor;
      }),
    );
    assert.deepEqual(r.shape, [n, h, w, c]);
    const e = relErr(r.wasm, r.cpu);
    assert.ok(e <= 1e-5, `case ${i} f ${f} s ${s} ${pad} ties ${ties}: relative error ${e}`);
  }
});

test('Sum matches cpu for leading-axis (fast) and other (stock) reductions, with keepDims', async () => {
  const rng = createRng(16);
  const cases: Array<{ shape: number[]; axis: number | number[]; keepDims: boolean }> = [
    { shape: [64, 9, 9, 16], axis: [0, 1, 2], keepDims: false },
    { shape: [64, 9, 9, 16], axis: [2, 0, 1], keepDims: true },
    { shape: [300, 17], axis: 0, keepDims: false },
    { shape: [5, 6, 7], axis: [0, 1], keepDims: true },
    { shape: [5, 6, 7], axis: [1, 2], keepDims: false },
    { shape: [5, 6, 7], axis: [0, 2], keepDims: false },
    { shape: [1, 6, 7], axis: 0, keepDims: false },
    { shape: [4, 6], axis: [0, 1], keepDims: false },
  ];
  for (const c of cases) {
    // Values with a large common offset: float32 sums of many terms lose digits unless accumulated carefully.
    const v = randomArray(rng, size(c.shape)).map((t) => 3 + t);
    const r = await onBoth(() => tf.tidy(() => tf.sum(tf.tensor(v, c.shape), c.axis, c.keepDims)));
    const e = relErr(r.wasm, r.cpu);
    assert.ok(e <= 1e-5, `${JSON.stringify(c)}: relative error ${e}`);
  }
});

test('Mean matches cpu for leading-axis (fast) and other (stock) reductions, with keepDims', async () => {
  const rng = createRng(17);
  const cases: Array<{ shape: number[]; axis: number | number[]; keepDims: boolean }> = [
    { shape: [64, 9, 9, 16], axis: [0, 1, 2], keepDims: true },
    { shape: [64, 9, 9, 16], axis: [0, 1, 2], keepDims: false },
    { shape: [300, 17], axis: 0, keepDims: false },
    { shape: [5, 6, 7], axis: [1, 2], keepDims: true },
    { shape: [5, 6, 7], axis: [0, 2], keepDims: false },
    { shape: [4, 6], axis: [0, 1], keepDims: false },
  ];
  for (const c of cases) {
    const v = randomArray(rng, size(c.shape)).map((t) => 3 + t);
    const r = await onBoth(() => tf.tidy(() => tf.mean(tf.tensor(v, c.shape), c.axis, c.keepDims)));
    assert.deepEqual(r.shape, await tf.tidy(() => tf.mean(tf.zeros(c.shape), c.axis, c.keepDims)).shape);
    const e = relErr(r.wasm, r.cpu);
    assert.ok(e <= 1e-5, `${JSON.stringify(c)}: relative error ${e}`);
  }
});

test('Tile matches cpu exactly on 30 random shapes and repetitions (float32, int32, bool)', async () => {
  const rng = createRng(18);
  for (let t = 0; t < 30; t++) {
    const rank = 1 + rng.int(4);
    const shape = Array.from({ length: rank }, () => 1 + rng.int(4));
    const reps = Array.from({ length: rank }, () => 1 + rng.int(3));
    const v = randomArray(rng, size(shape));
    const r = await onBoth(() => tf.tidy(() => tf.tile(tf.tensor(v, shape), reps)));
    assert.deepEqual(r.shape, shape.map((d, i) => d * reps[i]!));
    assert.deepEqual(Array.from(r.wasm), Array.from(r.cpu), `tile ${JSON.stringify(shape)} x ${JSON.stringify(reps)}`);
  }
  // The BatchNorm-gradient pattern, and integer/boolean data.
  const bn = await onBoth(() => tf.tidy(() => tf.tile(tf.tensor([1, 2, 3], [1, 1, 1, 3]), [4, 5, 6, 1])));
  assert.deepEqual(Array.from(bn.wasm), Array.from(bn.cpu));
  for (const dtype of ['int32', 'bool'] as const) {
    const r = await onBoth(() => tf.tidy(() => tf.cast(tf.tile(tf.tensor([[1, 0, 3], [0, 5, 0]], [2, 3], dtype), [3, 2]), 'float32')));
    assert.deepEqual(Array.from(r.wasm), Array.from(r.cpu), dtype);
  }
});

test('SplitV matches cpu exactly on every axis, with uneven and zero-size parts (the concat gradient)', async () => {
  const rng = createRng(19);
  const shape = [3, 5, 4, 6];
  const v = randomArray(rng, size(shape));
  for (let axis = 0; axis < 4; axis++) {
    const d = shape[axis]!;
    for (const sizes of [[1, d - 2, 1], [d, 0], [d - 1, 1]]) {
      for (let part = 0; part < sizes.length; part++) {
        const r = await onBoth(() => tf.tidy(() => tf.split(tf.tensor(v, shape), [...sizes], axis)[part]!));
        assert.deepEqual(Array.from(r.wasm), Array.from(r.cpu), `axis ${axis} sizes ${JSON.stringify(sizes)} part ${part}`);
      }
    }
  }
  // The gradient of the replicate padding (concat along height and width) matches cpu.
  const padded = await onBoth(() =>
    tf.tidy(() => {
      const x = tf.tensor(v, shape);
      const f = (t: tf.Tensor) => tf.sum(tf.mul(tf.concat([t, t, tf.slice(t, [0, 0, 0, 0], [-1, -1, 1, -1])], 2), tf.reshape(tf.range(0, 9 * 6), [9, 6])));
      return tf.grad(f)(x);
    }),
  );
  assert.ok(relErr(padded.wasm, padded.cpu) <= 1e-6);
});

test('Identity and same-dtype Cast share data without copying; real casts still convert', async () => {
  await useWasm();
  const backend = tf.backend() as unknown as { numDataIds(): number };
  await expectNoLeaks(async () => {
    const ids = backend.numDataIds();
    const x = tf.tensor2d([1.5, -2.25, 3, 4], [2, 2]);
    const y = tf.clone(x);
    const z = tf.cast(x, 'float32');
    assert.equal(backend.numDataIds(), ids + 1, 'clone and same-dtype cast add no data');
    const i = tf.cast(x, 'int32');
    assert.deepEqual(Array.from(await i.data()), [1, -2, 3, 4]);
    // The stock wasm Cast copied the numbers (2 stayed 2, 0.5 became 0); bool means x != 0, as on cpu.
    const b = tf.tidy(() => tf.cast(tf.tensor1d([0, 2, 0.5, -1, NaN]), 'bool'));
    assert.deepEqual(Array.from(await b.data()), [0, 1, 1, 1, 1]);
    x.dispose();
    // The aliases keep the data alive after the original is gone.
    assert.deepEqual(Array.from(await y.data()), [1.5, -2.25, 3, 4]);
    assert.deepEqual(Array.from(await z.data()), [1.5, -2.25, 3, 4]);
    tf.dispose([y, z, i, b]);
    assert.equal(backend.numDataIds(), ids);
  });
  // Variables updated by an optimizer must not see each other's data through an alias.
  await expectNoLeaks(async () => {
    const init = tf.tensor1d([1, 2, 3]);
    const v = tf.variable(init);
    const snapshot = tf.clone(v);
    const next = tf.tensor1d([7, 8, 9]);
    v.assign(next);
    tf.dispose([init, next]);
    assert.deepEqual(Array.from(await snapshot.data()), [1, 2, 3]);
    assert.deepEqual(Array.from(await v.data()), [7, 8, 9]);
    tf.dispose([v, snapshot]);
  });
});
