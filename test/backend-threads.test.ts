/**
 * Thread configurations of the wasm backend, each in its own child process (the backend
 * initialises once per process): real threads in Node, the fallback to one thread, and a
 * process that still exits on its own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { WasmBackendReport } from '../src/backend/index.js';

const child = fileURLToPath(new URL('./support/wasm-child.js', import.meta.url));

interface ChildResult {
  report: WasmBackendReport;
  backend: string;
  numTensors: number;
  grad: number[];
}

function runChild(...args: string[]): ChildResult {
  const r = spawnSync(process.execPath, [child, ...args], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.error, undefined, `child did not finish on its own: ${String(r.error)}`);
  assert.equal(r.status, 0, `child failed: ${r.stderr}`);
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
  assert.ok(line, `no JSON from the child: ${r.stdout}`);
  return JSON.parse(line) as ChildResult;
}

function maxRelDiff(a: number[], b: number[]): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / den;
}

test('threads: 1 and 2 threads in Node give the same gradients, and the process exits by itself', () => {
  const one = runChild('1');
  assert.equal(one.backend, 'wasm');
  assert.equal(one.report.threads, 1);
  assert.deepEqual(one.report.warnings, []);
  assert.equal(one.numTensors, 0);
  const two = runChild('2');
  assert.equal(two.backend, 'wasm');
  assert.equal(two.report.threads, 2, `warnings: ${two.report.warnings.join('; ')}`);
  assert.deepEqual(two.report.warnings, []);
  assert.equal(two.numTensors, 0);
  assert.equal(two.grad.length, 3 * 3 * 3 * 16);
  assert.ok(maxRelDiff(two.grad, one.grad) <= 1e-5);
});

test('threads: when workers cannot start, the backend falls back to one thread with a warning', () => {
  const r = runChild('2', '--refuse-workers');
  assert.equal(r.backend, 'wasm');
  assert.equal(r.report.threads, 1);
  assert.equal(r.report.warnings.length, 1);
  assert.match(r.report.warnings[0]!, /threads: 2 requested, using 1/);
  assert.deepEqual(r.report.options, { threads: 2, kernels: true });
  const one = runChild('1');
  assert.ok(maxRelDiff(r.grad, one.grad) <= 1e-5);
});

test("threads: 'auto' uses the logical CPUs of the machine", async () => {
  const { availableParallelism } = await import('node:os');
  const r = runChild('auto');
  assert.equal(r.backend, 'wasm');
  assert.equal(r.report.options.threads, 'auto');
  assert.equal(r.report.threads, Math.min(availableParallelism(), 64));
});

test('kernels: false keeps the stock kernels but still registers Conv2DBackpropFilter (training works)', () => {
  const stock = runChild('1', '--no-kernels');
  assert.equal(stock.backend, 'wasm');
  assert.deepEqual(stock.report.kernels, ['Conv2DBackpropFilter']);
  const fast = runChild('1');
  assert.ok(maxRelDiff(stock.grad, fast.grad) <= 1e-5);
});
