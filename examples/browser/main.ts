/**
 * Browser example: a UMAP map of a model's hidden activations with adversarial examples overlaid.
 * Bundled with esbuild into example.js (see README.md); runs in any browser with tfjs.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import { carliniWagnerL2, createRng, probeLayers, projectUmapMap } from 'ae-manifold';

const CLASSES = 3;
const DIMS = 8;
const PER_CLASS = 30;
const ATTACKED = 15;
const COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c'];

/** Three seeded clusters inside [0, 1]^8. */
function makeData(seed: number): { x: Float32Array; labels: number[]; centres: Float32Array } {
  const rng = createRng(seed);
  const centres = new Float32Array(CLASSES * DIMS);
  for (let i = 0; i < centres.length; i++) centres[i] = 0.25 + 0.5 * rng.next();
  const rows = CLASSES * PER_CLASS;
  const x = new Float32Array(rows * DIMS);
  const labels: number[] = [];
  for (let r = 0; r < rows; r++) {
    const c = r % CLASSES;
    labels.push(c);
    for (let j = 0; j < DIMS; j++) x[r * DIMS + j] = Math.min(1, Math.max(0, centres[c * DIMS + j]! + 0.06 * rng.normal()));
  }
  return { x, labels, centres };
}

/** Hidden layer (identity + relu) then a nearest-centroid read-out: logit_c = x·μ_c − |μ_c|²/2. */
function makeModel(centres: Float32Array): tfl.LayersModel {
  const model = tfl.sequential({
    layers: [
      tfl.layers.dense({ units: DIMS, inputShape: [DIMS], activation: 'relu', name: 'hidden' }),
      tfl.layers.dense({ units: CLASSES, name: 'logits' }),
    ],
  });
  const eye = new Float32Array(DIMS * DIMS);
  for (let i = 0; i < DIMS; i++) eye[i * DIMS + i] = 1;
  const w = new Float32Array(DIMS * CLASSES);
  const b = new Float32Array(CLASSES);
  for (let c = 0; c < CLASSES; c++) {
    for (let j = 0; j < DIMS; j++) {
      const m = centres[c * DIMS + j]!;
      w[j * CLASSES + c] = m;
      b[c] = b[c]! - (m * m) / 2;
    }
  }
  const weights = [tf.tensor2d(eye, [DIMS, DIMS]), tf.zeros([DIMS]), tf.tensor2d(w, [DIMS, CLASSES]), tf.tensor1d(b)];
  model.setWeights(weights);
  for (const t of weights) t.dispose();
  return model;
}

function svgMap(map: { x: Float32Array; y: Float32Array; kind: Uint8Array; label: Int32Array }): string {
  const W = 480;
  const H = 480;
  const pad = 20;
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (let i = 0; i < map.x.length; i++) {
    x0 = Math.min(x0, map.x[i]!); x1 = Math.max(x1, map.x[i]!);
    y0 = Math.min(y0, map.y[i]!); y1 = Math.max(y1, map.y[i]!);
  }
  const sx = (v: number) => pad + ((v - x0) / (x1 - x0 || 1)) * (W - 2 * pad);
  const sy = (v: number) => H - pad - ((v - y0) / (y1 - y0 || 1)) * (H - 2 * pad);
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">`, `<rect width="${W}" height="${H}" fill="#fff"/>`];
  for (let i = 0; i < map.x.length; i++) {
    const cx = sx(map.x[i]!).toFixed(1);
    const cy = sy(map.y[i]!).toFixed(1);
    const colour = COLOURS[map.label[i]! % COLOURS.length]!;
    if (map.kind[i] === 0) parts.push(`<circle cx="${cx}" cy="${cy}" r="5" fill="${colour}" fill-opacity="0.8"/>`);
    else parts.push(`<path d="M${+cx - 6},${+cy - 6}L${+cx + 6},${+cy + 6}M${+cx - 6},${+cy + 6}L${+cx + 6},${+cy - 6}" stroke="${colour}" stroke-width="3"/>`);
  }
  parts.push('</svg>');
  return parts.join('');
}

async function main(): Promise<void> {
  const status = document.getElementById('status')!;
  // ?backend=cpu forces the cpu backend; by default WebGL is tried first.
  const wanted = new URLSearchParams(location.search).get('backend');
  const order = wanted === 'cpu' ? ['cpu'] : ['webgl', 'cpu'];
  let backend: string | null = null;
  for (const name of order) {
    if (await tf.setBackend(name).catch(() => false)) {
      backend = name;
      break;
    }
  }
  if (!backend) throw new Error(`no tfjs backend among ${order.join(', ')} could be initialised`);
  await tf.ready();

  const { x, labels, centres } = makeData(5);
  const model = makeModel(centres);
  const rows = labels.length;
  const xs = tf.tensor2d(x, [rows, DIMS]);
  const attackedX = tf.slice(xs, [0, 0], [ATTACKED, DIMS]);
  try {
    status.textContent = `Probing ${rows} points and attacking ${ATTACKED} with C&W-L2 on ${backend}…`;
    const attack = await carliniWagnerL2(model, attackedX, labels.slice(0, ATTACKED), { maxIterations: 100, binarySearchSteps: 4, initialConst: 1 });
    try {
      const test = await probeLayers(model, xs, { layers: ['hidden'] });
      const adv = await probeLayers(model, attack.adversarial, { layers: ['hidden'] });
      const map = await projectUmapMap(
        {
          test: { activations: test.get('hidden').activations, labels },
          adversarial: { activations: adv.get('hidden').activations, labels: attack.predicted },
        },
        { seed: 42, nNeighbors: 10, nEpochs: 200 },
      );
      test.dispose();
      adv.dispose();
      document.getElementById('figure')!.innerHTML = svgMap(map);
      document.getElementById('legend')!.innerHTML = COLOURS.map((c, i) => `<span style="color:${c}">● class ${i}</span>`).join('') + '<span>✕ adversarial (colour: predicted class)</span>';
      const succeeded = attack.success.reduce((s, v) => s + v, 0);
      status.textContent = `Backend ${backend}: ${succeeded}/${ATTACKED} adversarial examples found; UMAP seed ${map.seed}, ${map.nEpochs} epochs.`;
      (globalThis as unknown as Record<string, unknown>)['aeExample'] = { backend, points: map.x.length, succeeded, seed: map.seed };
      document.body.dataset['status'] = 'done';
    } finally {
      attack.dispose();
    }
  } finally {
    attackedX.dispose();
    xs.dispose();
    model.dispose();
  }
}

main().catch((e: unknown) => {
  document.body.dataset['status'] = 'error';
  document.getElementById('status')!.textContent = `Error: ${e instanceof Error ? e.message : String(e)}`;
  (globalThis as unknown as Record<string, unknown>)['aeExampleError'] = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
});
