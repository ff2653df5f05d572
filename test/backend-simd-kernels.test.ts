/**
 * ae-manifold's wasm SIMD kernels module (src/backend/kernels/simd): the binaries are safe to run
 * inside tfjs's memory, tanh is accurate, the multi-channel col2im input gradient and the
 * one-channel convolution match cpu, and the fused C&W step gives the attack the op path gives.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expectNoLeaks, tf } from './support/tf.js';
import { useWasm } from './support/wasm.js';
import { onBoth, randomArray, relErr, size } from './support/kernel-check.js';
import { SIMD_KERNELS_PLAIN, SIMD_KERNELS_SHARED } from '../src/backend/kernels/simd/binary.js';
import { simdKernelsOf } from '../src/backend/kernels/simd/module.js';
import { useCol2imBackpropInput } from '../src/backend/kernels/conv2d-backprop-input.js';
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
