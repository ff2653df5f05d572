// Public API of src/projection (browser-safe): re-exported by src/index.ts.
export {
  projectUmap,
  transformUmap,
  umapNeighbours,
  defaultUmapEpochs,
  type UmapEngine,
  type UmapModel,
  type UmapNeighbours,
  type UmapOptions,
  type UmapProjection,
  type UmapSettings,
  type UmapTransformOptions,
  type UmapTransformResult,
} from './umap.js';
export { projectUmapMap, type UmapMap, type UmapMapOptions, type UmapPointGroup } from './umap-map.js';
