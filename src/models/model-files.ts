/**
 * Model files in Node without tfjs-node: a tfjs IO handler for a folder holding `model.json` and one
 * weights file, written atomically.
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DataUnavailableError, InvalidArgumentError } from '../errors.js';
import { registerModelLayers } from './register.js';

/** Free-form metadata stored in `model.json` (`userDefinedMetadata`). @category Models */
export type ModelFileMetadata = Record<string, unknown>;

const MODEL_JSON = 'model.json';
const WEIGHTS_PATTERN = /^weights(-[0-9a-f]{12})?\.bin$/;

function joinWeightData(data: tf.io.WeightData | undefined): ArrayBuffer {
  if (data === undefined) return new ArrayBuffer(0);
  return Array.isArray(data) ? tf.io.CompositeArrayBuffer.join(data) : data;
}

/**
 * A tfjs IO handler that saves to and loads from a folder on disk (`model.json` plus a
 * `weights-<hash>.bin` file). Saving writes temporary files and renames them, with `model.json`
 * last, so a crash never leaves a `model.json` that points at missing or partial weights.
 * Pass it to `model.save(handler)` or `tf.loadLayersModel(handler)`.
 *
 * @example
 * ```ts
 * import * as tfl from '@tensorflow/tfjs-layers';
 * import { folderIOHandler } from 'ae-manifold/node';
 * await model.save(folderIOHandler('out/my-model'));
 * const again = await tfl.loadLayersModel(folderIOHandler('out/my-model'));
 * ```
 * @param folder the model folder (created on save if missing)
 * @param metadata stored as `userDefinedMetadata` in `model.json` on save
 * @category Models
 */
export function folderIOHandler(folder: string, metadata?: ModelFileMetadata): tf.io.IOHandler {
  if (typeof folder !== 'string' || folder.length === 0) {
    throw new InvalidArgumentError('folderIOHandler', 'folder', 'a non-empty path', folder);
  }
  const dir = resolve(folder);
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw new InvalidArgumentError('folderIOHandler', 'artifacts.modelTopology', 'a JSON model topology (a LayersModel)', 'binary');
      }
      await mkdir(dir, { recursive: true });
      const weights = joinWeightData(artifacts.weightData);
      const hash = createHash('sha256').update(new Uint8Array(weights)).digest('hex').slice(0, 12);
      const weightsName = `weights-${hash}.bin`;
      const modelJson: Record<string, unknown> = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: [weightsName], weights: artifacts.weightSpecs ?? [] }],
      };
      if (artifacts.trainingConfig) modelJson.trainingConfig = artifacts.trainingConfig;
      const userMeta = metadata ?? artifacts.userDefinedMetadata;
      if (userMeta) modelJson.userDefinedMetadata = userMeta;
      const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
      const tmpWeights = join(dir, `.${weightsName}.tmp-${tag}`);
      const tmpJson = join(dir, `.${MODEL_JSON}.tmp-${tag}`);
      try {
        await writeFile(tmpWeights, new Uint8Array(weights));
        await writeFile(tmpJson, JSON.stringify(modelJson));
        await rename(tmpWeights, join(dir, weightsName));
        await rename(tmpJson, join(dir, MODEL_JSON)); // the commit point
      } catch (e) {
        await rm(tmpWeights, { force: true });
        await rm(tmpJson, { force: true });
        throw e;
      }
      // Remove weights files that the new model.json no longer names.
      for (const name of await readdir(dir)) {
        if (WEIGHTS_PATTERN.test(name) && name !== weightsName) await rm(join(dir, name), { force: true });
      }
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON({ ...artifacts, weightData: weights }) };
    },

    async load(): Promise<tf.io.ModelArtifacts> {
      const jsonPath = join(dir, MODEL_JSON);
      let modelJson: tf.io.ModelJSON;
      try {
        modelJson = JSON.parse(await readFile(jsonPath, 'utf8')) as tf.io.ModelJSON;
      } catch (e) {
        throw new DataUnavailableError(
          'loadModelFromFolder',
          `cannot read ${jsonPath} (${(e as Error).message}); save a model there with saveModelToFolder(model, folder)`,
          { cause: e },
        );
      }
      if (!modelJson.modelTopology || !Array.isArray(modelJson.weightsManifest)) {
        throw new DataUnavailableError('loadModelFromFolder', `${jsonPath} is not a tfjs layers model (no modelTopology or weightsManifest)`);
      }
      return tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
        const specs: tf.io.WeightsManifestEntry[] = [];
        const buffers: ArrayBuffer[] = [];
        for (const group of manifest) {
          for (const p of group.paths) {
            const file = join(dir, p);
            let bytes: Buffer;
            try {
              bytes = await readFile(file);
            } catch (e) {
              throw new DataUnavailableError('loadModelFromFolder', `weights file ${file} named in ${jsonPath} is missing`, { cause: e });
            }
            buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
          }
          specs.push(...group.weights);
        }
        const data = tf.io.CompositeArrayBuffer.join(buffers);
        const expected = specs.reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1) * 4, 0);
        if (specs.every((w) => w.dtype === 'float32' && !w.quantization) && data.byteLength !== expected) {
          throw new DataUnavailableError(
            'loadModelFromFolder',
            `weights in ${dir} hold ${data.byteLength} bytes but model.json describes ${expected}: the folder is corrupt`,
          );
        }
        return [specs, data];
      });
    },
  };
}

/**
 * Saves a `LayersModel` to a folder (`model.json` + weights), atomically.
 *
 * @example
 * ```ts
 * import { createMnistMlp } from 'ae-manifold';
 * import { saveModelToFolder } from 'ae-manifold/node';
 * await saveModelToFolder(createMnistMlp(), 'out/mlp', { note: 'untrained' });
 * ```
 * @param model the model to save
 * @param folder destination folder (created if missing; an older model there is replaced)
 * @param metadata optional JSON-serialisable metadata kept in `model.json`
 * @category Models
 */
export async function saveModelToFolder(model: tfl.LayersModel, folder: string, metadata?: ModelFileMetadata): Promise<void> {
  if (!model || typeof (model as { save?: unknown }).save !== 'function') {
    throw new InvalidArgumentError('saveModelToFolder', 'model', 'a tfjs LayersModel', model);
  }
  if (metadata !== undefined && (metadata === null || typeof metadata !== 'object')) {
    throw new InvalidArgumentError('saveModelToFolder', 'metadata', 'a plain object', metadata);
  }
  await model.save(folderIOHandler(folder, metadata));
}

/**
 * Loads a `LayersModel` saved with {@link saveModelToFolder} (or any tfjs `model.json` + weights
 * folder) and its metadata. Registers the library's custom layers first.
 *
 * @example
 * ```ts
 * import { loadModelFromFolder } from 'ae-manifold/node';
 * const { model, metadata } = await loadModelFromFolder('out/mlp');
 * ```
 * @category Models
 */
export async function loadModelFromFolder(folder: string): Promise<{ model: tfl.LayersModel; metadata: ModelFileMetadata }> {
  registerModelLayers();
  const handler = folderIOHandler(folder);
  let metadata: ModelFileMetadata = {};
  const model = await tfl.loadLayersModel({
    load: async () => {
      const artifacts = await handler.load!();
      metadata = (artifacts.userDefinedMetadata as ModelFileMetadata | undefined) ?? {};
      return artifacts;
    },
  });
  return { model, metadata };
}
