/**
 * Turns the study's per-layer results into the plain {@link ReportData} the report renders.
 * @module
 */
import type { ImageGrid, LayerStat, MetricCurve, ReportData, SnnlSeries, UmapPanel } from '../report/types.js';
import type { Normalization } from '../data/normalization.js';
import type { Summary } from '../types.js';
import { summarize } from '../internal/stats.js';
import type { ResolvedStudyConfig, StudyAttack } from './config.js';
import type { CraftedSet } from './craft.js';
import type { LayerAnalysis, PairStats } from './analyse-layer.js';

/** Display names of the crafted-input kinds. */
export const ATTACK_LABEL: Record<StudyAttack, string> = { l0: 'C&W-L0', l2: 'C&W-L2', linf: 'C&W-L∞', rubbish: 'rubbish' };

const METRICS: Array<{ id: 'knnClassCounts' | 'knnPercentileRank' | 'normalizedCentroidDistance' | 'convexHullProximity'; label: string }> = [
  { id: 'knnClassCounts', label: 'Method A: neighbours of the class' },
  { id: 'convexHullProximity', label: 'Method B: distance to class hull' },
  { id: 'knnPercentileRank', label: 'k-NN percentile rank' },
  { id: 'normalizedCentroidDistance', label: 'normalised centroid distance' },
];

function stat(s: Summary | undefined): LayerStat {
  if (!s) return { mean: NaN, std: NaN, count: 0 };
  return { mean: s.mean, std: s.std, q1: s.q1, median: s.median, q3: s.q3, count: s.count };
}

function findPair(list: PairStats[] | undefined, o: number, p: number): PairStats | undefined {
  return list?.find((x) => x.original === o && x.predicted === p);
}

/** Summary of one crafted kind, for the report's notes and the JSON. */
export interface AttackSummary {
  attack: StudyAttack;
  attempted: number;
  succeeded: number;
  successRate: number;
  distance: Summary;
  seconds: number;
  topPairs: Array<{ original: number; predicted: number; count: number }>;
}

/** Success rate, distances and frequent pairs of each crafted set. */
export function summarizeAttacks(crafted: CraftedSet[], pairs: Map<StudyAttack, Array<{ original: number; predicted: number; count: number }>>): AttackSummary[] {
  return crafted.map((c) => {
    const ok = c.success.reduce((a, b) => a + b, 0);
    return {
      attack: c.attack,
      attempted: c.count,
      succeeded: ok,
      successRate: c.count ? ok / c.count : 0,
      distance: summarize(c.distance),
      seconds: c.seconds,
      topPairs: pairs.get(c.attack) ?? [],
    };
  });
}

function denormalize(values: ArrayLike<number>, norm: Normalization, channels: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const ch = i % channels;
    out[i] = Math.min(1, Math.max(0, values[i]! * norm.std[ch]! + norm.mean[ch]!));
  }
  return out;
}

/** Everything {@link buildReportData} needs. */
export interface ReportInputs {
  config: ResolvedStudyConfig;
  classNames: readonly string[];
  normalization: Normalization;
  exampleShape: readonly number[];
  crafted: CraftedSet[];
  layers: LayerAnalysis[];
  pairs: Map<StudyAttack, Array<{ original: number; predicted: number; count: number }>>;
  attackSummaries: AttackSummary[];
  modelInfo: Record<string, unknown>;
  timings: Record<string, number>;
}

