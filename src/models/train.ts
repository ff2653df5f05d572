/**
 * Training a classifier with the study's recipe (METHODS.md §8): softmax cross-entropy on logits,
 * Adam, step decay, seeded shuffle, validation accuracy per epoch and resumable checkpoints.
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { AbortedError, InvalidArgumentError, ShapeMismatchError } from '../errors.js';
import type { ImageSet } from '../data/types.js';
import { createRng, drawSeed } from '../internal/rng.js';
import { checkInteger, checkKnownOptions, checkNumber, throwIfAborted, yieldToEventLoop } from '../internal/validate.js';
import type { RunOptions } from '../types.js';
import { randomCropFlip } from './augment.js';
import { readCheckpoint, writeCheckpoint } from './checkpoint.js';

/**
 * Options of {@link trainClassifier}. Defaults are the study's (METHODS.md §8).
 * @category Models
 */
export interface TrainOptions extends RunOptions {
  /** Epochs in all (a resumed run counts the finished ones). Default 25. */
  epochs?: number;
  /** Mini-batch size. Default 64. */
  batchSize?: number;
  /** Adam learning rate at the start. Default 1e-3. */
  learningRate?: number;
  /** Multiply the learning rate by `lrDecayFactor` every this many epochs. Default 10. */
  lrDecayEvery?: number;
  /** Step-decay factor. Default 0.1. */
  lrDecayFactor?: number;
  /** Seed of the shuffle and the augmentation (a uint32). Default: drawn (and echoed); on resume, the checkpoint's. */
  seed?: number;
  /** Random crop with zero padding `augmentPadding` and horizontal flip (CIFAR-10). Default false. */
  augment?: boolean;
  /** Padding of the random crop. Default 4. */
  augmentPadding?: number;
  /** Folder for resumable checkpoints (written after every epoch). Default: none. */
  checkpointDir?: string;
  /** Batch size of the per-epoch evaluation on the test set. Default 500. */
  evalBatchSize?: number;
}

/** Options with their defaults filled in, as echoed in {@link TrainResult}. @category Models */
export interface ResolvedTrainOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  lrDecayEvery: number;
  lrDecayFactor: number;
  seed: number;
  augment: boolean;
  augmentPadding: number;
  checkpointDir: string | null;
  evalBatchSize: number;
}

/** One finished epoch. @category Models */
export interface EpochRecord {
  /** 1-based epoch number. */
  epoch: number;
  learningRate: number;
  /** Mean training cross-entropy over the epoch's batches. */
  trainLoss: number;
  /** Accuracy on the test set after the epoch, in [0, 1]. */
  testAccuracy: number;
  /** Mean test cross-entropy. */
  testLoss: number;
  /** Wall time of the epoch (training + evaluation), in seconds. */
  seconds: number;
}

/** What {@link trainClassifier} returns. @category Models */
export interface TrainResult {
  /** The same model object that was passed in, now trained. */
  model: tfl.LayersModel;
  /** Every finished epoch, including those of earlier runs that a checkpoint resumed. */
  history: EpochRecord[];
  /** Test accuracy after the last epoch. */
  testAccuracy: number;
  /** The seed used (echoed). */
  seed: number;
  /** Epochs already finished when this call started (0 unless resumed from a checkpoint). */
  resumedFromEpoch: number;
  /** Wall time of this call, in seconds. */
  seconds: number;
  options: ResolvedTrainOptions;
}

const FN = 'trainClassifier';
const KNOWN = [
  'epochs',
  'batchSize',
  'learningRate',
  'lrDecayEvery',
  'lrDecayFactor',
  'seed',
  'augment',
  'augmentPadding',
  'checkpointDir',
  'evalBatchSize',
  'onProgress',
  'signal',
];

