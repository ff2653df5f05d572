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
 * The full protocol takes many core-hours, so the run is **resumable and shardable**: images are
 * attacked in chunks of `--chunk` images (× 9 targets); each finished chunk is appended as one JSON
 * line to `<state>/<model>.<preset>.<attack>.jsonl` (per example: test index, label, target,
 * success, distance, iterations, constant). A rerun skips the chunks already there, `--shard k/n`
 * takes every n-th chunk (one process per core), and the summary is computed from the file, over
 * the images done so far (`complete: false` until all are). Ctrl-C / SIGTERM abort the running
 * chunk, which is then not recorded.
 *
 * Usage (from the repository root, after `npm run build:test`):
 *   node build-test/bench/attack-fidelity.js [--model mnist-cnn | cifar10-cnn | --model-dir DIR | --checkpoint DIR]
 *        [--images 100] [--preset original|fast] [--attacks l2,linf,l0] [--threads 1] [--workers 1] [--batch 90]
 *        [--chunk 10] [--shard 0/1] [--state docs/fidelity] [--summary-only] [--seed 0] [--out results.json]
 * Prints one JSON line per attack (the summary) on stdout, progress on stderr.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import type * as tfl from '@tensorflow/tfjs-layers';
import { carliniWagnerL0, carliniWagnerL2, carliniWagnerLinf } from '../src/attacks/index.js';
import type { AttackResult, CwCommonOptions } from '../src/attacks/index.js';
import { loadModelFromFolder, loadPretrained, PRETRAINED_MODELS } from '../src/models/node.js';
import type { PretrainedName } from '../src/models/node.js';
import { loadDataset } from '../src/data/load-dataset.js';
import { createMnistCnn } from '../src/models/index.js';
import { readCheckpoint } from '../src/models/checkpoint.js';
import { useWasmBackend } from '../src/backend/index.js';
import { AttackWorkerPool } from '../src/parallel/attack-in-workers.js';
import { createRng } from '../src/internal/rng.js';
import { emit, note, parseArgs, peakRssMB } from './util.js';
import type { Progress } from '../src/types.js';

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
const ATTACKS = { l2: carliniWagnerL2, l0: carliniWagnerL0, linf: carliniWagnerLinf } as const;

interface CaseStats {
  successRate: number;
  meanDistance: number | null;
  published: number;
  ratioToPublished: number | null;
}

/** One attacked (image, target) pair as stored in the state file. */
interface RowRecord {
  test: number;
  label: number;
  target: number;
  success: number;
  /** `null` where the attack failed (JSON has no Infinity). */
  distance: number | null;
  iterations: number;
  constant: number;
}

/** One line of the state file: a finished chunk of images × 9 targets. */
interface ChunkRecord {
  chunk: number;
  chunkImages: number;
  testIndices: number[];
  rows: RowRecord[];
  /** Wall time of the chunk, including any time the process was suspended. */
  seconds: number;
  /** CPU time of the process during the chunk (user + system); absent in records written before it existed. */
  cpuSeconds?: number;
  totalIterations: number;
  threads: number;
  /** Worker threads of one wasm thread each (absent: 1, the attack in the main thread). */
  workers?: number;
  batch: number;
  finished: string;
}

function caseStats(values: number[], ok: boolean[], published: number): CaseStats {
  const good = values.filter((_, i) => ok[i]);
  const mean = good.length ? good.reduce((a, b) => a + b, 0) / good.length : null;
  return {
    successRate: ok.length ? ok.filter(Boolean).length / ok.length : 0,
    meanDistance: mean,
    published,
    ratioToPublished: mean === null ? null : +(mean / published).toFixed(3),
  };
}

function readChunks(file: string): Map<number, ChunkRecord> {
  const done = new Map<number, ChunkRecord>();
  if (!existsSync(file)) return done;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const rec = JSON.parse(line) as ChunkRecord;
    done.set(rec.chunk, rec);
  }
  return done;
}

