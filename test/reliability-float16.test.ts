// Float16 backends (docs/attacks.md, "Float16 backends"): the precision probe and its decision
// logic, the float16 shrink factor of the tanh change of variables, the snap of untouched values,
// and the float16 code paths of the attacks and SNNL run end to end in Node on an emulated float16
// backend: the cpu kernels with every float32 output rounded to float16, and values beyond ±65504
// turned into NaN, as tfjs-webgl on half-float textures reads them back (measured in Chromium).
// The real float16 WebGL run is in test/browser.test.ts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tfl from '@tensorflow/tfjs-layers';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { useCpu, expectNoLeaks, tf } from './support/tf.js';
import { backendFloatPrecision, floatPrecisionFrom, FLOAT16_MAX } from '../src/backend/precision.js';
import { carliniWagnerL0, carliniWagnerL2, carliniWagnerLinf, generateRubbish, optimalSnnl, softNearestNeighborLoss } from '../src/index.js';
import { TANH_SHRINK, TANH_SHRINK_FLOAT16, resolveBox, tanhShrinkFor, toTanhSpace, fromTanhSpace } from '../src/attacks/tanh-box.js';
import { FLOAT16_CHANGE_TOLERANCE, snapToOriginal } from '../src/attacks/float16.js';
import { CwEngine } from '../src/attacks/optimize.js';
import type { EngineConfig } from '../src/attacks/optimize.js';
import { CwEngineFloat16 } from '../src/attacks/optimize-float16.js';

/** Round to the nearest float16 value (ties to even), ±∞ above the range (Node 20 has no Math.f16round). */
function f16round(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  if (a >= 65520) return Math.sign(x) * Infinity;
  const e = Math.max(Math.floor(Math.log2(a)), -14); // subnormals share the exponent of 2^-14
  const ulp = 2 ** (e - 10);
  const q = a / ulp;
  let r = Math.round(q);
  if (Math.abs(q - Math.trunc(q) - 0.5) < 1e-12 && r % 2 === 1) r -= 1; // ties to even
  return Math.sign(x) * r * ulp;
}

/** What a half-float WebGL texture gives back for a value: float16 rounding, NaN beyond ±65504. */
function storeFloat16(v: number): number {
  const r = f16round(v);
  return Number.isFinite(r) ? r : NaN;
}

const F16 = 'emulated-float16';

/** Registers F16: the cpu kernels, each float32 output rounded in place to float16. */
function registerEmulatedFloat16(): void {
  if (tf.findBackend(F16)) return;
  tf.registerBackend(F16, () => new MathBackendCPU(), -1);
  for (const k of tf.getKernelsForBackend('cpu')) {
    tf.registerKernel({
      ...k,
      backendName: F16,
      kernelFunc: (args) => {
        const out = k.kernelFunc(args);
        const backend = args.backend as MathBackendCPU;
        for (const info of Array.isArray(out) ? out : [out]) {
          if (info.dtype !== 'float32') continue;
          const vals = backend.data.get(info.dataId).values as Float32Array;
          for (let i = 0; i < vals.length; i++) vals[i] = storeFloat16(vals[i]!);
        }
        return out;
      },
    });
  }
}

async function onFloat16<T>(fn: () => Promise<T>): Promise<T> {
  await tf.setBackend(F16);
  try {
    return await fn();
  } finally {
    await useCpu();
  }
}

/** 8 → 6 (relu) → 3 with fixed weights; built on the active backend. */
function smallModel(): tfl.LayersModel {
  const m = tfl.sequential({
    layers: [tfl.layers.dense({ units: 6, inputShape: [8], activation: 'relu' }), tfl.layers.dense({ units: 3 })],
  });
  const shapes = [[8, 6], [6], [6, 3], [3]];
  const ws = shapes.map((s, k) => {
    const n = s.reduce((a, b) => a * b, 1);
    return tf.tensor(Float32Array.from({ length: n }, (_, i) => Math.sin(12.9898 * (i + 1) + 78.233 * (k + 1)) * 0.9), s);
  });
  m.setWeights(ws);
  ws.forEach((t) => t.dispose());
  return m;
}

