/**
 * `listLayers`: the activations a probe can read, and which of them are the default analysis points
 * (METHODS.md §2).
 * @module
 */
import { InvalidArgumentError } from '../errors.js';
import { isContainer, viewModel } from './model-graph.js';
import type { ContainerLike, LayerLike, NodeLike, SymTensor } from './model-graph.js';
import type { GraphModelLike, LayerInfo, LayerSelection, ProbeableModel } from './types.js';

/**
 * Layer classes that are never default analysis points: they only reshape, reorder, pad for the
 * next convolution (the padding belongs to the conv, as in PyTorch's `Conv2d(padding=...)`) or (at
 * inference) pass values through unchanged, or are excluded by METHODS.md §2 (BatchNormalization).
 * They still run in the forward pass and can be probed by name.
 *
 * @example
 * ```ts
 * SKIPPED_LAYER_CLASSES.has('Flatten'); // true
 * ```
 * @category Probes
 */
export const SKIPPED_LAYER_CLASSES: ReadonlySet<string> = new Set([
  'InputLayer',
  'ZeroPadding1D',
  'ZeroPadding2D',
  'ZeroPadding3D',
  'ReplicatePadding2D',
  'Flatten',
  'Reshape',
  'Permute',
  'Dropout',
  'SpatialDropout1D',
  'SpatialDropout2D',
  'SpatialDropout3D',
  'GaussianDropout',
  'AlphaDropout',
  'GaussianNoise',
  'Masking',
  'BatchNormalization',
]);

/** Graph ops that carry a layer's activation, considered for the default points of a GraphModel. */
const GRAPH_COMPUTE_OPS: ReadonlySet<string> = new Set([
  'Conv2D', 'Conv1D', 'Conv3D', 'DepthwiseConv2d', 'DepthwiseConv2dNative', 'FusedDepthwiseConv2dNative', '_FusedConv2D',
  'Conv2DBackpropInput', 'MatMul', '_FusedMatMul', 'BatchMatMul', 'BatchMatMulV2', 'BiasAdd', 'Relu', 'Relu6', 'Elu',
  'Selu', 'LeakyRelu', 'Prelu', 'Sigmoid', 'Tanh', 'Softplus', 'Softmax', 'MaxPool', 'AvgPool', 'MaxPool3D', 'AvgPool3D',
  'ConcatV2', 'FusedBatchNorm', 'FusedBatchNormV3',
]);
/** Linear graph ops whose bias is added by a following node (then that node is the layer output). */
const GRAPH_LINEAR_OPS: ReadonlySet<string> = new Set([
  'Conv2D', 'Conv1D', 'Conv3D', 'DepthwiseConv2d', 'DepthwiseConv2dNative', 'MatMul', 'BatchMatMul', 'BatchMatMulV2',
]);
const GRAPH_BIAS_OPS: ReadonlySet<string> = new Set(['BiasAdd', 'Add', 'AddV2']);
const GRAPH_SKIPPED_OPS: ReadonlySet<string> = new Set(['Const', 'NoOp', 'Placeholder']);

/** One application of a nested model in its parent graph. */
export interface NestedStep {
  /** The nested model (used as a layer). */
  container: ContainerLike;
  /** Its inbound node in the parent graph. */
  nodeIndex: number;
}

/** A probe point of a LayersModel: a symbolic tensor of some (possibly nested) graph. */
export interface LayersEntry {
  info: LayerInfo;
  /** Nested models to go through, outermost first (empty at top level). */
  chain: NestedStep[];
  /** The graph the tensor lives in (the model, or the innermost nested model). */
  container: ContainerLike;
  tensor: SymTensor;
}

/** A probe point of a GraphModel: a node output name for `execute`. */
export interface GraphEntry {
  info: LayerInfo;
  /** Name passed to `execute` (`'node'` or `'node:k'`). */
  nodeName: string;
}

/** All probe points of a model, with lookup by name. */
export type Catalog =
  | { kind: 'layers'; model: ContainerLike; entries: LayersEntry[]; byName: Map<string, number> }
  | { kind: 'graph'; model: GraphModelLike; entries: GraphEntry[]; byName: Map<string, number>; inputNames: string[] };

/** Catalogues per model, with a signature that detects a model changed since (e.g. `Sequential.add`). */
const catalogCache = new WeakMap<object, { signature: string; catalog: Catalog }>();

function signatureOf(view: ReturnType<typeof viewModel>): string {
  if (view.kind === 'graph') return `graph:${view.model.outputNodes.join(',')}`;
  const m = view.model;
  return `layers:${m.layers.length}:${m.inputs.map((t) => t.id).join(',')}:${m.outputs.map((t) => t.id).join(',')}`;
}

