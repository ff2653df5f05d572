/**
 * Behaviour of the attacks: targeted/untargeted, independent re-evaluation, bounds, softmax
 * handling, failures, abort, typed errors, batch independence, rubbish inputs. cpu backend.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tfl from '@tensorflow/tfjs-layers';
import { tf, useCpu, expectNoLeaks, expectTypedError } from './support/tf.js';
import {
  carliniWagnerL0,
  carliniWagnerL2,
  carliniWagnerLinf,
  generateRubbish,
  confidenceMargin,
  CW_L2_DEFAULTS,
} from '../src/attacks/index.js';
import type { AttackResult } from '../src/attacks/index.js';
import { InvalidArgumentError, ProbabilityOutputError, ShapeMismatchError, UnsupportedModelError } from '../src/errors.js';
import { createRng } from '../src/internal/rng.js';
import { linearFunction, linearLayersModel, randomLinear } from './attacks-support.js';

before(async () => {
  await useCpu();
});

const SHAPE: [number, number, number] = [3, 3, 2];
const D = 18;

/** Uniform inputs; with `saturated`, every third value is exactly 0 or 1. */
function inputsFor(N: number, seed: number, saturated = false): Float32Array {
  const rng = createRng(seed);
  const x = new Float32Array(N * D);
  for (let i = 0; i < x.length; i++) x[i] = saturated && i % 3 === 0 ? (rng.next() < 0.5 ? 0 : 1) : rng.next();
  return x;
}

async function predict(model: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor): Promise<Int32Array> {
  const p = tf.tidy(() => tf.argMax(model(x), 1));
  const out = Int32Array.from((await p.data()) as Int32Array);
  p.dispose();
  return out;
}

/** Independent re-evaluation of a result: prediction, success, distance, bounds. */
async function checkAgainstReevaluation(
  r: AttackResult<object>,
  model: (x: tf.Tensor) => tf.Tensor,
  x: Float32Array,
  C: number,
  lo = 0,
  hi = 1,
): Promise<void> {
  const adv = (await r.adversarial.data()) as Float32Array;
  assert.deepEqual(r.adversarial.shape.slice(1), SHAPE.slice(0, 2).concat([C]));
  const pred = await predict(model, r.adversarial);
  assert.deepEqual(Array.from(r.predicted), Array.from(pred));
  const N = r.success.length;
  const d = adv.length / N;
  for (let e = 0; e < N; e++) {
    const cls = r.targets ? r.targets[e]! : r.labels[e]!;
    const ok = r.targets ? pred[e] === cls : pred[e] !== cls;
    assert.equal(r.success[e], ok ? 1 : 0, `example ${e}: success disagrees with re-prediction`);
    let l2 = 0;
    let linf = 0;
    let l0 = 0;
    for (let p = 0; p < d; p += C) {
      let changed = false;
      for (let c = 0; c < C; c++) {
        const v = adv[e * d + p + c]!;
        assert.ok(v >= lo && v <= hi, `value ${v} outside [${lo}, ${hi}]`);
        const diff = v - x[e * d + p + c]!;
        l2 += diff * diff;
        linf = Math.max(linf, Math.abs(diff));
        if (diff !== 0) changed = true;
      }
      if (changed) l0++;
    }
    if (!ok) {
      assert.equal(r.distance[e], Infinity);
      continue;
    }
    const expected = r.norm === 'l2' ? Math.sqrt(l2) : r.norm === 'linf' ? linf : l0;
    assert.ok(Math.abs(r.distance[e]! - expected) <= 1e-5 * Math.max(1, expected), `example ${e}: distance ${r.distance[e]} vs ${expected}`);
  }
}

