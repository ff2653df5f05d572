/**
 * ae-manifold's wasm SIMD kernels module (src/backend/kernels/simd): the binaries are safe to run
 * inside tfjs's memory, tanh is accurate, the multi-channel col2im input gradient, the input
 * gradient from a max-pool's gradient and the one-channel convolution match cpu, and the fused
 * C&W step gives the attack the op path gives.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expectNoLeaks, tf } from './support/tf.js';
import { useWasm } from './support/wasm.js';
import { onBoth, randomArray, relErr, size } from './support/kernel-check.js';
import { SIMD_KERNELS_PLAIN, SIMD_KERNELS_SHARED } from '../src/backend/kernels/simd/binary.js';
import { simdKernelsOf } from '../src/backend/kernels/simd/module.js';
import { pooledGradientGeometry, useCol2imBackpropInput } from '../src/backend/kernels/conv2d-backprop-input.js';
import { convPooledScratchSize } from '../src/backend/kernels/simd/module.js';
import { CW_ADAM_KERNEL, cwStepConfigs, fusedCwStepAvailable } from '../src/backend/kernels/cw-step.js';
import { carliniWagnerL0, carliniWagnerL2, carliniWagnerLinf } from '../src/attacks/index.js';
import { createRng } from '../src/internal/rng.js';
import { tanhConfig } from '../src/backend/kernels/tanh.js';
import { oneChannelConvConfig, oneChannelGeometry } from '../src/backend/kernels/conv2d-one-channel.js';

/** Section ids of a wasm binary, and its import entries as "module.name". */
function sections(bytes: Uint8Array): { ids: number[]; imports: string[] } {
  let p = 8;
  const leb = (): number => {
    let v = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[p++]!;
      v |= (b & 0x7f) << shift;
      shift += 7;
      if (!(b & 0x80)) return v >>> 0;
    }
  };
  const str = (): string => {
    const n = leb();
    const s = new TextDecoder().decode(bytes.subarray(p, p + n));
    p += n;
    return s;
  };
  const ids: number[] = [];
  const imports: string[] = [];
  while (p < bytes.length) {
    const id = bytes[p++]!;
    const len = leb();
    const end = p + len;
    ids.push(id);
    if (id === 2) {
      const n = leb();
      for (let i = 0; i < n; i++) imports.push(`${str()}.${str()}`);
    }
    p = end;
  }
  return { ids, imports };
}

test('the SIMD kernel binaries import only a memory and carry no data segment (safe inside tfjs memory)', () => {
  for (const b64 of [SIMD_KERNELS_PLAIN, SIMD_KERNELS_SHARED]) {
    const bytes = new Uint8Array(Buffer.from(b64, 'base64'));
    assert.ok(WebAssembly.validate(bytes));
    const { ids, imports } = sections(bytes);
    assert.deepEqual(imports, ['env.memory']);
    assert.ok(!ids.includes(11), 'no data section');
  }
});

