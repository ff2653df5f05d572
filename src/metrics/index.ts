// Public API of src/metrics (browser-safe; re-exported by src/index.ts → 'ae-manifold').
export { knnSearch } from './knn.js';
export type { KnnOptions, KnnResult } from './knn.js';
export { normalizedCentroidDistance } from './centroid-distance.js';
export type { ClassQueryInput, CentroidDistanceOptions, CentroidDistanceResult } from './centroid-distance.js';
export { knnPercentileRank } from './knn-percentile.js';
export type { KnnPercentileInput, KnnPercentileOptions, KnnPercentileResult } from './knn-percentile.js';
export { knnClassCounts } from './knn-class-counts.js';
export type { KnnClassCountsOptions, KnnClassCountsResult } from './knn-class-counts.js';
export { convexHullProximity } from './convex-hull.js';
export type { ConvexHullInput, ConvexHullOptions, ConvexHullResult } from './convex-hull.js';
export { fitPca } from './pca.js';
export type { PcaModel, PcaOptions } from './pca.js';
export { projectOntoSimplex, solveSimplexLeastSquares, solveSimplexLeastSquaresGram } from './simplex-lsq.js';
export type { SimplexLsqOptions, SimplexLsqResult } from './simplex-lsq.js';
export { softNearestNeighborLoss, optimalSnnl } from './snnl.js';
export type { SnnlOptions, OptimalSnnlOptions, OptimalSnnlResult } from './snnl.js';
export type { PairSummary } from './pairs.js';
