/**
 * A forward pass of a tfjs-layers model for the attacks, whose gradient flows to the input only.
 *
 * tfjs-layers runs `Conv2D` and `Dense` through `tf.fused.conv2d` / `tf.fused.matMul`. Under a
 * gradient tape those are a `customGrad` that computes the kernel and bias gradients eagerly, even
 * when only d(logits)/d(input) is wanted, so every attack step paid for a `Conv2DBackpropFilter`
 * (for a layer with a linear activation) it then threw away; with a ReLU the op is instead split
 * into conv + add + relu, three passes over the output. Here the model's graph is replayed node by
 * node: a `Conv2D` (NHWC, no dilation) or a `Dense` (rank-2 input) runs the same fused kernel
 * `model.apply` runs outside a tape (bias and ReLU in one pass) inside a custom gradient on its
 * input alone; every other layer runs its own `call`, exactly as the model would run it. The
 * weights are constants of this function: it has no gradient with respect to them.
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { containerNodes } from '../probes/list-layers.js';
import { isContainer } from '../probes/model-graph.js';
import type { ContainerLike, LayerLike, NodeLike } from '../probes/model-graph.js';

/** Layer classes whose masks the replay does not carry: a model containing one runs as `model.apply`. */
const MASKING_LAYERS: ReadonlySet<string> = new Set(['Masking', 'Embedding']);

interface ActivationLike {
  getClassName(): string;
  apply(x: tf.Tensor): tf.Tensor;
}

interface WeightLike {
  read(): tf.Tensor;
}

/** The members of a tfjs-layers `Conv2D` / `Dense` the replay reads. */
interface WeightedLayerLike extends LayerLike {
  kernel?: WeightLike | null;
  bias?: WeightLike | null;
  activation?: ActivationLike | null;
  call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[];
}

type Run = (x: tf.Tensor) => tf.Tensor;

interface Step {
  inputIds: number[];
  outputIds: number[];
  run(inputs: tf.Tensor[]): tf.Tensor[];
}

interface Plan {
  inputIds: number[];
  outputIds: number[];
  steps: Step[];
}

let stockCalls: { conv2d: unknown; dense: unknown } | undefined;

/**
 * Whether `layer` is a stock tfjs-layers Conv2D / Dense (not a subclass with its own `call`). The
 * reference `call`s come from two unbuilt, explicitly named layers (no weights, no name counters).
 */
function stockClass(layer: WeightedLayerLike): 'Conv2D' | 'Dense' | null {
  stockCalls ??= {
    conv2d: Object.getPrototypeOf(tfl.layers.conv2d({ filters: 1, kernelSize: 1, name: 'ae_manifold_reference_conv2d' })).call,
    dense: Object.getPrototypeOf(tfl.layers.dense({ units: 1, name: 'ae_manifold_reference_dense' })).call,
  };
  const cls = layer.getClassName();
  if (cls === 'Conv2D' && layer.call === stockCalls.conv2d) return 'Conv2D';
  if (cls === 'Dense' && layer.call === stockCalls.dense) return 'Dense';
  return null;
}

/** A fused kernel's activation and what has to be applied after it. */
function splitActivation(act: ActivationLike | null | undefined): { fused: 'relu' | 'linear'; after: ActivationLike | null } {
  const name = act?.getClassName();
  if (!act || name === 'linear') return { fused: 'linear', after: null };
  if (name === 'relu') return { fused: 'relu', after: null };
  return { fused: 'linear', after: act };
}

/** dy through the fused activation: unchanged for linear, dy·step(y) for ReLU (as tfjs's ReLU gradient). */
function throughActivation(dy: tf.Tensor, saved: tf.Tensor[], fused: 'relu' | 'linear'): tf.Tensor {
  return fused === 'relu' ? tf.mul(dy, tf.step(saved[0]!)) : dy;
}

function asArray(v: unknown): number[] | null {
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.every((d) => typeof d === 'number')) return v as number[];
  return null;
}

