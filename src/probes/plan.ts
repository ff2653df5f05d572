/**
 * Execution plans of a probe: which sub-models to run to obtain the selected activations.
 *
 * - LayersModel: one `tf.model({ inputs, outputs })` sub-model per graph level; a nested model's
 *   inner layers are read by a second sub-model on the nested model's own inputs, fed with the
 *   tensors that enter the nested model in its parent. Sub-models share the layers (and weights) of
 *   the model, hold no tensors, and are cached per model (per catalogue) in a WeakMap, at most 16
 *   selections per model.
 * - GraphModel: `execute(feeds, nodeNames)`.
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import { model as tfModel } from '@tensorflow/tfjs-layers';
import type { SymbolicTensor } from '@tensorflow/tfjs-layers';
import { InvalidArgumentError, UnsupportedModelError } from '../errors.js';
import type { Catalog, LayersEntry } from './list-layers.js';
import type { ContainerLike, SymTensor } from './model-graph.js';

/** Runs the model on one batch and returns the selected activations, in selection order. Sync: call inside `tf.tidy`. */
export interface Plan {
  run(feeds: tf.Tensor[]): tf.Tensor[];
  /** Expected input shapes (batch first, `null` = free), one per model input. */
  inputShapes: Array<ReadonlyArray<number | null> | null>;
  /** Names of the model inputs, for messages. */
  inputNames: string[];
}

interface Stage {
  container: ContainerLike;
  subModel: ContainerLike | null;
  /** Symbolic ids of the sub-model's outputs, in order. */
  outputIds: number[];
  /** Selected activations read at this level: symbolic id and the slot in the result. */
  targets: Array<{ id: number; slot: number }>;
  children: Array<{ feedIds: number[]; stage: Stage }>;
}

const MAX_PLANS_PER_MODEL = 16;
/** Plans per model catalogue (a new catalogue, for a changed model, starts afresh). */
const planCache = new WeakMap<object, Map<string, Plan>>();

/** The (cached) plan for the selected catalog indices. */
export function getPlan(fn: string, catalog: Catalog, selected: number[]): Plan {
  let perModel = planCache.get(catalog);
  if (!perModel) {
    perModel = new Map();
    planCache.set(catalog, perModel);
  }
  const key = selected.join(',');
  const cached = perModel.get(key);
  if (cached) return cached;
  const plan = catalog.kind === 'layers' ? layersPlan(fn, catalog.model, selected.map((i) => catalog.entries[i]!)) : graphPlan(fn, catalog, selected);
  if (perModel.size >= MAX_PLANS_PER_MODEL) {
    const oldest = perModel.keys().next().value;
    if (oldest !== undefined) perModel.delete(oldest);
  }
  perModel.set(key, plan);
  return plan;
}

function layersPlan(fn: string, model: ContainerLike, entries: LayersEntry[]): Plan {
  const root = newStage(model);
  entries.forEach((e, slot) => {
    let stage = root;
    for (const step of e.chain) {
      const node = step.container.inboundNodes[step.nodeIndex]!;
      const feedIds = node.inputTensors.map((t) => t.id);
      let child = stage.children.find((c) => c.stage.container === step.container && sameIds(c.feedIds, feedIds));
      if (!child) {
        child = { feedIds, stage: newStage(step.container) };
        stage.children.push(child);
      }
      stage = child.stage;
    }
    stage.targets.push({ id: e.tensor.id, slot });
  });
  buildSubModels(fn, root, collectSymbolic(model, entries));
  const run = (feeds: tf.Tensor[]): tf.Tensor[] => {
    const out = new Array<tf.Tensor>(entries.length);
    runStage(root, feeds, out);
    return out;
  };
  return {
    run,
    inputShapes: model.inputs.map((t) => t.shape),
    inputNames: model.inputs.map((t) => t.sourceLayer.name),
  };
}

