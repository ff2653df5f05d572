/**
 * The grouped wasm `Conv2DBackpropFilter` (the batch split into groups of images, each group a
 * view of the heap) against the cpu backend: forced group sizes on random shapes, strides,
 * paddings, layouts and batches (with a smaller last group), the group-size rule, and the
 * registered kernel on shapes large enough to be grouped by default.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KernelBackend, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { expectNoLeaks, tf, useCpu } from './support/tf.js';
import { randomArray, relErr, size } from './support/kernel-check.js';
import type { ConvCase, Pad } from './support/kernel-check.js';
import { useWasm } from './support/wasm.js';
import { backpropFilterGroupSize, conv2DBackpropFilterConfig } from '../src/backend/kernels/conv2d-backprop-filter.js';
import { createRng } from '../src/internal/rng.js';

function makeCase(xShape: [number, number, number, number], filterShape: [number, number, number, number], strides: [number, number], pad: Pad, dataFormat: 'NHWC' | 'NCHW'): ConvCase {
  const info = tf.backend_util.computeConv2DInfo(xShape, filterShape, strides, 1, pad, undefined, false, dataFormat === 'NHWC' ? 'channelsLast' : 'channelsFirst');
  return { xShape, filterShape, strides, pad, dataFormat, dyShape: info.outShape };
}

function randomCase(rng: ReturnType<typeof createRng>): ConvCase {
  const n = 2 + rng.int(12);
  const h = 4 + rng.int(10);
  const w = 4 + rng.int(10);
  const ci = 1 + rng.int(4);
  const co = 1 + rng.int(5);
  const kh = Math.min([1, 2, 3, 5][rng.int(4)]!, h);
  const kw = Math.min([1, 2, 3, 5][rng.int(4)]!, w);
  const strides: [number, number] = [1 + (rng.next() < 0.35 ? 1 : 0), 1 + (rng.next() < 0.35 ? 1 : 0)];
  const pads: Pad[] = ['valid', 'same', 1, [[0, 0], [rng.int(kh), rng.int(kh)], [rng.int(kw), rng.int(kw)], [0, 0]]];
  const pad = pads[rng.int(pads.length)]!;
  const dataFormat = rng.next() < 0.3 ? 'NCHW' : 'NHWC';
  const xShape: [number, number, number, number] = dataFormat === 'NHWC' ? [n, h, w, ci] : [n, ci, h, w];
  return makeCase(xShape, [kh, kw, ci, co], strides, pad, dataFormat);
}

interface Arrays {
  x: Float32Array;
  dy: Float32Array;
}

function attrsOf(c: ConvCase): NamedAttrMap {
  return { strides: c.strides, pad: c.pad, dataFormat: c.dataFormat, filterShape: c.filterShape } as unknown as NamedAttrMap;
}

async function onCpu(c: ConvCase, a: Arrays): Promise<Float32Array> {
  await useCpu();
  const t = tf.tidy(() => tf.engine().runKernel('Conv2DBackpropFilter', { x: tf.tensor4d(a.x, c.xShape), dy: tf.tensor4d(a.dy, c.dyShape) }, attrsOf(c)) as tf.Tensor);
  const v = (await t.data()) as Float32Array;
  t.dispose();
  return v;
}

/** Runs `kernel` (or the registered kernel) on wasm and checks that no tensor or data id leaks. */
async function onWasm(c: ConvCase, a: Arrays, kernel?: ReturnType<typeof conv2DBackpropFilterConfig>): Promise<{ values: Float32Array; shape: number[] }> {
  await useWasm();
  const backend = tf.backend() as unknown as KernelBackend & { numDataIds(): number };
  const ids = backend.numDataIds();
  const out = await expectNoLeaks(async () => {
    const x = tf.tensor4d(a.x, c.xShape);
    const dy = tf.tensor4d(a.dy, c.dyShape);
    let t: tf.Tensor;
    if (kernel) {
      const info = kernel.kernelFunc({ inputs: { x, dy }, attrs: attrsOf(c), backend }) as TensorInfo;
      t = tf.engine().makeTensorFromTensorInfo(info);
    } else {
      t = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrsOf(c)) as tf.Tensor;
    }
    const r = { values: (await t.data()) as Float32Array, shape: t.shape };
    tf.dispose([x, dy, t]);
    return r;
  });
  assert.equal(backend.numDataIds(), ids, 'wasm data ids leaked');
  return out;
}

test('the group-size rule: one convolution for small dy, cache-sized groups without large powers of two otherwise', () => {
  // CIFAR-10 CNN's last block (dy 2 MiB) and small batches: one convolution.
  assert.equal(backpropFilterGroupSize(64, 8, 8, 128), 0);
  assert.equal(backpropFilterGroupSize(1, 24, 24, 64), 0);
  assert.equal(backpropFilterGroupSize(4, 24, 24, 64), 0);
  // Reference CNN, second layer (dy 38 MB, 147 kB an image): about 2 MiB a group, 13 rather than
  // 14 images (24·24·14 is a multiple of 128, 24·24·13 only of 64).
  assert.equal(backpropFilterGroupSize(256, 24, 24, 64), 13);
  // CIFAR-10 CNN, 64-channel layers (dy 4 MiB): two groups.
  assert.equal(backpropFilterGroupSize(64, 16, 16, 64), 31);
  for (const [n, ho, wo, co] of [
    [256, 26, 26, 32],
    [256, 24, 24, 64],
    [64, 32, 32, 32],
    [20000, 5, 5, 3],
    [3, 200, 200, 64],
  ] as const) {
    const g = backpropFilterGroupSize(n, ho, wo, co);
    assert.ok(g >= 1 && g < n, `${n} ${ho} ${wo} ${co}: ${g}`);
    assert.ok(ho * wo * co * 4 * g <= 3 * 1024 * 1024 || g === 1, `${n} ${ho} ${wo} ${co}: group of ${g} too large`);
  }
});

