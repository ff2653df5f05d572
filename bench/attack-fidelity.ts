/**
 * Fidelity of the C&W attacks to the published results (C&W 2017, Table IV; ATTACKS.md §7).
 *
 * Protocol: the first `--images` correctly classified test images of the model's data set (MNIST or
 * CIFAR-10, from the model's metadata), each attacked towards all 9
 * other classes (targeted), with the original defaults (`--preset original`) or the fast preset.
 * Per image, over its 9 targets:
 * - best case: the easiest target (smallest distance); a success if any target was reached;
 * - average case: one target drawn at random per image (seeded, `--seed`);
 * - worst case: the hardest target (largest distance); a success only if all 9 were reached.
 * Reported: success rate and mean distance over the successes (L0 changed pixels, L2 norm, L∞ max
 * change, pixels in [0, 1]), beside the published numbers for that data set.
 *
 * Usage (from the repository root, after `npx tsc -p tsconfig.test.json --outDir build-XXX`):
 *   node build-XXX/bench/attack-fidelity.js [--model mnist-cnn | cifar10-cnn | --model-dir DIR | --checkpoint DIR] [--images 100]
 *        [--preset original|fast] [--attacks l2,linf,l0] [--threads 1] [--batch 90] [--seed 0]
 *        [--out results.json]
 * Prints one JSON line per attack on stdout, progress on stderr.
 */
import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import type * as tfl from '@tensorflow/tfjs-layers';
import { carliniWagnerL0, carliniWagnerL2, carliniWagnerLinf } from '../src/attacks/index.js';
import type { AttackResult } from '../src/attacks/index.js';
import { loadModelFromFolder, loadPretrained, PRETRAINED_MODELS } from '../src/models/node.js';
import type { PretrainedName } from '../src/models/node.js';
import { loadDataset } from '../src/data/load-dataset.js';
import { createMnistCnn } from '../src/models/index.js';
import { readCheckpoint } from '../src/models/checkpoint.js';
import { useWasmBackend } from '../src/backend/index.js';
import { createRng } from '../src/internal/rng.js';
import { emit, note, parseArgs, peakRssMB } from './util.js';

/** C&W 2017 Table IV: mean distance (success rate 100 % throughout), per data set (ATTACKS.md §7). */
const PUBLISHED = {
  mnist: {
    l0: { best: 8.5, average: 16, worst: 33 },
    l2: { best: 1.36, average: 1.76, worst: 2.6 },
    linf: { best: 0.13, average: 0.16, worst: 0.23 },
  },
  cifar10: {
    l0: { best: 5.9, average: 13, worst: 24 },
    l2: { best: 0.17, average: 0.33, worst: 0.51 },
    linf: { best: 0.0092, average: 0.013, worst: 0.019 },
  },
} as const;

type Norm = keyof (typeof PUBLISHED)['mnist'];

interface CaseStats {
  successRate: number;
  meanDistance: number | null;
  published: number;
  ratioToPublished: number | null;
}

