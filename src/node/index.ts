/**
 * ae-manifold for Node: file system, data loaders, model files and the wasm backend set-up.
 *
 * @example
 * ```ts
 * import { loadMnist } from 'ae-manifold/node';
 * const { test } = await loadMnist();
 * ```
 * @module
 */
export { packageRoot } from './package-root.js';
