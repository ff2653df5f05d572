/**
 * Example 3: how far queries sit from two class manifolds: k-NN search, normalised centroid
 * distance and the soft nearest neighbour loss on two Gaussian blobs.
 * Run: npm run build && npm run build:test && node build-test/examples/03-metrics.js
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { createRng, knnSearch, normalizedCentroidDistance, optimalSnnl } from 'ae-manifold';
import type { FloatMatrix } from 'ae-manifold';

if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend did not initialise');

const rng = createRng(3);
const blob = (n: number, cx: number, cy: number) => Array.from({ length: n }, () => [cx + rng.normal(), cy + rng.normal()]);
const points = [...blob(50, 0, 0), ...blob(50, 8, 0)];
const reference: FloatMatrix = { data: Float32Array.from(points.flat()), rows: 100, cols: 2 };
const labels = Int32Array.from(points, (_, i) => (i < 50 ? 0 : 1));

const queries: FloatMatrix = { data: Float32Array.from([0.5, 0.2, 4, 0]), rows: 2, cols: 2 };
const knn = await knnSearch(reference, queries, { k: 3 });
console.log('3 nearest of query 0:', Array.from(knn.indices.subarray(0, 3)), 'distances', Array.from(knn.distances.subarray(0, 3), (d) => d.toFixed(3)));

const ncd = await normalizedCentroidDistance({ reference, referenceLabels: labels, queries, originalClass: [0, 0], predictedClass: [1, 1] });
console.log('NCD to class 0 / class 1:', Array.from(ncd.original, (v) => v.toFixed(2)), Array.from(ncd.predicted, (v) => v.toFixed(2)));

const snnl = await optimalSnnl(reference, labels);
console.log(`SNNL* of two separated blobs: ${snnl.loss.toFixed(4)} (chance ${snnl.chanceLoss.toFixed(4)}) at T* = ${snnl.temperature.toPrecision(3)}`);
