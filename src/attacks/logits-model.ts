/**
 * The model an attack works on: a tfjs LayersModel (recognised by duck typing) or a plain
 * function from a batch to logits. A LayersModel that ends in a separate softmax layer is run up
 * to the layer before it, so every loss sees pre-softmax logits (ATTACKS.md §1), and its graph is
 * replayed so that gradients reach the input without computing any weight gradient.
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { ProbabilityOutputError, ShapeMismatchError, UnsupportedModelError } from '../errors.js';
import { inputGradientForward } from './input-gradient-forward.js';

/**
 * A function from a batch of inputs to a `[batch, classes]` tensor of logits. It must be
 * synchronous and built from differentiable tfjs ops, and it must not dispose its input.
 *
 * @example
 * ```ts
 * const logits: LogitsFunction = (x) => tf.matMul(tf.reshape(x, [x.shape[0], -1]), weights);
 * ```
 * @category Attacks
 */
export type LogitsFunction = (x: tf.Tensor) => tf.Tensor;

/**
 * What the structural subset of a tfjs `LayersModel` the attacks rely on looks like. Any
 * `tf.LayersModel` or `tf.Sequential` satisfies it.
 * @category Attacks
 */
export interface LayersModelLike {
  apply(inputs: tf.Tensor | tf.Tensor[], kwargs?: Record<string, unknown>): tf.Tensor | tf.Tensor[] | unknown;
  readonly layers: ReadonlyArray<{ getClassName(): string; getConfig(): Record<string, unknown> }>;
  readonly inputs: readonly unknown[];
  readonly outputs: readonly unknown[];
}

/**
 * A model an attack accepts: a LayersModel, or a function returning logits.
 *
 * @example
 * ```ts
 * const model: AttackModel = await tf.loadLayersModel(url); // or (x) => myLogits(x)
 * ```
 * @category Attacks
 */
export type AttackModel = LayersModelLike | LogitsFunction;

/** The adapter the attacks use internally. */
export interface LogitsModel {
  readonly kind: 'layers' | 'function';
  /** True when a trailing Softmax / Activation('softmax') layer is skipped. */
  readonly skippedSoftmax: boolean;
  /** Logits of a batch (synchronous, differentiable). The caller owns the result. */
  logits(x: tf.Tensor): tf.Tensor;
}

interface SymbolicLike {
  sourceLayer?: { getClassName(): string; getConfig(): Record<string, unknown> };
  inputs?: unknown[];
}

/** True when `m` looks like a tfjs LayersModel (duck typing: tensors and models have no common base). */
export function isLayersModelLike(m: unknown): m is LayersModelLike {
  if (m === null || typeof m !== 'object') return false;
  const o = m as Partial<LayersModelLike>;
  return typeof o.apply === 'function' && Array.isArray(o.layers) && Array.isArray(o.inputs) && Array.isArray(o.outputs);
}

function isSoftmaxLayer(layer: { getClassName(): string; getConfig(): Record<string, unknown> } | undefined): boolean {
  if (!layer) return false;
  const name = layer.getClassName();
  if (name === 'Softmax') return true;
  if (name === 'Activation') return layer.getConfig().activation === 'softmax';
  return false;
}

/** Sub-models that stop before a trailing softmax layer, built once per model. */
const preSoftmaxCache = new WeakMap<object, LayersModelLike | null>();

function preSoftmaxModel(model: LayersModelLike): LayersModelLike | null {
  if (preSoftmaxCache.has(model)) return preSoftmaxCache.get(model)!;
  let sub: LayersModelLike | null = null;
  if (model.outputs.length === 1) {
    const out = model.outputs[0] as SymbolicLike;
    const input = out.inputs?.[0];
    if (isSoftmaxLayer(out.sourceLayer) && out.inputs?.length === 1 && input) {
      // Shares the layers (and so the weights) of `model`: creating it allocates no tensors.
      sub = tfl.model({ inputs: model.inputs as tfl.SymbolicTensor[], outputs: input as tfl.SymbolicTensor }) as unknown as LayersModelLike;
    }
  }
  preSoftmaxCache.set(model, sub);
  return sub;
}

/**
 * Wraps a model for an attack. Throws {@link UnsupportedModelError} for anything else.
 */