/**
 * The layers (and inputs) of a model that a probe can read, in a stable order: model inputs first,
 * then layer outputs in the model's layer order (a nested model's inner layers come just before the
 * nested model's own output). `isDefault` marks the analysis points of METHODS.md §2:
 * - point 0 is the model input, or, when the layer right after the input is a `Standardization`
 *   layer, that layer's output (the normalised input);
 * - then every leaf layer except Flatten, Reshape, Permute, padding layers (ZeroPadding*, the model
 *   zoo's ReplicatePadding2D), Dropout (and its variants), GaussianNoise, Masking and
 *   BatchNormalization ({@link SKIPPED_LAYER_CLASSES}); nested models count through their own leaf
 *   layers; every application of a shared layer is a point of its own;
 * - the final logits are included; a final separate Softmax (or `Activation('softmax')`) is not.
 * - For a GraphModel (whose structure is ops, not layers) the defaults are the inputs and the nodes
 *   carrying an activation (convolutions and matMuls, or the bias add that follows them,
 *   activations, pools, concatenations), without a final Softmax. Prefer naming graph nodes.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-layers';
 * import { listLayers } from 'ae-manifold';
 * const model = tf.sequential({ layers: [
 *   tf.layers.dense({ units: 8, inputShape: [4], name: 'd1' }),
 *   tf.layers.activation({ activation: 'relu', name: 'r1' }),
 *   tf.layers.dense({ units: 3, name: 'logits' }),
 * ] });
 * const rows = listLayers(model).map((l) => `${l.index} ${l.name} ${l.isDefault}`);
 * // [ '0 d1_input true', '1 d1 true', '2 r1 true', '3 logits true' ]
 * ```
 * @category Probes
 */
export function listLayers(model: ProbeableModel): LayerInfo[] {
  return getCatalog('listLayers', model).entries.map((e) => ({ ...e.info, outputShape: e.info.outputShape ? [...e.info.outputShape] : null, path: [...e.info.path] }));
}

/** The (cached) catalog of a model. */
export function getCatalog(fn: string, model: unknown): Catalog {
  const view = viewModel(fn, model);
  const signature = signatureOf(view);
  const cached = catalogCache.get(view.model);
  if (cached && cached.signature === signature) return cached.catalog;
  const catalog = view.kind === 'layers' ? layersCatalog(view.model) : graphCatalog(view.model);
  catalogCache.set(view.model, { signature, catalog });
  return catalog;
}

function shapeSize(shape: ReadonlyArray<number | null> | null): number | null {
  if (!shape) return null;
  let s = 1;
  for (const d of shape.slice(1)) {
    if (d === null || d < 0) return null;
    s *= d;
  }
  return s;
}

function isSoftmaxLayer(layer: LayerLike): boolean {
  const cls = layer.getClassName();
  if (cls === 'Softmax') return true;
  if (cls !== 'Activation') return false;
  try {
    return layer.getConfig?.().activation === 'softmax';
  } catch {
    return false;
  }
}

/** The nodes of `container` reachable from its outputs, in topological (post-)order (inputs before the nodes that read them). */
export function containerNodes(container: ContainerLike): Array<{ layer: LayerLike; nodeIndex: number; node: NodeLike }> {
  const seen = new Set<string>();
  const order: Array<{ layer: LayerLike; nodeIndex: number; node: NodeLike }> = [];
  const visit = (t: SymTensor): void => {
    const layer = t.sourceLayer;
    const key = `${layer.name}\u0000${t.nodeIndex}`;
    if (seen.has(key)) return;
    seen.add(key);
    const node = layer.inboundNodes[t.nodeIndex];
    if (!node) return;
    for (const input of node.inputTensors) visit(input);
    order.push({ layer, nodeIndex: t.nodeIndex, node });
  };
  for (const out of container.outputs) visit(out);
  return order;
}