test('targeted attacks reach every target on a 4-class model; results agree with re-evaluation', async () => {
  const l = randomLinear(D, 4, 5, 2);
  const lin = linearFunction(l);
  const N = 6;
  const x = inputsFor(N, 6);
  const inputs = tf.tensor4d(x, [N, ...SHAPE]);
  const labels = Array.from(await predict(lin.fn, inputs));
  const targets = labels.map((y, i) => (y + 1 + (i % 3)) % 4);
  await expectNoLeaks(async () => {
    for (const attack of [carliniWagnerL2, carliniWagnerL0, carliniWagnerLinf] as const) {
      const r = await attack(lin.fn, inputs, labels, { targets, maxIterations: 200, batchSize: 4, ...(attack === carliniWagnerL2 ? { binarySearchSteps: 5 } : {}) });
      try {
        assert.deepEqual(Array.from(r.success), new Array(N).fill(1), `${r.norm}: not every target reached`);
        assert.deepEqual(Array.from(r.predicted), targets);
        assert.deepEqual(Array.from(r.targets!), targets);
        assert.equal(r.options.targeted, true);
        await checkAgainstReevaluation(r, lin.fn, x, 2);
        for (let e = 0; e < N; e++) assert.ok(r.iterations[e]! > 0 && Number.isFinite(r.constant[e]!));
      } finally {
        r.dispose();
      }
    }
  });
  inputs.dispose();
  lin.dispose();
});

test('untargeted attacks on an MLP with exact 0 and 1 pixels stay inside the box', async () => {
  const model = tfl.sequential({
    layers: [
      tfl.layers.flatten({ inputShape: SHAPE }),
      tfl.layers.dense({ units: 12, activation: 'relu', kernelInitializer: tfl.initializers.randomNormal({ seed: 1, stddev: 1 }) }),
      tfl.layers.dense({ units: 3, kernelInitializer: tfl.initializers.randomNormal({ seed: 2, stddev: 1 }) }),
    ],
  });
  const N = 5;
  const x = inputsFor(N, 8, true);
  const inputs = tf.tensor4d(x, [N, ...SHAPE]);
  const fn = (t: tf.Tensor) => model.apply(t) as tf.Tensor;
  const labels = Array.from(await predict(fn, inputs));
  await expectNoLeaks(async () => {
    for (const attack of [carliniWagnerL2, carliniWagnerL0, carliniWagnerLinf] as const) {
      const r = await attack(model, inputs, labels, { maxIterations: 150, batchSize: 3, ...(attack === carliniWagnerL2 ? { binarySearchSteps: 6 } : {}) });
      try {
        const adv = (await r.adversarial.data()) as Float32Array;
        for (const v of adv) assert.ok(Number.isFinite(v) && v >= 0 && v <= 1);
        assert.ok(r.success.reduce((a, b) => a + b, 0) >= 4, `${r.norm}: only ${r.success.join('')} succeeded`);
        await checkAgainstReevaluation(r, fn, x, 2);
      } finally {
        r.dispose();
      }
    }
  });
  inputs.dispose();
  model.dispose();
});

test('per-channel bounds are respected and required of the inputs', async () => {
  const l = randomLinear(D, 3, 9, 2);
  const lin = linearFunction(l);
  const N = 4;
  const x = inputsFor(N, 10);
  for (let i = 0; i < x.length; i += 2) x[i] = -1 + 2 * x[i]!; // channel 0 lives in [-1, 1]
  const inputs = tf.tensor4d(x, [N, ...SHAPE]);
  const labels = Array.from(await predict(lin.fn, inputs));
  const bounds = [[-1, 0], [1, 1]] as const;
  await expectNoLeaks(async () => {
    const r = await carliniWagnerL2(lin.fn, inputs, labels, { bounds, maxIterations: 200, binarySearchSteps: 5 });
    try {
      const adv = (await r.adversarial.data()) as Float32Array;
      for (let i = 0; i < adv.length; i++) {
        const [lo, hi] = i % 2 === 0 ? [-1, 1] : [0, 1];
        assert.ok(adv[i]! >= lo && adv[i]! <= hi);
      }
      assert.deepEqual(r.options.bounds, bounds);
    } finally {
      r.dispose();
    }
    await expectTypedError(() => carliniWagnerL2(lin.fn, inputs, labels), InvalidArgumentError, /inputs must be values inside options\.bounds/);
  });
  inputs.dispose();
  lin.dispose();
});

