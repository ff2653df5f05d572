// Node-only data loaders: re-exported by src/node/index.ts (`ae-manifold/node`).
export { loadDataset } from './load-dataset.js';
export { loadMnist, defaultMnistDir } from './mnist.js';
export { loadFashionMnist, FASHION_MNIST_DEBIAN_DIR } from './fashion-mnist.js';
export { loadCifar10, defaultCifar10Dir } from './cifar10.js';
export { readCifar10Binary, CIFAR10_RECORD_BYTES } from './cifar-binary.js';
export { decodePng } from './png.js';
export type { DecodedPng } from './png.js';
export { parseIdx, readIdxFile } from './idx.js';
export type { IdxArray } from './idx.js';
export type { LoadOptions } from './load-options.js';
export type { SubsetOptions } from './subset.js';
export { HOW_TO_OBTAIN } from './sources.js';
