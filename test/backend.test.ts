import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { expectNoLeaks, expectTypedError, tf, useCpu } from './support/tf.js';
import { useWasm } from './support/wasm.js';
import { InvalidArgumentError } from '../src/errors.js';
import { installedWasmBackendVersion, PINNED_WASM_BACKEND_VERSION, useWasmBackend } from '../src/backend/index.js';

/** Max |a − b| / max|b|. */
function relErr(a: Float32Array | number[], b: Float32Array | number[]): number {
  assert.equal(a.length, b.length);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return den === 0 ? num : num / den;
}

function seeded(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

/** Gradients of a small CNN's cross-entropy with respect to every weight, as flat arrays. */
async function trainingGradients(): Promise<Float32Array[]> {
  const x = tf.tensor4d(seeded(6 * 14 * 14 * 2, 1), [6, 14, 14, 2]);
  const labels = tf.tidy(() => tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32'), 3));
  const init = [
    tf.tensor4d(seeded(3 * 3 * 2 * 4, 2), [3, 3, 2, 4]),
    tf.tensor4d(seeded(5 * 5 * 4 * 5, 3), [5, 5, 4, 5]),
    tf.tensor2d(seeded(5 * 5 * 5 * 3, 4), [5 * 5 * 5, 3]),
  ];
  const [w1, w2, wd] = init.map((t) => tf.variable(t)) as [tf.Variable<tf.Rank.R4>, tf.Variable<tf.Rank.R4>, tf.Variable<tf.Rank.R2>];
  tf.dispose(init);
  try {
    const { grads, value } = tf.variableGrads(() =>
      tf.tidy(() => {
        const h1 = tf.relu(tf.conv2d(x, w1, 1, 'same'));
        const h2 = tf.relu(tf.conv2d(h1, w2, 1, 'valid'));
        const p = tf.maxPool(h2, 2, 2, 'valid');
        const logits = tf.matMul(tf.reshape(p, [6, -1]), wd);
        // Cross-entropy written out (tf.losses' customGrad trips the IS_TEST leak check on cpu).
        return tf.neg(tf.mean(tf.sum(tf.mul(labels, tf.sub(logits, tf.logSumExp(logits, 1, true))), 1))) as tf.Scalar;
      }),
    );
    const out = [await grads[w1.name]!.data(), await grads[w2.name]!.data(), await grads[wd.name]!.data()] as Float32Array[];
    value.dispose();
    tf.dispose(Object.values(grads));
    return out;
  } finally {
    tf.dispose([x, labels, w1, w2, wd]);
  }
}

test('useWasmBackend: wasm is active, the report is complete, and a second call returns the same report', async () => {
  const r = await useWasm();
  assert.equal(tf.getBackend(), 'wasm');
  assert.equal(typeof r.simd, 'boolean');
  assert.equal(r.threads, 1);
  assert.deepEqual([...r.kernels].sort(), ['AeManifoldCwAdam', 'AeManifoldCwBox', 'BatchMatMul', 'Cast', 'Conv2D', 'Conv2DBackpropFilter', 'Conv2DBackpropInput', 'FusedConv2D', 'Identity', 'MaxPoolGrad', 'Mean', 'SplitV', 'Sum', 'Tanh', 'Tile']);
  assert.equal(r.simdKernels, true, 'the SIMD kernels module is loaded on the backend memory');
  assert.deepEqual(r.warnings, []);
  assert.deepEqual(r.options, { threads: 1, kernels: true });
  const again = await useWasmBackend({ threads: 1 });
  assert.equal(again, r);
  // After switching away, a call switches back to wasm and returns the same report.
  await useCpu();
  assert.equal(await useWasmBackend(), r);
  assert.equal(tf.getBackend(), 'wasm');
});

test('useWasmBackend: bad options are typed errors naming the option', async () => {
  await expectTypedError(() => useWasmBackend({ threads: 0 }), InvalidArgumentError, 'options.threads');
  await expectTypedError(() => useWasmBackend({ threads: 2.5 }), InvalidArgumentError, 'options.threads');
  await expectTypedError(() => useWasmBackend({ kernels: 'yes' as unknown as boolean }), InvalidArgumentError, 'options.kernels');
  await expectTypedError(() => useWasmBackend({ thread: 2 } as never), InvalidArgumentError, 'options.thread');
});

test('a CNN training-step gradient on wasm matches cpu (rel. error <= 1e-5) and leaks nothing', async () => {
  await useCpu();
  const ref = await trainingGradients();
  await useWasm();
  const backend = tf.backend() as unknown as { numDataIds(): number };
  const idsBefore = backend.numDataIds();
  const got = await expectNoLeaks(() => trainingGradients());
  assert.equal(backend.numDataIds(), idsBefore, 'wasm data ids leaked');
  for (let i = 0; i < ref.length; i++) {
    const e = relErr(got[i]!, ref[i]!);
    assert.ok(e <= 1e-5, `gradient ${i}: relative error ${e}`);
  }
});

test('the installed @tensorflow/tfjs-backend-wasm is the exact version pinned in package.json', () => {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { devDependencies?: Record<string, string>; dependencies?: Record<string, string>; peerDependencies?: Record<string, string> };
  const pin = pkg.dependencies?.['@tensorflow/tfjs-backend-wasm'] ?? pkg.devDependencies?.['@tensorflow/tfjs-backend-wasm'];
  assert.equal(pin, PINNED_WASM_BACKEND_VERSION, 'package.json must pin @tensorflow/tfjs-backend-wasm exactly (no ^ or ~)');
  assert.equal(installedWasmBackendVersion(), PINNED_WASM_BACKEND_VERSION);
});
