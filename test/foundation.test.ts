import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRng, InvalidArgumentError, summarize, VERSION, ShapeMismatchError } from '../src/index.js';
import { checkLabels, checkMatrix } from '../src/internal/validate.js';
import { expectTypedError } from './support/tf.js';

test('VERSION matches package.json', () => {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
  assert.equal(VERSION, pkg.version);
});

test('createRng is deterministic per seed and echoes it', () => {
  const a = createRng(42);
  const b = createRng(42);
  const xs = Array.from({ length: 5 }, () => a.next());
  assert.deepEqual(xs, Array.from({ length: 5 }, () => b.next()));
  assert.equal(a.seed, 42);
  assert.notDeepEqual(xs, Array.from({ length: 5 }, () => createRng(43).next()));
  for (const x of xs) assert.ok(x >= 0 && x < 1);
  const drawn = createRng();
  assert.ok(Number.isInteger(drawn.seed) && drawn.seed >= 0);
});

test('createRng: uniform mean and normal moments are right', () => {
  const rng = createRng(7);
  let s = 0;
  let s2 = 0;
  const n = 20000;
  for (let i = 0; i < n; i++) s += rng.next();
  assert.ok(Math.abs(s / n - 0.5) < 0.01);
  s = 0;
  for (let i = 0; i < n; i++) {
    const z = rng.normal();
    s += z;
    s2 += z * z;
  }
  assert.ok(Math.abs(s / n) < 0.03);
  assert.ok(Math.abs(s2 / n - 1) < 0.05);
  const perm = rng.shuffle([0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual([...perm].sort(), [0, 1, 2, 3, 4, 5, 6, 7]);
});

test('createRng rejects a bad seed, naming the argument', async () => {
  await expectTypedError(() => createRng(-1), InvalidArgumentError, 'seed');
  await expectTypedError(() => createRng(1.5), InvalidArgumentError, 'createRng: seed must be');
});

test('summarize: population std, quartiles, skips non-finite', () => {
  const s = summarize([1, 2, 3, 4, Infinity]);
  assert.equal(s.count, 4);
  assert.equal(s.mean, 2.5);
  assert.ok(Math.abs(s.std - Math.sqrt(1.25)) < 1e-12);
  assert.equal(s.median, 2.5);
  assert.equal(s.q1, 1.75);
  assert.equal(s.q3, 3.25);
});

test('validators name the function and argument', async () => {
  await expectTypedError(() => checkMatrix('f', 'reference', { data: new Float32Array(5), rows: 2, cols: 3 }), ShapeMismatchError, 'reference.data');
  await expectTypedError(
    () => checkMatrix('f', 'queries', { data: new Float32Array([1, NaN]), rows: 1, cols: 2 }),
    InvalidArgumentError,
    'f: queries must be finite values only',
  );
  await expectTypedError(() => checkLabels('f', 'labels', [0, 3], 2, 3), InvalidArgumentError, 'labels[1]');
  await expectTypedError(() => checkLabels('f', 'labels', [0], 2, 3), ShapeMismatchError, 'labels');
});
