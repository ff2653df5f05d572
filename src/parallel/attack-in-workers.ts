/**
 * Data-parallel C&W attacks in Node: the examples are dealt out to worker threads, each with its
 * own backend (one-thread wasm by default), and the results put back in order. The attacks treat
 * every example on its own (own constant, own binary search, own Adam state) and give the same
 * result whatever the batch, so this is the same attack, run on several cores at once. On two
 * cores, two one-thread workers move about twice as many image-steps per second as one process:
 * much more than a two-thread wasm backend, whose element-wise kernels run on one thread.
 * @module
 */
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { AttackResult, ClassIndices, CwL0Options, CwL0ResolvedOptions, CwL2Options, CwL2ResolvedOptions, CwLinfOptions, CwLinfResolvedOptions } from '../attacks/index.js';
import { checkClasses, readAttackData } from '../attacks/prepare.js';
import type { AttackData } from '../attacks/prepare.js';
import type { Progress } from '../types.js';
import { makeResult } from '../attacks/result.js';
import type { AttackNorm } from '../attacks/result.js';
import * as errors from '../errors.js';
import { InvalidArgumentError, UnsupportedModelError } from '../errors.js';
import { checkInteger } from '../internal/validate.js';
import { thisModuleFile } from '../node/module-location.js';
import type { FromWorker, ToWorker, WorkerAttackName, WorkerBackend, WorkerError, WorkerJob, WorkerOutcome, WorkerSetup } from './protocol.js';

/**
 * Options and resolved options of each attack a worker pool runs, by name.
 * @category Attacks
 */
export interface WorkerAttackTypes {
  'cw-l2': { options: CwL2Options; resolved: CwL2ResolvedOptions };
  'cw-l0': { options: CwL0Options; resolved: CwL0ResolvedOptions };
  'cw-linf': { options: CwLinfOptions; resolved: CwLinfResolvedOptions };
}

/**
 * How {@link attackInWorkers} spreads the work.
 * @category Attacks
 */
export interface WorkerPoolOptions {
  /** Worker threads (≥ 1). Default: the number of cores (`os.availableParallelism()`), at most one per example. */
  workers?: number;
  /** wasm threads inside each worker. Default 1 (one core per worker). */
  threadsPerWorker?: number;
  /** Backend of each worker. Default `'wasm'` (set up by `useWasmBackend`); `'cpu'` is the slow reference. */
  backend?: 'wasm' | 'cpu';
  /**
   * Modules each worker imports before it rebuilds the model: files (absolute paths) or package
   * names that register the model's custom layers. The library's own layers are always registered.
   */
  setupModules?: string[];
}

/**
 * What the workers ran on, added to the result as `pool`.
 * @category Attacks
 */
export interface WorkerPoolReport {
  workers: number;
  backend: string;
  threadsPerWorker: number;
  simd: boolean;
}

const NORMS: Record<WorkerAttackName, AttackNorm> = { 'cw-l2': 'l2', 'cw-l0': 'l0', 'cw-linf': 'linf' };
const POOL_KEYS = ['workers', 'threadsPerWorker', 'backend', 'setupModules'] as const;
const FN = 'attackInWorkers';

/** Path of the compiled worker entry next to this module (ESM and CommonJS builds alike). */
function workerFile(): string {
  return join(dirname(thisModuleFile()), '..', 'parallel', 'attack-worker.js');
}

/** The model as in-memory artifacts with its weights in one buffer. */
async function modelArtifacts(model: tfl.LayersModel): Promise<tf.io.ModelArtifacts> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!saved) throw new UnsupportedModelError(FN, 'the model could not be saved to memory, so it cannot be sent to a worker');
  const w = saved.weightData;
  if (Array.isArray(w)) saved.weightData = new tf.io.CompositeArrayBuffer(w).slice();
  return saved;
}

