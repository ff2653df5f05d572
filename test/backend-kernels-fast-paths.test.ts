/**
 * The fast paths of the wasm kernels against the cpu backend: the streaming 2×2/2 `MaxPoolGrad`
 * (ties, NaN, ±∞, −0, odd sizes where the pool drops a trailing row or column, batch 1, several
 * channel counts) and the matMul + col2im `Conv2DBackpropInput` for single-channel inputs (valid,
 * same, explicit padding, stride 2, several filter sizes and batches).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from './support/tf.js';
import { onBoth, randomArray, relErr, size } from './support/kernel-check.js';
import { useCol2imBackpropInput } from '../src/backend/kernels/conv2d-backprop-input.js';
import { isTiledPool } from '../src/backend/kernels/max-pool-grad.js';
import { createRng } from '../src/internal/rng.js';

type PoolPad = 'valid' | 'same';

function runPoolGrad(shape: [number, number, number, number], xv: Float32Array, dyv: Float32Array, f: number, s: number, pad: PoolPad): () => tf.Tensor {
  const info = tf.backend_util.computePool2DInfo(shape, f, s, 1, pad);
  return () =>
    tf.tidy(() => {
      const x = tf.tensor4d(xv, shape);
      const y = tf.maxPool(x, f, s, pad);
      return tf.engine().runKernel('MaxPoolGrad', { dy: tf.tensor(dyv, info.outShape), input: x, output: y }, { filterSize: f, strides: s, pad } as unknown as tf.NamedAttrMap) as tf.Tensor;
    });
}

test('the 2x2/2 MaxPoolGrad path applies to non-overlapping pools without top/left padding only', () => {
  const info = (shape: [number, number, number, number], f: number, s: number, pad: PoolPad) => tf.backend_util.computePool2DInfo(shape, f, s, 1, pad);
  assert.ok(isTiledPool(info([2, 24, 24, 8], 2, 2, 'valid')));
  assert.ok(isTiledPool(info([2, 25, 23, 8], 2, 2, 'valid')), 'odd sizes drop the last row/column');
  assert.ok(isTiledPool(info([2, 24, 24, 8], 2, 2, 'same')), "'same' on even sizes has no padding");
  assert.ok(!isTiledPool(info([2, 25, 25, 8], 2, 2, 'same')), "'same' on odd sizes pads the last window");
  assert.ok(!isTiledPool(info([2, 24, 24, 8], 3, 2, 'valid')), 'overlapping windows');
  assert.ok(!isTiledPool(info([2, 24, 24, 8], 2, 1, 'valid')), 'overlapping windows');
});

test('MaxPoolGrad 2x2/2 fast path matches cpu: random values, ties, odd sizes, batch 1, channel counts', async () => {
  const rng = createRng(31);
  const shapes: Array<[number, number, number, number]> = [
    [1, 2, 2, 1],
    [1, 4, 4, 3],
    [1, 5, 7, 2],
    [2, 6, 6, 1],
    [3, 7, 5, 4],
    [2, 9, 9, 16],
    [4, 24, 24, 8],
    [1, 11, 10, 64],
    [2, 8, 8, 65],
  ];
  let k = 0;
  for (const shape of shapes) {
    for (const kind of ['random', 'ties', 'relu'] as const) {
      for (const pad of ['valid', 'same'] as const) {
        const info = tf.backend_util.computePool2DInfo(shape, 2, 2, 1, pad);
        let xv = randomArray(rng, size(shape));
        // Ties: small integers (many equal maxima); relu: about half the window values are 0.
        if (kind === 'ties') xv = xv.map((v) => Math.round(v));
        if (kind === 'relu') xv = xv.map((v) => Math.max(0, v));
        const dyv = randomArray(rng, size(info.outShape));
        const r = await onBoth(runPoolGrad(shape, xv, dyv, 2, 2, pad));
        assert.deepEqual(r.shape, shape);
        const e = relErr(r.wasm, r.cpu);
        assert.ok(e <= 1e-5, `case ${k} ${shape} ${pad} ${kind}: relative error ${e}`);
        // Each window passes dy to exactly one place, so the results are bit-identical to cpu.
        assert.deepEqual(Array.from(r.wasm), Array.from(r.cpu), `case ${k} ${shape} ${pad} ${kind}`);
        k++;
      }
    }
  }
});

test('MaxPoolGrad 2x2/2 fast path: NaN, ±Infinity and −0 in x or dy behave as on cpu', async () => {
  const rng = createRng(32);
  const shape: [number, number, number, number] = [2, 7, 6, 5];
  const info = tf.backend_util.computePool2DInfo(shape, 2, 2, 1, 'valid');
  const specials = [NaN, Infinity, -Infinity, -0, 0];
  for (let t = 0; t < 6; t++) {
    const xv = randomArray(rng, size(shape)).map((v) => Math.round(v));
    const dyv = randomArray(rng, size(info.outShape));
    for (let i = 0; i < xv.length; i++) if (rng.next() < 0.25) xv[i] = specials[rng.int(specials.length)]!;
    if (t >= 3) for (let i = 0; i < dyv.length; i++) if (rng.next() < 0.2) dyv[i] = specials[rng.int(specials.length)]!;
    // Whole windows of NaN and of −∞ (no winner: no gradient).
    xv.fill(NaN, 0, 2 * shape[3]);
    xv.fill(NaN, shape[2] * shape[3], (shape[2] + 2) * shape[3]);
    const b1 = shape[1] * shape[2] * shape[3];
    xv.fill(-Infinity, b1, b1 + 2 * shape[3]);
    xv.fill(-Infinity, b1 + shape[2] * shape[3], b1 + (shape[2] + 2) * shape[3]);
    const r = await onBoth(runPoolGrad(shape, xv, dyv, 2, 2, 'valid'));
    assert.ok(relErr(r.wasm, r.cpu) <= 1e-5, `trial ${t}`);
    for (let i = 0; i < r.cpu.length; i++) assert.ok(Object.is(r.wasm[i], r.cpu[i]), `trial ${t} entry ${i}: wasm ${r.wasm[i]}, cpu ${r.cpu[i]}`);
  }
});

test('MaxPoolGrad 3x3/3 pools (general path) still match cpu exactly', async () => {
  const rng = createRng(33);
  for (const [shape, f] of [
    [[2, 10, 11, 3], 3],
    [[1, 9, 9, 4], 3],
  ] as Array<[[number, number, number, number], number]>) {
    const info = tf.backend_util.computePool2DInfo(shape, f, f, 1, 'valid');
    const xv = randomArray(rng, size(shape)).map((v) => Math.round(v));
    const dyv = randomArray(rng, size(info.outShape));
    const r = await onBoth(runPoolGrad(shape, xv, dyv, f, f, 'valid'));
    assert.deepEqual(Array.from(r.wasm), Array.from(r.cpu), `${shape} ${f}`);
  }
});

type ConvPad = 'valid' | 'same' | number | [[0, 0], [number, number], [number, number], [0, 0]];

test('Conv2DBackpropInput matMul + col2im path (one input channel) matches cpu', async () => {
  const rng = createRng(34);
  const cases: Array<{ n: number; h: number; w: number; k: [number, number]; co: number; s: number; pad: ConvPad }> = [
    { n: 1, h: 28, w: 28, k: [3, 3], co: 32, s: 1, pad: 'valid' },
    { n: 3, h: 28, w: 28, k: [5, 5], co: 16, s: 1, pad: 'valid' },
    { n: 2, h: 9, w: 7, k: [3, 3], co: 5, s: 1, pad: 'same' },
    { n: 2, h: 8, w: 8, k: [4, 4], co: 3, s: 1, pad: 'same' },
    { n: 1, h: 10, w: 9, k: [3, 2], co: 7, s: 2, pad: 'same' },
    { n: 2, h: 11, w: 11, k: [3, 3], co: 4, s: 2, pad: 'valid' },
    { n: 2, h: 7, w: 8, k: [2, 3], co: 1, s: 1, pad: 1 },
    { n: 1, h: 6, w: 6, k: [3, 3], co: 6, s: 1, pad: [[0, 0], [2, 0], [1, 2], [0, 0]] },
    { n: 2, h: 5, w: 5, k: [1, 1], co: 9, s: 1, pad: 'valid' },
    { n: 1, h: 6, w: 7, k: [3, 3], co: 2, s: 1, pad: 4 },
    { n: 5, h: 13, w: 12, k: [5, 5], co: 8, s: 3, pad: 'same' },
  ];
  for (const c of cases) {
    const xShape: [number, number, number, number] = [c.n, c.h, c.w, 1];
    const filterShape: [number, number, number, number] = [c.k[0], c.k[1], 1, c.co];
    const info = tf.backend_util.computeConv2DInfo(xShape, filterShape, c.s, 1, c.pad);
    const dyShape = info.outShape;
    const attrs = { strides: c.s, pad: c.pad, dataFormat: 'NHWC' as const, inputShape: xShape };
    const filter = randomArray(rng, size(filterShape));
    const dy = randomArray(rng, size(dyShape));
    assert.ok(useCol2imBackpropInput({ dataId: {}, shape: dyShape, dtype: 'float32' }, { dataId: {}, shape: filterShape, dtype: 'float32' }, attrs));
    const r = await onBoth(() =>
      tf.tidy(
        () =>
          tf.engine().runKernel('Conv2DBackpropInput', { dy: tf.tensor4d(dy, dyShape), filter: tf.tensor4d(filter, filterShape) }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor,
      ),
    );
    assert.deepEqual(r.shape, xShape);
    const e = relErr(r.wasm, r.cpu);
    assert.ok(e <= 1e-5, `${JSON.stringify(c)}: relative error ${e}`);
  }
  // Only single-channel NHWC inputs take this path.
  const f3 = { dataId: {}, shape: [3, 3, 3, 8], dtype: 'float32' as const };
  const dy8 = { dataId: {}, shape: [1, 6, 6, 8], dtype: 'float32' as const };
  assert.ok(!useCol2imBackpropInput(dy8, f3, { strides: 1, pad: 'valid', inputShape: [1, 8, 8, 3] }));
  assert.ok(!useCol2imBackpropInput(dy8, { ...f3, shape: [3, 3, 1, 8] }, { strides: 1, pad: 'valid', dataFormat: 'NCHW', inputShape: [1, 1, 8, 8] }));
});

test('input gradient of a single-channel conv net through tf.grad matches cpu (conv, relu, 2x2 pool)', async () => {
  const rng = createRng(35);
  const x = randomArray(rng, 3 * 14 * 14 * 1);
  const w1 = randomArray(rng, 3 * 3 * 1 * 8);
  const w2 = randomArray(rng, 3 * 3 * 8 * 6);
  const r = await onBoth(() =>
    tf.tidy(() => {
      const f = (xx: tf.Tensor) => {
        const h1 = tf.relu(tf.conv2d(xx as tf.Tensor4D, tf.tensor4d(w1, [3, 3, 1, 8]), 1, 'valid'));
        const h2 = tf.relu(tf.conv2d(h1, tf.tensor4d(w2, [3, 3, 8, 6]), 1, 'valid'));
        return tf.sum(tf.square(tf.maxPool(h2, 2, 2, 'valid')));
      };
      return tf.grad(f)(tf.tensor4d(x, [3, 14, 14, 1]));
    }),
  );
  const e = relErr(r.wasm, r.cpu);
  assert.ok(e <= 1e-5, `relative error ${e}`);
});