test('the SIMD kernels module is loaded on the wasm backend, and SIMD tanh is within 2 ulp of the correctly rounded value', async () => {
  await useWasm();
  assert.ok(simdKernelsOf(tf.backend()), 'loaded on the backend');
  const values: number[] = [0, -0, Infinity, -Infinity, NaN, 1e-30, -1e-30, 1e-8, 0.624, 0.625, 0.626, -0.625, 9, 10, 10.5, 20, 88, -88, 7.6, -7.6];
  for (let v = -12; v <= 12; v += 0.00937) values.push(v);
  const rng = createRng(7);
  for (let i = 0; i < 5000; i++) values.push((rng.next() - 0.5) * 4);
  // The replacement kernel with a stock fallback that throws: the values below come from the SIMD path.
  const simdOnly = tanhConfig({ kernelName: 'Tanh', backendName: 'wasm', kernelFunc: () => assert.fail('the stock Tanh ran') });
  const got = await expectNoLeaks(async () => {
    const t = tf.tensor1d(values);
    const info = simdOnly.kernelFunc({ inputs: { x: t }, attrs: {}, backend: tf.backend() }) as tf.TensorInfo;
    const y = tf.engine().makeTensorFromTensorInfo(info);
    const out = (await y.data()) as Float32Array;
    tf.dispose([t, y]);
    return out;
  });
  // tf.tanh itself runs the same kernel.
  const viaOp = tf.tidy(() => tf.tanh(tf.tensor1d(values)).dataSync());
  assert.deepEqual(Array.from(viaOp), Array.from(got));
  const x32 = Float32Array.from(values);
  const ulp = (a: number): number => {
    const f = new Float32Array([Math.abs(a)]);
    const u = new Uint32Array(f.buffer);
    u[0]! += 1;
    return f[0]! - Math.abs(Math.fround(a));
  };
  let worst = 0;
  for (let i = 0; i < values.length; i++) {
    const exact = Math.tanh(x32[i]!);
    const want = Math.fround(exact);
    const y = got[i]!;
    if (Number.isNaN(exact)) {
      assert.ok(Number.isNaN(y), `tanh(${x32[i]}) should be NaN`);
      continue;
    }
    assert.ok(Math.abs(y) <= 1, `|tanh(${x32[i]})| <= 1`);
    if (Object.is(want, -0) || Object.is(want, 0)) {
      assert.ok(Object.is(y, want), `tanh(${x32[i]}) keeps the sign of zero`);
      continue;
    }
    worst = Math.max(worst, Math.abs(y - exact) / ulp(want));
  }
  assert.ok(worst <= 2, `worst error ${worst} ulp`);
});