/** Rebuilds a worker's error in this thread, as the same class where it is one of the library's. */
function reviveError(e: WorkerError, worker: number): Error {
  const cls = (errors as Record<string, unknown>)[e.name];
  const revived: Error =
    typeof cls === 'function' && (cls as { prototype: unknown }).prototype instanceof Error
      ? (Object.create((cls as { prototype: object }).prototype) as Error)
      : new Error();
  Object.assign(revived, { ...e.fields, name: e.name, message: e.message });
  revived.stack = `${e.name}: ${e.message}\n    in worker ${worker} of ${FN}${e.stack ? `\n${e.stack.split('\n').slice(1).join('\n')}` : ''}`;
  return revived;
}

/** Examples of worker w when N are dealt out to W workers: w, w + W, w + 2W, ... */
function shareOf(w: number, W: number, N: number): number[] {
  return Array.from({ length: Math.ceil((N - w) / W) }, (_, j) => w + j * W);
}

/** A run whose arguments have been checked and whose data has been read. */
interface CheckedRun<A extends WorkerAttackName> {
  attack: A;
  model: tfl.LayersModel;
  data: AttackData;
  /** The attack options without callbacks and targets (what crosses to the workers). */
  plain: Record<string, unknown>;
  onProgress: ((p: Progress) => void) | undefined;
  signal: AbortSignal | undefined;
}

/** A worker thread of a pool. */
interface PoolWorker {
  worker: Worker;
  /** What it runs on, once set up. */
  backend?: WorkerBackend;
  /** Handlers of the job running on it. */
  job?: { id: number; onMessage: (m: FromWorker) => void; onFailure: (e: Error) => void };
  /** Set when the thread has died or failed to set up; the pool is then unusable. */
  failure?: Error;
}

/**
 * Checks the arguments of a run and reads its data, in the calling thread (so that messages name
 * the caller's example indices): the attack name, the model, the callbacks, the inputs, labels,
 * targets and bounds.
 */
async function checkRun<A extends WorkerAttackName>(
  attack: A,
  model: tfl.LayersModel,
  inputs: tf.Tensor,
  labels: ClassIndices,
  options: WorkerAttackTypes[A]['options'],
): Promise<CheckedRun<A>> {
  if (!(attack in NORMS)) throw new InvalidArgumentError(FN, 'attack', "'cw-l2', 'cw-l0' or 'cw-linf'", attack);
  if (typeof model === 'function') {
    throw new UnsupportedModelError(FN, 'a model given as a function cannot be sent to a worker thread; pass a LayersModel, or call the attack itself');
  }
  if (model === null || typeof model !== 'object' || typeof (model as Partial<tfl.LayersModel>).save !== 'function') {
    throw new InvalidArgumentError(FN, 'model', 'a tf.LayersModel', model);
  }
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError(FN, 'options', 'an object of attack options', options);
  const { onProgress, signal, targets: targetsArg, ...plain } = options;
  if (onProgress !== undefined && typeof onProgress !== 'function') throw new InvalidArgumentError(FN, 'options.onProgress', 'a function', onProgress);
  if (signal !== undefined && (signal === null || typeof signal.aborted !== 'boolean')) throw new InvalidArgumentError(FN, 'options.signal', 'an AbortSignal', signal);
  const data = await readAttackData({ fn: FN, inputs, labels, targets: targetsArg, bounds: options.bounds ?? [0, 1] });
  const K = (model.outputs[0]?.shape ?? []).at(-1);
  if (typeof K === 'number') checkClasses(FN, data.labels, data.targets, K);
  return { attack, model, data, plain, onProgress, signal };
}