function sameIds(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function newStage(container: ContainerLike): Stage {
  return { container, subModel: null, outputIds: [], targets: [], children: [] };
}

/** Every symbolic tensor the plan may need, by id (the selected ones and the feeds of nested models). */
function collectSymbolic(model: ContainerLike, entries: LayersEntry[]): Map<number, SymTensor> {
  const byId = new Map<number, SymTensor>();
  for (const t of model.inputs) byId.set(t.id, t);
  for (const e of entries) {
    byId.set(e.tensor.id, e.tensor);
    for (const step of e.chain) {
      for (const t of step.container.inboundNodes[step.nodeIndex]!.inputTensors) byId.set(t.id, t);
      for (const t of step.container.inputs) byId.set(t.id, t);
    }
  }
  return byId;
}

function buildSubModels(fn: string, stage: Stage, byId: Map<number, SymTensor>): void {
  const inputIds = new Set(stage.container.inputs.map((t) => t.id));
  const wanted: number[] = [];
  const add = (id: number): void => {
    if (!inputIds.has(id) && !wanted.includes(id)) wanted.push(id);
  };
  for (const t of stage.targets) add(t.id);
  for (const c of stage.children) c.feedIds.forEach(add);
  if (wanted.length > 0) {
    try {
      stage.subModel = tfModel({
        inputs: stage.container.inputs as unknown as SymbolicTensor[],
        outputs: wanted.map((id) => byId.get(id)!) as unknown as SymbolicTensor[],
      }) as unknown as ContainerLike;
    } catch (cause) {
      throw new UnsupportedModelError(fn, `cannot build a sub-model of '${stage.container.name}' that reads the selected layers: ${(cause as Error).message}`, { cause });
    }
    stage.outputIds = wanted;
  }
  for (const c of stage.children) buildSubModels(fn, c.stage, byId);
}

function runStage(stage: Stage, feeds: tf.Tensor[], out: tf.Tensor[]): void {
  const values = new Map<number, tf.Tensor>();
  stage.container.inputs.forEach((t, i) => values.set(t.id, feeds[i]!));
  if (stage.subModel) {
    const res = stage.subModel.apply(feeds.length === 1 ? feeds[0] : feeds, { training: false }) as tf.Tensor | tf.Tensor[];
    const list = Array.isArray(res) ? res : [res];
    stage.outputIds.forEach((id, i) => values.set(id, list[i]!));
  }
  for (const t of stage.targets) out[t.slot] = values.get(t.id)!;
  for (const c of stage.children) runStage(c.stage, c.feedIds.map((id) => values.get(id)!), out);
}

function graphPlan(fn: string, catalog: Extract<Catalog, { kind: 'graph' }>, selected: number[]): Plan {
  const model = catalog.model;
  const names = selected.map((i) => catalog.entries[i]!.nodeName);
  const inputNames = catalog.inputNames;
  const inputShapes = inputNames.map((n) => {
    const s = model.inputs?.find((t) => t.name.replace(/:0$/, '') === n)?.shape;
    return s ? s.map((d) => (d < 0 ? null : d)) : null;
  });
  const run = (feeds: tf.Tensor[]): tf.Tensor[] => {
    const feedMap: tf.NamedTensorMap = {};
    inputNames.forEach((n, i) => (feedMap[n] = feeds[i]!));
    // Inputs selected as probe points are returned directly (execute would return the feed itself).
    const toRun = names.filter((n) => !inputNames.includes(n));
    let list: tf.Tensor[] = [];
    if (toRun.length > 0) {
      let res: tf.Tensor | tf.Tensor[];
      try {
        res = model.execute(feedMap, toRun);
      } catch (cause) {
        throw new UnsupportedModelError(fn, `GraphModel.execute failed for nodes ${toRun.join(', ')}: ${(cause as Error).message}`, { cause });
      }
      list = Array.isArray(res) ? res : [res];
    }
    const out: tf.Tensor[] = [];
    let k = 0;
    for (const n of names) {
      const inputAt = inputNames.indexOf(n);
      const t = inputAt >= 0 ? feeds[inputAt] : list[k++];
      if (!t || !(t instanceof tf.Tensor)) {
        throw new InvalidArgumentError(fn, 'options.layers', 'graph nodes that produce a tensor', `node '${n}' with no output`);
      }
      out.push(t);
    }
    return out;
  };
  return { run, inputShapes, inputNames };
}