test('a trailing Softmax or Activation(softmax) layer is skipped; fused softmax is refused unless allowed', async () => {
  const l = randomLinear(D, 3, 12, 2);
  const N = 3;
  const x = inputsFor(N, 13);
  const inputs = tf.tensor4d(x, [N, ...SHAPE]);
  const plain = linearLayersModel(l, SHAPE);
  const labels = Array.from(await predict((t) => plain.apply(t) as tf.Tensor, inputs));
  const opts = { maxIterations: 100, binarySearchSteps: 3 };
  await expectNoLeaks(async () => {
    const ref = await carliniWagnerL2(plain, inputs, labels, opts);
    const refAdv = (await ref.adversarial.data()) as Float32Array;
    for (const end of ['softmax-layer', 'activation-layer'] as const) {
      const m = linearLayersModel(l, SHAPE, end);
      const r = await carliniWagnerL2(m, inputs, labels, opts);
      assert.deepEqual(Array.from(r.distance), Array.from(ref.distance), `${end}: attack did not run on the logits`);
      assert.deepEqual(Array.from((await r.adversarial.data()) as Float32Array), Array.from(refAdv));
      r.dispose();
      m.dispose();
    }
    ref.dispose();
    const fused = linearLayersModel(l, SHAPE, 'fused');
    await expectTypedError(() => carliniWagnerL2(fused, inputs, labels, opts), ProbabilityOutputError, 'allowProbabilities');
    const softFn = (t: tf.Tensor) => tf.softmax(plain.apply(t) as tf.Tensor);
    await expectTypedError(() => carliniWagnerLinf(softFn, inputs, labels, { maxIterations: 5 }), ProbabilityOutputError, 'carliniWagnerLinf');
    const allowed = await carliniWagnerL2(fused, inputs, labels, { ...opts, allowProbabilities: true });
    assert.equal(allowed.options.allowProbabilities, true);
    allowed.dispose();
    fused.dispose();
  });
  inputs.dispose();
  plain.dispose();
});

test('a failed example comes back as the original input with success 0 and distance Infinity', async () => {
  const l = randomLinear(D, 2, 14, 0.05); // weak weights: one tiny step cannot flip anything
  const lin = linearFunction(l);
  const N = 3;
  const x = inputsFor(N, 15);
  const inputs = tf.tensor4d(x, [N, ...SHAPE]);
  const labels = Array.from(await predict(lin.fn, inputs));
  await expectNoLeaks(async () => {
    const runs = [
      await carliniWagnerL2(lin.fn, inputs, labels, { maxIterations: 1, binarySearchSteps: 1 }),
      await carliniWagnerLinf(lin.fn, inputs, labels, { maxIterations: 1, largestConst: 2e-5 }),
      await carliniWagnerL0(lin.fn, inputs, labels, { maxIterations: 1, largestConst: 2e-3 }),
    ];
    for (const r of runs) {
      assert.deepEqual(Array.from(r.success), [0, 0, 0], r.norm);
      assert.deepEqual(Array.from(r.distance), [Infinity, Infinity, Infinity]);
      assert.deepEqual(Array.from((await r.adversarial.data()) as Float32Array), Array.from(x), `${r.norm}: not the original input`);
      assert.deepEqual(Array.from(r.predicted), labels);
      r.dispose();
    }
  });
  inputs.dispose();
  lin.dispose();
});

