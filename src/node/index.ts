/**
 * ae-manifold for Node: file system, data loaders, model files and the wasm backend set-up.
 *
 * @example
 * ```ts
 * import { loadMnist } from 'ae-manifold/node';
 * const test = await loadMnist({ split: 'test' });
 * ```
 * @module
 */
export { packageRoot } from './package-root.js';
export * from '../backend/index.js';
export * from '../data/index.js';
export * from '../models/node.js';
export * from '../report/node.js';
export * from '../study/index.js';
export {
  AeManifoldError,
  InvalidArgumentError,
  ShapeMismatchError,
  UnsupportedModelError,
  ProbabilityOutputError,
  AbortedError,
  DataUnavailableError,
  BackendUnavailableError,
} from '../errors.js';
export { attackInWorkers, AttackWorkerPool } from '../parallel/attack-in-workers.js';
export type { WorkerPoolOptions, WorkerPoolReport, WorkerAttackTypes } from '../parallel/attack-in-workers.js';
export type { WorkerAttackName } from '../parallel/protocol.js';