/** Inputs with exact 0 and 1 values. */
function edgeInputs(rows: number): Float32Array {
  return Float32Array.from({ length: rows * 8 }, (_, i) => {
    const v = Math.sin(12.9898 * (i + 1) + 78.233 * 31);
    return v > 0.3 ? 1 : v < -0.3 ? 0 : 0.5 + v;
  });
}

before(async () => {
  registerEmulatedFloat16();
  await useCpu();
});
after(async () => {
  await useCpu();
});

test('f16round / storeFloat16 (test helper) match known float16 values', () => {
  assert.equal(f16round(1 + 2 ** -12), 1);
  assert.equal(f16round(1 + 2 ** -10), 1 + 2 ** -10);
  assert.equal(f16round(65504), 65504);
  assert.equal(f16round(1e-8), 0);
  assert.equal(f16round(2 ** -24), 2 ** -24);
  assert.ok(Number.isNaN(storeFloat16(70000)));
  assert.ok(Number.isNaN(storeFloat16(-Infinity)));
});

test('floatPrecisionFrom: float32 backends are not probed; a probe that loses 2^-12 means float16', () => {
  let probed = 0;
  const lose = (v: number) => {
    probed++;
    return f16round(v);
  };
  for (const name of ['cpu', 'wasm', 'tensorflow']) assert.equal(floatPrecisionFrom(name, lose), 32);
  assert.equal(probed, 0);
  assert.equal(floatPrecisionFrom('webgl', lose), 16);
  assert.equal(floatPrecisionFrom('webgl', (v) => Math.fround(v)), 32);
  assert.equal(floatPrecisionFrom('webgpu', (v) => Math.fround(v)), 32);
  assert.equal(probed, 1);
});

test('backendFloatPrecision measures 32 on cpu and 16 on an emulated float16 backend, without leaks', async () => {
  assert.equal(await expectNoLeaks(() => backendFloatPrecision()), 32);
  const p = await onFloat16(async () => {
    // tfjs's own floatPrecision() on this backend says 32: the library must not rely on it.
    assert.equal((tf.backend() as unknown as { floatPrecision(): number }).floatPrecision(), 32);
    return expectNoLeaks(() => backendFloatPrecision());
  });
  assert.equal(p, 16);
  assert.equal(backendFloatPrecision(), 32, 'back on cpu');
});

test('float16 shrink factor: edge values keep a tanh gradient in float16; the float32 one loses it', () => {
  assert.equal(tanhShrinkFor(32), TANH_SHRINK);
  assert.equal(tanhShrinkFor(16), TANH_SHRINK_FLOAT16);
  for (const [s, frozen] of [[TANH_SHRINK, true], [TANH_SHRINK_FLOAT16, false]] as const) {
    const y = f16round(Math.tanh(Math.atanh(s))); // what a float16 device stores for tanh(w₀) at x = 1
    const grad = f16round(1 - y * y); // tanh's gradient as tfjs forms it from the stored output
    assert.equal(grad === 0, frozen, `s = ${s}: stored tanh ${y}, gradient ${grad}`);
  }
  // Untouched values come back (1 − s)·|x − mid| from the original: within the float16 snap tolerance.
  const box = resolveBox('test', [0, 1], 1, TANH_SHRINK_FLOAT16);
  const x = Float32Array.from([0, 1, 0.25, 0.5, 0.999]);
  const back = fromTanhSpace(box, toTanhSpace(box, x));
  for (let i = 0; i < x.length; i++) {
    const d = Math.abs(back[i]! - x[i]!);
    assert.ok(d <= 2 ** -11 + 1e-7 && d < FLOAT16_CHANGE_TOLERANCE, `x = ${x[i]}: reconstructed ${back[i]} (${d} away)`);
  }
  assert.ok(toTanhSpace(box, x).every(Number.isFinite));
});

