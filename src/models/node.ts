// Node-only model functions (files, pretrained models, training with checkpoints): re-exported by src/node/index.ts.
export { folderIOHandler, saveModelToFolder, loadModelFromFolder } from './model-files.js';
export type { ModelFileMetadata } from './model-files.js';
export { loadPretrained, PRETRAINED_MODELS } from './pretrained.js';
export type { PretrainedName, PretrainedMetadata } from './pretrained.js';
export { trainClassifier, evaluateClassifier } from './train.js';
export type { TrainOptions, ResolvedTrainOptions, TrainResult, EpochRecord } from './train.js';