test('grouped Conv2DBackpropFilter (forced group sizes 1 to 5) matches cpu on 40 random shapes, strides, paddings, layouts and batches', async () => {
  await useWasm(); // the config looks up the wasm kernels it is made of
  const kernels = [1, 2, 3, 4, 5].map((g) => conv2DBackpropFilterConfig(() => g));
  const rng = createRng(21);
  for (let i = 0; i < 40; i++) {
    const c = randomCase(rng);
    const g = 1 + (i % 5);
    const a = { x: randomArray(rng, size(c.xShape)), dy: randomArray(rng, size(c.dyShape)) };
    const cpu = await onCpu(c, a);
    const r = await onWasm(c, a, kernels[g - 1]);
    assert.deepEqual(r.shape, c.filterShape);
    const e = relErr(r.values, cpu);
    assert.ok(e <= 1e-5, `case ${i} g ${g} ${JSON.stringify(c)}: relative error ${e}`);
  }
});

test('grouped Conv2DBackpropFilter with a zero column appended to dy (Ho·Wo·g a multiple of 256) matches cpu', async () => {
  await useWasm();
  const rng = createRng(23);
  const cases: Array<[ConvCase, number]> = [
    [makeCase([5, 16, 16, 3], [3, 3, 3, 4], [1, 1], 'same', 'NHWC'), 1],
    [makeCase([5, 16, 16, 3], [3, 3, 3, 4], [1, 1], 'same', 'NHWC'), 2],
    [makeCase([7, 2, 32, 32], [3, 3, 2, 5], [2, 2], 1, 'NCHW'), 3],
    [makeCase([4, 17, 18, 2], [2, 3, 2, 3], [1, 1], 'valid', 'NHWC'), 2],
    [makeCase([9, 32, 31, 1], [3, 2, 1, 2], [2, 2], [[0, 0], [1, 0], [0, 1], [0, 0]], 'NHWC'), 4],
  ];
  for (const [i, [c, g]] of cases.entries()) {
    const [ho, wo] = c.dataFormat === 'NHWC' ? [c.dyShape[1], c.dyShape[2]] : [c.dyShape[2], c.dyShape[3]];
    assert.equal((ho * wo * g) % 256, 0, `case ${i} gets a zero column`);
    const a = { x: randomArray(rng, size(c.xShape)), dy: randomArray(rng, size(c.dyShape)) };
    const cpu = await onCpu(c, a);
    const r = await onWasm(c, a, conv2DBackpropFilterConfig(() => g));
    assert.deepEqual(r.shape, c.filterShape);
    const e = relErr(r.values, cpu);
    assert.ok(e <= 1e-5, `case ${i} g ${g} ${JSON.stringify(c)}: relative error ${e}`);
  }
});

test('the registered Conv2DBackpropFilter groups large batches and matches cpu (reference CNN and CIFAR shapes, batch remainder)', async () => {
  const rng = createRng(22);
  const cases: ConvCase[] = [
    // Reference CNN layer 2 (fewer input channels) at batch 30 (dy 4.4 MB: 2 groups of 13, a last one of 4).
    makeCase([30, 26, 26, 2], [3, 3, 2, 64], [1, 1], 'valid', 'NHWC'),
    // Reference CNN layer 1 at batch 50.
    makeCase([50, 28, 28, 1], [3, 3, 1, 32], [1, 1], 'valid', 'NHWC'),
    // CIFAR-10 CNN 32-channel layer ('valid' after replicate padding; one input channel), batch 33.
    makeCase([33, 34, 34, 1], [3, 3, 1, 32], [1, 1], 'valid', 'NHWC'),
    // Stride 2, 'same', NCHW, 2 × 2 filter.
    makeCase([40, 2, 49, 49], [2, 2, 2, 48], [2, 2], 'same', 'NCHW'),
  ];
  for (const [i, c] of cases.entries()) {
    const [n, ho, wo, co] = c.dataFormat === 'NHWC' ? c.dyShape : [c.dyShape[0], c.dyShape[2], c.dyShape[3], c.dyShape[1]];
    assert.ok(backpropFilterGroupSize(n, ho, wo, co) > 0, `case ${i} is grouped`);
    const a = { x: randomArray(rng, size(c.xShape)), dy: randomArray(rng, size(c.dyShape)) };
    const cpu = await onCpu(c, a);
    const r = await onWasm(c, a);
    assert.deepEqual(r.shape, c.filterShape);
    const e = relErr(r.values, cpu);
    assert.ok(e <= 1e-5, `case ${i} ${JSON.stringify(c)}: relative error ${e}`);
  }
});