/** Builds the report's data: curves, UMAP panels, image grids, SNNL series and notes. */
export function buildReportData(inp: ReportInputs): ReportData {
  const { config, layers } = inp;
  const layerNames = layers.map((l) => l.layer);
  const hiddenNames = layers.filter((l) => l.hidden).map((l) => l.layer);
  const [H, W, C] = [inp.exampleShape[0]!, inp.exampleShape[1]!, inp.exampleShape[2]!];
  const per = H * W * C;
  const curves: MetricCurve[] = [];
  for (const attack of config.attacks.filter((a) => a !== 'rubbish')) {
    for (const pair of inp.pairs.get(attack) ?? []) {
      for (const m of METRICS) {
        const perLayer = layers.map((l) => findPair(l.metrics.find((x) => x.attack === attack)?.[m.id], pair.original, pair.predicted));
        if (perLayer.every((p) => !p)) continue;
        curves.push({
          attack: ATTACK_LABEL[attack],
          pair: { original: pair.original, predicted: pair.predicted },
          metric: m.id,
          metricLabel: m.label,
          layers: layerNames,
          original: perLayer.map((p) => stat(p?.summaries.original)),
          predicted: perLayer.map((p) => stat(p?.summaries.predicted)),
        });
      }
    }
  }
  const umap: UmapPanel[] = layers.flatMap((l) =>
    l.umap.map((u) => ({ attack: ATTACK_LABEL[u.attack], layer: l.layer, mode: 'union' as const, seed: u.seed, nEpochs: u.nEpochs, x: u.x, y: u.y, kind: u.kind, label: u.label })),
  );
  // SNNL is computed at hidden points only: a study of, say, just the logits has no SNNL panel.
  const snnl: SnnlSeries[] = config.attacks
    .filter((a) => a !== 'rubbish' && hiddenNames.length > 0)
    .map((attack) => {
      const rows = layers.filter((l) => l.hidden);
      const toStat = (a: StudyAttack, l: LayerAnalysis): LayerStat => {
        const s = l.snnl.find((x) => x.attack === a);
        if (!s) return { mean: NaN, std: NaN, count: 0 };
        const sum = summarize(s.values);
        return { mean: sum.mean, std: sum.std, count: s.values.length };
      };
      return {
        attack: ATTACK_LABEL[attack],
        layers: hiddenNames,
        testVsAdversarial: rows.map((l) => toStat(attack, l)),
        testVsRubbish: rows.map((l) => toStat('rubbish', l)),
        chance: rows.map((l) => l.snnl.find((x) => x.attack === attack)?.chance ?? Math.LN2),
      };
    });
  const grids: ImageGrid[] = [];
  const show = 10;
  const firstAdv = inp.crafted.find((c) => c.attack !== 'rubbish');
  if (firstAdv) {
    const n = Math.min(show, firstAdv.count);
    grids.push({
      title: 'Original test inputs',
      kind: 'original',
      shape: [n, H, W, C],
      images: firstAdv.starts.slice(0, n * per),
      captions: Array.from({ length: n }, (_, i) => inp.classNames[firstAdv.original[i]!] ?? String(firstAdv.original[i])),
    });
  }
  for (const c of inp.crafted) {
    const rows = [];
    for (let i = 0; i < c.count && rows.length < show; i++) if (c.success[i]) rows.push(i);
    if (rows.length === 0) continue;
    const imgs = new Float32Array(rows.length * per);
    rows.forEach((r, i) => imgs.set(c.images.subarray(r * per, (r + 1) * per), i * per));
    const caption = (r: number) =>
      c.attack === 'rubbish' ? `→ ${inp.classNames[c.predicted[r]!]}` : `${inp.classNames[c.original[r]!]}→${inp.classNames[c.predicted[r]!]}`;
    grids.push({ title: `${ATTACK_LABEL[c.attack]}: ${c.attack === 'rubbish' ? 'rubbish inputs' : 'adversarial examples'}`, kind: c.attack === 'rubbish' ? 'rubbish' : 'adversarial', attack: ATTACK_LABEL[c.attack], shape: [rows.length, H, W, C], images: imgs, captions: rows.map(caption) });
    if (c.attack !== 'rubbish') {
      const diff = new Float32Array(rows.length * per);
      let maxAbs = 1e-12;
      rows.forEach((r, i) => {
        for (let j = 0; j < per; j++) {
          const d = c.images[r * per + j]! - c.starts[r * per + j]!;
          diff[i * per + j] = d;
          maxAbs = Math.max(maxAbs, Math.abs(d));
        }
      });
      const amp = Math.max(1, Math.floor(0.5 / maxAbs));
      for (let j = 0; j < diff.length; j++) diff[j] = diff[j]! * amp;
      grids.push({ title: `${ATTACK_LABEL[c.attack]}: perturbations ×${amp}`, kind: 'perturbation', attack: ATTACK_LABEL[c.attack], shape: [rows.length, H, W, C], images: diff, amplification: amp, range: [-0.5, 0.5], captions: rows.map((r) => `‖δ‖=${c.distance[r]!.toPrecision(3)}`) });
    }
  }
  for (const attack of config.attacks.filter((a) => a !== 'rubbish')) {
    const top = inp.pairs.get(attack)?.[0];
    if (!top) continue;
    const imgs: Float32Array[] = [];
    const caps: string[] = [];
    for (const l of layers) {
      const pre = l.metrics.find((m) => m.attack === attack)?.preImages?.find((p) => p.original === top.original && p.predicted === top.predicted);
      if (!pre || pre.image.length !== per) continue;
      imgs.push(denormalize(pre.image, inp.normalization, C));
      caps.push(l.layer);
    }
    if (imgs.length === 0) continue;
    const all = new Float32Array(imgs.length * per);
    imgs.forEach((im, i) => all.set(im, i * per));
    grids.push({
      title: `${ATTACK_LABEL[attack]}: Method B pre-images per layer, pair ${inp.classNames[top.original]}→${inp.classNames[top.predicted]}`,
      kind: 'pre-image',
      attack: ATTACK_LABEL[attack],
      shape: [imgs.length, H, W, C],
      images: all,
      captions: caps,
      columns: Math.min(imgs.length, 10),
    });
  }
  const notes = inp.attackSummaries.map(
    (s) =>
      `${ATTACK_LABEL[s.attack]}: ${s.succeeded}/${s.attempted} succeeded (${(100 * s.successRate).toFixed(1)} %), ` +
      `${s.attack === 'rubbish' ? 'L2 from noise' : 'distance'} mean ${s.distance.mean.toPrecision(3)} (median ${s.distance.median.toPrecision(3)}), ` +
      `${s.seconds.toFixed(1)} s` +
      (s.topPairs.length ? `; most frequent pairs ${s.topPairs.map((p) => `${inp.classNames[p.original]}→${inp.classNames[p.predicted]} (${p.count})`).join(', ')}` : ''),
  );
  return {
    title: `Adversarial examples and class manifolds: ${config.dataset}, ${config.model}`,
    subtitle: `${config.n} test inputs per attack, ${config.rubbishPerClass} rubbish inputs per class, k = ${config.k}, seed ${config.seed}`,
    config: {
      ...config,
      layers: config.layers === 'default' ? 'default (METHODS.md §2)' : config.layers.join(', '),
      attacks: config.attacks.join(', '),
      model: `${config.model} (test accuracy ${(100 * Number(inp.modelInfo.testAccuracy)).toFixed(2)} %, weights ${String(inp.modelInfo.fingerprint)})`,
      'time per stage': Object.entries(inp.timings).map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(', '),
    },
    seed: config.seed,
    classNames: [...inp.classNames],
    curves,
    umap,
    grids,
    snnl,
    notes,
  };
}
