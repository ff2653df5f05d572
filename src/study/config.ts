/**
 * The configuration of a study run: what to attack, how many inputs, which layers, which metric
 * settings, where to write. Every field has a documented default; the resolved config is written
 * into the report.
 * @module
 */
import { availableParallelism } from 'node:os';
import { InvalidArgumentError } from '../errors.js';
import { drawSeed } from '../internal/rng.js';
import { checkInteger, checkKnownOptions } from '../internal/validate.js';
import type { DatasetName } from '../data/types.js';

/** Kinds of crafted inputs a study compares. @category Study */
export type StudyAttack = 'l0' | 'l2' | 'linf' | 'rubbish';

/** Every crafted-input kind, in report order. @category Study */
export const STUDY_ATTACKS: readonly StudyAttack[] = ['l0', 'l2', 'linf', 'rubbish'];

/**
 * A study configuration. Only `out` is required (and only for writing the report).
 *
 * @example
 * ```ts
 * const config: StudyConfig = { dataset: 'mnist', model: 'mnist-cnn', attacks: ['l2', 'rubbish'], n: 50, out: 'out/mnist' };
 * ```
 * @category Study
 */
export interface StudyConfig {
  /** Data set. Default `'mnist'`. */
  dataset?: DatasetName;
  /** A shipped model name (`'mnist-cnn'`, `'mnist-mlp'`, `'cifar10-cnn'`) or a tfjs model folder. Default: the data set's CNN. */
  model?: string;
  /** Crafted-input kinds. Default all four: `['l0', 'l2', 'linf', 'rubbish']`. */
  attacks?: StudyAttack[];
  /** Correctly classified test inputs attacked per attack type. Default 100. */
  n?: number;
  /** Rubbish inputs per class. Default 10. */
  rubbishPerClass?: number;
  /** Attack preset: `'original'` (the authors' iteration counts) or `'fast'` (1,000 iterations). Default `'fast'`. */
  preset?: 'original' | 'fast';
  /** Adam steps per solve of every attack, overriding the preset's (e.g. for a quick look). Default: the preset's. */
  maxIterations?: number;
  /** Adam steps per binary-search step of the rubbish recipe only (it runs targeted C&W L2 from noise). Default: as the attacks. */
  rubbishMaxIterations?: number;
  /** Binary-search steps over c of the rubbish recipe only. Default: the preset's (9). */
  rubbishBinarySearchSteps?: number;
  /** Analysis points: `'default'` (METHODS.md §2) or layer names. Default `'default'`. */
  layers?: 'default' | string[];
  /** Training rows used as the reference manifold: a number (seeded, stratified) or `'all'`. Default `'all'`. */
  referenceSize?: number | 'all';
  /** Test rows used for calibration (KPR), UMAP and SNNL: a number (seeded, stratified) or `'all'`. Default 2,000. */
  testSize?: number | 'all';
  /** Neighbours of Methods A and B and of KPR. Default 300. */
  k?: number;
  /** Class pairs (o → p) reported per attack: the most frequent. Default 3. */
  pairs?: number;
  /** Run Method B (convex-hull proximity; the most expensive metric). Default true. */
  methodB?: boolean;
  /** Test points (and as many crafted points at most) per SNNL set. Default 500. */
  snnlSize?: number;
  /** Seeded SNNL repetitions. Default 5. */
  snnlRepeats?: number;
  /** Test points in each UMAP map (seeded, stratified; at most `testSize`). Default 2,000. */
  umapTestSize?: number;
  /** Examples per batch for attacks and probes. Default 128. */
  batchSize?: number;
  /**
   * Worker threads that craft the C&W examples in parallel (an {@link AttackWorkerPool} of
   * one-thread wasm workers; the results are the same as in this thread), or `'auto'`: one per
   * core. Default 1: in this thread, on its backend.
   */
  attackWorkers?: number | 'auto';
  /** Seed of everything random in the study. Default: drawn, and reported. */
  seed?: number;
  /** Output folder (report, JSON, cache). */
  out?: string;
}

/** A configuration with every default filled in. @category Study */
export interface ResolvedStudyConfig {
  dataset: DatasetName;
  model: string;
  attacks: StudyAttack[];
  n: number;
  rubbishPerClass: number;
  preset: 'original' | 'fast';
  maxIterations: number | null;
  rubbishMaxIterations: number | null;
  rubbishBinarySearchSteps: number | null;
  layers: 'default' | string[];
  referenceSize: number | 'all';
  testSize: number | 'all';
  k: number;
  pairs: number;
  methodB: boolean;
  snnlSize: number;
  snnlRepeats: number;
  umapTestSize: number;
  batchSize: number;
  attackWorkers: number;
  seed: number;
  out: string;
}

const KEYS = [
  'dataset', 'model', 'attacks', 'n', 'rubbishPerClass', 'preset', 'maxIterations', 'rubbishMaxIterations',
  'rubbishBinarySearchSteps', 'layers', 'referenceSize', 'testSize', 'k', 'pairs',
  'methodB', 'snnlSize', 'snnlRepeats', 'umapTestSize', 'batchSize', 'attackWorkers', 'seed', 'out',
] as const;