function caseStats(values: number[], ok: boolean[], published: number): CaseStats {
  const good = values.filter((_, i) => ok[i]);
  const mean = good.length ? good.reduce((a, b) => a + b, 0) / good.length : null;
  return {
    successRate: ok.filter(Boolean).length / ok.length,
    meanDistance: mean,
    published,
    ratioToPublished: mean === null ? null : +(mean / published).toFixed(3),
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const nImages = typeof args.images === 'string' ? Number(args.images) : 100;
  const preset = args.preset === 'fast' ? 'fast' : 'original';
  const attacks = (typeof args.attacks === 'string' ? args.attacks : 'l2,linf,l0').split(',') as Norm[];
  const threads = typeof args.threads === 'string' ? Number(args.threads) : 1;
  const batch = typeof args.batch === 'string' ? Number(args.batch) : 90;
  const seed = typeof args.seed === 'string' ? Number(args.seed) : 0;

  const backend = await useWasmBackend({ threads });
  let model: tfl.LayersModel;
  let modelName: string;
  let accuracy: unknown;
  let dataset: 'mnist' | 'cifar10' = 'mnist';
  if (typeof args.checkpoint === 'string') {
    // A training checkpoint of the MNIST CNN (models/mnist-cnn/checkpoint while it trains).
    const ck = await readCheckpoint<{ epoch: number; testAccuracy: number }>(args.checkpoint);
    if (!ck) throw new Error(`no checkpoint in ${args.checkpoint}`);
    model = createMnistCnn({ seed: 1 });
    const names = Object.keys(ck.modelWeights).sort((a, b) => parseInt(a, 10) - parseInt(b, 10));
    model.setWeights(names.map((k) => ck.modelWeights[k]!));
    for (const t of [...Object.values(ck.modelWeights), ...Object.values(ck.optimizerWeights)]) t.dispose();
    const last = ck.state.history[ck.state.history.length - 1];
    modelName = `mnist-cnn training checkpoint, epoch ${ck.state.epoch}`;
    accuracy = last?.testAccuracy;
  } else if (typeof args['model-dir'] === 'string') {
    const m = await loadModelFromFolder(args['model-dir']);
    model = m.model;
    modelName = args['model-dir'];
    accuracy = (m.metadata as { testAccuracy?: number }).testAccuracy;
    if ((m.metadata as { dataset?: string }).dataset === 'cifar10') dataset = 'cifar10';
  } else {
    const name = (typeof args.model === 'string' ? args.model : 'mnist-cnn') as PretrainedName;
    const m = await loadPretrained(name);
    model = m.model;
    modelName = name;
    accuracy = m.metadata.testAccuracy;
    dataset = PRETRAINED_MODELS[name].dataset;
  }
  note(`fidelity: model ${modelName} (test accuracy ${String(accuracy)}), wasm ${backend.threads} thread(s), preset ${preset}, ${nImages} images x 9 targets`);

  // The first nImages correctly classified test images.
  const test = await loadDataset(dataset, { split: 'test', subset: { count: Math.min(10_000, nImages * 2 + 50) } });
  const n = test.labels.length;
  const shape = test.shape.slice(1) as [number, number, number];
  const per = shape[0] * shape[1] * shape[2];
  const pred = tf.tidy(() => tf.argMax(model.apply(tf.tensor4d(test.images, [n, ...shape])) as tf.Tensor, 1));
  const predicted = (await pred.data()) as Int32Array;
  pred.dispose();
  const chosen: number[] = [];
  for (let i = 0; i < n && chosen.length < nImages; i++) if (predicted[i] === test.labels[i]) chosen.push(i);
  const skipped = chosen[chosen.length - 1]! + 1 - chosen.length;
  note(`fidelity: images ${chosen.length} (test indices 0..${chosen[chosen.length - 1]}, ${skipped} misclassified skipped)`);

  // Every image towards each of the 9 other classes.
  const N = chosen.length * 9;
  const data = new Float32Array(N * per);
  const labels = new Int32Array(N);
  const targets = new Int32Array(N);
  chosen.forEach((idx, j) => {
    const y = test.labels[idx]!;
    let k = 0;
    for (let t = 0; t < 10; t++) {
      if (t === y) continue;
      const row = j * 9 + k++;
      data.set(test.images.subarray(idx * per, (idx + 1) * per), row * per);
      labels[row] = y;
      targets[row] = t;
    }
  });
  const inputs = tf.tensor4d(data, [N, ...shape]);
  const rng = createRng(seed);
  const randomTarget = chosen.map(() => rng.int(9));

  const results: Record<string, unknown>[] = [];
  for (const norm of attacks) {
    const attack = norm === 'l2' ? carliniWagnerL2 : norm === 'l0' ? carliniWagnerL0 : carliniWagnerLinf;
    const t0 = performance.now();
    let lastNote = t0;
    const r: AttackResult<object> = await attack(model, inputs, labels, {
      targets,
      preset,
      batchSize: batch,
      onProgress: (p) => {
        const now = performance.now();
        if (now - lastNote > 60_000) {
          lastNote = now;
          note(`fidelity ${norm}: ${p.step}/${p.total} done, ${p.detail?.found ?? 0} found, ${((now - t0) / 1000).toFixed(0)} s`);
        }
      },
    });
    const seconds = (performance.now() - t0) / 1000;
    const best: number[] = [];
    const bestOk: boolean[] = [];
    const avg: number[] = [];
    const avgOk: boolean[] = [];
    const worst: number[] = [];
    const worstOk: boolean[] = [];
    chosen.forEach((_, j) => {
      const ds = Array.from(r.distance.subarray(j * 9, j * 9 + 9));
      const oks = Array.from(r.success.subarray(j * 9, j * 9 + 9), (s) => s === 1);
      const finite = ds.filter((_, k) => oks[k]);
      bestOk.push(finite.length > 0);
      best.push(finite.length ? Math.min(...finite) : Infinity);
      worstOk.push(finite.length === 9);
      worst.push(finite.length === 9 ? Math.max(...finite) : Infinity);
      const k = randomTarget[j]!;
      avgOk.push(oks[k]!);
      avg.push(ds[k]!);
    });
    const rec = {
      bench: 'attack-fidelity',
      attack: `cw-${norm}`,
      model: modelName,
      testAccuracy: accuracy,
      preset,
      options: r.options,
      images: chosen.length,
      attacks: N,
      seconds,
      secondsPerImage: seconds / chosen.length,
      imageStepsPerSec: r.totalIterations / seconds,
      meanIterations: r.totalIterations / N,
      overallSuccessRate: r.success.reduce((a, b) => a + b, 0) / N,
      dataset,
      best: caseStats(best, bestOk, PUBLISHED[dataset][norm].best),
      average: caseStats(avg, avgOk, PUBLISHED[dataset][norm].average),
      worst: caseStats(worst, worstOk, PUBLISHED[dataset][norm].worst),
      backend: { threads: backend.threads, simd: backend.simd },
      peakRssMB: peakRssMB(),
    };
    emit(rec);
    results.push(rec);
    r.dispose();
  }
  inputs.dispose();
  model.dispose();
  if (typeof args.out === 'string') writeFileSync(args.out, JSON.stringify(results, null, 2) + '\n');
}

await main();