test('snapToOriginal snaps whole pixels within the tolerance and returns the same array when nothing snaps', () => {
  const box = resolveBox('test', [0, 1], 2);
  const orig = Float32Array.from([0, 1, 0.5, 0.5, 0.2, 0.8]);
  const img = Float32Array.from([0.0004, 0.9996, 0.5, 0.6, 0.2, 0.8]);
  const out = snapToOriginal(box, img, orig, FLOAT16_CHANGE_TOLERANCE);
  assert.deepEqual(Array.from(out), [0, 1, 0.5, 0.6000000238418579, 0.20000000298023224, 0.800000011920929]);
  assert.notEqual(out, img);
  assert.equal(snapToOriginal(box, orig, orig, FLOAT16_CHANGE_TOLERANCE), orig);
});

test('CwEngineFloat16 follows CwEngine in exact arithmetic (cpu backend: only the loss scaling and float64 differ)', async () => {
  const model = smallModel();
  const D = 8;
  const x = edgeInputs(2);
  const box = resolveBox('test', [0, 1], D);
  const w0 = toTanhSpace(box, x);
  const xt = fromTanhSpace(box, w0);
  const cfg: EngineConfig = {
    fn: 'test', logits: (t) => model.apply(t) as tf.Tensor, box, exampleShape: [D], numClasses: 3, targeted: false,
    kappa: 0, learningRate: 0.05, distance: 'l2', masked: false, capacity: 2,
  };
  const lab = [0, 1].map((r) => {
    const z = tf.tidy(() => tf.argMax(model.predict(tf.tensor2d(x.subarray(r * D, (r + 1) * D), [1, D])) as tf.Tensor, 1));
    const v = z.dataSync()[0]!;
    z.dispose();
    return v;
  });
  const runs: number[][] = [];
  await expectNoLeaks(async () => {
    for (const Engine of [CwEngine, CwEngineFloat16]) {
      const e = new Engine(cfg);
      for (let r = 0; r < 2; r++) {
        e.load(r, { x: x.subarray(r * D, (r + 1) * D), xt: xt.subarray(r * D, (r + 1) * D), base: w0.subarray(r * D, (r + 1) * D), cls: lab[r]!, c: r === 0 ? 5 : 2e4 });
      }
      const losses: number[] = [];
      for (let s = 0; s < 60; s++) {
        const o = await e.step();
        losses.push(o.loss[0]!, o.loss[1]!, o.dist[0]!);
        assert.ok(o.image.every((v) => v >= 0 && v <= 1));
      }
      e.dispose();
      runs.push(losses);
    }
  });
  model.dispose();
  const [a, b] = runs as [number[], number[]];
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= 1e-3 * (1 + Math.abs(a[i]!)), `value ${i}: CwEngine ${a[i]}, CwEngineFloat16 ${b[i]}`);
});

test('on float16 storage the float32 engine breaks (the reason for CwEngineFloat16): NaN from the first step', async () => {
  await onFloat16(async () => {
    const model = smallModel();
    const D = 8;
    const x = edgeInputs(1);
    const box = resolveBox('test', [0, 1], D);
    const w0 = toTanhSpace(box, x);
    const cfg: EngineConfig = {
      fn: 'test', logits: (t) => model.apply(t) as tf.Tensor, box, exampleShape: [D], numClasses: 3, targeted: false,
      kappa: 0, learningRate: 0.05, distance: 'l2', masked: false, capacity: 1,
    };
    const results: boolean[] = [];
    for (const Engine of [CwEngine, CwEngineFloat16]) {
      const e = new Engine(cfg);
      e.load(0, { x, xt: fromTanhSpace(box, w0), base: w0, cls: 0, c: 1 });
      const o = await e.step();
      results.push(Number.isFinite(o.loss[0]!) && Number.isFinite(o.f[0]!));
      e.dispose();
    }
    model.dispose();
    assert.deepEqual(results, [false, true], 'CwEngine must fail (−∞ mask read back as NaN) and CwEngineFloat16 must not');
  });
});

