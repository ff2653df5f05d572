/**
 * ae-manifold: where adversarial examples live inside a neural network.
 *
 * This entry point runs wherever TensorFlow.js runs (browser included): it uses no Node built-ins.
 * File system, data loaders and the Node backend set-up live in `ae-manifold/node`.
 *
 * @example
 * ```ts
 * import { probeLayers, carliniWagnerL2 } from 'ae-manifold';
 * ```
 * @module
 */
export { VERSION } from './version.js';
export {
  AeManifoldError,
  InvalidArgumentError,
  ShapeMismatchError,
  UnsupportedModelError,
  ProbabilityOutputError,
  AbortedError,
  DataUnavailableError,
  BackendUnavailableError,
  describeValue,
} from './errors.js';
export type { AeManifoldErrorCode } from './errors.js';
export type { Progress, RunOptions, FloatMatrix, Summary } from './types.js';
export { createRng } from './internal/rng.js';
export type { Rng } from './internal/rng.js';
export { summarize } from './internal/stats.js';
export { backendFloatPrecision } from './backend/precision.js';

export * from './attacks/index.js';
export * from './probes/index.js';
export * from './metrics/index.js';
export * from './projection/index.js';
export * from './report/index.js';
export * from './models/index.js';
export { NORMALIZATION, CLASS_NAMES } from './data/normalization.js';
export type { Normalization } from './data/normalization.js';
export type { DatasetName, ImageSet } from './data/types.js';