const DEFAULT_MODEL: Record<DatasetName, string> = { mnist: 'mnist-cnn', 'fashion-mnist': 'fashion-mnist-cnn', cifar10: 'cifar10-cnn' };

function sizeOption(fn: string, arg: string, v: unknown, dflt: number | 'all'): number | 'all' {
  if (v === undefined) return dflt;
  if (v === 'all') return 'all';
  return checkInteger(fn, arg, v, 1);
}

/**
 * Fills in the defaults of a study configuration and checks every field.
 *
 * @example
 * ```ts
 * resolveStudyConfig({ n: 20, seed: 1 }).k; // 300
 * ```
 * @category Study
 */
export function resolveStudyConfig(config: StudyConfig = {}): ResolvedStudyConfig {
  const fn = 'runStudy';
  checkKnownOptions(fn, config, KEYS);
  const dataset = config.dataset ?? 'mnist';
  if (!['mnist', 'fashion-mnist', 'cifar10'].includes(dataset)) {
    throw new InvalidArgumentError(fn, 'config.dataset', "'mnist', 'fashion-mnist' or 'cifar10'", dataset);
  }
  const attacks = config.attacks ?? [...STUDY_ATTACKS];
  if (!Array.isArray(attacks) || attacks.length === 0 || attacks.some((a) => !STUDY_ATTACKS.includes(a))) {
    throw new InvalidArgumentError(fn, 'config.attacks', `a non-empty list of ${STUDY_ATTACKS.join(', ')}`, attacks);
  }
  const preset = config.preset ?? 'fast';
  if (preset !== 'original' && preset !== 'fast') throw new InvalidArgumentError(fn, 'config.preset', "'original' or 'fast'", preset);
  const layers = config.layers ?? 'default';
  if (layers !== 'default' && !(Array.isArray(layers) && layers.length > 0 && layers.every((l) => typeof l === 'string'))) {
    throw new InvalidArgumentError(fn, 'config.layers', "'default' or a non-empty list of layer names", layers);
  }
  if (config.model !== undefined && (typeof config.model !== 'string' || config.model === '')) {
    throw new InvalidArgumentError(fn, 'config.model', 'a shipped model name or a model folder', config.model);
  }
  if (config.methodB !== undefined && typeof config.methodB !== 'boolean') {
    throw new InvalidArgumentError(fn, 'config.methodB', 'a boolean', config.methodB);
  }
  if (config.seed !== undefined) checkInteger(fn, 'config.seed', config.seed, 0, 2 ** 32 - 1);
  if (config.out !== undefined && (typeof config.out !== 'string' || config.out === '')) {
    throw new InvalidArgumentError(fn, 'config.out', 'a folder path', config.out);
  }
  const resolved: ResolvedStudyConfig = {
    dataset,
    model: config.model ?? DEFAULT_MODEL[dataset],
    attacks: STUDY_ATTACKS.filter((a) => attacks.includes(a)),
    n: checkInteger(fn, 'config.n', config.n ?? 100, 1, 10_000),
    rubbishPerClass: checkInteger(fn, 'config.rubbishPerClass', config.rubbishPerClass ?? 10, 1, 1_000),
    preset,
    maxIterations: config.maxIterations === undefined ? null : checkInteger(fn, 'config.maxIterations', config.maxIterations, 1),
    rubbishMaxIterations: config.rubbishMaxIterations === undefined ? null : checkInteger(fn, 'config.rubbishMaxIterations', config.rubbishMaxIterations, 1),
    rubbishBinarySearchSteps:
      config.rubbishBinarySearchSteps === undefined ? null : checkInteger(fn, 'config.rubbishBinarySearchSteps', config.rubbishBinarySearchSteps, 1, 100),
    layers,
    referenceSize: sizeOption(fn, 'config.referenceSize', config.referenceSize, 'all'),
    testSize: sizeOption(fn, 'config.testSize', config.testSize, 2000),
    k: checkInteger(fn, 'config.k', config.k ?? 300, 1),
    pairs: checkInteger(fn, 'config.pairs', config.pairs ?? 3, 1, 90),
    methodB: config.methodB ?? true,
    snnlSize: checkInteger(fn, 'config.snnlSize', config.snnlSize ?? 500, 2),
    snnlRepeats: checkInteger(fn, 'config.snnlRepeats', config.snnlRepeats ?? 5, 1, 100),
    umapTestSize: checkInteger(fn, 'config.umapTestSize', config.umapTestSize ?? 2000, 16),
    batchSize: checkInteger(fn, 'config.batchSize', config.batchSize ?? 128, 1, 4096),
    attackWorkers: config.attackWorkers === 'auto' ? availableParallelism() : checkInteger(fn, 'config.attackWorkers', config.attackWorkers ?? 1, 1, 256),
    seed: config.seed ?? drawSeed(),
    out: config.out ?? 'ae-manifold-study',
  };
  return resolved;
}
