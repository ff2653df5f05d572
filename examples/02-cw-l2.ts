/**
 * Example 2: a Carlini–Wagner L2 attack on a linear classifier whose minimal perturbation is known
 * in closed form (the distance from x to the decision boundary w·x + b = 0 is |w·x + b| / ‖w‖).
 * Run: npm run build && npm run build:test && node build-test/examples/02-cw-l2.js
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { carliniWagnerL2 } from 'ae-manifold';

if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend did not initialise');

// Two classes in 2-D: logits z = [0, w·x + b], class 1 when w·x + b > 0.
const w = tf.tensor2d([[0, 0.6], [0, -0.8]]); // columns: logit 0 weights, logit 1 weights
const b = tf.tensor1d([0, 0.3]);
const logits = (x: tf.Tensor) => tf.add(tf.matMul(x as tf.Tensor2D, w), b);

const x = tf.tensor2d([[0.2, 0.9], [0.7, 0.95]]); // both class 0 (0.6·x0 − 0.8·x1 + 0.3 < 0)
const result = await carliniWagnerL2(logits, x, [0, 0], { preset: 'fast', binarySearchSteps: 6 });
const xs = await x.array();
result.distance.forEach((d, i) => {
  const [a, c] = xs[i]!;
  const optimum = Math.abs(0.6 * a! - 0.8 * c! + 0.3) / 1.0; // ‖(0.6, −0.8)‖ = 1
  console.log(`example ${i}: success ${result.success[i]}, predicted ${result.predicted[i]}, L2 ${d.toFixed(4)} (optimum ${optimum.toFixed(4)})`);
});
result.dispose();
tf.dispose([w, b, x]);
console.log('tensors left:', tf.memory().numTensors);