/**
 * Worker threads that run C&W attacks data-parallel: each has its own backend (one-thread wasm by
 * default), set up once, and takes a share of the examples of every run (example i goes to worker
 * i mod `workers`). Each run gives the same result as the attack run in this thread (the attacks
 * treat every example on its own: own constant, own binary search, own Adam state), plus `pool`:
 * what the workers ran on. Keep a pool for many runs (starting one costs about half a second per
 * worker); close it when done. Runs on one pool are queued.
 *
 * @example
 * ```ts
 * import { AttackWorkerPool, loadPretrained, loadMnist } from 'ae-manifold/node';
 * import * as tf from '@tensorflow/tfjs-core';
 * const { model } = await loadPretrained('mnist-cnn');
 * const test = await loadMnist({ split: 'test', subset: { count: 64 } });
 * const x = tf.tensor4d(test.images, [64, 28, 28, 1]);
 * const pool = await AttackWorkerPool.create({ workers: 2 });
 * const l2 = await pool.run('cw-l2', model, x, test.labels, { preset: 'fast' });
 * const li = await pool.run('cw-linf', model, x, test.labels, { preset: 'fast' });
 * const distances = { l2: l2.distance, linf: li.distance }; // per example; l2.pool: workers, seconds
 * l2.dispose(); li.dispose();
 * await pool.close();
 * ```
 * @category Attacks
 */
export class AttackWorkerPool {
  private readonly members: PoolWorker[];
  private nextId = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(members: PoolWorker[]) {
    this.members = members;
  }

  /** Worker threads in the pool. */
  get size(): number {
    return this.members.length;
  }

  /**
   * Starts the workers and waits until each has its backend (a wasm that cannot start rejects
   * here, with the worker's error).
   * @param options workers, threads per worker, backend and set-up modules
   */
  static create(options: WorkerPoolOptions = {}): Promise<AttackWorkerPool> {
    return AttackWorkerPool.open(options, 'AttackWorkerPool.create', 'options');
  }

  /** @internal {@link AttackWorkerPool.create}, with errors naming `fn` and the options as `arg`. */
  static async open(options: WorkerPoolOptions, fn: string, arg: string): Promise<AttackWorkerPool> {
    if (options === null || typeof options !== 'object') throw new InvalidArgumentError(fn, arg, 'an object', options);
    for (const key of Object.keys(options)) {
      if (!(POOL_KEYS as readonly string[]).includes(key)) throw new InvalidArgumentError(fn, `${arg}.${key}`, `one of ${POOL_KEYS.join(', ')}`, key);
    }
    const backend = options.backend ?? 'wasm';
    if (backend !== 'wasm' && backend !== 'cpu') throw new InvalidArgumentError(fn, `${arg}.backend`, "'wasm' or 'cpu'", backend);
    const setupModules = options.setupModules ?? [];
    if (!Array.isArray(setupModules) || setupModules.some((m) => typeof m !== 'string' || m.length === 0)) {
      throw new InvalidArgumentError(fn, `${arg}.setupModules`, 'an array of module paths or names', setupModules);
    }
    const W = checkInteger(fn, `${arg}.workers`, options.workers ?? availableParallelism(), 1);
    const threads = checkInteger(fn, `${arg}.threadsPerWorker`, options.threadsPerWorker ?? 1, 1);
    const setup: WorkerSetup = { setupModules, backend, threads };
    const members: PoolWorker[] = [];
    const ready = Array.from({ length: W }, (_, w) => {
      const member: PoolWorker = { worker: new Worker(workerFile(), { workerData: setup }) };
      members.push(member);
      return new Promise<void>((resolve, reject) => {
        const fail = (e: Error) => {
          member.failure ??= e;
          reject(e); // no effect once set up: a later failure reaches the running job, if any
          member.job?.onFailure(e);
        };
        member.worker.on('message', (m: FromWorker) => {
          if (m.type === 'ready') {
            member.backend = m.backend;
            resolve();
          } else if (m.type === 'error' && m.id === -1) fail(reviveError(m.error, w));
          else if (member.job && 'id' in m && m.id === member.job.id) member.job.onMessage(m);
        });
        member.worker.on('error', fail);
        member.worker.on('exit', (code) => fail(new Error(`${FN}: worker ${w} exited (code ${code})`)));
      });
    });
    const pool = new AttackWorkerPool(members);
    try {
      await Promise.all(ready);
    } catch (e) {
      await pool.close();
      throw e;
    }
    return pool;
  }

