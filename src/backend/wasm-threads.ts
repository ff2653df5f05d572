/**
 * Multi-threaded wasm in Node. tfjs-backend-wasm 4.22 turns threads off whenever it runs in Node
 * (tfjs issue #3830), and merely forcing the flag fails: Emscripten starts its pthread workers
 * from a `blob:` URL, which Node's `worker_threads` rejects. This module prepares a real worker
 * file, maps the blob URLs to files while the backend initialises, lifts the C++ pool cap
 * (logical cores ÷ 2) by reporting 2n CPUs during initialisation, and restores everything after.
 * It depends on the exact internals of the pinned version (see PINNED_WASM_BACKEND_VERSION).
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WasmPackage } from './wasm-package.js';

/** Why threads cannot be used here, or `undefined` when the workaround can be tried. */
export function threadsUnsupportedReason(pkg: WasmPackage, pinned: string): string | undefined {
  if (pkg.version !== pinned) {
    return `the threads workaround is written for @tensorflow/tfjs-backend-wasm ${pinned}, but ${pkg.version} is installed`;
  }
  if (typeof SharedArrayBuffer === 'undefined') return 'SharedArrayBuffer is not available in this Node';
  try {
    pkg.require('worker_threads');
  } catch {
    return 'worker_threads is not available in this Node';
  }
  for (const f of ['tfjs-backend-wasm-threaded-simd.js', 'tfjs-backend-wasm-threaded-simd.worker.js']) {
    if (!existsSync(join(pkg.wasmOutDir, f))) return `${join(pkg.wasmOutDir, f)} is missing`;
  }
  return undefined;
}

/** Writes (once per process) the pthread worker script to a real file and returns its path. */
export function writeWorkerFile(pkg: WasmPackage): string {
  const { wasmWorkerContents } = pkg.require(join(pkg.wasmOutDir, 'tfjs-backend-wasm-threaded-simd.worker.js')) as {
    wasmWorkerContents: string;
  };
  if (typeof wasmWorkerContents !== 'string') throw new Error('the package does not export wasmWorkerContents');
  const factory = join(pkg.wasmOutDir, 'tfjs-backend-wasm-threaded-simd.js');
  const dir = join(tmpdir(), `ae-manifold-wasm-${pkg.version}-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  // The workers read it while the backend initialises; remove it when the process ends.
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'tfjs-backend-wasm-threaded-simd.worker.cjs');
  // Inside the worker, the main script arrives as a Blob whose object URL Node cannot load: make
  // URL.createObjectURL return the path of the package's own copy of that factory script.
  const firstLine =
    `URL.createObjectURL = function () { return ${JSON.stringify(factory)}; };` +
    ` URL.revokeObjectURL = function () {};\n`;
  // Escape newlines the way tfjs does before it makes its blob (they sit inside string literals).
  writeFileSync(file, firstLine + wasmWorkerContents.replace(/\n/g, '\\n'));
  readFileSync(file); // fail here, not in a worker, if the file is unreadable
  return file;
}

/**
 * Applies the patches needed before `tf.setBackend('wasm')` for `threads` threads and returns a
 * function that undoes the temporary ones (object URLs and os.cpus).
 */
export function prepareThreads(pkg: WasmPackage, threads: number, workerFile: string): () => void {
  const os = pkg.require('os') as { cpus: () => unknown[] };
  const originalCpus = os.cpus;
  const originalCreate = URL.createObjectURL;
  URL.createObjectURL = function createObjectURL(obj: Blob | MediaSource): string {
    if (typeof Blob !== 'undefined' && obj instanceof Blob && obj.type === 'application/javascript') return workerFile;
    return originalCreate.call(URL, obj as Blob);
  };
  // The C++ side caps the pool at logical cores ÷ 2 (os.cpus().length / 2 under Node).
  os.cpus = function cpus() {
    const real = originalCpus.call(os);
    const wanted = Math.max(real.length, 2 * threads);
    return Array.from({ length: wanted }, (_, i) => real[i % Math.max(1, real.length)]);
  };
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  pkg.setThreadsCount(threads);
  return () => {
    os.cpus = originalCpus;
    URL.createObjectURL = originalCreate;
  };
}

/**
 * Emscripten keeps a reference on every worker that runs a pthread, and XNNPACK's pool threads
 * run for the life of the process, so Node would never exit. Unreference them: the main thread
 * only ever waits for them synchronously inside wasm calls, so nothing needs the event loop alive.
 * Returns the number of workers unreferenced.
 */
export function unrefPthreadWorkers(): number {
  const backend = tf.findBackend('wasm') as unknown as { wasm?: { PThread?: { runningWorkers?: unknown[]; unusedWorkers?: unknown[] } } } | null;
  const pt = backend?.wasm?.PThread;
  let n = 0;
  for (const w of [...(pt?.runningWorkers ?? []), ...(pt?.unusedWorkers ?? [])]) {
    const worker = w as { unref?: () => void };
    if (typeof worker.unref === 'function') {
      worker.unref();
      n++;
    }
  }
  return n;
}