export function toLogitsModel(fn: string, model: unknown): LogitsModel {
  if (typeof model === 'function') {
    const f = model as LogitsFunction;
    return {
      kind: 'function',
      skippedSoftmax: false,
      logits(x) {
        const y = f(x);
        if (!(y instanceof tf.Tensor)) {
          throw new UnsupportedModelError(fn, 'the model function must return a tf.Tensor of logits with shape [batch, classes]');
        }
        return y;
      },
    };
  }
  if (isLayersModelLike(model)) {
    if (model.inputs.length !== 1 || model.outputs.length !== 1) {
      throw new UnsupportedModelError(
        fn,
        `the LayersModel has ${model.inputs.length} inputs and ${model.outputs.length} outputs; attacks need exactly one of each ` +
          '(wrap a multi-output model in a function that returns the logits)',
      );
    }
    const sub = preSoftmaxModel(model);
    const run = sub ?? model;
    // The graph replayed without the kernel gradients of fused Conv2D/Dense (input-gradient-forward.ts).
    const forward = inputGradientForward(run);
    return {
      kind: 'layers',
      skippedSoftmax: sub !== null,
      logits(x) {
        const y = forward ? forward(x) : run.apply(x, { training: false });
        if (!(y instanceof tf.Tensor)) throw new UnsupportedModelError(fn, 'the LayersModel did not return a single tensor');
        return y;
      },
    };
  }
  throw new UnsupportedModelError(
    fn,
    'model must be a tf.LayersModel (or Sequential) or a function (x: tf.Tensor) => tf.Tensor returning logits',
  );
}

/**
 * Whether a block of model outputs looks like probabilities: every value in [0, 1] and every
 * row summing to 1 within 1e-3 (the test of the original C&W code).
 */
export function looksLikeProbabilities(values: Float32Array, rows: number, cols: number): boolean {
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let k = 0; k < cols; k++) {
      const v = values[r * cols + k]!;
      if (!(v >= 0 && v <= 1)) return false;
      sum += v;
    }
    if (Math.abs(sum - 1) > 1e-3) return false;
  }
  return true;
}

/** Throws {@link ProbabilityOutputError} unless the caller opted out. */
export function rejectProbabilities(fn: string, values: Float32Array, rows: number, cols: number, allow: boolean): void {
  if (!allow && looksLikeProbabilities(values, rows, cols)) throw new ProbabilityOutputError(fn);
}

/**
 * Checks one example's shape against a LayersModel's declared input shape (free dimensions
 * match anything), so a mismatch is a typed error instead of a tfjs-layers crash.
 */
export function checkModelInputShape(fn: string, arg: string, model: unknown, exampleShape: readonly number[], given: readonly number[]): void {
  if (!isLayersModelLike(model)) return;
  const declared = (model.inputs[0] as { shape?: Array<number | null> } | undefined)?.shape;
  if (!declared) return;
  const want = declared.slice(1);
  const fits = want.length === exampleShape.length && want.every((d, i) => d === null || d === exampleShape[i]);
  if (!fits) throw new ShapeMismatchError(fn, arg, [...(arg === 'inputs' ? [null] : []), ...want], [...given], 'the model input shape');
}

/**
 * Computes a gradient of the logits through one example, so that a model with an op that has no
 * gradient fails at entry with a typed error naming the op (not deep inside the attack loop).
 */
export function checkGradient(fn: string, lm: LogitsModel, example: tf.Tensor): void {
  try {
    tf.tidy(() => {
      tf.grad((x: tf.Tensor) => tf.sum(lm.logits(x)))(example);
    });
  } catch (e) {
    // tfjs 4.22 leaves its tape active (holding the tensors saved for backprop) when a gradient is
    // missing: release them, or every later op would be recorded and those tensors would leak.
    const state = (tf.engine() as unknown as { state: { activeTape: Array<{ saved?: tf.Tensor[] }> | null } }).state;
    if (state.activeTape) {
      for (const node of state.activeTape) tf.dispose(node.saved ?? []);
      state.activeTape = null;
    }
    const m = /gradient function not found for (\w+)/i.exec((e as Error).message ?? '');
    if (m) {
      throw new UnsupportedModelError(fn, `the model uses the op ${m[1]}, which has no gradient in tfjs; the attacks need d(logits)/d(input)`, { cause: e });
    }
    throw e;
  }
}
