/**
 * Loading the model a study attacks (a shipped name or a model folder), with a fingerprint of its
 * weights so the study cache notices a changed model.
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DataUnavailableError } from '../errors.js';
import { loadModelFromFolder } from '../models/model-files.js';
import { loadPretrained, PRETRAINED_MODELS } from '../models/pretrained.js';
import type { PretrainedName } from '../models/pretrained.js';

/** A model ready for a study. */
export interface StudyModel {
  model: tfl.LayersModel;
  /** Metadata stored with the model (shipped models: accuracy, command, ...). */
  metadata: Record<string, unknown>;
  /** sha256 (16 hex digits) of the weights: the cache key of everything computed from the model. */
  fingerprint: string;
}

/** Loads `spec`: a shipped model name, or a folder holding model.json. */
export async function loadStudyModel(spec: string): Promise<StudyModel> {
  let loaded: { model: tfl.LayersModel; metadata: Record<string, unknown> };
  if (Object.prototype.hasOwnProperty.call(PRETRAINED_MODELS, spec)) {
    const p = await loadPretrained(spec as PretrainedName);
    loaded = { model: p.model, metadata: p.metadata as unknown as Record<string, unknown> };
  } else if (existsSync(join(spec, 'model.json'))) {
    loaded = await loadModelFromFolder(spec);
  } else {
    throw new DataUnavailableError(
      'runStudy',
      `config.model must be a shipped model (${Object.keys(PRETRAINED_MODELS).join(', ')}) or a folder with model.json, got ${JSON.stringify(spec)}`,
    );
  }
  const hash = createHash('sha256');
  for (const w of loaded.model.getWeights()) {
    const data = await w.data();
    hash.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  return { ...loaded, fingerprint: hash.digest('hex').slice(0, 16) };
}

/** Predicted classes of `images` ([N, ...shape] flattened), in batches. */
export async function predictClasses(
  model: tfl.LayersModel,
  images: Float32Array,
  shape: readonly number[],
  batchSize: number,
): Promise<Int32Array> {
  const n = shape[0]!;
  const per = images.length / n;
  const out = new Int32Array(n);
  for (let start = 0; start < n; start += batchSize) {
    const count = Math.min(batchSize, n - start);
    const cls = tf.tidy(() => {
      const x = tf.tensor(images.subarray(start * per, (start + count) * per), [count, ...shape.slice(1)]);
      const y = model.predict(x) as tf.Tensor;
      return tf.argMax(y, -1);
    });
    out.set(await cls.data(), start);
    cls.dispose();
  }
  return out;
}
