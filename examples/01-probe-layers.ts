/**
 * Example 1: read the hidden activations of a small model with probeLayers.
 * Run: npm run build && npm run build:test && node build-test/examples/01-probe-layers.js
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { listLayers, probeLayers } from 'ae-manifold';

if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend did not initialise');

// A 4 → 8 → ReLU → 3 classifier with seeded weights, activations as separate layers.
const model = tfl.sequential({
  layers: [
    tfl.layers.dense({ inputShape: [4], units: 8, name: 'dense1', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }),
    tfl.layers.activation({ activation: 'relu', name: 'relu1' }),
    tfl.layers.dense({ units: 3, name: 'logits', kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }),
  ],
});

console.log('layers:', listLayers(model).map((l) => `${l.name} (${l.className}${l.isDefault ? ', analysis point' : ''})`).join(', '));
const x = tf.randomUniform([100, 4], 0, 1, 'float32', 7);
const set = await probeLayers(model, x, { batchSize: 32 });
for (const { layer, activations } of set.layers) {
  console.log(`${layer.name}: ${activations.rows} x ${activations.cols}, first value ${activations.data[0]!.toFixed(4)}`);
}
set.dispose();
x.dispose();
model.dispose();
console.log('tensors left:', tf.memory().numTensors);