test('Conv2DBackpropInput matMul + SIMD col2im on multi-channel inputs matches cpu', async () => {
  await useWasm();
  const rng = createRng(41);
  const cases: Array<{ n: number; h: number; w: number; ci: number; k: [number, number]; co: number; s: number; pad: 'valid' | 'same' }> = [
    { n: 3, h: 12, w: 12, ci: 16, k: [5, 5], co: 16, s: 1, pad: 'valid' },
    { n: 2, h: 9, w: 7, ci: 6, k: [3, 3], co: 5, s: 1, pad: 'valid' },
    { n: 2, h: 11, w: 10, ci: 3, k: [3, 3], co: 4, s: 2, pad: 'same' },
    { n: 1, h: 8, w: 8, ci: 20, k: [4, 4], co: 7, s: 2, pad: 'valid' },
  ];
  for (const c of cases) {
    const xShape: [number, number, number, number] = [c.n, c.h, c.w, c.ci];
    const filterShape: [number, number, number, number] = [c.k[0], c.k[1], c.ci, c.co];
    const info = tf.backend_util.computeConv2DInfo(xShape, filterShape, c.s, 1, c.pad);
    const attrs = { strides: c.s, pad: c.pad, dataFormat: 'NHWC' as const, inputShape: xShape };
    assert.ok(useCol2imBackpropInput({ dataId: {}, shape: info.outShape, dtype: 'float32' }, { dataId: {}, shape: filterShape, dtype: 'float32' }, attrs, true), JSON.stringify(c));
    const filter = randomArray(rng, size(filterShape));
    const dy = randomArray(rng, size(info.outShape));
    const r = await onBoth(() =>
      tf.tidy(() => tf.engine().runKernel('Conv2DBackpropInput', { dy: tf.tensor4d(dy, info.outShape), filter: tf.tensor4d(filter, filterShape) }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor),
    );
    const e = relErr(r.wasm, r.cpu);
    assert.ok(e <= 1e-5, `${JSON.stringify(c)}: relative error ${e}`);
  }
  // 'same' stride-1 convolutions keep the forward-convolution path (no extra work to avoid).
  assert.ok(!useCol2imBackpropInput({ dataId: {}, shape: [2, 8, 8, 16], dtype: 'float32' }, { dataId: {}, shape: [3, 3, 16, 16], dtype: 'float32' }, { strides: 1, pad: 'same', inputShape: [2, 8, 8, 16] }, true));
});

test("Conv2DBackpropInput from a 2 × 2 max-pool's gradient runs conv_dx_pooled and matches cpu; other gradients fall back", async () => {
  await useWasm();
  const rng = createRng(47);
  const simd = simdKernelsOf(tf.backend())!;
  const backend = tf.backend() as unknown as { makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo; typedArrayFromHeap(info: tf.TensorInfo): Float32Array; disposeData(id: object): void };
  // dy with at most one non-zero value per 2 × 2 block and channel (a third of the blocks zero),
  // and zeros in a last odd row or column, as a 2 × 2 'valid' max-pool's gradient.
  const pooledDy = (shape: number[]): Float32Array => {
    const [n, ho, wo, co] = shape as [number, number, number, number];
    const dy = new Float32Array(size(shape));
    for (let b = 0; b < n; b++)
      for (let by = 0; by + 1 < ho; by += 2)
        for (let bx = 0; bx + 1 < wo; bx += 2)
          for (let c = 0; c < co; c++) {
            if (rng.next() < 1 / 3) continue;
            const t = Math.floor(rng.next() * 4);
            dy[((b * ho + by + (t >> 1)) * wo + bx + (t & 1)) * co + c] = rng.normal();
          }
    return dy;
  };
  // The MNIST CNN's layers (tile in 9 registers; 4 vectors per pixel), 12 registers, a tile in
  // memory, odd sizes with 1 vector per pixel, and 8 and 2 vectors per pixel.
  const cases: Array<{ n: number; ho: number; wo: number; k: [number, number]; ci: number; co: number }> = [
    { n: 3, ho: 24, wo: 24, k: [5, 5], ci: 1, co: 16 },
    { n: 3, ho: 8, wo: 8, k: [5, 5], ci: 16, co: 16 },
    { n: 2, ho: 9, wo: 10, k: [3, 3], ci: 3, co: 8 },
    { n: 2, ho: 6, wo: 7, k: [5, 5], ci: 2, co: 4 },
    { n: 1, ho: 5, wo: 7, k: [2, 3], ci: 4, co: 12 },
    { n: 2, ho: 6, wo: 6, k: [3, 3], ci: 32, co: 8 }, // 8 vectors per pixel (the CIFAR-10 CNN's layers)
    { n: 1, ho: 4, wo: 5, k: [3, 2], ci: 8, co: 4 }, // 2 vectors per pixel
  ];
  for (const c of cases) {
    const dyShape = [c.n, c.ho, c.wo, c.co];
    const filterShape: [number, number, number, number] = [c.k[0], c.k[1], c.ci, c.co];
    const xShape: [number, number, number, number] = [c.n, c.ho + c.k[0] - 1, c.wo + c.k[1] - 1, c.ci];
    const attrs = { strides: 1, pad: 'valid', dataFormat: 'NHWC', inputShape: xShape } as const;
    const g = pooledGradientGeometry({ dataId: {}, shape: dyShape, dtype: 'float32' }, { dataId: {}, shape: filterShape, dtype: 'float32' }, attrs);
    assert.ok(g, JSON.stringify(c));
    const filter = randomArray(rng, size(filterShape));
    const run = (dy: Float32Array) => tf.tidy(() => tf.engine().runKernel('Conv2DBackpropInput', { dy: tf.tensor4d(dy, dyShape as never), filter: tf.tensor4d(filter, filterShape) }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor);
    // The kernel itself: the check accepts a pooled dy and refuses two non-zero values in one
    // block, or a non-zero value in a last odd row; after it, every element of dx is written
    // (it starts as 7s).
    const direct = async (dy: Float32Array): Promise<Float32Array | false> =>
      expectNoLeaks(() => {
        const [dyT, filterT] = [tf.tensor4d(dy, dyShape as never), tf.tensor4d(filter, filterShape)];
        const scratch = backend.makeOutput([convPooledScratchSize(g!)], 'float32');
        let out: Float32Array | false = false;
        if (simd.convDxPooledCheck(dyT, scratch, g!)) {
          const dx = backend.makeOutput(xShape, 'float32');
          backend.typedArrayFromHeap(dx).fill(7);
          simd.convDxPooled(filterT, dx, scratch, g!);
          out = backend.typedArrayFromHeap(dx).slice();
          backend.disposeData(dx.dataId);
        }
        backend.disposeData(scratch.dataId);
        tf.dispose([dyT, filterT]);
        return out;
      });
    const dy = pooledDy(dyShape);
    const r = await onBoth(() => run(dy));
    const e = relErr(r.wasm, r.cpu);
    assert.ok(e <= 1e-5, `${JSON.stringify(c)}: relative error ${e}`);
    const got = await direct(dy);
    assert.ok(got, `${JSON.stringify(c)}: the pooled kernel accepts a pool's gradient`);
    assert.deepEqual(Array.from(got), Array.from(r.wasm), 'Conv2DBackpropInput ran conv_dx_pooled');
    const twoInBlock = dy.slice();
    twoInBlock[0] = 1;
    twoInBlock[c.co] = 2; // the first block, channel 0: positions 0 and 1
    assert.equal(await direct(twoInBlock), false, 'two non-zero values in one block');
    const fallback = await onBoth(() => run(twoInBlock));
    assert.ok(relErr(fallback.wasm, fallback.cpu) <= 1e-5, 'the dense path gives the gradient');
    if (c.ho % 2 === 1) {
      const lastRow = dy.slice();
      lastRow[lastRow.length - 1] = 1;
      assert.equal(await direct(lastRow), false, 'a non-zero value in the last odd row');
    }
  }
  // Not covered: stride 2, 'same' padding, 6 output channels, NCHW, a one-row output.
  const notCovered: Array<[number[], number[], Record<string, unknown>]> = [
    [[1, 4, 4, 8], [3, 3, 2, 8], { strides: 2, pad: 'valid', inputShape: [1, 9, 9, 2] }],
    [[1, 8, 8, 8], [3, 3, 2, 8], { strides: 1, pad: 'same', inputShape: [1, 8, 8, 2] }],
    [[1, 6, 6, 6], [3, 3, 2, 6], { strides: 1, pad: 'valid', inputShape: [1, 8, 8, 2] }],
    [[1, 8, 6, 6], [3, 3, 8, 2], { strides: 1, pad: 'valid', dataFormat: 'NCHW', inputShape: [1, 2, 8, 8] }],
    [[1, 1, 6, 8], [3, 3, 2, 8], { strides: 1, pad: 'valid', inputShape: [1, 3, 8, 2] }],
  ];
  for (const [dys, fs, a] of notCovered) {
    assert.equal(pooledGradientGeometry({ dataId: {}, shape: dys, dtype: 'float32' }, { dataId: {}, shape: fs, dtype: 'float32' }, a as never), undefined, JSON.stringify([dys, fs, a]));
  }
});

test('one-channel Conv2D and FusedConv2D (bias, linear or ReLU) on the SIMD kernel match cpu; other cases keep the stock kernel', async () => {
  await useWasm();
  const rng = createRng(43);
  // Replacements whose stock fallback throws: a covered case must run on the SIMD kernel.
  const throwing = (name: string): tf.KernelConfig => ({ kernelName: name, backendName: 'wasm', kernelFunc: () => assert.fail(`the stock ${name} ran`) });
  const cases: Array<{ n: number; h: number; w: number; k: [number, number]; co: number }> = [
    { n: 3, h: 28, w: 28, k: [5, 5], co: 16 }, // the MNIST CNN's first layer
    { n: 2, h: 9, w: 8, k: [3, 2], co: 4 }, // odd output width (the one-pixel tail)
    { n: 1, h: 6, w: 11, k: [5, 5], co: 20 }, // 16 + 4 channels
    { n: 2, h: 5, w: 5, k: [5, 5], co: 8 }, // a 1 × 1 output
  ];
  for (const c of cases) {
    const xShape: [number, number, number, number] = [c.n, c.h, c.w, 1];
    const filterShape: [number, number, number, number] = [c.k[0], c.k[1], 1, c.co];
    assert.ok(oneChannelGeometry(xShape, filterShape, { strides: 1, pad: 'valid' }), JSON.stringify(c));
    const x = randomArray(rng, size(xShape));
    const filter = randomArray(rng, size(filterShape));
    const bias = randomArray(rng, c.co);
    for (const [name, activation] of [['Conv2D', undefined], ['FusedConv2D', 'linear'], ['FusedConv2D', 'relu'], ['FusedConv2D', undefined]] as const) {
      const withBias = name === 'FusedConv2D' && activation !== undefined;
      const attrs = { strides: 1, pad: 'valid', dataFormat: 'NHWC', dilations: 1, ...(activation ? { activation } : {}) } as unknown as tf.NamedAttrMap;
      const inputs = (): tf.NamedTensorMap => ({ x: tf.tensor4d(x, xShape), filter: tf.tensor4d(filter, filterShape), ...(withBias ? { bias: tf.tensor1d(bias) } : {}) });
      const r = await onBoth(() => tf.tidy(() => tf.engine().runKernel(name, inputs(), attrs) as tf.Tensor));
      const e = relErr(r.wasm, r.cpu);
      assert.ok(e <= 1e-5, `${name} ${activation} ${JSON.stringify(c)}: relative error ${e}`);
      // The same values from the replacement alone (no stock fallback possible).
      await expectNoLeaks(async () => {
        const t = inputs();
        const info = oneChannelConvConfig(throwing(name)).kernelFunc({ inputs: t, attrs, backend: tf.backend() }) as tf.TensorInfo;
        const y = tf.engine().makeTensorFromTensorInfo(info);
        assert.deepEqual(Array.from(await y.data()), Array.from(r.wasm));
        tf.dispose([y, ...Object.values(t)]);
      });
    }
  }
  // Not covered, so the stock kernel runs: padding, stride, dilation, channel counts, layout, PReLU.
  const notCovered: Array<[number[], number[], Record<string, unknown>]> = [
    [[1, 8, 8, 1], [3, 3, 1, 8], { strides: 1, pad: 'same' }],
    [[1, 8, 8, 1], [3, 3, 1, 8], { strides: 2, pad: 'valid' }],
    [[1, 8, 8, 1], [3, 3, 1, 8], { strides: 1, pad: 'valid', dilations: 2 }],
    [[1, 8, 8, 1], [3, 3, 1, 6], { strides: 1, pad: 'valid' }],
    [[1, 8, 8, 2], [3, 3, 2, 8], { strides: 1, pad: 'valid' }],
    [[1, 1, 8, 8], [3, 3, 1, 8], { strides: 1, pad: 'valid', dataFormat: 'NCHW' }],
  ];
  for (const [xs, fs, a] of notCovered) assert.equal(oneChannelGeometry(xs, fs, a as never), undefined, JSON.stringify([xs, fs, a]));
  // PReLU, and a bias that is not one value per channel, go to the stock kernel too.
  const stockOnly = oneChannelConvConfig(throwing('FusedConv2D'));
  const x8 = tf.ones([1, 8, 8, 1]);
  const f8 = tf.ones([3, 3, 1, 8]);
  const extra = { preluActivationWeights: tf.ones([8]), bias: tf.ones([1]) };
  assert.throws(() => stockOnly.kernelFunc({ inputs: { x: x8, filter: f8, preluActivationWeights: extra.preluActivationWeights }, attrs: { strides: 1, pad: 'valid', activation: 'prelu' }, backend: tf.backend() }), /the stock FusedConv2D ran/);
  assert.throws(() => stockOnly.kernelFunc({ inputs: { x: x8, filter: f8, bias: extra.bias }, attrs: { strides: 1, pad: 'valid', activation: 'linear' }, backend: tf.backend() }), /the stock FusedConv2D ran/);
  tf.dispose([x8, f8, ...Object.values(extra)]);
});

test('the fused C&W step kernels give the attacks the results of the op path (L2, L∞, L0)', async () => {
  await useWasm();
  assert.ok(fusedCwStepAvailable());
  const rng = createRng(5);
  const D = 30;
  const K = 4;
  const W = tf.tensor2d(randomArray(rng, D * K), [D, K]);
  const b = tf.tensor1d(randomArray(rng, K));
  const model = (x: tf.Tensor): tf.Tensor => tf.tidy(() => tf.add(tf.matMul(tf.reshape(x, [x.shape[0]!, D]), W), b));
  const xs = Float32Array.from(randomArray(rng, 6 * D), (v) => 0.5 + 0.2 * Math.tanh(v));
  const inputs = tf.tensor2d(xs, [6, D]);
  const labels = [0, 1, 2, 3, 0, 1];
  const runAll = async () => {
    const out: Array<{ adv: Float32Array; success: ArrayLike<number>; distance: ArrayLike<number> }> = [];
    const common = { binarySearchSteps: 2, maxIterations: 40, batchSize: 4 } as const;
    for (const r of [
      await carliniWagnerL2(model, inputs, labels, common),
      await carliniWagnerLinf(model, inputs, labels, { maxIterations: 40, batchSize: 4 }),
      await carliniWagnerL0(model, inputs, labels, { maxIterations: 40, batchSize: 4 }),
    ]) {
      out.push({ adv: (await r.adversarial.data()) as Float32Array, success: r.success, distance: r.distance });
      r.dispose();
    }
    return out;
  };
  // Which step ran: the kernels of a short L2 and L∞ run (a profile of the whole comparison is too long for tfjs).
  const stepKernels = async (): Promise<Set<string>> => {
    const profile = await tf.profile(async () => {
      (await carliniWagnerL2(model, inputs, labels, { binarySearchSteps: 1, maxIterations: 2 })).dispose();
      (await carliniWagnerLinf(model, inputs, labels, { maxIterations: 2 })).dispose();
    });
    return new Set(profile.kernels.map((k) => k.name));
  };
  const fusedNames = await stepKernels();
  assert.ok(fusedNames.has('AeManifoldCwBox') && fusedNames.has('AeManifoldCwAdam'), 'the fused kernels ran');
  const fused = await expectNoLeaks(runAll);
  tf.unregisterKernel(CW_ADAM_KERNEL, 'wasm');
  try {
    assert.ok(!fusedCwStepAvailable());
    assert.ok(![...(await stepKernels())].some((k) => k.startsWith('AeManifoldCw')), 'the op path ran');
    const ops = await expectNoLeaks(runAll);
    for (let a = 0; a < 3; a++) {
      assert.deepEqual(Array.from(fused[a]!.success), Array.from(ops[a]!.success), `attack ${a}: success`);
      assert.ok(Array.from(fused[a]!.success).some((s) => s === 1), `attack ${a}: some example succeeds`);
      let worst = 0;
      for (let i = 0; i < fused[a]!.adv.length; i++) worst = Math.max(worst, Math.abs(fused[a]!.adv[i]! - ops[a]!.adv[i]!));
      assert.ok(worst <= 1e-3, `attack ${a}: largest difference ${worst}`);
    }
  } finally {
    for (const config of cwStepConfigs()) if (!tf.getKernel(config.kernelName, 'wasm')) tf.registerKernel(config);
    tf.dispose([W, b, inputs]);
  }
  assert.ok(fusedCwStepAvailable());
});
