/**
 * Structural views of tfjs-layers and tfjs-converter models, recognised by duck typing (models have
 * no `Symbol.hasInstance` shim, and the library must not import tfjs-converter).
 * @module
 */
import { UnsupportedModelError, describeValue } from '../errors.js';
import type { GraphModelLike, ProbeableModel } from './types.js';

/** A symbolic tensor of a tfjs-layers graph (the members the probes read). */
export interface SymTensor {
  readonly id: number;
  readonly name: string;
  readonly shape: ReadonlyArray<number | null>;
  readonly sourceLayer: LayerLike;
  readonly nodeIndex: number;
  readonly tensorIndex: number;
}

/** One application of a layer: the tensors it consumed and produced. */
export interface NodeLike {
  readonly inputTensors: SymTensor[];
  readonly outputTensors: SymTensor[];
}

/** A tfjs-layers layer. */
export interface LayerLike {
  readonly name: string;
  getClassName(): string;
  readonly inboundNodes: NodeLike[];
  getConfig?(): Record<string, unknown>;
}

/** A tfjs-layers model (Sequential or functional), itself usable as a layer. */
export interface ContainerLike extends LayerLike {
  readonly layers: LayerLike[];
  readonly inputs: SymTensor[];
  readonly outputs: SymTensor[];
  apply(inputs: unknown, kwargs?: Record<string, unknown>): unknown;
}

/** The model-level view the probes work with. */
export type ModelView = { kind: 'layers'; model: ContainerLike } | { kind: 'graph'; model: GraphModelLike };

/** Whether a value looks like a tfjs-layers container (LayersModel / Sequential / nested model). */
export function isContainer(value: unknown): value is ContainerLike {
  const v = value as Partial<ContainerLike> | null;
  return (
    !!v &&
    typeof v === 'object' &&
    Array.isArray(v.layers) &&
    Array.isArray(v.inputs) &&
    Array.isArray(v.outputs) &&
    typeof v.apply === 'function' &&
    typeof v.getClassName === 'function'
  );
}

/** Whether a value looks like a tfjs-converter GraphModel. */
export function isGraphModel(value: unknown): value is GraphModelLike {
  const v = value as Partial<GraphModelLike> | null;
  return !!v && typeof v === 'object' && typeof v.execute === 'function' && Array.isArray(v.outputNodes);
}

/** Recognises the model or throws an {@link UnsupportedModelError} naming the accepted kinds. */
export function viewModel(fn: string, model: unknown): ModelView {
  if (isContainer(model)) {
    if (model.inputs.length === 0) {
      throw new UnsupportedModelError(fn, 'the model has no inputs yet: give its first layer an inputShape (or build it) before probing');
    }
    return { kind: 'layers', model };
  }
  if (isGraphModel(model)) return { kind: 'graph', model };
  throw new UnsupportedModelError(
    fn,
    `model must be a tf.LayersModel (tf.sequential / tf.model / tf.loadLayersModel) or a GraphModel ` +
      `(tf.loadGraphModel: an object with execute() and outputNodes), got ${describeValue(model)}`,
  );
}

/** The `ProbeableModel` type guard used by the public functions. */
export function isProbeableModel(value: unknown): value is ProbeableModel {
  return isContainer(value) || isGraphModel(value);
}
