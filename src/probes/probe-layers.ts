/**
 * `probeLayers` and `probeLayersStream`: activations of hidden layers for many inputs, batch by
 * batch, within memory.
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import { AeManifoldError, InvalidArgumentError, UnsupportedModelError } from '../errors.js';
import type { FloatMatrix } from '../types.js';
import { checkInteger, checkKnownOptions, throwIfAborted, yieldToEventLoop } from '../internal/validate.js';
import { getCatalog, selectEntries } from './list-layers.js';
import type { Catalog } from './list-layers.js';
import { toInputSource } from './inputs.js';
import type { InputSource } from './inputs.js';
import { getPlan } from './plan.js';
import type { Plan } from './plan.js';
import type {
  ActivationBatch,
  ActivationSet,
  LayerActivations,
  LayerInfo,
  ProbeableModel,
  ProbeInputs,
  ProbeLayersOptions,
  ProbeOptions,
  ResolvedProbeOptions,
} from './types.js';

/**
 * Default examples per forward pass of {@link probeLayers} and {@link probeLayersStream}.
 *
 * @example
 * ```ts
 * await probeLayers(model, x, { batchSize: DEFAULT_PROBE_BATCH_SIZE * 2 });
 * ```
 * @category Probes
 */
export const DEFAULT_PROBE_BATCH_SIZE = 256;

const STREAM_OPTIONS = ['layers', 'batchSize', 'onProgress', 'signal'] as const;
const PROBE_OPTIONS = [...STREAM_OPTIONS, 'output'] as const;

interface Prepared {
  fn: string;
  infos: LayerInfo[];
  plan: Plan;
  source: InputSource;
  options: ResolvedProbeOptions;
  onProgress: ProbeOptions['onProgress'];
  signal: AbortSignal | undefined;
  /** Per-example output shapes seen on the first batch (graph nodes have no static shapes). */
  observed: number[][];
}

function prepare(fn: string, model: ProbeableModel, inputs: ProbeInputs, options: ProbeLayersOptions, known: readonly string[]): Prepared {
  checkKnownOptions(fn, options, known);
  const batchSize = checkInteger(fn, 'options.batchSize', options.batchSize ?? DEFAULT_PROBE_BATCH_SIZE, 1);
  const output = options.output ?? 'arrays';
  if (output !== 'arrays' && output !== 'tensors') throw new InvalidArgumentError(fn, 'options.output', "'arrays' or 'tensors'", output);
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') {
    throw new InvalidArgumentError(fn, 'options.onProgress', 'a function', options.onProgress);
  }
  throwIfAborted(fn, options.signal);
  const catalog: Catalog = getCatalog(fn, model);
  const selected = selectEntries(fn, catalog, options.layers);
  const plan = getPlan(fn, catalog, selected);
  const source = toInputSource(fn, inputs, plan.inputShapes, plan.inputNames);
  const infos = selected.map((i) => ({ ...catalog.entries[i]!.info }));
  return {
    fn,
    infos,
    plan,
    source,
    options: { layers: infos.map((l) => l.name), batchSize, output },
    onProgress: options.onProgress,
    signal: options.signal,
    observed: [],
  };
}

/**
 * Runs one batch: the selected activations as [count, D] tensors (the caller disposes them). The
 * batch's float inputs are checked for NaN/±Infinity in the same pass (one multiply-and-sum per
 * input, read before the activations are handed out).
 */
async function computeBatch(p: Prepared, start: number, count: number): Promise<tf.Tensor2D[]> {
  let outs: tf.Tensor[];
  try {
    outs = tf.tidy(() => {
      const feeds = p.source.batch(start, count);
      const floats = feeds.filter((_, i) => p.source.isFloat[i]);
      const check = floats.length > 0 ? tf.addN(floats.map((f) => tf.sum(tf.mul(f, tf.scalar(0))))) : tf.scalar(0);
      const acts = p.plan.run(feeds).map((t, i) => {
        if (t.shape[0] !== count) {
          throw new UnsupportedModelError(p.fn, `layer '${p.infos[i]!.name}' returned shape [${t.shape.join(', ')}], which has no batch dimension of ${count}`);
        }
        p.observed[i] ??= t.shape.slice(1);
        return tf.reshape(t, [count, t.size / count]);
      });
      return [check, ...acts];
    });
  } catch (cause) {
    if (cause instanceof AeManifoldError) throw cause;
    throw new UnsupportedModelError(p.fn, `the model failed on examples ${start}..${start + count - 1}: ${(cause as Error).message}`, { cause });
  }
  const check = outs[0]!;
  const acts = outs.slice(1) as tf.Tensor2D[];
  let finite: boolean;
  try {
    finite = Number.isFinite((await check.data())[0]!);
  } catch (e) {
    tf.dispose(acts);
    throw e;
  } finally {
    check.dispose();
  }
  if (!finite) {
    tf.dispose(acts);
    await throwNonFinite(p, start, count);
  }
  return acts;
}