test('attacks on a float16 backend: one warning, finite distances of the returned inputs, inside the box, success = re-prediction', async () => {
  await onFloat16(async () => {
    const model = smallModel();
    const N = 6;
    const xs = edgeInputs(N);
    const x = tf.tensor2d(xs, [N, 8]);
    const lt = tf.tidy(() => tf.argMax(model.predict(x) as tf.Tensor, 1));
    const labels = Array.from(await lt.data()) as number[];
    lt.dispose();
    const opts = { maxIterations: 60, initialConst: 1, learningRate: 0.05 };
    for (const [name, run] of [
      ['carliniWagnerL2', () => carliniWagnerL2(model, x, labels, { ...opts, binarySearchSteps: 3 })],
      ['carliniWagnerLinf', () => carliniWagnerLinf(model, x, labels, { ...opts, learningRate: 0.01 })],
      ['carliniWagnerL0', () => carliniWagnerL0(model, x, labels, opts)],
    ] as const) {
      await expectNoLeaks(async () => {
        const r = await run();
        assert.equal(r.warnings.length, 1, `${name}: ${JSON.stringify(r.warnings)}`);
        assert.match(r.warnings[0]!, new RegExp(`^${name}: the ${F16} backend stores tensors in float16`));
        const adv = (await r.adversarial.data()) as Float32Array;
        assert.ok(adv.every((v) => Number.isFinite(v) && v >= 0 && v <= 1), `${name}: adversarial outside [0, 1] or not finite`);
        const pt = tf.tidy(() => tf.argMax(model.predict(r.adversarial) as tf.Tensor, 1));
        const p = await pt.data();
        pt.dispose();
        let ok = 0;
        for (let i = 0; i < N; i++) {
          assert.equal(r.success[i], p[i] !== labels[i] ? 1 : 0, `${name}: success[${i}] disagrees with a fresh prediction`);
          if (!r.success[i]) {
            assert.equal(r.distance[i], Infinity);
            continue;
          }
          ok++;
          let l2 = 0;
          let linf = 0;
          let l0 = 0;
          for (let k = 0; k < 8; k++) {
            const d = Math.abs(adv[i * 8 + k]! - xs[i * 8 + k]!);
            l2 += d * d;
            linf = Math.max(linf, d);
            if (d !== 0) l0++;
          }
          // L0 counts pixels (channels last: the 8 values here are the channels of one pixel).
          const want = name === 'carliniWagnerL2' ? Math.sqrt(l2) : name === 'carliniWagnerLinf' ? linf : Math.min(l0, 1);
          assert.ok(Math.abs(r.distance[i]! - want) <= 1e-6, `${name}: distance[${i}] ${r.distance[i]}, the returned input is ${want} away`);
        }
        assert.ok(ok >= N / 2, `${name}: only ${ok}/${N} succeeded on the float16 backend`);
        r.dispose();
      });
    }
    x.dispose();
    model.dispose();
  });
});

test('attacks on cpu return no warnings', async () => {
  const model = smallModel();
  const x = tf.tensor2d(edgeInputs(2), [2, 8]);
  const r = await carliniWagnerL2(model, x, [0, 0], { maxIterations: 5, binarySearchSteps: 1 });
  assert.deepEqual(r.warnings, []);
  r.dispose();
  x.dispose();
  model.dispose();
});

test('rubbish inputs on a float16 backend carry the warning (both methods)', async () => {
  await onFloat16(async () => {
    const model = smallModel();
    for (const method of ['cw-l2', 'gradient-sign'] as const) {
      await expectNoLeaks(async () => {
        const r = await generateRubbish(model, { perClass: 1, seed: 3, method, maxIterations: 30, binarySearchSteps: 2, minConfidence: 0.6 });
        assert.equal(r.warnings.length, 1, `${method}: ${JSON.stringify(r.warnings)}`);
        assert.match(r.warnings[0]!, /^generateRubbish: the emulated-float16 backend stores tensors in float16/);
        assert.ok(Array.from(await r.adversarial.data()).every((v) => v >= 0 && v <= 1));
        assert.ok(r.confidence.every(Number.isFinite));
        r.dispose();
      });
    }
    model.dispose();
  });
});