  /**
   * Runs one attack on the pool: `carliniWagnerL2`, `carliniWagnerL0` or `carliniWagnerLinf` with
   * the same arguments, the model as a LayersModel (it is saved to memory and rebuilt in each
   * worker; functions cannot cross threads). Progress is summed over the workers (`step`: examples
   * finished; `detail.iteration`: the most steps any worker has taken). Aborting
   * `options.signal` stops every worker after its current step; each returns what it has found
   * so far, as the attack would.
   *
   * @example
   * ```ts
   * const r = await pool.run('cw-l0', model, x, labels, { targets, preset: 'fast' });
   * ```
   * @param attack `'cw-l2'`, `'cw-l0'` or `'cw-linf'`
   * @param model a LayersModel (a trailing softmax layer is skipped, as by the attacks)
   * @param inputs `[N, ...]` inputs inside the attack's bounds; the result's tensor is made on this thread's backend and the caller owns it
   * @param labels true class of each input
   * @param options the attack's own options (`onProgress` and `signal` included)
   */
  run<A extends WorkerAttackName>(
    attack: A,
    model: tfl.LayersModel,
    inputs: tf.Tensor,
    labels: ClassIndices,
    options: WorkerAttackTypes[A]['options'] = {},
  ): Promise<AttackResult<WorkerAttackTypes[A]['resolved']> & { pool: WorkerPoolReport }> {
    return this.enqueue(() => checkRun(attack, model, inputs, labels, options));
  }

  /** @internal Queues a run whose arguments `check` checks (in turn, after the runs before it). */
  enqueue<A extends WorkerAttackName>(check: () => Promise<CheckedRun<A>>): Promise<AttackResult<WorkerAttackTypes[A]['resolved']> & { pool: WorkerPoolReport }> {
    const next = this.queue.then(async () => this.runChecked(await check()));
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Stops the worker threads. The pool cannot run anything afterwards. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.members.map((m) => m.worker.terminate()));
  }

  private async runChecked<A extends WorkerAttackName>(run: CheckedRun<A>): Promise<AttackResult<WorkerAttackTypes[A]['resolved']> & { pool: WorkerPoolReport }> {
    if (this.closed) throw new InvalidArgumentError(FN, 'pool', 'an open pool', 'a closed pool');
    const broken = this.members.find((m) => m.failure);
    if (broken) throw new Error(`${FN}: the pool cannot run: ${broken.failure!.message}`);
    const { attack, model, data, plain, onProgress, signal } = run;
    const { N, D, exampleShape } = data;
    const W = Math.min(this.size, N);
    const members = this.members.slice(0, W);
    const artifacts = await modelArtifacts(model);
    const id = this.nextId++;
    const progress = Array.from({ length: W }, () => ({ step: 0, iteration: 0, rows: 0, found: 0 }));
    const abort = () => members.forEach((m) => m.worker.postMessage({ type: 'abort', id } satisfies ToWorker));
    signal?.addEventListener('abort', abort);
    try {
      const outcomes = await Promise.all(
        members.map(
          (member, w) =>
            new Promise<WorkerOutcome>((resolve, reject) => {
              const idx = shareOf(w, W, N);
              const x = new Float32Array(idx.length * D);
              idx.forEach((i, j) => x.set(data.x.subarray(i * D, (i + 1) * D), j * D));
              member.job = {
                id,
                onFailure: reject,
                onMessage: (m) => {
                  if (m.type === 'progress') {
                    const d = m.progress.detail ?? {};
                    progress[w] = { step: m.progress.step, iteration: d.iteration ?? 0, rows: d.rows ?? 0, found: d.found ?? 0 };
                    onProgress?.({
                      stage: m.progress.stage,
                      step: progress.reduce((a, p) => a + p.step, 0),
                      total: N,
                      detail: {
                        iteration: Math.max(...progress.map((p) => p.iteration)),
                        rows: progress.reduce((a, p) => a + p.rows, 0),
                        found: progress.reduce((a, p) => a + p.found, 0),
                        workers: W,
                      },
                    });
                  } else if (m.type === 'done') resolve(m.outcome);
                  else if (m.type === 'error') reject(reviveError(m.error, w));
                },
              };
              const job: WorkerJob = {
                id,
                attack,
                artifacts,
                inputs: x,
                shape: [idx.length, ...exampleShape],
                labels: Int32Array.from(idx, (i) => data.labels![i]!),
                targets: data.targets ? Int32Array.from(idx, (i) => data.targets![i]!) : null,
                options: plain,
              };
              member.worker.postMessage({ type: 'job', job } satisfies ToWorker);
              if (signal?.aborted) abort();
            }),
        ),
      ).catch((e: unknown) => {
        abort(); // the other workers stop their share after one step
        throw e;
      });
      // Put the examples back in the caller's order.
      const images = new Float32Array(N * D);
      const success = new Uint8Array(N);
      const distance = new Float32Array(N);
      const predicted = new Int32Array(N);
      const perExample: { constant: number; iterations: number; image: null }[] = new Array(N);
      outcomes.forEach((o, w) => {
        shareOf(w, W, N).forEach((i, j) => {
          images.set(o.adversarial.subarray(j * D, (j + 1) * D), i * D);
          success[i] = o.success[j]!;
          distance[i] = o.distance[j]!;
          predicted[i] = o.predicted[j]!;
          perExample[i] = { constant: o.constant[j]!, iterations: o.iterations[j]!, image: null };
        });
      });
      const result = makeResult({
        images,
        shape: data.shape,
        success,
        distance,
        predicted,
        norm: NORMS[attack],
        outcomes: perExample,
        labels: data.labels!,
        targets: data.targets,
        aborted: outcomes.some((o) => o.aborted),
        options: outcomes[0]!.options as unknown as WorkerAttackTypes[A]['resolved'],
        warnings: [...new Set(outcomes.flatMap((o) => o.warnings))],
      });
      const b = members[0]!.backend!;
      return Object.assign(result, { pool: { workers: W, backend: b.name, threadsPerWorker: b.threads, simd: b.simd } });
    } finally {
      signal?.removeEventListener('abort', abort);
      for (const m of members) delete m.job;
    }
  }
}

