// Public API of src/models (browser-safe): the study's architectures and the custom layers.
export { createMnistMlp, createMnistCnn, createCifarCnn, createModelFor, layerNames } from './architectures.js';
export type { ArchitectureOptions, ArchitectureName } from './architectures.js';
export { Standardization, createStandardization } from './standardization.js';
export type { StandardizationArgs } from './standardization.js';
export { ReplicatePadding2D, createReplicatePadding2D, replicatePad2d } from './replicate-padding.js';
export type { ReplicatePadding2DArgs } from './replicate-padding.js';
export { registerModelLayers } from './register.js';
