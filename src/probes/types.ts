/**
 * Types of the activation probes: layer descriptions, options, results and the models accepted.
 * @module
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { ImageSet } from '../data/types.js';
import type { FloatMatrix, RunOptions } from '../types.js';

/**
 * The part of a tfjs `GraphModel` (from `@tensorflow/tfjs-converter`) that the probes use. Any object
 * with these members is accepted, so the library does not depend on tfjs-converter.
 *
 * @example
 * ```ts
 * import { loadGraphModel } from '@tensorflow/tfjs-converter';
 * const graph: GraphModelLike = await loadGraphModel('https://example.com/model.json');
 * const names = listLayers(graph).map((l) => l.name);
 * ```
 * @category Probes
 */
export interface GraphModelLike {
  /** Runs the graph and returns the named nodes (`'node'` or `'node:1'` for a second output). */
  execute(inputs: tf.Tensor | tf.Tensor[] | tf.NamedTensorMap, outputs?: string | string[]): tf.Tensor | tf.Tensor[];
  /** Names of the graph's output nodes. */
  readonly outputNodes: string[];
  /** Names of the graph's input nodes. */
  readonly inputNodes?: string[];
  /** Input signature: name, shape (-1 or undefined for free dimensions) and dtype. */
  readonly inputs?: ReadonlyArray<{ name: string; shape?: number[] | undefined; dtype?: string }>;
  /** Output signature. */
  readonly outputs?: ReadonlyArray<{ name: string; shape?: number[] | undefined; dtype?: string }>;
}

/**
 * A model the probes can read: a tfjs-layers `LayersModel` (Sequential or functional, possibly with
 * nested models) or a tfjs-converter `GraphModel`.
 *
 * @example
 * ```ts
 * const model: ProbeableModel = await tfl.loadLayersModel('https://example.com/model.json');
 * ```
 * @category Probes
 */
export type ProbeableModel = LayersModel | GraphModelLike;

/**
 * One activation a probe can read: a layer output (or a model input) of a LayersModel, or a node
 * of a GraphModel.
 *
 * Naming rules:
 * - a layer's output at its first application in the model is named by the layer's name (`'conv1'`);
 * - a layer applied k more times (shared weights) has further entries `'name@1'`, `'name@2'`, ... in
 *   the order of application (the order of the layer's inbound nodes);
 * - a layer with several output tensors has entries `'name'` (output 0), `'name:1'`, ...;
 * - a layer inside a nested model is named by its path: `'encoder/dense1'` (and `'encoder@1/dense1'`
 *   for the second application of the nested model);
 * - model inputs are named by their input layer (`'input1'`); GraphModel entries by node name.
 *
 * @example
 * ```ts
 * const info: LayerInfo = listLayers(model).find((l) => l.isDefault)!;
 * const { name, className, outputShape } = info; // 'input1', 'InputLayer', [null, 28, 28, 1]
 * ```
 * @category Probes
 */
export interface LayerInfo {
  /** Unique qualified name, as accepted by `options.layers`. */
  name: string;
  /** The tfjs layer name (or graph node name) without path or suffix. */
  layerName: string;
  /** Layer class (`'Dense'`, `'Conv2D'`, `'InputLayer'`...) or graph op (`'Relu'`, `'Placeholder'`...). */
  className: string;
  /** Position in the list returned by {@link listLayers}: what numbers in `options.layers` refer to. */
  index: number;
  /** Output shape with the batch dimension first (`null` = free). `null` when unknown (graph nodes). */
  outputShape: Array<number | null> | null;
  /** Values per example (product of the non-batch dimensions); `null` when not known statically. */
  size: number | null;
  /** Whether this is one of the default analysis points (METHODS.md §2). */
  isDefault: boolean;
  /** `'input'` for a model input, `'layer'` for a layer output, `'node'` for a graph node. */
  kind: 'input' | 'layer' | 'node';
  /** Which application of the layer this is (0 = first); always 0 for inputs and graph nodes. */
  application: number;
  /** Names of the nested models that contain the layer, outermost first (empty at top level). */
  path: string[];
}

/**
 * Which layers to probe:
 * - `'default'`: the analysis points of METHODS.md §2 (entries with `isDefault`);
 * - `'all'`: every entry of {@link listLayers};
 * - an array of names (see {@link LayerInfo.name}) and/or indices into {@link listLayers};
 * - a predicate over {@link LayerInfo}.
 *
 * @example
 * ```ts
 * await probeLayers(model, x, { layers: ['conv1', 'encoder/dense1', 'shared@1', 4] });
 * await probeLayers(model, x, { layers: (l) => l.className === 'Conv2D' });
 * ```
 * @category Probes
 */
export type LayerSelection = 'default' | 'all' | ReadonlyArray<string | number> | ((layer: LayerInfo) => boolean);

