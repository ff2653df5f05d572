/**
 * Shared by the metrics benchmarks: the wasm backend (the backend helper's threaded set-up when it
 * exists, stock wasm otherwise), an MNIST IDX reader and recall@k.
 */
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { note } from './util.js';

/** Activates wasm (2 threads through src/backend when available). Returns a description. */
export async function useBenchWasm(threads = 2): Promise<{ backend: string; threads: number; via: string }> {
  try {
    const mod = (await import('../src/backend/index.js')) as Record<string, unknown>;
    const fn = mod.useWasmBackend as undefined | ((o: { threads: number }) => Promise<unknown>);
    if (typeof fn === 'function') {
      const report = (await fn({ threads })) as { threads: number; warnings?: string[] };
      if (tf.getBackend() !== 'wasm') throw new Error(`useWasmBackend left backend ${tf.getBackend()}`);
      for (const w of report.warnings ?? []) note(`useWasmBackend: ${w}`);
      return { backend: 'wasm', threads: report.threads, via: 'useWasmBackend' };
    }
  } catch (e) {
    note(`useWasmBackend unavailable (${(e as Error).message}); using stock wasm`);
  }
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const ok = await tf.setBackend('wasm');
  if (!ok) throw new Error('tf.setBackend("wasm") returned false');
  await tf.ready();
  return { backend: tf.getBackend(), threads: wasm.getThreadsCount(), via: 'stock' };
}

/** Reads an unsigned-byte IDX file; returns the values and dims. */
export function readIdx(path: string): { data: Uint8Array; dims: number[] } {
  const raw = readFileSync(path);
  const ndim = raw[3]!;
  const dims: number[] = [];
  for (let i = 0; i < ndim; i++) dims.push(raw.readUInt32BE(4 + 4 * i));
  return { data: new Uint8Array(raw.buffer, raw.byteOffset + 4 + 4 * ndim, dims.reduce((a, b) => a * b, 1)), dims };
}

/** MNIST images as [rows, 784] float32 in [0, 1] (no normalisation), and labels. */
export function loadMnist(dir: string, split: 'train' | 't10k', limit?: number): { data: Float32Array; rows: number; cols: number; labels: Int32Array } {
  const img = readIdx(join(dir, `${split}-images-idx3-ubyte`));
  const lab = readIdx(join(dir, `${split}-labels-idx1-ubyte`));
  const rows = Math.min(limit ?? img.dims[0]!, img.dims[0]!);
  const cols = img.dims[1]! * img.dims[2]!;
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = img.data[i]! / 255;
  return { data, rows, cols, labels: Int32Array.from(lab.data.subarray(0, rows)) };
}

/** Fraction of the reference neighbours (sklearn's indices) found among ours, over all queries. */
export function recallAtK(mine: Int32Array, theirs: Int32Array, queries: number, k: number): number {
  let hit = 0;
  for (let q = 0; q < queries; q++) {
    const set = new Set(mine.subarray(q * k, (q + 1) * k));
    for (let j = 0; j < k; j++) if (set.has(theirs[q * k + j]!)) hit++;
  }
  return hit / (queries * k);
}
