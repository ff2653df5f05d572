/**
 * The study's crafted inputs: C&W L0, L2 and L∞ adversarial examples of the selected test inputs
 * (untargeted), and the rubbish class. Each kind is cached in the output folder.
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { carliniWagnerL0 } from '../attacks/cw-l0.js';
import { carliniWagnerL2 } from '../attacks/cw-l2.js';
import { carliniWagnerLinf } from '../attacks/cw-linf.js';
import { generateRubbish } from '../attacks/rubbish.js';
import type { AttackWorkerPool } from '../parallel/attack-in-workers.js';
import type { AttackResult } from '../attacks/result.js';
import { AbortedError } from '../errors.js';
import type { Progress } from '../types.js';
import type { StudyAttack } from './config.js';
import { hashOf } from './stage-cache.js';
import type { StageCache } from './stage-cache.js';

/** Inputs crafted by one attack (or the rubbish recipe), flattened per example. */
export interface CraftedSet {
  attack: StudyAttack;
  /** [count, ...exampleShape] values: the returned inputs (the original where the attack failed). */
  images: Float32Array;
  /** The inputs the attack started from (test images; the noise for rubbish). */
  starts: Float32Array;
  count: number;
  success: Uint8Array;
  /** True label (adversarial) or target class (rubbish). */
  original: Int32Array;
  predicted: Int32Array;
  /** In the attack's norm, pixel units; Infinity where it failed. */
  distance: Float32Array;
  /** Test-set row each example came from (−1 for rubbish). */
  sourceIndex: Int32Array;
  seconds: number;
  seed: number;
}

interface CraftMeta {
  count: number;
  success: number[];
  original: number[];
  predicted: number[];
  distance: Array<number | null>;
  sourceIndex: number[];
  seconds: number;
  seed: number;
}

/** What one crafting run needs. */
export interface CraftRequest {
  attack: StudyAttack;
  model: tfl.LayersModel;
  /** Selected test images and their rows/labels (ignored for rubbish). */
  images: Float32Array;
  exampleShape: readonly number[];
  labels: Int32Array;
  sourceIndex: Int32Array;
  preset: 'original' | 'fast';
  /** Overrides the preset's iterations when set. */
  maxIterations: number | null;
  /** Override the rubbish recipe's iterations / binary-search steps when set. */
  rubbishMaxIterations: number | null;
  rubbishBinarySearchSteps: number | null;
  batchSize: number;
  /** The worker pool for the C&W attacks (started on first use), or null: in this thread. The rubbish recipe runs in this thread. */
  attackPool: (() => Promise<AttackWorkerPool>) | null;
  rubbishPerClass: number;
  seed: number;
  /** Everything the result depends on besides the above (model fingerprint, data set, selection). */
  cacheKey: Record<string, unknown>;
  cache: StageCache;
  signal?: AbortSignal | undefined;
  onProgress?: ((p: Progress) => void) | undefined;
}

/** Runs (or reads from the cache) one attack of the study. */
export async function craftInputs(req: CraftRequest): Promise<{ set: CraftedSet; cached: boolean }> {
  // The rubbish settings enter only the rubbish key: changing them must not redo the attacks.
  const rubbishSettings =
    req.attack === 'rubbish'
      ? { rubbishPerClass: req.rubbishPerClass, rubbishMaxIterations: req.rubbishMaxIterations, rubbishBinarySearchSteps: req.rubbishBinarySearchSteps }
      : {};
  const key = hashOf({ ...req.cacheKey, attack: req.attack, preset: req.preset, maxIterations: req.maxIterations, batchSize: req.batchSize, seed: req.seed, ...rubbishSettings });
  const hit = req.cache.get<CraftMeta>(`craft-${req.attack}`, key);
  if (hit && hit.blobs.images && hit.blobs.starts) {
    const m = hit.meta;
    return {
      cached: true,
      set: {
        attack: req.attack,
        images: hit.blobs.images,
        starts: hit.blobs.starts,
        count: m.count,
        success: Uint8Array.from(m.success),
        original: Int32Array.from(m.original),
        predicted: Int32Array.from(m.predicted),
        distance: Float32Array.from(m.distance, (d) => (d === null ? Infinity : d)),
        sourceIndex: Int32Array.from(m.sourceIndex),
        seconds: m.seconds,
        seed: m.seed,
      },
    };
  }
  const t0 = performance.now();
  const common = {
    preset: req.preset,
    batchSize: req.batchSize,
    maxIterations: req.maxIterations ?? undefined,
    signal: req.signal,
    onProgress: req.onProgress,
  };
  let result: AttackResult<unknown>;
  let starts: Float32Array;
  let original: Int32Array;
  let sourceIndex: Int32Array;
  let seed = req.seed;
  if (req.attack === 'rubbish') {
    const r = await generateRubbish(req.model, {
      ...stripUndefined(common),
      ...(req.rubbishMaxIterations !== null ? { maxIterations: req.rubbishMaxIterations } : {}),
      ...(req.rubbishBinarySearchSteps !== null ? { binarySearchSteps: req.rubbishBinarySearchSteps } : {}),
      perClass: req.rubbishPerClass,
      seed: req.seed,
      shape: req.exampleShape,
    });
    result = r;
    starts = (await r.noise.data()) as Float32Array;
    original = r.targets ? Int32Array.from(r.targets) : Int32Array.from(r.labels);
    sourceIndex = new Int32Array(original.length).fill(-1);
    seed = r.seed;
  } else {
    const x = tf.tensor(req.images, [req.labels.length, ...req.exampleShape]);
    try {
      const opts = stripUndefined(common);
      // Same results either way (each example is attacked on its own), so the cache key ignores it.
      result =
        req.attackPool
          ? await (await req.attackPool()).run(`cw-${req.attack}`, req.model, x, req.labels, opts)
          : req.attack === 'l2'
            ? await carliniWagnerL2(req.model, x, req.labels, opts)
            : req.attack === 'l0'
              ? await carliniWagnerL0(req.model, x, req.labels, opts)
              : await carliniWagnerLinf(req.model, x, req.labels, opts);
    } finally {
      x.dispose();
    }
    starts = req.images;
    original = req.labels;
    sourceIndex = req.sourceIndex;
  }
  try {
    if (result.aborted) throw new AbortedError('runStudy', req.signal?.reason);
    const images = (await result.adversarial.data()) as Float32Array;
    const set: CraftedSet = {
      attack: req.attack,
      images: Float32Array.from(images),
      starts: Float32Array.from(starts),
      count: result.success.length,
      success: result.success,
      original,
      predicted: result.predicted,
      distance: result.distance,
      sourceIndex,
      seconds: (performance.now() - t0) / 1000,
      seed,
    };
    req.cache.set<CraftMeta>(`craft-${req.attack}`, key, {
      meta: {
        count: set.count,
        success: Array.from(set.success),
        original: Array.from(set.original),
        predicted: Array.from(set.predicted),
        distance: Array.from(set.distance, (d) => (Number.isFinite(d) ? d : null)),
        sourceIndex: Array.from(set.sourceIndex),
        seconds: set.seconds,
        seed: set.seed,
      },
      blobs: { images: set.images, starts: set.starts },
    });
    return { set, cached: false };
  } finally {
    result.dispose();
  }
}

function stripUndefined<T extends Record<string, unknown>>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as { [K in keyof T]: Exclude<T[K], undefined> };
}