/**
 * What to probe. A tensor of shape [N, ...inputShape], a flat array with its shape, an
 * {@link ImageSet} (its `images` are fed as they are: the model is expected to normalise them, e.g.
 * with a `Standardization` first layer), or an array of tensors for a multi-input model.
 * Float inputs are checked for NaN/Infinity batch by batch. Inputs are never disposed.
 *
 * @example
 * ```ts
 * await probeLayers(model, { data: new Float32Array(2 * 784), shape: [2, 28, 28, 1] });
 * ```
 * @category Probes
 */
export type ProbeInputs = tf.Tensor | readonly tf.Tensor[] | { data: Float32Array; shape: readonly number[] } | ImageSet;

/**
 * Options of {@link probeLayers} and {@link probeLayersStream}.
 *
 * @example
 * ```ts
 * const ac = new AbortController();
 * let done = 0; // fraction of batches probed
 * const opts: ProbeOptions = { layers: 'default', batchSize: 128, signal: ac.signal, onProgress: (p) => void (done = p.step / p.total) };
 * ```
 * @category Probes
 */
export interface ProbeOptions extends RunOptions {
  /** Which layers to read. Default `'default'` (the analysis points). */
  layers?: LayerSelection;
  /** Examples per forward pass. Default 256. */
  batchSize?: number;
}

/**
 * Options of {@link probeLayers}.
 *
 * @example
 * ```ts
 * const set = await probeLayers(model, x, { output: 'tensors' }); // each layer a tf.Tensor2D
 * set.dispose();
 * ```
 * @category Probes
 */
export interface ProbeLayersOptions extends ProbeOptions {
  /**
   * `'arrays'` (default): each layer is a {@link FloatMatrix} in JS memory. `'tensors'`: each layer
   * is a [N, D] `tf.Tensor2D` kept on the backend (never downloaded), owned by the caller (free with
   * `dispose()`); the per-batch pieces are concatenated at the end, one layer at a time, so the
   * peak is the result plus one layer.
   */
  output?: 'arrays' | 'tensors';
}

/**
 * The options a probe actually ran with (defaults filled in, layer selection resolved to names).
 *
 * @example
 * ```ts
 * (await probeLayers(model, x)).options; // { layers: ['input', 'conv1', ...], batchSize: 256, output: 'arrays' }
 * ```
 * @category Probes
 */
export interface ResolvedProbeOptions {
  layers: string[];
  batchSize: number;
  output: 'arrays' | 'tensors';
}

/**
 * Activations of one layer for every probed example, flattened per example.
 *
 * @example
 * ```ts
 * const { shape, size, activations } = (await probeLayers(model, x)).get('conv1');
 * // shape [24, 24, 16], size 9216, activations.rows = N, activations.cols = 9216
 * ```
 * @category Probes
 */
export interface LayerActivations<V> {
  /** The layer. */
  layer: LayerInfo;
  /** Per-example output shape (without the batch dimension), e.g. [24, 24, 16]. */
  shape: number[];
  /** Values per example: the product of `shape` (1 for a scalar output). */
  size: number;
  /** [N, size] activations, row-major in the layer's own (NHWC) order. */
  activations: V;
}

/**
 * The result of {@link probeLayers}: one [N, D] matrix (or tensor) per probed layer.
 *
 * @example
 * ```ts
 * const set = await probeLayers(model, images, { layers: ['conv1', 'dense2'] });
 * const conv1 = set.get('conv1').activations; // FloatMatrix, rows = N
 * set.dispose();
 * ```
 * @category Probes
 */
export interface ActivationSet<V = FloatMatrix> {
  /** Number of examples N. */
  count: number;
  /** The probed layers, in the order of {@link listLayers}. */
  layers: Array<LayerActivations<V>>;
  /** The activations of one layer, by name; throws an `InvalidArgumentError` for an unknown name. */
  get(name: string): LayerActivations<V>;
  /** The options used, defaults filled in. */
  options: ResolvedProbeOptions;
  /** Frees the tensors (`output: 'tensors'`); drops the arrays otherwise. Safe to call twice. */
  dispose(): void;
}

/**
 * One batch of a streamed probe ({@link probeLayersStream}): the activations of examples
 * `start .. start + count - 1`. The arrays are fresh and belong to the caller.
 *
 * @example
 * ```ts
 * const widths: Array<{ start: number; count: number; cols: number[] }> = [];
 * for await (const { start, count, layers } of probeLayersStream(model, images)) {
 *   widths.push({ start, count, cols: layers.map((l) => l.activations.cols) });
 * }
 * ```
 * @category Probes
 */
export interface ActivationBatch {
  /** Index of the batch's first example. */
  start: number;
  /** Examples in this batch. */
  count: number;
  /** Examples in all batches. */
  total: number;
  /** Per layer, a [count, D] matrix. */
  layers: Array<LayerActivations<FloatMatrix>>;
  /** The options used, defaults filled in. */
  options: ResolvedProbeOptions;
}