test('results do not depend on the batch an example is run in', async () => {
  const l = randomLinear(D, 3, 16, 2);
  const lin = linearFunction(l);
  const N = 5;
  const x = inputsFor(N, 17);
  const inputs = tf.tensor4d(x, [N, ...SHAPE]);
  const labels = Array.from(await predict(lin.fn, inputs));
  await expectNoLeaks(async () => {
    for (const attack of [carliniWagnerL2, carliniWagnerLinf] as const) {
      const a = await attack(lin.fn, inputs, labels, { maxIterations: 100, batchSize: 1 });
      const b = await attack(lin.fn, inputs, labels, { maxIterations: 100, batchSize: 4 });
      assert.deepEqual(Array.from(a.iterations), Array.from(b.iterations), `${a.norm}: iterations differ`);
      for (let e = 0; e < N; e++) assert.ok(Math.abs(a.distance[e]! - b.distance[e]!) <= 1e-5, `${a.norm}: example ${e}`);
      a.dispose();
      b.dispose();
    }
  });
  inputs.dispose();
  lin.dispose();
});

test('abort stops within one iteration and returns what was found so far', async () => {
  const l = randomLinear(D, 3, 18, 2);
  const lin = linearFunction(l);
  const N = 4;
  const x = inputsFor(N, 19);
  const inputs = tf.tensor4d(x, [N, ...SHAPE]);
  const labels = Array.from(await predict(lin.fn, inputs));
  await expectNoLeaks(async () => {
    for (const attack of [carliniWagnerL2, carliniWagnerL0, carliniWagnerLinf] as const) {
      const controller = new AbortController();
      let calls = 0;
      let atAbort = -1;
      const r = await attack(lin.fn, inputs, labels, {
        signal: controller.signal,
        onProgress: (p) => {
          calls++;
          assert.ok(p.step <= p.total && p.total === N);
          if (calls === 60) {
            atAbort = p.detail!.iteration!;
            controller.abort(new Error('test'));
          }
        },
      });
      try {
        assert.equal(r.aborted, true, r.norm);
        assert.equal(calls, 60, `${r.norm}: ${calls - 60} more iteration(s) after the abort`);
        assert.equal(atAbort, 60);
        // Whatever was found so far is returned, and checked afresh.
        await checkAgainstReevaluation(r, lin.fn, x, 2);
        for (let e = 0; e < N; e++) assert.ok(r.iterations[e]! <= 60);
      } finally {
        r.dispose();
      }
    }
    // Already aborted: nothing runs, the originals come back.
    const controller = new AbortController();
    controller.abort();
    const r = await carliniWagnerL2(lin.fn, inputs, labels, { signal: controller.signal });
    assert.equal(r.aborted, true);
    assert.equal(r.totalIterations, 0);
    assert.deepEqual(Array.from((await r.adversarial.data()) as Float32Array), Array.from(x));
    r.dispose();
  });
  inputs.dispose();
  lin.dispose();
});

test('options: original defaults echoed, fast preset, unknown keys refused', async () => {
  const l = randomLinear(D, 3, 20, 2);
  const lin = linearFunction(l);
  const inputs = tf.tensor4d(inputsFor(2, 21), [2, ...SHAPE]);
  const labels = Array.from(await predict(lin.fn, inputs));
  await expectNoLeaks(async () => {
    const ctrl = new AbortController();
    ctrl.abort();
    const r = await carliniWagnerL2(lin.fn, inputs, labels, { signal: ctrl.signal });
    assert.deepEqual(
      { ...r.options },
      {
        preset: 'original', targeted: false, confidence: 0, learningRate: 1e-2, maxIterations: 10_000, initialConst: 1e-3,
        bounds: [0, 1], batchSize: 128, allowProbabilities: false, binarySearchSteps: 9, abortEarly: true,
      },
    );
    r.dispose();
    const f = await carliniWagnerL2(lin.fn, inputs, labels, { preset: 'fast', signal: ctrl.signal });
    assert.equal(f.options.maxIterations, CW_L2_DEFAULTS.fast.maxIterations);
    f.dispose();
    const l0 = await carliniWagnerL0(lin.fn, inputs, labels, { signal: ctrl.signal });
    assert.equal(l0.options.confidence, 0.01);
    assert.equal(l0.options.largestConst, 2e6);
    l0.dispose();
    const li = await carliniWagnerLinf(lin.fn, inputs, labels, { signal: ctrl.signal });
    assert.equal(li.options.learningRate, 5e-3);
    assert.equal(li.options.decreaseFactor, 0.9);
    li.dispose();
  });
  inputs.dispose();
  lin.dispose();
});