/** The Conv2D step, or null when the layer is not one the replay handles (it then runs its own `call`). */
function conv2dStep(layer: WeightedLayerLike, callLayer: (x: tf.Tensor) => tf.Tensor): ((x: tf.Tensor) => tf.Tensor) | null {
  const cfg = layer.getConfig?.() ?? {};
  const strides = asArray(cfg.strides);
  const dilations = asArray(cfg.dilationRate);
  const pad = cfg.padding;
  if (
    cfg.dataFormat !== 'channelsLast' ||
    !strides ||
    strides.length !== 2 ||
    !dilations ||
    !dilations.every((d) => d === 1) ||
    (pad !== 'valid' && pad !== 'same') ||
    !layer.kernel ||
    typeof layer.kernel.read !== 'function'
  ) {
    return null;
  }
  const { fused, after } = splitActivation(layer.activation);
  const kernel = layer.kernel;
  const bias = cfg.useBias === false ? null : (layer.bias ?? null);
  const attrs = { strides: strides as [number, number], pad, dataFormat: 'NHWC', dilations: [1, 1], activation: fused, leakyreluAlpha: 0.2 };
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [x, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
    const filter = kernel.read() as tf.Tensor4D;
    const inputs: tf.NamedTensorMap = { x, filter };
    if (bias) inputs.bias = bias.read();
    const y = tf.engine().runKernel(tf.FusedConv2D, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
    save(fused === 'relu' ? [y] : []);
    const xShape = x.shape as [number, number, number, number];
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.conv2dTranspose(throughActivation(dy, saved, fused) as tf.Tensor4D, filter, xShape, strides as [number, number], pad),
    };
  });
  return (x) => {
    if (x.rank !== 4 || x.dtype !== 'float32') return callLayer(x);
    const y = op(x);
    return after ? after.apply(y) : y;
  };
}

/** The Dense step (rank-2 inputs; any other rank runs the layer's own `call`). */
function denseStep(layer: WeightedLayerLike, callLayer: (x: tf.Tensor) => tf.Tensor): ((x: tf.Tensor) => tf.Tensor) | null {
  if (!layer.kernel || typeof layer.kernel.read !== 'function') return null;
  const cfg = layer.getConfig?.() ?? {};
  const { fused, after } = splitActivation(layer.activation);
  const kernel = layer.kernel;
  const bias = cfg.useBias === false ? null : (layer.bias ?? null);
  const attrs = { transposeA: false, transposeB: false, activation: fused, leakyreluAlpha: 0.2 };
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [x, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    const w = kernel.read() as tf.Tensor2D;
    const [n, k] = x.shape as [number, number];
    const units = w.shape[1];
    const inputs: tf.NamedTensorMap = { a: tf.reshape(x, [1, n, k]), b: tf.reshape(w, [1, k, units]) };
    if (bias) inputs.bias = bias.read();
    const y = tf.reshape(tf.engine().runKernel(tf._FusedMatMul, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor, [n, units]);
    save(fused === 'relu' ? [y] : []);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.matMul(throughActivation(dy, saved, fused), w, false, true),
    };
  });
  return (x) => {
    if (x.rank !== 2 || x.dtype !== 'float32') return callLayer(x);
    const y = op(x);
    return after ? after.apply(y) : y;
  };
}

/** Whether the replay cannot reproduce `container` (it would have to carry masks). */
function unsupported(container: ContainerLike): boolean {
  if (container.inputs.length === 0 || container.outputs.length === 0) return true;
  for (const layer of container.layers as WeightedLayerLike[]) {
    if (MASKING_LAYERS.has(layer.getClassName())) return true;
    if (isContainer(layer) && unsupported(layer)) return true;
  }
  return false;
}

