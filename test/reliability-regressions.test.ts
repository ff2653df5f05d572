// Regression tests for the bad-input cases the reliability suite (issue 10) first found failing:
// each now gives a typed AeManifoldError naming the argument, with no leaked tensors.
// 1. attacks: inputs whose shape does not fit the model → ShapeMismatchError naming `inputs`.
// 2. attacks: a logits function with an op without gradient (TopK) → UnsupportedModelError naming
//    the op (tfjs 4.22 also leaves its tape active after that error: the check releases it).
// 3. generateRubbish: options.shape that does not fit the model → ShapeMismatchError.
// 4. runStudy: an already-aborted signal → AbortedError before any work.
// 5. summarize(null) → InvalidArgumentError naming `values`.
import { test, before, after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import { useCpu, expectNoLeaks, expectTypedError, tf } from './support/tf.js';
import {
  AbortedError,
  InvalidArgumentError,
  ShapeMismatchError,
  UnsupportedModelError,
  carliniWagnerL0,
  carliniWagnerL2,
  carliniWagnerLinf,
  generateRubbish,
  summarize,
} from '../src/index.js';
import { runStudy } from '../src/node/index.js';

let model: tfl.LayersModel;
let x: tf.Tensor2D;
let tmp = '';
before(async () => {
  await useCpu();
  model = tfl.sequential({ layers: [tfl.layers.dense({ units: 3, inputShape: [4], name: 'logits' })] });
  x = tf.tensor2d([0.2, 0.4, 0.6, 0.8, 0.9, 0.1, 0.3, 0.5], [2, 4]);
  tmp = mkdtempSync(join(tmpdir(), 'ae-known-'));
});
after(() => {
  model.dispose();
  x.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

const ATTACKS = { carliniWagnerL2, carliniWagnerL0, carliniWagnerLinf } as const;

for (const [name, fn] of Object.entries(ATTACKS)) {
  const attack = fn as (m: unknown, x: tf.Tensor, l: number[], o: Record<string, unknown>) => Promise<{ dispose(): void }>;
  test(`${name}: inputs of the wrong width give ShapeMismatchError naming inputs`, async () => {
    const bad = tf.zeros([2, 5]);
    await expectNoLeaks(() => expectTypedError(() => attack(model, bad, [0, 1], { maxIterations: 5 }), ShapeMismatchError, 'inputs'));
    bad.dispose();
  });
  test(`${name}: a model without gradients (TopK) gives UnsupportedModelError naming the op`, async () => {
    const w = tf.randomNormal([4, 3], 0, 1, 'float32', 1);
    await expectNoLeaks(() =>
      expectTypedError(() => attack((t: tf.Tensor) => tf.topk(tf.matMul(t as tf.Tensor2D, w), 3).values, x, [0, 1], { maxIterations: 5 }), UnsupportedModelError, /TopK/),
    );
    w.dispose();
  });
}

test('generateRubbish: options.shape of the wrong width gives ShapeMismatchError', async () => {
  await expectNoLeaks(() => expectTypedError(() => generateRubbish(model, { shape: [5], maxIterations: 5 }), ShapeMismatchError, 'options.shape'));
});

test('runStudy: an already-aborted signal gives AbortedError before any work', async () => {
  const ac = new AbortController();
  ac.abort(new Error('stop'));
  await expectTypedError(() => runStudy({ n: 2, out: join(tmp, 'study') }, { signal: ac.signal }), AbortedError, /abort/i);
});

test('summarize(null) gives InvalidArgumentError naming values', async () => {
  await expectTypedError(() => summarize(null as never), InvalidArgumentError, 'values');
});
