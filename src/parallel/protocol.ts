/**
 * Messages between {@link attackInWorkers} and its worker threads. Everything here is
 * structured-clone data: typed arrays, plain objects and the model as in-memory artifacts.
 * @module
 */
import type { io } from '@tensorflow/tfjs-core';
import type { Progress } from '../types.js';

/**
 * The attacks a worker pool runs, by the stage names their progress reports use.
 * @category Attacks
 */
export type WorkerAttackName = 'cw-l2' | 'cw-l0' | 'cw-linf';

/** What a worker is given when it starts (its `workerData`). */
export interface WorkerSetup {
  /** Modules imported before any model is rebuilt (custom layer registrations). */
  setupModules: string[];
  backend: 'wasm' | 'cpu';
  threads: number;
}

/** One attack on a share of the examples. */
export interface WorkerJob {
  id: number;
  attack: WorkerAttackName;
  /** The model as saved by `model.save(tf.io.withSaveHandler(...))`, weights in one buffer. */
  artifacts: io.ModelArtifacts;
  /** This worker's examples, flattened, and their shape. */
  inputs: Float32Array;
  shape: number[];
  labels: Int32Array;
  targets: Int32Array | null;
  /** The attack options without callbacks, targets and signal. */
  options: Record<string, unknown>;
}

/** What a worker sends back when it has finished its examples. */
export interface WorkerOutcome {
  adversarial: Float32Array;
  success: Uint8Array;
  distance: Float32Array;
  predicted: Int32Array;
  constant: Float64Array;
  iterations: Int32Array;
  aborted: boolean;
  options: Record<string, unknown>;
  warnings: string[];
}

/** The backend a worker really runs on, as `useWasmBackend` or `tf.getBackend()` reported it. */
export interface WorkerBackend {
  name: string;
  threads: number;
  simd: boolean;
}

/** An error raised in a worker, in a form that crosses the thread boundary. */
export interface WorkerError {
  name: string;
  message: string;
  stack?: string;
  /** The error's own fields with plain values (`code`, `functionName`, `argument` of an InvalidArgumentError...). */
  fields: Record<string, unknown>;
}

export type FromWorker =
  | { type: 'ready'; backend: WorkerBackend }
  | { type: 'progress'; id: number; progress: Progress }
  | { type: 'done'; id: number; outcome: WorkerOutcome }
  /** `id` -1: the set-up failed. */
  | { type: 'error'; id: number; error: WorkerError };

export type ToWorker = { type: 'job'; job: WorkerJob } | { type: 'abort'; id: number };