/**
 * One attack on a pool of worker threads started for it and closed afterwards: see
 * {@link AttackWorkerPool} (keep a pool instead when you run several attacks).
 *
 * @example
 * ```ts
 * import { attackInWorkers, loadPretrained, loadMnist } from 'ae-manifold/node';
 * import * as tf from '@tensorflow/tfjs-core';
 * const { model } = await loadPretrained('mnist-cnn');
 * const test = await loadMnist({ split: 'test', subset: { count: 64 } });
 * const x = tf.tensor4d(test.images, [64, 28, 28, 1]);
 * const r = await attackInWorkers('cw-l2', model, x, test.labels, { preset: 'fast' }, { workers: 2 });
 * const { success, distance, pool } = r; // per example, and the workers' report
 * r.dispose();
 * ```
 * @param attack `'cw-l2'`, `'cw-l0'` or `'cw-linf'`
 * @param model a LayersModel
 * @param inputs `[N, ...]` inputs inside the attack's bounds
 * @param labels true class of each input
 * @param options the attack's own options
 * @param pool workers (at most one per example), threads per worker, backend, set-up modules
 * @category Attacks
 */
export async function attackInWorkers<A extends WorkerAttackName>(
  attack: A,
  model: tfl.LayersModel,
  inputs: tf.Tensor,
  labels: ClassIndices,
  options: WorkerAttackTypes[A]['options'] = {},
  pool: WorkerPoolOptions = {},
): Promise<AttackResult<WorkerAttackTypes[A]['resolved']> & { pool: WorkerPoolReport }> {
  // Checked once, before any thread starts.
  const checked = await checkRun(attack, model, inputs, labels, options);
  const opened = await AttackWorkerPool.open(
    pool !== null && typeof pool === 'object' && pool.workers === undefined ? { ...pool, workers: Math.min(checked.data.N, availableParallelism()) } : pool,
    FN,
    'pool',
  );
  try {
    return await opened.enqueue(async () => checked);
  } finally {
    await opened.close();
  }
}
