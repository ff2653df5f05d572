/**
 * Sets up the tfjs wasm backend in Node: loads it from node_modules, optionally with threads,
 * verifies that tfjs really runs on it, and registers the kernels that make it complete and fast
 * for gradients and training.
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import { availableParallelism, cpus } from 'node:os';
import { BackendUnavailableError, InvalidArgumentError } from '../errors.js';
import { checkKnownOptions } from '../internal/validate.js';
import { hasHeapAccess } from './kernels/heap.js';
import type { WasmHeapBackend } from './kernels/heap.js';
import { installWasmKernels } from './kernels/install.js';
import { loadSimdKernels } from './kernels/simd/module.js';
import { loadWasmPackage, PINNED_WASM_BACKEND_VERSION } from './wasm-package.js';
import type { WasmPackage } from './wasm-package.js';
import { prepareThreads, threadsUnsupportedReason, unrefPthreadWorkers, writeWorkerFile } from './wasm-threads.js';

const FN = 'useWasmBackend';

/**
 * Options of {@link useWasmBackend}.
 * @category Backend
 */
export interface UseWasmBackendOptions {
  /**
   * Threads of the XNNPACK pool: an integer in [1, 64], or `'auto'` for the number of logical
   * CPUs. Default 1. More than one thread uses the threaded-SIMD binary through a Node
   * workaround; if that fails, the backend falls back to one thread and says so in `warnings`.
   */
  threads?: number | 'auto';
  /**
   * Install the faster replacement kernels: `Conv2DBackpropInput` through `Conv2D`, `BatchMatMul`
   * with transposed operands, `MaxPoolGrad`, `Sum` and `Mean` over leading axes, `Tile`, `SplitV`, copy-free `Identity` and
   * same-dtype `Cast` (and a `Cast` to bool that means x ≠ 0). Default true. The missing
   * `Conv2DBackpropFilter` is registered either way, so conv nets can always be trained.
   */
  kernels?: boolean;
}

/**
 * What {@link useWasmBackend} set up.
 * @category Backend
 */
export interface WasmBackendReport {
  backend: 'wasm';
  /** Whether the SIMD binary is in use. */
  simd: boolean;
  /** Threads of the XNNPACK pool actually running. */
  threads: number;
  /** ae-manifold kernels registered on wasm (`Conv2DBackpropFilter` always; with `kernels: true` also `Conv2DBackpropInput`, `BatchMatMul`, `MaxPoolGrad`, `Sum`, `Mean`, `Tile`, `SplitV`, `Tanh`, `Identity`, `Cast`). */
  kernels: string[];
  /**
   * Whether ae-manifold's SIMD kernels module is loaded on the backend's memory (with
   * `kernels: true` and a SIMD engine); the `Conv2DBackpropInput`, `MaxPoolGrad` and `Tanh`
   * replacements use it, and without it they keep slower paths.
   */
  simdKernels: boolean;
  /** Anything that did not go as asked (for example the fallback to one thread). */
  warnings: string[];
  /** Installed @tensorflow/tfjs-backend-wasm version. */
  version: string;
  /** The options of the first call, with defaults filled in (later calls return this same report). */
  options: { threads: number | 'auto'; kernels: boolean };
  /** Milliseconds the set-up took. */
  setupMs: number;
}

let pending: Promise<WasmBackendReport> | undefined;
let done: WasmBackendReport | undefined;

/**
 * Sets up tfjs-backend-wasm in Node and makes it the active backend. Idempotent: the first call
 * initialises (the wasm backend can be initialised once per process); later calls re-activate
 * wasm if needed and return the same report, whatever their options.
 *
 * Throws {@link BackendUnavailableError} when the package is missing or tfjs does not end up on
 * wasm (tfjs would otherwise silently continue on the 37× slower cpu backend).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { useWasmBackend } from 'ae-manifold/node';
 * const report = await useWasmBackend({ threads: 'auto' });
 * if (tf.getBackend() !== 'wasm' || report.warnings.length > 0) throw new Error(report.warnings.join('; '));
 * const { threads, simd } = report; // e.g. 2, true
 * ```
 * @category Backend
 */
export async function useWasmBackend(options: UseWasmBackendOptions = {}): Promise<WasmBackendReport> {
  checkKnownOptions(FN, options, ['threads', 'kernels']);
  const threads = options.threads ?? 1;
  if (threads !== 'auto' && (typeof threads !== 'number' || !Number.isInteger(threads) || threads < 1 || threads > 64)) {
    throw new InvalidArgumentError(FN, 'options.threads', "an integer in [1, 64] or 'auto'", threads);
  }
  const kernels = options.kernels ?? true;
  if (typeof kernels !== 'boolean') throw new InvalidArgumentError(FN, 'options.kernels', 'a boolean', kernels);

  if (!pending) {
    pending = initialise({ threads, kernels }).then(
      (r) => (done = r),
      (e: unknown) => {
        pending = undefined;
        throw e;
      },
    );
  }
  const report = await pending;
  if (tf.getBackend() !== 'wasm') {
    const ok = await tf.setBackend('wasm');
    if (!ok || tf.getBackend() !== 'wasm') {
      throw new BackendUnavailableError(FN, `tf.setBackend('wasm') resolved to ${String(ok)}; the active backend is '${tf.getBackend()}'`);
    }
  }
  return report;
}

