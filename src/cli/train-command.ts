/**
 * `ae-manifold train`: trains one of the study's networks on the wasm backend, with a progress bar,
 * checkpoints after every epoch (rerun the same command to continue) and the final model saved as
 * a model folder with its metadata.
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { useWasmBackend } from '../backend/index.js';
import { loadDataset } from '../data/load-dataset.js';
import { NORMALIZATION } from '../data/normalization.js';
import type { DatasetName } from '../data/types.js';
import { InvalidArgumentError } from '../errors.js';
import { createModelFor } from '../models/architectures.js';
import type { ArchitectureName } from '../models/architectures.js';
import { saveModelToFolder } from '../models/model-files.js';
import { evaluateClassifier, trainClassifier } from '../models/train.js';
import type { ImageSet } from '../data/types.js';
import type { TrainOptions } from '../models/train.js';
import { VERSION } from '../version.js';
import type { CliCommand } from './commands.js';
import { formatDuration, ProgressBar } from './progress-bar.js';

const HELP = `Usage: ae-manifold train --dataset <name> --model <arch> [flags]

Trains one of the study's networks (METHODS.md §8) on the wasm backend: softmax cross-entropy,
Adam, step decay, seeded shuffle, test accuracy after every epoch. A checkpoint is written to
<out>/checkpoint after every epoch; rerunning the same command continues from the last finished
epoch (Ctrl-C stops cleanly). The trained model is saved to <out> (model.json + weights) with its
metadata; load it with loadModelFromFolder(<out>).

Flags:
  --dataset <name>          mnist | fashion-mnist | cifar10 (required)
  --model <arch>            mlp | cnn (cifar10: cnn only) (required)
  --epochs <n>              epochs in all (default 25 for MNIST sets, 40 for cifar10)
  --batch-size <n>          mini-batch size (default 64)
  --lr <x>                  Adam learning rate (default 0.001)
  --lr-decay-every <n>      multiply the learning rate by 0.1 every n epochs (default 10)
  --seed <n>                seed of weights, shuffle and augmentation (default 1)
  --out <folder>            output folder (default out/<dataset>-<model>)
  --augment                 random crop (padding 4) and horizontal flip
  --threads <n|auto>        wasm threads (default auto)
  --train-count <n>         train on a stratified subset of n images (default: all)
  --test-count <n>          validate on the first n test images (default: all)
  --data-dir <folder>       folder of the data set files (default: the loader's)
  --name <name>             model name stored in the metadata (default <dataset>-<model>)
  -h, --help                this text
`;

function int(flag: string, v: string | undefined, fallback: number, min = 1): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError('ae-manifold train', `--${flag}`, `an integer >= ${min}`, v);
  return n;
}

function sliceImageSet(set: ImageSet, count: number): ImageSet {
  const [, h, w, c] = set.shape;
  return { ...set, images: set.images.subarray(0, count * h * w * c), labels: set.labels.subarray(0, count), shape: [count, h, w, c] };
}

/** Reconstructs the command line, for the metadata. */
function commandLine(argv: string[]): string {
  return ['ae-manifold', 'train', ...argv.map((a) => (/^[\w./:=@-]+$/.test(a) ? a : JSON.stringify(a)))].join(' ');
}