test('SNNL on a float16 backend: finite where squared distances pass 65504, within 1e-3 of float32', async () => {
  const rows = 30;
  const cols = 20;
  const data = Float32Array.from({ length: rows * cols }, (_, i) => Math.sin(12.9898 * (i + 7)) * 60 + (Math.floor(i / cols) % 2) * 25);
  const labels = Array.from({ length: rows }, (_, i) => i % 2);
  const m = { data, rows, cols };
  const temps = [1e-4, 1e2, 1e4, 3e4, 1e5, 1e8];
  const run = async () => {
    const losses: number[] = [];
    for (const T of temps) {
      const l = softNearestNeighborLoss(m, labels, { temperature: T });
      losses.push((await l.data())[0]!);
      l.dispose();
    }
    const xt = tf.tensor2d(data, [rows, cols]);
    const g = tf.grad((t: tf.Tensor) => softNearestNeighborLoss(t as tf.Tensor2D, labels, { temperature: 3e4 }))(xt);
    const grad = Array.from(await g.data());
    g.dispose();
    xt.dispose();
    const o = await optimalSnnl(m, labels);
    return { losses, grad, o };
  };
  const ref = await run();
  const f16 = await onFloat16(() => expectNoLeaks(run));
  let maxD2 = 0;
  const pairs: number[] = [];
  for (let i = 0; i < rows; i++) {
    for (let j = i + 1; j < rows; j++) {
      let acc = 0;
      for (let k = 0; k < cols; k++) acc += (data[i * cols + k]! - data[j * cols + k]!) ** 2;
      maxD2 = Math.max(maxD2, acc);
      pairs.push(acc);
    }
  }
  pairs.sort((p, q) => p - q);
  const h = pairs.length >> 1;
  const exactMu = pairs.length % 2 ? pairs[h]! : (pairs[h - 1]! + pairs[h]!) / 2;
  assert.ok(maxD2 > FLOAT16_MAX, `the data must overflow float16 (max squared distance ${maxD2})`);
  for (let t = 0; t < temps.length; t++) {
    const a = f16.losses[t]!;
    const b = ref.losses[t]!;
    assert.ok(Number.isFinite(a), `T=${temps[t]}: ${a}`);
    assert.ok(Math.abs(a - b) <= 1e-3 + 2e-3 * Math.abs(b), `T=${temps[t]}: float16 ${a}, float32 ${b}`);
  }
  assert.ok(f16.grad.every(Number.isFinite), 'gradient not finite');
  const gmax = Math.max(...ref.grad.map(Math.abs));
  let gerr = 0;
  for (let i = 0; i < ref.grad.length; i++) gerr = Math.max(gerr, Math.abs(f16.grad[i]! - ref.grad[i]!));
  console.log(`# float16 SNNL gradient: max |Δ| = ${(gerr / gmax).toExponential(2)} of max |∇|`);
  assert.ok(gerr <= 0.05 * gmax, `gradient differs by ${gerr} (max |∇| ${gmax})`);
  // optimalSnnl computes the distances in float64 on the host there: as exact as on cpu.
  // (The float32 path forms ‖xᵢ‖² + ‖xⱼ‖² − 2xᵢ·xⱼ in float32: ≈ 1e-4 off here.)
  assert.ok(Math.abs(f16.o.medianSquaredDistance - exactMu) <= 1e-9 * exactMu, `μ float16 ${f16.o.medianSquaredDistance}, exact ${exactMu}`);
  assert.ok(Math.abs(ref.o.medianSquaredDistance - exactMu) <= 1e-3 * exactMu);
  assert.ok(Math.abs(f16.o.loss - ref.o.loss) <= 1e-4 + 1e-3 * ref.o.loss, `ℓ* float16 ${f16.o.loss}, float32 ${ref.o.loss}`);
  assert.ok(Math.abs(Math.log(f16.o.temperature / ref.o.temperature)) <= 1e-3, `T* float16 ${f16.o.temperature}, float32 ${ref.o.temperature}`);
});