async function throwNonFinite(p: Prepared, start: number, count: number): Promise<never> {
  const bad = tf.tidy(() => {
    const feeds = p.source.batch(start, count).filter((_, i) => p.source.isFloat[i]);
    const flags = feeds.map((f) => tf.logicalNot(tf.all(tf.isFinite(tf.reshape(f, [count, -1])), 1)));
    return flags.slice(1).reduce((a, b) => tf.logicalOr(a, b), flags[0]!);
  });
  const flags = await bad.data();
  bad.dispose();
  const row = flags.findIndex((x) => x !== 0);
  throw new InvalidArgumentError(p.fn, 'inputs', 'finite values only', `a NaN or infinite value in example ${start + Math.max(row, 0)}`);
}

function layerShape(p: Prepared, i: number, t: tf.Tensor, count: number): number[] {
  const seen = p.observed[i];
  return seen && seen.reduce((a, b) => a * b, 1) === t.size / count ? [...seen] : [t.size / count];
}

/** Loop over batches shared by both entry points; `consume` receives each batch's tensors (and must dispose them). */
async function forEachBatch(p: Prepared, consume: (start: number, count: number, outs: tf.Tensor2D[]) => Promise<void> | void): Promise<void> {
  const n = p.source.count;
  const total = Math.ceil(n / p.options.batchSize);
  for (let b = 0; b < total; b++) {
    throwIfAborted(p.fn, p.signal);
    const start = b * p.options.batchSize;
    const count = Math.min(p.options.batchSize, n - start);
    const outs = await computeBatch(p, start, count);
    await consume(start, count, outs);
    p.onProgress?.({ stage: 'probe', step: b + 1, total, detail: { examples: start + count, of: n } });
    await yieldToEventLoop();
  }
}

function makeSet<V>(layers: Array<LayerActivations<V>>, count: number, options: ResolvedProbeOptions, fn: string, dispose: () => void): ActivationSet<V> {
  let disposed = false;
  return {
    count,
    layers,
    options,
    get(name: string): LayerActivations<V> {
      const found = layers.find((l) => l.layer.name === name);
      if (!found) throw new InvalidArgumentError(`${fn}().get`, 'name', `one of the probed layers (${layers.map((l) => l.layer.name).join(', ')})`, name);
      return found;
    },
    dispose(): void {
      if (disposed) return;
      disposed = true;
      dispose();
    },
  };
}

/**
 * Activations of the chosen layers for every input, flattened per example into one [N, D] float32
 * matrix per layer (D = the layer's values per example, in the layer's own NHWC order).
 *
 * Runs the model in inference mode (`training: false`, so Dropout and BatchNorm behave as at test
 * time) in batches of `options.batchSize`. Holds at most the result plus one batch: each batch's
 * tensors are read (`await data()`) and disposed before the next batch runs. For inputs whose
 * activations do not fit in memory, use {@link probeLayersStream}.
 *
 * - `options.layers`: `'default'` (the analysis points, see {@link listLayers}), `'all'`, names,
 *   indices into {@link listLayers}, or a predicate. Layers are returned in {@link listLayers} order.
 * - `options.batchSize`: default 256. `options.output`: `'arrays'` (default) or `'tensors'` (each
 *   layer a [N, D] tensor owned by the caller: call `result.dispose()`).
 * - `onProgress` is called once per batch (`stage: 'probe'`), `signal` is checked once per batch.
 *
 * Throws `InvalidArgumentError` (unknown layer: the message lists the available names; empty input;
 * NaN/Infinity in the inputs, naming the example), `ShapeMismatchError` (inputs that do not fit the
 * model: both shapes are named), `UnsupportedModelError` (not a tfjs model, or the model fails),
 * `AbortedError`.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import * as tfl from '@tensorflow/tfjs-layers';
 * import { probeLayers } from 'ae-manifold';
 * const model = tfl.sequential({ layers: [
 *   tfl.layers.dense({ units: 8, inputShape: [4], name: 'd1' }),
 *   tfl.layers.activation({ activation: 'relu', name: 'r1' }),
 *   tfl.layers.dense({ units: 3, name: 'logits' }),
 * ] });
 * const x = tf.randomNormal([100, 4]);
 * const set = await probeLayers(model, x, { layers: ['r1', 'logits'], batchSize: 32 });
 * const relu = set.get('r1').activations; // { data: Float32Array(800), rows: 100, cols: 8 }
 * set.dispose();
 * x.dispose();
 * ```
 * @category Probes
 */