function layersCatalog(model: ContainerLike): Catalog {
  const entries: LayersEntry[] = [];
  const topOutputs = new Set(model.outputs.map((t) => t.id));

  const walk = (container: ContainerLike, chain: NestedStep[], prefix: string, path: string[], isFinal: (t: SymTensor) => boolean): void => {
    const inputIds = new Set(container.inputs.map((t) => t.id));
    const top = chain.length === 0;
    // Inputs of this graph.
    for (const t of container.inputs) {
      entries.push({
        info: info(prefix + t.sourceLayer.name, t.sourceLayer.name, 'InputLayer', t.shape, top, 'input', 0, path),
        chain,
        container,
        tensor: t,
      });
    }
    const nodes = containerNodes(container).filter((n) => !n.node.outputTensors.every((t) => inputIds.has(t.id)));
    const layerOrder = new Map(container.layers.map((l, i) => [l, i]));
    const dfsOrder = new Map(nodes.map((n, i) => [n, i]));
    nodes.sort((a, b) => {
      const la = layerOrder.get(a.layer) ?? Number.MAX_SAFE_INTEGER;
      const lb = layerOrder.get(b.layer) ?? Number.MAX_SAFE_INTEGER;
      if (la !== lb) return la - lb;
      if (a.layer !== b.layer) return dfsOrder.get(a)! - dfsOrder.get(b)!;
      return a.nodeIndex - b.nodeIndex;
    });
    const applications = new Map<LayerLike, number>();
    for (const n of nodes) {
      const app = applications.get(n.layer) ?? 0;
      applications.set(n.layer, app + 1);
      const cls = n.layer.getClassName();
      const base = prefix + n.layer.name + (app > 0 ? `@${app}` : '');
      if (isContainer(n.layer)) {
        const inner = n.layer;
        const step: NestedStep = { container: inner, nodeIndex: n.nodeIndex };
        const parentOutputs = n.node.outputTensors;
        walk(inner, [...chain, step], `${base}/`, [...path, n.layer.name + (app > 0 ? `@${app}` : '')], (t) => {
          const k = inner.outputs.findIndex((o) => o.id === t.id);
          const outer = k >= 0 ? parentOutputs[k] : undefined;
          return outer !== undefined && isFinal(outer);
        });
      }
      n.node.outputTensors.forEach((t, ti) => {
        const name = base + (ti > 0 ? `:${ti}` : '');
        const isDefault =
          !SKIPPED_LAYER_CLASSES.has(cls) && !isContainer(n.layer) && !(isSoftmaxLayer(n.layer) && isFinal(t));
        entries.push({ info: info(name, n.layer.name, cls, t.shape, isDefault, 'layer', app, path), chain, container, tensor: t });
      });
    }
  };
  walk(model, [], '', [], (t) => topOutputs.has(t.id));

  // Point 0 is the normalised input when the first layer after an input is a Standardization layer.
  const topInputIds = new Set(model.inputs.map((t) => t.id));
  for (const e of entries) {
    if (e.chain.length > 0 || e.info.className !== 'Standardization') continue;
    const node = e.tensor.sourceLayer.inboundNodes[e.tensor.nodeIndex];
    if (!node || node.inputTensors.length === 0 || !node.inputTensors.every((t) => topInputIds.has(t.id))) continue;
    for (const inp of entries) {
      if (inp.info.kind === 'input' && inp.chain.length === 0 && node.inputTensors.some((t) => t.id === inp.tensor.id)) {
        inp.info.isDefault = false;
      }
    }
  }
  return finish({ kind: 'layers', model, entries, byName: new Map() });
}

function info(
  name: string,
  layerName: string,
  className: string,
  shape: ReadonlyArray<number | null> | null,
  isDefault: boolean,
  kind: LayerInfo['kind'],
  application: number,
  path: string[],
): LayerInfo {
  const outputShape = shape ? shape.map((d) => (d === null || d < 0 ? null : d)) : null;
  return { name, layerName, className, index: -1, outputShape, size: shapeSize(outputShape), isDefault, kind, application, path };
}

function finish<C extends Catalog>(catalog: C): C {
  catalog.entries.forEach((e, i) => {
    e.info.index = i;
    catalog.byName.set(e.info.name, i);
  });
  return catalog;
}

interface GraphDefNode {
  name: string;
  op: string;
  input?: string[];
}

