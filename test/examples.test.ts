/**
 * The examples in examples/ type-check (they are compiled with the tests) and run as smoke tests,
 * each in its own process, against the built package (`ae-manifold` resolves to dist/ by the
 * package's self-reference).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const examples = join(dirname(fileURLToPath(import.meta.url)), '..', 'examples');

function runExample(name: string): string {
  const r = spawnSync(process.execPath, [join(examples, `${name}.js`)], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `${name} exited with ${r.status}: ${r.stderr}`);
  return r.stdout;
}

test('example 01: probeLayers reads every analysis point and leaks nothing', () => {
  const out = runExample('01-probe-layers');
  assert.match(out, /dense1: 100 x 8/);
  assert.match(out, /relu1: 100 x 8/);
  assert.match(out, /logits: 100 x 3/);
  assert.match(out, /tensors left: 0/);
});

test('example 02: CW-L2 on a linear model lands within 2 % of the closed-form optimum', () => {
  const out = runExample('02-cw-l2');
  const rows = [...out.matchAll(/success (\d), predicted (\d), L2 ([\d.]+) \(optimum ([\d.]+)\)/g)];
  assert.equal(rows.length, 2);
  for (const [, success, predicted, l2, optimum] of rows) {
    assert.equal(success, '1');
    assert.equal(predicted, '1');
    assert.ok(Math.abs(Number(l2) / Number(optimum) - 1) < 0.02, `L2 ${l2} vs optimum ${optimum}`);
  }
  assert.match(out, /tensors left: 0/);
});

test('example 03: metrics on two blobs', () => {
  const out = runExample('03-metrics');
  const snnl = /SNNL\* of two separated blobs: ([\d.]+)/.exec(out);
  assert.ok(snnl && Number(snnl[1]) < 0.05, out);
  assert.match(out, /3 nearest of query 0/);
});

test('example 04: UMAP is deterministic for a seed', () => {
  const out = runExample('04-umap');
  assert.match(out, /embedded 300 points in 2-D with seed 42, 100 epochs; identical on rerun: true/);
});
