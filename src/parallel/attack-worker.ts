/**
 * Entry of a worker thread of an {@link AttackWorkerPool}: sets up its own backend once, then for
 * each job rebuilds the model from in-memory artifacts, runs the attack on its share of the
 * examples and posts the result back. Not meant to be imported.
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { carliniWagnerL0, carliniWagnerL2, carliniWagnerLinf } from '../attacks/index.js';
import type { AttackResult } from '../attacks/index.js';
import { useCpuBackend, useWasmBackend } from '../backend/index.js';
import { registerModelLayers } from '../models/register.js';
import type { FromWorker, ToWorker, WorkerBackend, WorkerError, WorkerJob, WorkerSetup } from './protocol.js';

const ATTACKS = { 'cw-l2': carliniWagnerL2, 'cw-l0': carliniWagnerL0, 'cw-linf': carliniWagnerLinf } as const;
/** Least time between two progress messages. */
const PROGRESS_INTERVAL_MS = 250;

function post(message: FromWorker): void {
  parentPort!.postMessage(message);
}

/** An error as plain data: name, message, stack, and the own fields with plain values. */
function toWorkerError(e: unknown): WorkerError {
  const err = e instanceof Error ? e : new Error(String(e));
  return {
    name: err.name,
    message: err.message,
    ...(err.stack ? { stack: err.stack } : {}),
    fields: Object.fromEntries(
      Object.entries(err).filter(([, v]) => v === null || ['string', 'number', 'boolean'].includes(typeof v) || (Array.isArray(v) && v.every((u) => u === null || typeof u !== 'object'))),
    ),
  };
}

async function setUp(setup: WorkerSetup): Promise<WorkerBackend> {
  for (const spec of setup.setupModules) await import(isAbsolute(spec) ? pathToFileURL(spec).href : spec);
  registerModelLayers();
  if (setup.backend === 'cpu') {
    await useCpuBackend();
    return { name: 'cpu', threads: 1, simd: false };
  }
  const report = await useWasmBackend({ threads: setup.threads });
  return { name: report.backend, threads: report.threads, simd: report.simd };
}

const controllers = new Map<number, AbortController>();

async function runJob(job: WorkerJob): Promise<void> {
  const controller = new AbortController();
  controllers.set(job.id, controller);
  const model = await tfl.loadLayersModel(tf.io.fromMemory(job.artifacts));
  const inputs = tf.tensor(job.inputs, job.shape);
  let lastPost = 0;
  let result: AttackResult<object> | undefined;
  try {
    result = await ATTACKS[job.attack](model, inputs, job.labels, {
      ...job.options,
      ...(job.targets ? { targets: job.targets } : {}),
      signal: controller.signal,
      onProgress: (progress) => {
        const now = Date.now();
        if (now - lastPost < PROGRESS_INTERVAL_MS && progress.step < progress.total) return;
        lastPost = now;
        post({ type: 'progress', id: job.id, progress });
      },
    });
    const adversarial = (await result.adversarial.data()) as Float32Array;
    post({
      type: 'done',
      id: job.id,
      outcome: {
        adversarial,
        success: result.success,
        distance: result.distance,
        predicted: result.predicted,
        constant: result.constant,
        iterations: result.iterations,
        aborted: result.aborted,
        options: result.options as Record<string, unknown>,
        warnings: result.warnings,
      },
    });
  } finally {
    controllers.delete(job.id);
    result?.dispose();
    inputs.dispose();
    model.dispose();
  }
}

setUp(workerData as WorkerSetup).then(
  (backend) => {
    parentPort!.on('message', (m: ToWorker) => {
      if (m.type === 'abort') controllers.get(m.id)?.abort();
      else runJob(m.job).catch((e: unknown) => post({ type: 'error', id: m.job.id, error: toWorkerError(e) }));
    });
    post({ type: 'ready', backend });
  },
  (e: unknown) => post({ type: 'error', id: -1, error: toWorkerError(e) }),
);
