/**
 * The study end to end: load model and data, select correctly classified test inputs, craft the
 * adversarial examples and the rubbish class, probe every analysis point, compute every metric,
 * the UMAP maps and the SNNL, and write the report. Finished stages are cached in the output
 * folder, so an interrupted or repeated run redoes only what changed.
 * @module
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadDataset } from '../data/load-dataset.js';
import { NORMALIZATION } from '../data/normalization.js';
import { InvalidArgumentError } from '../errors.js';
import { createRng } from '../internal/rng.js';
import { throwIfAborted } from '../internal/validate.js';
import { groupPairs } from '../metrics/pairs.js';
import { listLayers } from '../probes/list-layers.js';
import { writeReport } from '../report/write-report.js';
import type { WrittenReport } from '../report/write-report.js';
import type { ReportData } from '../report/types.js';
import type { RunOptions } from '../types.js';
import { analyseLayer, probeOne } from './analyse-layer.js';
import type { LayerAnalysis } from './analyse-layer.js';
import { buildReportData, summarizeAttacks } from './build-report.js';
import type { AttackSummary } from './build-report.js';
import { resolveStudyConfig } from './config.js';
import type { ResolvedStudyConfig, StudyAttack, StudyConfig } from './config.js';
import { craftInputs } from './craft.js';
import { AttackWorkerPool } from '../parallel/attack-in-workers.js';
import type { CraftedSet } from './craft.js';
import { StudyProgress } from './progress.js';
import { StageCache, hashOf, writeFileAtomic } from './stage-cache.js';
import { loadStudyModel, predictClasses } from './study-model.js';

/** Options of {@link runStudy}. @category Study */
export interface StudyRunOptions extends RunOptions {
  /** Write the report (HTML, SVG, JSON) into `config.out`. Default true. */
  writeReport?: boolean;
  /** Also write PNGs of the figures. Default false. */
  png?: boolean;
}

/** What {@link runStudy} returns. @category Study */
export interface StudyResult {
  /** The configuration used, defaults filled in (seed included). */
  config: ResolvedStudyConfig;
  /** The data of the report (also in report.json). */
  report: ReportData;
  /** Success rate, distances and most frequent pairs per crafted kind. */
  attacks: AttackSummary[];
  /** Every metric at every analysis point. */
  layers: LayerAnalysis[];
  /** Files written (when `writeReport` is on). */
  written?: WrittenReport;
  /** Wall time per stage, seconds. */
  timings: Record<string, number>;
  /** Stages read back from the cache instead of recomputed. */
  cached: string[];
}

interface LayerCacheMeta {
  layer: string;
  hidden: boolean;
  width: number;
  seconds: number;
  metrics: LayerAnalysis['metrics'];
  snnl: LayerAnalysis['snnl'];
  umap: Array<{ attack: StudyAttack; layer: string; seed: number; nEpochs: number; kind: number[]; label: number[]; seconds: number }>;
}

function layerToCache(a: LayerAnalysis): { meta: LayerCacheMeta; blobs: Record<string, Float32Array> } {
  const blobs: Record<string, Float32Array> = {};
  a.umap.forEach((u, i) => {
    blobs[`umap${i}x`] = u.x;
    blobs[`umap${i}y`] = u.y;
  });
  return {
    meta: {
      layer: a.layer,
      hidden: a.hidden,
      width: a.width,
      seconds: a.seconds,
      metrics: a.metrics,
      snnl: a.snnl,
      umap: a.umap.map((u) => ({ attack: u.attack, layer: u.layer, seed: u.seed, nEpochs: u.nEpochs, kind: Array.from(u.kind), label: Array.from(u.label), seconds: u.seconds })),
    },
    blobs,
  };
}

function layerFromCache(meta: LayerCacheMeta, blobs: Record<string, Float32Array>): LayerAnalysis {
  return {
    layer: meta.layer,
    hidden: meta.hidden,
    width: meta.width,
    seconds: meta.seconds,
    metrics: meta.metrics,
    snnl: meta.snnl,
    umap: meta.umap.map((u, i) => ({ ...u, kind: Uint8Array.from(u.kind), label: Int32Array.from(u.label), x: blobs[`umap${i}x`]!, y: blobs[`umap${i}y`]! })),
  };
}

/**
 * Runs the study of Pócoš, Bečková & Farkaš (ICANN 2022) on one model and data set and writes its
 * report. Progress goes to `onProgress` (with `detail.etaSec`); `signal` stops it cleanly, keeping
 * every finished stage in `<out>/.cache` for the next run.
 *
 * @example
 * ```ts
 * import { runStudy, useWasmBackend } from 'ae-manifold/node';
 * await useWasmBackend();
 * const r = await runStudy({ dataset: 'mnist', model: 'mnist-cnn', n: 20, referenceSize: 10000, out: 'out/demo' });
 * const successRates = r.attacks.map((a) => a.successRate); // the report is in r.written?.folder
 * ```
 * @category Study
 */
