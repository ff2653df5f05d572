/**
 * Training checkpoints on disk: model weights (BatchNorm statistics included), optimizer state,
 * the number of finished epochs and the seed, in one folder that is replaced atomically.
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { DataUnavailableError } from '../errors.js';

/** A named tensor, as tfjs's optimizers and weight encoders use them. @internal */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

/** What a checkpoint's `state.json` holds. @internal */
export interface CheckpointState<H> {
  format: 'ae-manifold-checkpoint';
  version: 1;
  /** Epochs finished. */
  epoch: number;
  seed: number;
  /** Settings that must match to resume. */
  fingerprint: Record<string, unknown>;
  history: H[];
  learningRate: number;
  modelSpecs: tf.io.WeightsManifestEntry[];
  optimizerSpecs: tf.io.WeightsManifestEntry[];
  savedAt: string;
}

const STATE = 'state.json';
const MODEL_BIN = 'model-weights.bin';
const OPT_BIN = 'optimizer-weights.bin';

function toArrayBuffer(b: Buffer): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

function asBuffer(d: tf.io.WeightData): Uint8Array {
  return new Uint8Array(Array.isArray(d) ? tf.io.CompositeArrayBuffer.join(d) : d);
}

/**
 * Writes a checkpoint into `dir`: everything goes to a sibling temporary folder first, which then
 * replaces `dir` by two renames (the old folder is kept as `<dir>.old-*` until the new one is in place).
 * @internal
 */
export async function writeCheckpoint<H>(
  dir: string,
  state: Omit<CheckpointState<H>, 'modelSpecs' | 'optimizerSpecs' | 'format' | 'version' | 'savedAt'>,
  modelWeights: NamedTensor[],
  optimizerWeights: NamedTensor[],
): Promise<void> {
  const target = resolve(dir);
  const parent = dirname(target);
  await mkdir(parent, { recursive: true });
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const tmp = join(parent, `${basename(target)}.tmp-${tag}`);
  const old = join(parent, `${basename(target)}.old-${tag}`);
  const m = await tf.io.encodeWeights(modelWeights);
  const o = await tf.io.encodeWeights(optimizerWeights);
  const full: CheckpointState<H> = {
    format: 'ae-manifold-checkpoint',
    version: 1,
    ...state,
    modelSpecs: m.specs,
    optimizerSpecs: o.specs,
    savedAt: new Date().toISOString(),
  };
  try {
    await mkdir(tmp);
    await writeFile(join(tmp, MODEL_BIN), asBuffer(m.data));
    await writeFile(join(tmp, OPT_BIN), asBuffer(o.data));
    await writeFile(join(tmp, STATE), JSON.stringify(full, null, 1));
    let hadOld = false;
    try {
      await rename(target, old);
      hadOld = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    await rename(tmp, target);
    if (hadOld) await rm(old, { recursive: true, force: true });
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** A checkpoint read back: its state and decoded weights (the caller disposes the tensors). @internal */
export interface LoadedCheckpoint<H> {
  state: CheckpointState<H>;
  modelWeights: tf.NamedTensorMap;
  optimizerWeights: tf.NamedTensorMap;
  dir: string;
}

async function tryRead<H>(dir: string): Promise<LoadedCheckpoint<H> | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, STATE), 'utf8');
  } catch {
    return undefined;
  }
  let state: CheckpointState<H>;
  try {
    state = JSON.parse(text) as CheckpointState<H>;
  } catch (e) {
    throw new DataUnavailableError('trainClassifier', `checkpoint ${join(dir, STATE)} is not valid JSON; delete the folder to start over`, { cause: e });
  }
  if (state.format !== 'ae-manifold-checkpoint' || state.version !== 1) {
    throw new DataUnavailableError('trainClassifier', `${join(dir, STATE)} is not an ae-manifold checkpoint (version 1)`);
  }
  const mb = toArrayBuffer(await readFile(join(dir, MODEL_BIN)));
  const ob = toArrayBuffer(await readFile(join(dir, OPT_BIN)));
  const modelWeights = tf.io.decodeWeights(mb, state.modelSpecs);
  const optimizerWeights = tf.io.decodeWeights(ob, state.optimizerSpecs);
  return { state, modelWeights, optimizerWeights, dir };
}

/**
 * Reads the checkpoint in `dir`, or the one left in `<dir>.old-*` by a crash between the two
 * renames of {@link writeCheckpoint}. `undefined` when there is none.
 * @internal
 */
export async function readCheckpoint<H>(dir: string): Promise<LoadedCheckpoint<H> | undefined> {
  const target = resolve(dir);
  const found = await tryRead<H>(target);
  if (found) return found;
  let names: string[] = [];
  try {
    names = await readdir(dirname(target));
  } catch {
    return undefined;
  }
  const prefix = `${basename(target)}.old-`;
  for (const name of names.filter((n) => n.startsWith(prefix)).sort()) {
    const r = await tryRead<H>(join(dirname(target), name));
    if (r) return r;
  }
  return undefined;
}
