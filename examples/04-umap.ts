/**
 * Example 4: a seeded UMAP map of three clusters; the same seed gives the same map.
 * Run: npm run build && npm run build:test && node build-test/examples/04-umap.js
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { createRng, projectUmap } from 'ae-manifold';

if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend did not initialise');

const rng = createRng(11);
const rows = 300;
const cols = 10;
const data = new Float32Array(rows * cols);
for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) data[i * cols + j] = (i % 3) * 5 * (j === i % 3 ? 1 : 0) + rng.normal();
const a = await projectUmap({ data, rows, cols }, { seed: 42, nEpochs: 100 });
const b = await projectUmap({ data, rows, cols }, { seed: 42, nEpochs: 100 });
const same = a.embedding.data.every((v, i) => v === b.embedding.data[i]);
console.log(`embedded ${a.embedding.rows} points in 2-D with seed ${a.seed}, ${a.nEpochs} epochs; identical on rerun: ${same}`);