test('bad inputs raise typed errors naming the function and argument', async () => {
  const l = randomLinear(D, 3, 22, 2);
  const lin = linearFunction(l);
  const inputs = tf.tensor4d(inputsFor(2, 23), [2, ...SHAPE]);
  await expectNoLeaks(async () => {
    const L2 = 'carliniWagnerL2';
    await expectTypedError(() => carliniWagnerL2(lin.fn, inputs, [0, 3]), InvalidArgumentError, `${L2}: labels[1]`);
    await expectTypedError(() => carliniWagnerL2(lin.fn, inputs, [0, -1]), InvalidArgumentError, 'labels[1]');
    await expectTypedError(() => carliniWagnerL2(lin.fn, inputs, [0, 1.5]), InvalidArgumentError, 'labels[1]');
    await expectTypedError(() => carliniWagnerL2(lin.fn, inputs, [0]), ShapeMismatchError, 'labels');
    await expectTypedError(() => carliniWagnerL0(lin.fn, inputs, [0, 1], { targets: [1, 1] }), InvalidArgumentError, 'carliniWagnerL0: options.targets[1]');
    await expectTypedError(() => carliniWagnerL2(lin.fn, inputs, [0, 1], { targets: [1, 7] }), InvalidArgumentError, 'options.targets[1]');
    const flat = tf.tensor1d([0.5, 0.5]);
    await expectTypedError(() => carliniWagnerL2(lin.fn, flat, [0]), ShapeMismatchError, 'inputs');
    flat.dispose();
    const bad = tf.tensor4d(new Float32Array(2 * D).fill(NaN), [2, ...SHAPE]);
    await expectTypedError(() => carliniWagnerLinf(lin.fn, bad, [0, 1]), InvalidArgumentError, 'carliniWagnerLinf: inputs must be finite');
    bad.dispose();
    await expectTypedError(() => carliniWagnerL2(lin.fn, inputs, [0, 1], { confidence: -1 }), InvalidArgumentError, 'options.confidence');
    await expectTypedError(() => carliniWagnerL2(lin.fn, inputs, [0, 1], { maxIteration: 5 } as never), InvalidArgumentError, 'options.maxIteration');
    await expectTypedError(() => carliniWagnerL2(lin.fn, inputs, [0, 1], { batchSize: 0 }), InvalidArgumentError, 'options.batchSize');
    await expectTypedError(() => carliniWagnerL2(lin.fn, inputs, [0, 1], { preset: 'slow' as never }), InvalidArgumentError, 'options.preset');
    await expectTypedError(() => carliniWagnerLinf(lin.fn, inputs, [0, 1], { decreaseFactor: 1 }), InvalidArgumentError, 'options.decreaseFactor');
    await expectTypedError(() => carliniWagnerL0(lin.fn, inputs, [0, 1], { largestConst: 1e-4 }), InvalidArgumentError, 'options.largestConst');
    await expectTypedError(() => carliniWagnerL2(lin.fn, inputs, [0, 1], { bounds: [1, 0] }), InvalidArgumentError, 'options.bounds');
    await expectTypedError(() => carliniWagnerL2({} as never, inputs, [0, 1]), UnsupportedModelError, 'carliniWagnerL2: model');
    await expectTypedError(() => carliniWagnerL2(lin.fn, 'x' as never, [0, 1]), InvalidArgumentError, 'inputs');
    await expectTypedError(() => carliniWagnerL2(lin.fn, inputs, 'ab' as never), InvalidArgumentError, 'labels');
    const scalarModel = (t: tf.Tensor) => tf.sum(t);
    await expectTypedError(() => carliniWagnerL2(scalarModel, inputs, [0, 1]), UnsupportedModelError, 'shape');
    await expectTypedError(() => generateRubbish(lin.fn, { minConfidence: 1 }), InvalidArgumentError, 'generateRubbish: options.minConfidence');
    await expectTypedError(() => generateRubbish(lin.fn, {}), InvalidArgumentError, 'options.shape');
  });
  // Tensor labels are accepted and left alive.
  const lab = tf.tensor1d([0, 1], 'int32');
  const ctrl = new AbortController();
  ctrl.abort();
  const r = await carliniWagnerL2(lin.fn, inputs, lab, { signal: ctrl.signal });
  assert.deepEqual(Array.from(r.labels), [0, 1]);
  assert.equal(lab.isDisposed, false);
  r.dispose();
  lab.dispose();
  inputs.dispose();
  lin.dispose();
});