async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      dataset: { type: 'string' },
      model: { type: 'string' },
      epochs: { type: 'string' },
      'batch-size': { type: 'string' },
      lr: { type: 'string' },
      'lr-decay-every': { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      augment: { type: 'boolean', default: false },
      threads: { type: 'string' },
      'train-count': { type: 'string' },
      'test-count': { type: 'string' },
      'data-dir': { type: 'string' },
      name: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const dataset = values.dataset as DatasetName | undefined;
  if (dataset === undefined || !(dataset in NORMALIZATION)) {
    throw new InvalidArgumentError('ae-manifold train', '--dataset', 'mnist, fashion-mnist or cifar10', dataset);
  }
  const arch = values.model as ArchitectureName | undefined;
  if (arch !== 'mlp' && arch !== 'cnn') throw new InvalidArgumentError('ae-manifold train', '--model', 'mlp or cnn', arch);
  const epochs = int('epochs', values.epochs, dataset === 'cifar10' ? 40 : 25);
  const batchSize = int('batch-size', values['batch-size'], 64);
  const seed = int('seed', values.seed, 1, 0);
  const lrDecayEvery = int('lr-decay-every', values['lr-decay-every'], 10);
  const learningRate = values.lr === undefined ? 1e-3 : Number(values.lr);
  if (!(learningRate > 0)) throw new InvalidArgumentError('ae-manifold train', '--lr', 'a positive number', values.lr);
  const threadsFlag = values.threads ?? 'auto';
  const threads = threadsFlag === 'auto' ? 'auto' : int('threads', threadsFlag, 1);
  const trainCount = values['train-count'] === undefined ? undefined : int('train-count', values['train-count'], 0);
  const testCount = values['test-count'] === undefined ? undefined : int('test-count', values['test-count'], 0);
  const name = values.name ?? `${dataset}-${arch}`;
  const out = resolve(values.out ?? join('out', name));

  const bar = new ProgressBar();
  const report = await useWasmBackend({ threads });
  bar.log(
    `backend wasm (simd ${report.simd}, ${report.threads} thread${report.threads === 1 ? '' : 's'})` +
      (report.warnings.length ? `; ${report.warnings.join('; ')}` : ''),
  );
  const model = createModelFor(dataset, arch, { seed });
  const dir = values['data-dir'];
  const train = await loadDataset(dataset, {
    split: 'train',
    ...(dir ? { dir } : {}),
    ...(trainCount ? { subset: { count: trainCount, mode: 'stratified' as const, seed } } : {}),
  });
  const test = await loadDataset(dataset, { split: 'test', ...(dir ? { dir } : {}), ...(testCount ? { subset: { count: testCount } } : {}) });
  bar.log(`${name}: ${model.countParams().toLocaleString('en')} weights; ${train.labels.length} train / ${test.labels.length} test images; out ${out}`);

  const controller = new AbortController();
  const onSignal = (): void => controller.abort(new Error('interrupted (SIGINT/SIGTERM)'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let epochStart = Date.now();
  const options: TrainOptions = {
    epochs,
    batchSize,
    learningRate,
    lrDecayEvery,
    seed,
    augment: values.augment ?? false,
    checkpointDir: join(out, 'checkpoint'),
    signal: controller.signal,
    onProgress: (p) => {
      const d = p.detail ?? {};
      if (p.stage === 'train') {
        const batch = d.batch ?? 0;
        const batches = d.batches ?? 1;
        const elapsed = (Date.now() - epochStart) / 1000;
        const eta = batch > 0 ? (elapsed * (batches - batch)) / batch : NaN;
        bar.update(p.step / p.total, `epoch ${d.epoch}/${d.epochs} batch ${batch}/${batches} loss ${(d.loss ?? NaN).toFixed(4)} eta(epoch) ${formatDuration(eta)}`);
        if (batch === batches) epochStart = Date.now();
      } else if (p.stage === 'epoch') {
        bar.log(
          `epoch ${p.step}/${p.total}: loss ${(d.trainLoss ?? NaN).toFixed(4)}, test accuracy ${((d.testAccuracy ?? NaN) * 100).toFixed(2)} %, ` +
            `lr ${d.learningRate}, ${formatDuration(d.seconds ?? NaN)}`,
        );
        epochStart = Date.now();
      }
    },
  };
  let result;
  try {
    result = await trainClassifier(model, train, test, options);
  } catch (e) {
    bar.done();
    if ((e as { code?: string }).code === 'ABORTED') {
      process.stderr.write(`stopped; the last finished epoch is in ${join(out, 'checkpoint')}: rerun the same command to continue\n`);
    }
    model.dispose();
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  bar.done();
  if (result.resumedFromEpoch > 0) bar.log(`resumed from epoch ${result.resumedFromEpoch}`);
  // A fixed slice that tests can re-check quickly: the first 1,000 test images (when there are that many).
  const first = test.labels.length >= 1000 ? await evaluateClassifier(model, sliceImageSet(test, 1000)) : undefined;
  const wallTimeSeconds = result.history.reduce((s, h) => s + h.seconds, 0);
  const norm = NORMALIZATION[dataset];
  const metadata = {
    name,
    dataset,
    architecture: arch,
    preprocessing: { inputRange: [0, 1], mean: [...norm.mean], std: [...norm.std], layer: 'standardize' },
    testAccuracy: result.testAccuracy,
    testCount: test.labels.length,
    ...(first ? { first1000TestAccuracy: first.accuracy } : {}),
    trainCount: train.labels.length,
    layers: model.layers.map((l) => l.name),
    layerClasses: model.layers.map((l) => l.getClassName()),
    command: commandLine(argv),
    wallTimeSeconds: Math.round(wallTimeSeconds * 10) / 10,
    seed: result.seed,
    epochs,
    options: { ...result.options, checkpointDir: 'checkpoint' },
    history: result.history,
    backend: { name: tf.getBackend(), simd: report.simd, threads: report.threads },
    library: `ae-manifold ${VERSION}`,
    createdAt: new Date().toISOString(),
  };
  await saveModelToFolder(model, out, metadata);
  process.stdout.write(
    JSON.stringify({ out, name, testAccuracy: result.testAccuracy, epochs, seed: result.seed, wallTimeSeconds: metadata.wallTimeSeconds }) + '\n',
  );
  model.dispose();
  return 0;
}

/** The `train` subcommand. */
export const trainCommand: CliCommand = {
  summary: 'train one of the study networks (mlp/cnn on mnist, fashion-mnist, cifar10) with resumable checkpoints',
  run,
};