export async function probeLayers(
  model: ProbeableModel,
  inputs: ProbeInputs,
  options: ProbeLayersOptions & { output: 'tensors' },
): Promise<ActivationSet<tf.Tensor2D>>;
export async function probeLayers(
  model: ProbeableModel,
  inputs: ProbeInputs,
  options?: ProbeLayersOptions & { output?: 'arrays' },
): Promise<ActivationSet<FloatMatrix>>;
export async function probeLayers(
  model: ProbeableModel,
  inputs: ProbeInputs,
  options?: ProbeLayersOptions,
): Promise<ActivationSet<FloatMatrix> | ActivationSet<tf.Tensor2D>>;
export async function probeLayers(
  model: ProbeableModel,
  inputs: ProbeInputs,
  options: ProbeLayersOptions = {},
): Promise<ActivationSet<FloatMatrix> | ActivationSet<tf.Tensor2D>> {
  const fn = 'probeLayers';
  const p = prepare(fn, model, inputs, options, PROBE_OPTIONS);
  const n = p.source.count;
  if (p.options.output === 'tensors') {
    const pieces: tf.Tensor2D[][] = p.infos.map(() => []);
    const shapes: number[][] = p.infos.map(() => []);
    const results: tf.Tensor2D[] = [];
    try {
      await forEachBatch(p, (start, count, outs) => {
        outs.forEach((t, i) => {
          if (start === 0) shapes[i] = layerShape(p, i, t, count);
          pieces[i]!.push(t);
        });
      });
      for (let i = 0; i < pieces.length; i++) {
        const list = pieces[i]!;
        results.push(list.length === 1 ? list[0]! : tf.concat(list, 0));
        if (list.length > 1) tf.dispose(list);
        pieces[i] = [];
      }
    } catch (e) {
      for (const list of pieces) tf.dispose(list);
      tf.dispose(results);
      throw e;
    }
    const layers = p.infos.map((layer, i) => ({ layer, shape: shapes[i]!, size: results[i]!.shape[1], activations: results[i]! }));
    return makeSet(layers, n, p.options, fn, () => tf.dispose(results));
  }
  const mats: Array<FloatMatrix | undefined> = p.infos.map(() => undefined);
  const shapes: number[][] = p.infos.map(() => []);
  await forEachBatch(p, async (start, count, outs) => {
    try {
      for (let i = 0; i < outs.length; i++) {
        const t = outs[i]!;
        const cols = t.shape[1];
        if (!mats[i]) {
          shapes[i] = layerShape(p, i, t, count);
          mats[i] = { data: allocate(fn, p.infos[i]!.name, n, cols), rows: n, cols };
        }
        const values = (await t.data()) as Float32Array;
        t.dispose();
        mats[i]!.data.set(values, start * cols);
      }
    } finally {
      tf.dispose(outs);
    }
  });
  const layers = p.infos.map((layer, i) => ({ layer, shape: shapes[i]!, size: mats[i]!.cols, activations: mats[i]! }));
  return makeSet(layers, n, p.options, fn, () => {
    for (const l of layers) l.activations = { data: new Float32Array(0), rows: 0, cols: l.size };
  });
}

function allocate(fn: string, layer: string, rows: number, cols: number): Float32Array {
  try {
    return new Float32Array(rows * cols);
  } catch (cause) {
    throw new InvalidArgumentError(
      fn,
      'inputs',
      `few enough examples for the result to fit in memory (layer '${layer}' needs ${rows} x ${cols} floats = ${((rows * cols * 4) / 2 ** 20).toFixed(0)} MiB); use probeLayersStream`,
      `${rows} examples`,
    );
  }
}

/**
 * The streaming form of {@link probeLayers}: an async iterator that yields the activations batch
 * by batch, so that only one batch is ever in memory (e.g. 60,000 MNIST images through a
 * 9,216-wide conv layer). Each yielded {@link ActivationBatch} holds fresh Float32Arrays owned by
 * the caller; no tensor survives between batches, also when the loop is left early (`break`).
 * Same options as {@link probeLayers} except `output`; progress and abort work per batch.
 *
 * @example
 * ```ts
 * import { probeLayersStream } from 'ae-manifold';
 * let sum = 0;
 * for await (const batch of probeLayersStream(model, images, { layers: ['conv1'], batchSize: 512 })) {
 *   const conv1 = batch.layers[0]!.activations; // [batch.count, 9216]
 *   for (const v of conv1.data) sum += v;
 * }
 * ```
 * @category Probes
 */
export async function* probeLayersStream(
  model: ProbeableModel,
  inputs: ProbeInputs,
  options: ProbeOptions = {},
): AsyncGenerator<ActivationBatch, void, undefined> {
  const fn = 'probeLayersStream';
  const p = prepare(fn, model, inputs, options, STREAM_OPTIONS);
  const n = p.source.count;
  const total = Math.ceil(n / p.options.batchSize);
  const shapes: number[][] = [];
  for (let b = 0; b < total; b++) {
    throwIfAborted(fn, p.signal);
    const start = b * p.options.batchSize;
    const count = Math.min(p.options.batchSize, n - start);
    const outs = await computeBatch(p, start, count);
    const layers: Array<LayerActivations<FloatMatrix>> = [];
    try {
      for (let i = 0; i < outs.length; i++) {
        const t = outs[i]!;
        if (b === 0) shapes[i] = layerShape(p, i, t, count);
        const cols = t.shape[1];
        const data = new Float32Array(await t.data());
        t.dispose();
        layers.push({ layer: { ...p.infos[i]! }, shape: shapes[i]!, size: cols, activations: { data, rows: count, cols } });
      }
    } finally {
      tf.dispose(outs);
    }
    p.onProgress?.({ stage: 'probe', step: b + 1, total, detail: { examples: start + count, of: n } });
    yield { start, count, total: n, layers, options: p.options };
    await yieldToEventLoop();
  }
}
