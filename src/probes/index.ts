/**
 * Activation probes: read the activations of any layer of a tfjs model, in batches, within memory.
 * Browser-safe: re-exported by the `ae-manifold` entry point.
 * @module
 */
export { listLayers, SKIPPED_LAYER_CLASSES } from './list-layers.js';
export { probeLayers, probeLayersStream, DEFAULT_PROBE_BATCH_SIZE } from './probe-layers.js';
export type {
  ActivationBatch,
  ActivationSet,
  GraphModelLike,
  LayerActivations,
  LayerInfo,
  LayerSelection,
  ProbeableModel,
  ProbeInputs,
  ProbeLayersOptions,
  ProbeOptions,
  ResolvedProbeOptions,
} from './types.js';