function makeStep(node: NodeLike, layer: WeightedLayerLike): Step | null {
  const inputIds = node.inputTensors.map((t) => t.id);
  const outputIds = node.outputTensors.map((t) => t.id);
  if (isContainer(layer)) {
    const inner = buildPlan(layer);
    if (!inner || inner.inputIds.length !== inputIds.length || inner.outputIds.length !== outputIds.length) return null;
    return { inputIds, outputIds, run: (inputs) => runPlan(inner, inputs) };
  }
  if (typeof layer.call !== 'function') return null;
  const callArgs = (node as NodeLike & { callArgs?: Record<string, unknown> | null }).callArgs ?? {};
  // As the container's own executor: `call` with the arguments of the symbolic application.
  const callLayer = (x: tf.Tensor | tf.Tensor[]): tf.Tensor[] => {
    const out = layer.call(x, { ...callArgs });
    return Array.isArray(out) ? out : [out];
  };
  if (inputIds.length === 1 && outputIds.length === 1) {
    const one = (x: tf.Tensor): tf.Tensor => callLayer(x)[0]!;
    const cls = stockClass(layer);
    const fast = cls === 'Conv2D' ? conv2dStep(layer, one) : cls === 'Dense' ? denseStep(layer, one) : null;
    if (fast) return { inputIds, outputIds, run: (inputs) => [fast(inputs[0]!)] };
    return { inputIds, outputIds, run: (inputs) => callLayer(inputs[0]!) };
  }
  return { inputIds, outputIds, run: (inputs) => callLayer(inputs) };
}

function buildPlan(container: ContainerLike): Plan | null {
  if (unsupported(container)) return null;
  const inputIds = container.inputs.map((t) => t.id);
  const known = new Set(inputIds);
  const steps: Step[] = [];
  for (const { layer, node } of containerNodes(container)) {
    if (node.outputTensors.every((t) => known.has(t.id))) continue; // an input layer
    if (!node.inputTensors.every((t) => known.has(t.id))) return null;
    const step = makeStep(node, layer as WeightedLayerLike);
    if (!step) return null;
    steps.push(step);
    for (const id of step.outputIds) known.add(id);
  }
  const outputIds = container.outputs.map((t) => t.id);
  if (!outputIds.every((id) => known.has(id))) return null;
  return { inputIds, outputIds, steps };
}

function runPlan(plan: Plan, inputs: tf.Tensor[]): tf.Tensor[] {
  const values = new Map<number, tf.Tensor>();
  plan.inputIds.forEach((id, i) => values.set(id, inputs[i]!));
  for (const step of plan.steps) {
    const out = step.run(step.inputIds.map((id) => values.get(id)!));
    step.outputIds.forEach((id, i) => values.set(id, out[i]!));
  }
  return plan.outputIds.map((id) => values.get(id)!);
}

/** Plans per model, with the output they were built for (a Sequential can grow after the fact). */
const cache = new WeakMap<object, { outputId: number; layers: number; run: Run | null }>();

/**
 * The replayed forward pass of a single-input, single-output LayersModel, or `null` when the model
 * holds something the replay does not reproduce (a masking layer), in which
 * case the caller runs `model.apply`. The result is synchronous, gives the logits `model.apply(x)`
 * gives (the same kernels outside a gradient tape), and its gradient reaches `x` only: do not
 * train through it. Cached per model.
 *
 * @example
 * ```ts
 * const forward = inputGradientForward(model) ?? ((x) => model.apply(x) as tf.Tensor);
 * const g = tf.grad((x: tf.Tensor) => tf.sum(forward(x)))(images); // no kernel gradients computed
 * ```
 */
export function inputGradientForward(model: unknown): Run | null {
  if (!isContainer(model) || model.inputs.length !== 1 || model.outputs.length !== 1) return null;
  const outputId = model.outputs[0]!.id;
  const hit = cache.get(model);
  if (hit && hit.outputId === outputId && hit.layers === model.layers.length) return hit.run;
  const plan = buildPlan(model);
  const run: Run | null = plan
    ? (x) =>
        tf.tidy(() => {
          const y = runPlan(plan, [x])[0]!;
          return y === x ? tf.clone(y) : y;
        })
    : null;
  cache.set(model, { outputId, layers: model.layers.length, run });
  return run;
}