function checkImageSet(arg: string, set: unknown, inputShape: readonly (number | null)[]): ImageSet {
  const s = set as Partial<ImageSet> | null;
  if (!s || !(s.images instanceof Float32Array) || !(s.labels instanceof Int32Array) || !Array.isArray(s.shape)) {
    throw new InvalidArgumentError(FN, arg, 'an ImageSet { images: Float32Array, labels: Int32Array, shape }', set);
  }
  const [n, ...rest] = s.shape;
  if (!n || s.labels.length !== n || s.images.length !== rest.reduce((a, b) => a * b, n)) {
    throw new ShapeMismatchError(FN, `${arg}.images`, [s.labels.length, ...rest], [s.images.length], 'images, labels and shape disagree');
  }
  const want = inputShape.slice(1);
  if (rest.length !== want.length || rest.some((d, i) => want[i] !== null && want[i] !== d)) {
    throw new ShapeMismatchError(FN, `${arg}.shape`, [null, ...want], s.shape, "the model's input shape");
  }
  return s as ImageSet;
}

function epochSeed(seed: number, epoch: number): number {
  return createRng((seed ^ Math.imul(epoch + 1, 0x9e3779b9)) >>> 0).uint32();
}

function lrAt(o: ResolvedTrainOptions, epoch: number): number {
  // Rounded to 12 significant digits so that 1e-3 · 0.1² prints as 1e-5.
  return Number((o.learningRate * Math.pow(o.lrDecayFactor, Math.floor(epoch / o.lrDecayEvery))).toPrecision(12));
}

/** Softmax cross-entropy of each row, log-sum-exp(z) − z·y (stable; plain ops with plain gradients). */
function crossEntropyPerExample(oneHot: tf.Tensor, logits: tf.Tensor): tf.Tensor1D {
  return tf.sub(tf.logSumExp(logits, 1), tf.sum(tf.mul(oneHot, logits), 1)) as tf.Tensor1D;
}

/**
 * One optimisation step: mean softmax cross-entropy of the logits in training mode (dropout on,
 * BatchNorm statistics updated), backward pass and one update of `vars`. Returns the loss
 * (the caller disposes it). Shared by {@link trainClassifier} and the training benchmark.
 * @internal
 */
export function trainStep(model: tfl.LayersModel, optimizer: tf.Optimizer, xs: tf.Tensor, oneHot: tf.Tensor, vars: tf.Variable[]): tf.Scalar {
  return optimizer.minimize(
    () => tf.mean(crossEntropyPerExample(oneHot, model.apply(xs, { training: true }) as tf.Tensor)) as tf.Scalar,
    true,
    vars,
  )!;
}

function gather(set: ImageSet, idx: ArrayLike<number>, from: number, to: number): { x: Float32Array; y: Int32Array } {
  const size = set.images.length / set.labels.length;
  const x = new Float32Array((to - from) * size);
  const y = new Int32Array(to - from);
  for (let i = from; i < to; i++) {
    const j = idx[i]!;
    x.set(set.images.subarray(j * size, (j + 1) * size), (i - from) * size);
    y[i - from] = set.labels[j]!;
  }
  return { x, y };
}

/**
 * Accuracy and mean cross-entropy of `model` on `set`, in inference mode.
 *
 * @example
 * ```ts
 * import { evaluateClassifier, loadPretrained, loadMnist } from 'ae-manifold/node';
 * const { model } = await loadPretrained('mnist-cnn');
 * const { accuracy } = await evaluateClassifier(model, await loadMnist({ subset: { count: 1000 } }));
 * ```
 * @category Models
 */