/**
 * The report of the wasm set-up of this process, or `undefined` if {@link useWasmBackend} has not
 * completed.
 *
 * @example
 * ```ts
 * import { wasmBackendReport } from 'ae-manifold/node';
 * const threads = wasmBackendReport()?.threads; // undefined until useWasmBackend has completed
 * ```
 * @category Backend
 */
export function wasmBackendReport(): WasmBackendReport | undefined {
  return done;
}

function logicalCpus(): number {
  try {
    return availableParallelism();
  } catch {
    return cpus().length || 1;
  }
}

/** Runs `setBackend('wasm')`, giving up after `ms` (a hung thread start-up must not hang the caller). */
async function setWasm(ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([tf.setBackend('wasm').catch(() => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Emscripten's Node glue adds process-wide 'uncaughtException' / 'unhandledRejection' listeners
 * that re-throw; remove those added during initialisation so the host's handling is unchanged.
 */
function withListenersRestored<T>(run: () => Promise<T>): Promise<T> {
  type Listener = (...args: unknown[]) => void;
  const proc = process as unknown as { listeners(e: string): Listener[]; removeListener(e: string, l: Listener): void };
  const events = ['uncaughtException', 'unhandledRejection'];
  const before = new Map(events.map((e) => [e, new Set(proc.listeners(e))]));
  return run().finally(() => {
    for (const e of events) {
      for (const l of proc.listeners(e)) if (!before.get(e)!.has(l)) proc.removeListener(e, l);
    }
  });
}

async function initialise(opts: { threads: number | 'auto'; kernels: boolean }): Promise<WasmBackendReport> {
  const t0 = performance.now();
  let pkg: WasmPackage;
  try {
    pkg = loadWasmPackage();
  } catch (e) {
    throw new BackendUnavailableError(FN, (e as Error).message, { cause: e });
  }
  const warnings: string[] = [];
  if (pkg.version !== PINNED_WASM_BACKEND_VERSION) {
    warnings.push(
      `@tensorflow/tfjs-backend-wasm ${pkg.version} is installed; ae-manifold's wasm kernels and threads workaround were verified with ${PINNED_WASM_BACKEND_VERSION}`,
    );
  }
  const wanted = opts.threads === 'auto' ? logicalCpus() : opts.threads;
  try {
    pkg.setWasmPaths(pkg.distDir.endsWith('/') ? pkg.distDir : `${pkg.distDir}/`);
  } catch {
    // Already initialised once in this process: the paths are set.
  }

  let ok = false;
  await withListenersRestored(async () => {
    if (wanted > 1) {
      const reason = threadsUnsupportedReason(pkg, PINNED_WASM_BACKEND_VERSION);
      if (reason) {
        warnings.push(`threads: ${wanted} requested, using 1 (${reason})`);
      } else {
        let restore: (() => void) | undefined;
        try {
          restore = prepareThreads(pkg, wanted, writeWorkerFile(pkg));
          ok = await setWasm(60_000);
        } catch (e) {
          ok = false;
          warnings.push(`threads: ${wanted} requested, using 1 (the threaded start-up threw: ${(e as Error).message})`);
        } finally {
          restore?.();
        }
        if (ok && tf.getBackend() !== 'wasm') ok = false;
        if (!ok && warnings.every((w) => !w.startsWith('threads:'))) {
          warnings.push(`threads: ${wanted} requested, using 1 (the threaded wasm backend failed to initialise in Node)`);
        }
      }
    }
    if (!ok) {
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      pkg.setThreadsCount(1);
      ok = await setWasm(60_000);
    }
  });
  if (!ok || tf.getBackend() !== 'wasm') {
    throw new BackendUnavailableError(
      FN,
      `tf.setBackend('wasm') resolved to ${String(ok)} and the active backend is '${tf.getBackend()}' (tfjs would silently run on the slow cpu backend)`,
    );
  }
  const threads = pkg.getThreadsCount();
  if (threads > 1) unrefPthreadWorkers();
  if (wanted > 1 && threads < wanted && warnings.every((w) => !w.startsWith('threads:'))) {
    warnings.push(`threads: ${wanted} requested, the pool runs ${threads}`);
  }
  const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
  if (!simd) warnings.push('this WebAssembly engine has no SIMD: the plain binary is about 3× slower');
  const simdKernels = opts.kernels && simd && hasHeapAccess(tf.backend()) ? await loadSimdKernels(tf.backend() as unknown as WasmHeapBackend) : false;
  const kernels = installWasmKernels(opts.kernels);
  return Object.freeze({
    backend: 'wasm' as const,
    simd,
    threads,
    kernels: Object.freeze(kernels) as string[],
    simdKernels,
    warnings: Object.freeze(warnings) as string[],
    version: pkg.version,
    options: Object.freeze({ ...opts }),
    setupMs: Math.round(performance.now() - t0),
  });
}