test('generateRubbish: seeded noise turned into confident inputs of each class', async () => {
  const model = tfl.sequential({
    layers: [
      tfl.layers.flatten({ inputShape: SHAPE }),
      tfl.layers.dense({ units: 10, activation: 'relu', kernelInitializer: tfl.initializers.randomNormal({ seed: 3, stddev: 1 }) }),
      tfl.layers.dense({ units: 3, kernelInitializer: tfl.initializers.randomNormal({ seed: 4, stddev: 1 }) }),
      tfl.layers.softmax(),
    ],
  });
  await expectNoLeaks(async () => {
    const r = await generateRubbish(model, { perClass: 2, seed: 77, maxIterations: 300, binarySearchSteps: 6, initialConst: 1 });
    try {
      assert.equal(r.seed, 77);
      assert.equal(r.options.seed, 77);
      assert.deepEqual(Array.from(r.targets!), [0, 1, 2, 0, 1, 2]);
      assert.ok(Math.abs(r.options.confidence - confidenceMargin(3, 0.9)) < 1e-12);
      assert.ok(r.success.reduce((a, b) => a + b, 0) >= 5, `only ${r.success.join('')} succeeded`);
      const noise = (await r.noise.data()) as Float32Array;
      const adv = (await r.adversarial.data()) as Float32Array;
      for (const v of noise) assert.ok(v >= 0 && v <= 1);
      for (let e = 0; e < 6; e++) {
        let l2 = 0;
        for (let i = 0; i < D; i++) l2 += (adv[e * D + i]! - noise[e * D + i]!) ** 2;
        if (r.success[e]) {
          assert.ok(r.confidence[e]! >= 0.9, `example ${e}: confidence ${r.confidence[e]}`);
          assert.equal(r.predicted[e], r.targets![e]);
          assert.ok(Math.abs(r.distance[e]! - Math.sqrt(l2)) < 1e-5);
        } else {
          assert.equal(r.distance[e], Infinity);
          assert.equal(l2, 0, 'a failed rubbish input must be its starting noise');
        }
      }
      // Same seed, same noise.
      const again = await generateRubbish(model, { perClass: 2, seed: 77, maxIterations: 1, binarySearchSteps: 1 });
      assert.deepEqual(Array.from((await again.noise.data()) as Float32Array), Array.from(noise));
      again.dispose();
      const gs = await generateRubbish(model, { targets: [2, 2], seed: 5, method: 'gradient-sign', noise: 'gaussian', epsilon: 0.5 });
      assert.equal(gs.options.method, 'gradient-sign');
      assert.equal(gs.success.length, 2);
      for (let e = 0; e < 2; e++) if (gs.success[e]) assert.ok(gs.confidence[e]! >= 0.9);
      gs.dispose();
    } finally {
      r.dispose();
    }
  });
  model.dispose();
});