export async function evaluateClassifier(
  model: tfl.LayersModel,
  set: ImageSet,
  options: { batchSize?: number } & RunOptions = {},
): Promise<{ accuracy: number; loss: number; count: number }> {
  const fn = 'evaluateClassifier';
  checkKnownOptions(fn, options, ['batchSize', 'signal', 'onProgress']);
  if (!model || typeof (model as { apply?: unknown }).apply !== 'function') throw new InvalidArgumentError(fn, 'model', 'a tfjs LayersModel', model);
  const batchSize = checkInteger(fn, 'options.batchSize', options.batchSize ?? 500, 1);
  const n = set.labels.length;
  const [, ...rest] = set.shape;
  const numClasses = (model.outputs[0]!.shape[model.outputs[0]!.shape.length - 1] ?? 0) as number;
  let correct = 0;
  let lossSum = 0;
  const all = Int32Array.from({ length: n }, (_, i) => i);
  for (let from = 0; from < n; from += batchSize) {
    throwIfAborted(fn, options.signal);
    const to = Math.min(n, from + batchSize);
    const { x, y } = gather(set, all, from, to);
    const [c, l] = tf.tidy(() => {
      const xs = tf.tensor(x, [to - from, ...rest]);
      const logits = model.apply(xs, { training: false }) as tf.Tensor2D;
      const labels = tf.tensor1d(y, 'int32');
      const hit = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'int32'));
      const ce = tf.sum(crossEntropyPerExample(tf.oneHot(labels, numClasses), logits));
      return [hit, ce];
    });
    try {
      correct += (await c.data())[0]!;
      lossSum += (await l.data())[0]!;
    } finally {
      c.dispose();
      l.dispose();
    }
    options.onProgress?.({ stage: 'evaluate', step: to, total: n });
  }
  return { accuracy: correct / n, loss: lossSum / n, count: n };
}

/**
 * Trains a classifier that outputs logits, with softmax cross-entropy, Adam and step decay; shuffles
 * with a seeded generator per epoch; evaluates on `testSet` after every epoch. With
 * `checkpointDir`, it saves weights, optimizer state, finished epochs and seed after every epoch
 * (atomically), and a later call with the same settings continues from the last finished epoch.
 * Dropout masks come from tfjs's own unseeded generator, so only dropout-free models retrain
 * bit for bit.
 *
 * @example
 * ```ts
 * import { createMnistMlp } from 'ae-manifold';
 * import { loadMnist, trainClassifier, useWasmBackend } from 'ae-manifold/node';
 * await useWasmBackend();
 * const train = await loadMnist({ split: 'train' });
 * const test = await loadMnist({ split: 'test' });
 * const { testAccuracy } = await trainClassifier(createMnistMlp({ seed: 1 }), train, test, {
 *   epochs: 5, seed: 1, checkpointDir: 'out/mlp/checkpoint',
 * });
 * ```
 * @param model a LayersModel whose output is logits ([N, classes])
 * @param trainSet training images in [0, 1] with labels
 * @param testSet images for the per-epoch validation accuracy
 * @throws AbortedError when `signal` fires (the last finished epoch stays in the checkpoint)
 * @category Models
 */