/** Best / average / worst case over the images whose 9 targets are all in `rows` (in image order). */
function summarize(rowsByImage: RowRecord[][], randomTarget: number[], published: { best: number; average: number; worst: number }) {
  const best: number[] = [];
  const bestOk: boolean[] = [];
  const avg: number[] = [];
  const avgOk: boolean[] = [];
  const worst: number[] = [];
  const worstOk: boolean[] = [];
  rowsByImage.forEach((rows, j) => {
    const ds = rows.map((r) => (r.success === 1 && r.distance !== null ? r.distance : Infinity));
    const oks = rows.map((r) => r.success === 1);
    const finite = ds.filter((_, k) => oks[k]);
    bestOk.push(finite.length > 0);
    best.push(finite.length ? Math.min(...finite) : Infinity);
    worstOk.push(finite.length === 9);
    worst.push(finite.length === 9 ? Math.max(...finite) : Infinity);
    const k = randomTarget[j]!;
    avgOk.push(oks[k]!);
    avg.push(ds[k]!);
  });
  return {
    best: caseStats(best, bestOk, published.best),
    average: caseStats(avg, avgOk, published.average),
    worst: caseStats(worst, worstOk, published.worst),
  };
}

async function loadModel(args: Record<string, string | true>): Promise<{ model: tfl.LayersModel; modelName: string; slug: string; accuracy: unknown; dataset: 'mnist' | 'cifar10' }> {
  if (typeof args.checkpoint === 'string') {
    // A training checkpoint of the MNIST CNN (models/mnist-cnn/checkpoint while it trains).
    const ck = await readCheckpoint<{ epoch: number; testAccuracy: number }>(args.checkpoint);
    if (!ck) throw new Error(`no checkpoint in ${args.checkpoint}`);
    const model = createMnistCnn({ seed: 1 });
    const names = Object.keys(ck.modelWeights).sort((a, b) => parseInt(a, 10) - parseInt(b, 10));
    model.setWeights(names.map((k) => ck.modelWeights[k]!));
    for (const t of [...Object.values(ck.modelWeights), ...Object.values(ck.optimizerWeights)]) t.dispose();
    const last = ck.state.history[ck.state.history.length - 1];
    return { model, modelName: `mnist-cnn training checkpoint, epoch ${ck.state.epoch}`, slug: `mnist-cnn-epoch${ck.state.epoch}`, accuracy: last?.testAccuracy, dataset: 'mnist' };
  }
  if (typeof args['model-dir'] === 'string') {
    const m = await loadModelFromFolder(args['model-dir']);
    const dataset = (m.metadata as { dataset?: string }).dataset === 'cifar10' ? 'cifar10' : 'mnist';
    const slug = args['model-dir'].replace(/[/\\]+$/, '').split(/[/\\]/).pop() ?? 'model';
    return { model: m.model, modelName: args['model-dir'], slug, accuracy: (m.metadata as { testAccuracy?: number }).testAccuracy, dataset };
  }
  const name = (typeof args.model === 'string' ? args.model : 'mnist-cnn') as PretrainedName;
  const m = await loadPretrained(name);
  return { model: m.model, modelName: name, slug: name, accuracy: m.metadata.testAccuracy, dataset: PRETRAINED_MODELS[name].dataset };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const nImages = typeof args.images === 'string' ? Number(args.images) : 100;
  const preset = args.preset === 'fast' ? 'fast' : 'original';
  const attacks = (typeof args.attacks === 'string' ? args.attacks : 'l2,linf,l0').split(',') as Norm[];
  for (const a of attacks) if (!(a in ATTACKS)) throw new Error(`--attacks: unknown attack '${a}' (l2, linf, l0)`);
  const threads = typeof args.threads === 'string' ? Number(args.threads) : 1;
  const batch = typeof args.batch === 'string' ? Number(args.batch) : 90;
  const seed = typeof args.seed === 'string' ? Number(args.seed) : 0;
  const chunkImages = typeof args.chunk === 'string' ? Number(args.chunk) : 10;
  const [shard, shards] = (typeof args.shard === 'string' ? args.shard : '0/1').split('/').map(Number) as [number, number];
  if (!(shards >= 1 && shard >= 0 && shard < shards)) throw new Error(`--shard must be k/n with 0 <= k < n, got ${String(args.shard)}`);
  const stateDir = typeof args.state === 'string' ? args.state : 'docs/fidelity';
  const summaryOnly = args['summary-only'] === true;

  const backend = await useWasmBackend({ threads });
  const { model, modelName, slug, accuracy, dataset } = await loadModel(args);
  // --workers N: an AttackWorkerPool of N one-thread wasm workers (same results, N cores).
  const workers = typeof args.workers === 'string' ? Number(args.workers) : 1;
  if (workers > 1 && typeof model === 'function') throw new Error('--workers needs a LayersModel');
  const pool = workers > 1 ? await AttackWorkerPool.create({ workers }) : null;
  note(`fidelity: model ${modelName} (test accuracy ${String(accuracy)}), ${pool ? `${workers} workers of 1 wasm thread` : `wasm ${backend.threads} thread(s)`}, preset ${preset}, ${nImages} images x 9 targets, chunks of ${chunkImages}, shard ${shard}/${shards}`);

  // The first nImages correctly classified test images.
  const test = await loadDataset(dataset, { split: 'test', subset: { count: Math.min(10_000, nImages * 2 + 50) } });
  const n = test.labels.length;
  const shape = test.shape.slice(1) as [number, number, number];
  const per = shape[0] * shape[1] * shape[2];
  const predicted = tf.tidy(() => tf.argMax(model.apply(tf.tensor4d(test.images, [n, ...shape])) as tf.Tensor, 1).dataSync() as Int32Array);
  const chosen: number[] = [];
  for (let i = 0; i < n && chosen.length < nImages; i++) if (predicted[i] === test.labels[i]) chosen.push(i);
  const skipped = chosen[chosen.length - 1]! + 1 - chosen.length;
  note(`fidelity: images ${chosen.length} (test indices 0..${chosen[chosen.length - 1]}, ${skipped} misclassified skipped)`);
  const rng = createRng(seed);
  const randomTarget = chosen.map(() => rng.int(9));
  const numChunks = Math.ceil(chosen.length / chunkImages);

  // Abort the running chunk on Ctrl-C / SIGTERM (it is then not recorded).
  const controller = new AbortController();
  const stop = () => {
    note('fidelity: stopping after the current step (this chunk is not recorded)');
    controller.abort();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  mkdirSync(stateDir, { recursive: true });
  const summaries: Record<string, unknown>[] = [];
  for (const norm of attacks) {
    const file = join(stateDir, `${slug}.${preset}.${norm}.jsonl`);
    const done = readChunks(file);
    for (const rec of done.values()) {
      const expect = chosen.slice(rec.chunk * rec.chunkImages, (rec.chunk + 1) * rec.chunkImages);
      if (rec.chunkImages !== chunkImages || rec.testIndices.join() !== expect.join()) {
        throw new Error(`${file}: chunk ${rec.chunk} was made with other images or chunk size (${rec.chunkImages}); use --chunk ${rec.chunkImages} or another --state`);
      }
    }
    for (let c = shard; c < numChunks && !summaryOnly && !controller.signal.aborted; c += shards) {
      // Another shard may have finished it meanwhile.
      if (done.has(c) || readChunks(file).has(c)) continue;
      const images = chosen.slice(c * chunkImages, (c + 1) * chunkImages);
      const N = images.length * 9;
      const data = new Float32Array(N * per);
      const labels = new Int32Array(N);
      const targets = new Int32Array(N);
      images.forEach((idx, j) => {
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
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      let lastNote = t0;
      const options: CwCommonOptions = {
        targets,
        preset,
        batchSize: batch,
        signal: controller.signal,
        onProgress: (p: Progress) => {
          const now = performance.now();
          if (now - lastNote > 60_000) {
            lastNote = now;
            note(`fidelity ${norm} chunk ${c + 1}/${numChunks}: ${p.step}/${p.total} done, ${p.detail?.found ?? 0} found, step ${p.detail?.iteration ?? '?'} on ${p.detail?.rows ?? '?'} rows, ${((now - t0) / 1000).toFixed(0)} s`);
          }
        },
      };
      const r: AttackResult<object> = pool
        ? await pool.run(`cw-${norm}`, model as tfl.LayersModel, inputs, labels, options)
        : await ATTACKS[norm](model, inputs, labels, options);
      inputs.dispose();
      const seconds = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      const cpuSeconds = (cpu.user + cpu.system) / 1e6;
      if (!r.aborted) {
        const rows: RowRecord[] = Array.from({ length: N }, (_, i) => ({
          test: images[Math.floor(i / 9)]!,
          label: labels[i]!,
          target: targets[i]!,
          success: r.success[i]!,
          distance: Number.isFinite(r.distance[i]!) ? r.distance[i]! : null,
          iterations: r.iterations[i]!,
          constant: r.constant[i]!,
        }));
        const rec: ChunkRecord = { chunk: c, chunkImages, testIndices: images, rows, seconds, cpuSeconds, totalIterations: r.totalIterations, threads: pool ? 1 : backend.threads, workers, batch, finished: new Date().toISOString() };
        appendFileSync(file, JSON.stringify(rec) + '\n');
        done.set(c, rec);
        note(`fidelity ${norm}: chunk ${c + 1}/${numChunks} done in ${seconds.toFixed(0)} s, ${cpuSeconds.toFixed(0)} CPU s (${(r.totalIterations / cpuSeconds).toFixed(0)} image-steps per CPU s), ${r.success.reduce((a, b) => a + b, 0)}/${N} successes`);
      }
      r.dispose();
    }

    // Summary over the images whose chunk is recorded (all shards' chunks, re-read from the file).
    const all = readChunks(file);
    const rowsByImage: RowRecord[][] = [];
    const targetOf: number[] = [];
    let seconds = 0;
    let iterations = 0;
    for (let c = 0; c < numChunks; c++) {
      const rec = all.get(c);
      if (!rec) continue;
      // CPU time where recorded: wall time counts the time a paused (SIGSTOP) or crowded run waited.
      seconds += rec.cpuSeconds ?? rec.seconds;
      iterations += rec.totalIterations;
      rec.testIndices.forEach((_, j) => {
        rowsByImage.push(rec.rows.slice(j * 9, j * 9 + 9));
        targetOf.push(randomTarget[c * chunkImages + j]!);
      });
    }
    const attacked = rowsByImage.length * 9;
    const successes = rowsByImage.flat().filter((r) => r.success === 1).length;
    const summary = {
      bench: 'attack-fidelity',
      attack: `cw-${norm}`,
      model: modelName,
      testAccuracy: accuracy,
      dataset,
      preset,
      stateFile: file,
      images: rowsByImage.length,
      imagesPlanned: chosen.length,
      complete: rowsByImage.length === chosen.length,
      attacks: attacked,
      overallSuccessRate: attacked ? successes / attacked : null,
      computeSeconds: seconds,
      computeSecondsAre: 'process CPU time (user + system) where the chunk recorded it, else wall time',
      secondsPerImage: rowsByImage.length ? seconds / rowsByImage.length : null,
      imageStepsPerSec: seconds ? iterations / seconds : null,
      meanIterations: attacked ? iterations / attacked : null,
      ...summarize(rowsByImage, targetOf, PUBLISHED[dataset][norm]),
      peakRssMB: peakRssMB(),
    };
    emit(summary);
    summaries.push(summary);
  }
  await pool?.close();
  model.dispose();
  if (typeof args.out === 'string') writeFileSync(args.out, JSON.stringify(summaries, null, 2) + '\n');
  // Threaded wasm keeps worker threads alive.
  process.exit(0);
}

await main();