export async function runStudy(config: StudyConfig, options: StudyRunOptions = {}): Promise<StudyResult> {
  const cfg = resolveStudyConfig(config);
  const { signal } = options;
  throwIfAborted('runStudy', signal);
  const timings: Record<string, number> = {};
  const cachedStages: string[] = [];
  const stages = [
    { name: 'load', weight: 2 },
    ...cfg.attacks.map((a) => ({ name: `craft-${a}`, weight: cfg.preset === 'original' ? 25 : 8 })),
    { name: 'reference-inputs', weight: 1 },
    { name: 'layers', weight: 30 },
    { name: 'report', weight: 1 },
  ];
  const progress = new StudyProgress(stages, options.onProgress);
  const timed = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      timings[name] = (performance.now() - t0) / 1000;
      progress.finish(name);
    }
  };

  mkdirSync(cfg.out, { recursive: true });
  const cache = new StageCache(cfg.out);

  // 1. Model and data.
  const { sm, train, test } = await timed('load', async () => {
    const sm = await loadStudyModel(cfg.model);
    const train = await loadDataset(cfg.dataset, {
      split: 'train',
      ...(cfg.referenceSize === 'all' ? {} : { subset: { count: cfg.referenceSize, mode: 'stratified' as const, seed: cfg.seed } }),
      ...(signal ? { signal } : {}),
    });
    const test = await loadDataset(cfg.dataset, { split: 'test', ...(signal ? { signal } : {}) });
    return { sm, train, test };
  });
  try {
    const exampleShape = test.shape.slice(1);
    const per = exampleShape.reduce((a, b) => a * b, 1);
    const modelInputShape = (sm.model.inputs[0]?.shape ?? []).slice(1);
    if (modelInputShape.some((d, i) => d !== null && d !== exampleShape[i])) {
      throw new InvalidArgumentError('runStudy', 'config.model', `a model taking [${exampleShape.join(', ')}] inputs (${cfg.dataset})`, `[${modelInputShape.join(', ')}]`);
    }

    // 2. Correctly classified test inputs: n attacked, a disjoint sample for calibration / UMAP / SNNL.
    const testPred = await predictClasses(sm.model, test.images, test.shape, 512);
    const correct: number[] = [];
    for (let i = 0; i < test.labels.length; i++) if (testPred[i] === test.labels[i]) correct.push(i);
    const testAccuracy = correct.length / test.labels.length;
    const order = createRng(cfg.seed).shuffle(correct.slice());
    const selected = Int32Array.from(order.slice(0, cfg.n)).sort();
    const rest = order.slice(cfg.n);
    const sampleRows = Int32Array.from(cfg.testSize === 'all' ? rest : rest.slice(0, cfg.testSize)).sort();
    const umapRows = Int32Array.from({ length: Math.min(cfg.umapTestSize, sampleRows.length) }, (_, i) => i);
    const gather = (rows: Int32Array) => {
      const out = new Float32Array(rows.length * per);
      rows.forEach((r, i) => out.set(test.images.subarray(r * per, (r + 1) * per), i * per));
      return out;
    };
    const selectedImages = gather(selected);
    const selectedLabels = Int32Array.from(selected, (r) => test.labels[r]!);
    const sample = { images: gather(sampleRows), labels: Int32Array.from(sampleRows, (r) => test.labels[r]!), count: sampleRows.length };
    const baseKey = { v: 1, dataset: cfg.dataset, model: sm.fingerprint, selected: hashOf(Array.from(selected)) };

    // 3. Crafted inputs.
    const crafted: CraftedSet[] = [];
    // One worker pool for every C&W attack, started when the first one is not in the cache.
    let pool: Promise<AttackWorkerPool> | undefined;
    const attackPool = cfg.attackWorkers > 1 ? () => (pool ??= AttackWorkerPool.create({ workers: cfg.attackWorkers })) : null;
    try {
      for (const attack of cfg.attacks) {
        throwIfAborted('runStudy', signal);
        const name = `craft-${attack}`;
        const { set, cached } = await timed(name, () =>
          craftInputs({
            attack,
            model: sm.model,
            images: selectedImages,
            exampleShape,
            labels: selectedLabels,
            sourceIndex: selected,
            preset: cfg.preset,
            maxIterations: cfg.maxIterations,
            rubbishMaxIterations: cfg.rubbishMaxIterations,
            rubbishBinarySearchSteps: cfg.rubbishBinarySearchSteps,
            batchSize: cfg.batchSize,
            attackPool,
            rubbishPerClass: cfg.rubbishPerClass,
            seed: cfg.seed,
            cacheKey: baseKey,
            cache,
            signal,
            onProgress: (p) => progress.report(name, p.step / Math.max(1, p.total)),
          }),
        );
        if (cached) cachedStages.push(name);
        crafted.push(set);
      }
    } finally {
      if (pool) await (await pool.catch(() => undefined))?.close();
    }

    const pairs = new Map<StudyAttack, Array<{ original: number; predicted: number; count: number }>>();
    for (const c of crafted) {
      if (c.attack === 'rubbish') continue;
      const ok = Array.from({ length: c.count }, (_, i) => i).filter((i) => c.success[i]);
      const groups = groupPairs(Int32Array.from(ok, (i) => c.original[i]!), Int32Array.from(ok, (i) => c.predicted[i]!));
      pairs.set(c.attack, groups.slice(0, cfg.pairs).map((g) => ({ original: g.original, predicted: g.predicted, count: g.rows.length })));
    }

    // 4. Analysis points.
    const catalog = listLayers(sm.model);
    const defaults = catalog.filter((l) => l.isDefault).map((l) => l.name);
    let layerNames: string[];
    if (cfg.layers === 'default') layerNames = defaults;
    else {
      const known = new Set(catalog.map((l) => l.name));
      const unknown = cfg.layers.filter((l) => !known.has(l));
      if (unknown.length) throw new InvalidArgumentError('runStudy', 'config.layers', `layer names of the model (${catalog.map((l) => l.name).join(', ')})`, unknown.join(', '));
      layerNames = catalog.filter((l) => (cfg.layers as string[]).includes(l.name)).map((l) => l.name);
    }
    const inputLayer = defaults[0]!;
    const logitsLayer = defaults[defaults.length - 1]!;
    const referenceInputs = await timed('reference-inputs', () =>
      cfg.methodB ? probeOne(sm.model, inputLayer, train.images, train.labels.length, exampleShape, 512, signal) : Promise.resolve({ data: new Float32Array(0), rows: 0, cols: 0 }),
    );

    const layerKey = {
      ...baseKey,
      crafted: crafted.map((c) => hashOf({ a: c.attack, s: Array.from(c.success), p: Array.from(c.predicted) })),
      reference: cfg.referenceSize,
      testSize: cfg.testSize,
      k: cfg.k,
      pairs: cfg.pairs,
      methodB: cfg.methodB,
      snnl: [cfg.snnlSize, cfg.snnlRepeats],
      umapTestSize: cfg.umapTestSize,
      seed: cfg.seed,
    };
    const layers: LayerAnalysis[] = [];
    const tLayers = performance.now();
    for (const [li, layer] of layerNames.entries()) {
      throwIfAborted('runStudy', signal);
      const key = hashOf({ ...layerKey, layer });
      const hit = cache.get<LayerCacheMeta>(`layer-${layer}`, key);
      if (hit) {
        layers.push(layerFromCache(hit.meta, hit.blobs));
        cachedStages.push(`layer-${layer}`);
        progress.report('layers', (li + 1) / layerNames.length);
        continue;
      }
      const analysis = await analyseLayer({
        model: sm.model,
        layer,
        inputLayer,
        hidden: layer !== inputLayer && layer !== logitsLayer,
        exampleShape,
        reference: { images: train.images, labels: train.labels, count: train.labels.length },
        referenceInputs,
        test: sample,
        umapRows,
        crafted,
        pairs,
        k: cfg.k,
        methodB: cfg.methodB,
        snnlSize: cfg.snnlSize,
        snnlRepeats: cfg.snnlRepeats,
        batchSize: 512,
        seed: cfg.seed,
        signal,
        onProgress: (f) => progress.report('layers', (li + f) / layerNames.length, { layer: li }),
      });
      const entry = layerToCache(analysis);
      cache.set(`layer-${layer}`, key, entry);
      layers.push(analysis);
    }
    timings.layers = (performance.now() - tLayers) / 1000;
    progress.finish('layers');

    // 5. Report.
    const attacks = summarizeAttacks(crafted, pairs);
    const modelInfo = { name: cfg.model, fingerprint: sm.fingerprint, testAccuracy, metadata: sm.metadata };
    const report = buildReportData({
      config: cfg,
      classNames: test.classNames,
      normalization: NORMALIZATION[cfg.dataset],
      exampleShape,
      crafted,
      layers,
      pairs,
      attackSummaries: attacks,
      modelInfo,
      timings,
    });
    let written: WrittenReport | undefined;
    if (options.writeReport !== false) {
      written = await timed('report', async () => {
        const w = await writeReport(report, cfg.out, { png: options.png ?? false, ...(signal ? { signal } : {}) });
        writeFileAtomic(
          join(cfg.out, 'results.json'),
          JSON.stringify({ config: cfg, model: modelInfo, attacks, timings, cached: cachedStages, layers: layers.map(({ umap, ...rest }) => ({ ...rest, umap: umap.map((u) => ({ attack: u.attack, seed: u.seed, nEpochs: u.nEpochs, seconds: u.seconds })) })) }, null, 1),
        );
        return w;
      });
    }
    return { config: cfg, report, attacks, layers, ...(written ? { written } : {}), timings, cached: cachedStages };
  } finally {
    sm.model.dispose();
  }
}