export async function trainClassifier(
  model: tfl.LayersModel,
  trainSet: ImageSet,
  testSet: ImageSet,
  options: TrainOptions = {},
): Promise<TrainResult> {
  const started = performance.now();
  checkKnownOptions(FN, options, KNOWN);
  if (!model || typeof (model as { apply?: unknown }).apply !== 'function' || !Array.isArray((model as { trainableWeights?: unknown }).trainableWeights)) {
    throw new InvalidArgumentError(FN, 'model', 'a tfjs LayersModel', model);
  }
  const inputShape = model.inputs[0]!.shape;
  const outShape = model.outputs[0]!.shape;
  const numClasses = outShape[outShape.length - 1];
  if (outShape.length !== 2 || !numClasses) throw new InvalidArgumentError(FN, 'model', 'a model with [N, classes] logits output', model);
  checkImageSet('trainSet', trainSet, inputShape);
  checkImageSet('testSet', testSet, inputShape);
  for (const [arg, set] of [['trainSet', trainSet], ['testSet', testSet]] as const) {
    for (let i = 0; i < set.labels.length; i++) {
      const v = set.labels[i]!;
      if (v < 0 || v >= numClasses) throw new InvalidArgumentError(FN, `${arg}.labels[${i}]`, `an integer label in [0, ${numClasses})`, v);
    }
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new InvalidArgumentError(FN, 'options.signal', 'an AbortSignal', options.signal);
  }
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') {
    throw new InvalidArgumentError(FN, 'options.onProgress', 'a function', options.onProgress);
  }
  if (options.checkpointDir !== undefined && (typeof options.checkpointDir !== 'string' || options.checkpointDir === '')) {
    throw new InvalidArgumentError(FN, 'options.checkpointDir', 'a folder path', options.checkpointDir);
  }
  if (options.augment !== undefined && typeof options.augment !== 'boolean') {
    throw new InvalidArgumentError(FN, 'options.augment', 'a boolean', options.augment);
  }
  const o: ResolvedTrainOptions = {
    epochs: checkInteger(FN, 'options.epochs', options.epochs ?? 25, 1),
    batchSize: checkInteger(FN, 'options.batchSize', options.batchSize ?? 64, 1),
    learningRate: checkNumber(FN, 'options.learningRate', options.learningRate ?? 1e-3, 0, Infinity, true),
    lrDecayEvery: checkInteger(FN, 'options.lrDecayEvery', options.lrDecayEvery ?? 10, 1),
    lrDecayFactor: checkNumber(FN, 'options.lrDecayFactor', options.lrDecayFactor ?? 0.1, 0, 1, true),
    seed: options.seed === undefined ? -1 : checkInteger(FN, 'options.seed', options.seed, 0, 2 ** 32 - 1),
    augment: options.augment ?? false,
    augmentPadding: checkInteger(FN, 'options.augmentPadding', options.augmentPadding ?? 4, 0),
    checkpointDir: options.checkpointDir ?? null,
    evalBatchSize: checkInteger(FN, 'options.evalBatchSize', options.evalBatchSize ?? 500, 1),
  };
  throwIfAborted(FN, options.signal);

  const weightShapes = model.weights.map((w) => w.shape);
  const fingerprint = (seed: number): Record<string, unknown> => ({
    batchSize: o.batchSize,
    learningRate: o.learningRate,
    lrDecayEvery: o.lrDecayEvery,
    lrDecayFactor: o.lrDecayFactor,
    seed,
    augment: o.augment,
    augmentPadding: o.augment ? o.augmentPadding : null,
    trainCount: trainSet.labels.length,
    weightShapes,
  });

  let history: EpochRecord[] = [];
  let startEpoch = 0;
  let optimizer = tf.train.adam(lrAt({ ...o }, 0));
  let currentLr = lrAt(o, 0);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  let sumLoss: tf.Tensor | undefined;
  try {
    if (o.checkpointDir !== null) {
      const ck = await readCheckpoint<EpochRecord>(o.checkpointDir);
      if (ck) {
        try {
          if (o.seed === -1) o.seed = ck.state.seed;
          const want = fingerprint(o.seed);
          const differ = Object.keys(want).filter((k) => JSON.stringify(want[k]) !== JSON.stringify(ck.state.fingerprint[k]));
          if (differ.length > 0) {
            const show = (f: Record<string, unknown>) => differ.map((k) => `${k} ${k === 'weightShapes' ? '(another model)' : JSON.stringify(f[k])}`).join(', ');
            throw new InvalidArgumentError(
              FN,
              'options.checkpointDir',
              `a checkpoint made with the same settings (this run: ${show(want)}); delete ${ck.dir} or choose another folder to start over`,
              `a checkpoint with ${show(ck.state.fingerprint)}`,
            );
          }
          const mw = ck.state.modelSpecs.map((s) => ck.modelWeights[s.name]!);
          model.setWeights(mw);
          currentLr = ck.state.learningRate;
          optimizer.dispose();
          optimizer = tf.train.adam(currentLr);
          const ow = ck.state.optimizerSpecs.map((s) => ({ name: s.name, tensor: ck.optimizerWeights[s.name]! }));
          await optimizer.setWeights(ow);
          history = ck.state.history;
          startEpoch = ck.state.epoch;
        } finally {
          tf.dispose(Object.values(ck.modelWeights));
          tf.dispose(Object.values(ck.optimizerWeights));
        }
      }
    }
    if (o.seed === -1) o.seed = drawSeed();

    const n = trainSet.labels.length;
    const [, h, w, c] = trainSet.shape;
    const rest = trainSet.shape.slice(1);
    const batches = Math.ceil(n / o.batchSize);
    const totalSteps = o.epochs * batches;
    let lastYield = performance.now();

    for (let epoch = startEpoch; epoch < o.epochs; epoch++) {
      const t0 = performance.now();
      const lr = lrAt(o, epoch);
      if (lr !== currentLr) {
        // Same moments and step count, new learning rate: move the state into a fresh Adam.
        const state = await optimizer.getWeights();
        const next = tf.train.adam(lr);
        await next.setWeights(state);
        state[0]!.tensor.dispose(); // the iteration count scalar is a fresh tensor; the rest are the old variables
        optimizer.dispose();
        optimizer = next;
        currentLr = lr;
      }
      const rng = createRng(epochSeed(o.seed, epoch));
      const order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
      let epochSum: tf.Tensor = tf.scalar(0);
      sumLoss = epochSum;
      for (let b = 0; b < batches; b++) {
        throwIfAborted(FN, options.signal);
        const from = b * o.batchSize;
        const to = Math.min(n, from + o.batchSize);
        const { x, y } = gather(trainSet, order, from, to);
        if (o.augment) randomCropFlip(x, to - from, h, w, c, rng, { padding: o.augmentPadding, flip: true });
        const xs = tf.tensor(x, [to - from, ...rest]);
        const ys = tf.tidy(() => tf.oneHot(tf.tensor1d(y, 'int32'), numClasses));
        try {
          const cost = trainStep(model, optimizer, xs, ys, vars);
          const s: tf.Tensor = tf.tidy(() => tf.add(epochSum, tf.mul(cost, to - from)));
          cost.dispose();
          epochSum.dispose();
          epochSum = s;
          sumLoss = s;
        } finally {
          xs.dispose();
          ys.dispose();
        }
        if (options.onProgress && (b % 10 === 9 || b === batches - 1)) {
          const seen = to;
          const loss = (await epochSum.data())[0]! / seen;
          options.onProgress({
            stage: 'train',
            step: epoch * batches + b + 1,
            total: totalSteps,
            detail: { epoch: epoch + 1, epochs: o.epochs, batch: b + 1, batches, loss, learningRate: lr },
          });
        }
        if (performance.now() - lastYield > 50) {
          await yieldToEventLoop();
          lastYield = performance.now();
        }
      }
      throwIfAborted(FN, options.signal);
      const trainLoss = (await epochSum.data())[0]! / n;
      epochSum.dispose();
      sumLoss = undefined;
      const evalOpts = options.signal ? { batchSize: o.evalBatchSize, signal: options.signal } : { batchSize: o.evalBatchSize };
      const ev = await evaluateClassifier(model, testSet, evalOpts);
      const record: EpochRecord = {
        epoch: epoch + 1,
        learningRate: lr,
        trainLoss,
        testAccuracy: ev.accuracy,
        testLoss: ev.loss,
        seconds: (performance.now() - t0) / 1000,
      };
      history = [...history, record];
      if (o.checkpointDir !== null) {
        const ow = await optimizer.getWeights();
        try {
          const mw = model.weights.map((wt, i) => ({ name: `${i}:${wt.originalName}`, tensor: wt.read() }));
          await writeCheckpoint<EpochRecord>(
            o.checkpointDir,
            { epoch: epoch + 1, seed: o.seed, fingerprint: fingerprint(o.seed), history, learningRate: lr },
            mw,
            ow,
          );
        } finally {
          ow[0]?.tensor.dispose();
        }
      }
      options.onProgress?.({
        stage: 'epoch',
        step: epoch + 1,
        total: o.epochs,
        detail: { trainLoss, testAccuracy: ev.accuracy, testLoss: ev.loss, learningRate: lr, seconds: record.seconds },
      });
    }
    let testAccuracy = history[history.length - 1]?.testAccuracy;
    if (testAccuracy === undefined || startEpoch >= o.epochs) {
      testAccuracy = (await evaluateClassifier(model, testSet, { batchSize: o.evalBatchSize })).accuracy;
    }
    return {
      model,
      history,
      testAccuracy,
      seed: o.seed,
      resumedFromEpoch: startEpoch,
      seconds: (performance.now() - started) / 1000,
      options: o,
    };
  } catch (e) {
    if (e instanceof AbortedError || !(options.signal?.aborted ?? false)) throw e;
    throw new AbortedError(FN, options.signal?.reason);
  } finally {
    sumLoss?.dispose();
    optimizer.dispose();
  }
}
