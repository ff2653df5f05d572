// Node-only model functions (files, pretrained models, training with checkpoints): re-exported by src/node/index.ts.
export {};