function graphCatalog(model: GraphModelLike): Catalog {
  const inputNames = model.inputNodes ?? (model.inputs ?? []).map((t) => t.name);
  const inputShapes = new Map((model.inputs ?? []).map((t) => [t.name.replace(/:0$/, ''), t.shape]));
  const outputShapes = new Map((model.outputs ?? []).map((t) => [t.name.replace(/:0$/, ''), t.shape]));
  const outputSet = new Set(model.outputNodes.map((n) => n.replace(/:0$/, '')));
  const topology = (model as unknown as { artifacts?: { modelTopology?: { node?: GraphDefNode[] } } }).artifacts?.modelTopology?.node;
  const entries: GraphEntry[] = [];
  const shapeOf = (s: number[] | undefined): Array<number | null> | null => (s ? s.map((d) => (d < 0 ? null : d)) : null);
  for (const name of inputNames) {
    const base = name.replace(/:0$/, '');
    entries.push({ info: info(base, base, 'Placeholder', shapeOf(inputShapes.get(base)), true, 'input', 0, []), nodeName: base });
  }
  const inputSet = new Set(entries.map((e) => e.nodeName));
  if (Array.isArray(topology)) {
    const consumers = new Map<string, string[]>();
    const ops = new Map(topology.map((n) => [n.name, n.op]));
    for (const n of topology) {
      for (const raw of n.input ?? []) {
        if (raw.startsWith('^')) continue;
        const src = raw.replace(/:\d+$/, '');
        consumers.set(src, [...(consumers.get(src) ?? []), n.name]);
      }
    }
    for (const n of topology) {
      if (GRAPH_SKIPPED_OPS.has(n.op) || inputSet.has(n.name)) continue;
      const users = consumers.get(n.name) ?? [];
      const biasFollows = GRAPH_LINEAR_OPS.has(n.op) && users.length === 1 && GRAPH_BIAS_OPS.has(ops.get(users[0]!) ?? '');
      const finalSoftmax = n.op === 'Softmax' && outputSet.has(n.name);
      const isDefault = (GRAPH_COMPUTE_OPS.has(n.op) || (GRAPH_BIAS_OPS.has(n.op) && isBiasOfLinear(n, ops))) && !biasFollows && !finalSoftmax;
      entries.push({ info: info(n.name, n.name, n.op, shapeOf(outputShapes.get(n.name)), isDefault, 'node', 0, []), nodeName: n.name });
    }
  } else {
    for (const name of model.outputNodes) {
      const base = name.replace(/:0$/, '');
      if (inputSet.has(base)) continue;
      entries.push({ info: info(base, base, 'Output', shapeOf(outputShapes.get(base)), true, 'node', 0, []), nodeName: base });
    }
  }
  return finish({ kind: 'graph', model, entries, byName: new Map(), inputNames: inputNames.map((n) => n.replace(/:0$/, '')) });
}

function isBiasOfLinear(n: GraphDefNode, ops: Map<string, string>): boolean {
  return (n.input ?? []).some((raw) => GRAPH_LINEAR_OPS.has(ops.get(raw.replace(/:\d+$/, '')) ?? ''));
}

/**
 * Resolves `options.layers` to catalog indices (sorted, unique). Throws an
 * {@link InvalidArgumentError} that lists the available names for an unknown name.
 */
export function selectEntries(fn: string, catalog: Catalog, selection: LayerSelection | undefined): number[] {
  const entries = catalog.entries;
  let picked: number[];
  if (selection === undefined || selection === 'default') {
    picked = entries.filter((e) => e.info.isDefault).map((e) => e.info.index);
  } else if (selection === 'all') {
    picked = entries.map((e) => e.info.index);
  } else if (typeof selection === 'function') {
    picked = [];
    for (const e of entries) {
      if (selection({ ...e.info, outputShape: e.info.outputShape ? [...e.info.outputShape] : null, path: [...e.info.path] })) {
        picked.push(e.info.index);
      }
    }
  } else if (Array.isArray(selection)) {
    if (selection.length === 0) {
      throw new InvalidArgumentError(fn, 'options.layers', 'a non-empty array of layer names or indices', selection);
    }
    picked = selection.map((item: unknown, i) => {
      if (typeof item === 'number') {
        if (!Number.isInteger(item) || item < 0 || item >= entries.length) {
          throw new InvalidArgumentError(fn, `options.layers[${i}]`, `an index in [0, ${entries.length - 1}] (see listLayers)`, item);
        }
        return item;
      }
      if (typeof item === 'string') {
        const idx = catalog.byName.get(item);
        if (idx === undefined) {
          const names = entries.map((e) => e.info.name);
          throw new InvalidArgumentError(fn, `options.layers[${i}]`, `the name of a layer of the model (${names.join(', ')})`, item);
        }
        return idx;
      }
      throw new InvalidArgumentError(fn, `options.layers[${i}]`, 'a layer name or index', item);
    });
  } else {
    throw new InvalidArgumentError(fn, 'options.layers', "'default', 'all', an array of layer names or indices, or a predicate", selection);
  }
  const unique = [...new Set(picked)].sort((a, b) => a - b);
  if (unique.length === 0) {
    throw new InvalidArgumentError(fn, 'options.layers', 'a selection of at least one layer (the predicate matched none)', selection);
  }
  for (const idx of unique) {
    const e = entries[idx]!;
    if (e.info.size === 0) {
      throw new InvalidArgumentError(fn, 'options.layers', `layers with a non-empty output (${e.info.name} has shape [${(e.info.outputShape ?? []).join(', ')}])`, e.info.name);
    }
  }
  return unique;
}
