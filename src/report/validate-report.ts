/**
 * Internal: structural checks of {@link ReportData}, each failure naming the function and the
 * path of the offending field.
 * @module
 */
import { InvalidArgumentError, ShapeMismatchError } from '../errors.js';
import type { LayerStat, ReportData } from './types.js';

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function stats(fn: string, path: string, v: unknown, n: number): void {
  if (!Array.isArray(v)) throw new InvalidArgumentError(fn, path, 'an array of { mean, std } per layer', v);
  if (v.length !== n) throw new ShapeMismatchError(fn, path, [n], [v.length], 'one entry per layer');
  v.forEach((s: unknown, i) => {
    if (!isObj(s) || typeof (s as Partial<LayerStat>).mean !== 'number' || typeof (s as Partial<LayerStat>).std !== 'number') {
      throw new InvalidArgumentError(fn, `${path}[${i}]`, '{ mean: number, std: number }', s);
    }
  });
}

function layers(fn: string, path: string, v: unknown): string[] {
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'string')) {
    throw new InvalidArgumentError(fn, path, 'a non-empty array of layer names', v);
  }
  return v as string[];
}

/** Throws on the first structural problem of `data`. */
export function validateReportData(fn: string, data: unknown): asserts data is ReportData {
  if (!isObj(data)) throw new InvalidArgumentError(fn, 'data', 'a ReportData object', data);
  const d = data as Partial<ReportData>;
  if (typeof d.title !== 'string') throw new InvalidArgumentError(fn, 'data.title', 'a string', d.title);
  if (!Number.isInteger(d.seed)) throw new InvalidArgumentError(fn, 'data.seed', 'an integer', d.seed);
  if (!isObj(d.config)) throw new InvalidArgumentError(fn, 'data.config', 'an object', d.config);
  if (!Array.isArray(d.classNames) || !d.classNames.every((x) => typeof x === 'string')) {
    throw new InvalidArgumentError(fn, 'data.classNames', 'an array of strings', d.classNames);
  }
  for (const key of ['curves', 'umap', 'grids', 'snnl'] as const) {
    if (!Array.isArray(d[key])) throw new InvalidArgumentError(fn, `data.${key}`, 'an array', d[key]);
  }
  d.curves!.forEach((cv, i) => {
    const p = `data.curves[${i}]`;
    if (!isObj(cv)) throw new InvalidArgumentError(fn, p, 'a MetricCurve', cv);
    if (typeof cv.attack !== 'string' || typeof cv.metric !== 'string') throw new InvalidArgumentError(fn, `${p}.attack/metric`, 'strings', cv);
    if (!isObj(cv.pair) || !Number.isInteger(cv.pair.original) || !Number.isInteger(cv.pair.predicted)) {
      throw new InvalidArgumentError(fn, `${p}.pair`, '{ original, predicted } class indices', cv.pair);
    }
    const ls = layers(fn, `${p}.layers`, cv.layers);
    stats(fn, `${p}.original`, cv.original, ls.length);
    stats(fn, `${p}.predicted`, cv.predicted, ls.length);
  });
  d.umap!.forEach((u, i) => {
    const p = `data.umap[${i}]`;
    if (!isObj(u)) throw new InvalidArgumentError(fn, p, 'a UmapPanel', u);
    if (!(u.x instanceof Float32Array) || !(u.y instanceof Float32Array)) throw new InvalidArgumentError(fn, `${p}.x/y`, 'Float32Arrays', u.x);
    if (!(u.kind instanceof Uint8Array)) throw new InvalidArgumentError(fn, `${p}.kind`, 'a Uint8Array (0 test, 1 adversarial, 2 rubbish)', u.kind);
    if (!(u.label instanceof Int32Array)) throw new InvalidArgumentError(fn, `${p}.label`, 'an Int32Array', u.label);
    const n = u.x.length;
    for (const [name, arr] of [
      ['y', u.y],
      ['kind', u.kind],
      ['label', u.label],
    ] as const) {
      if (arr.length !== n) throw new ShapeMismatchError(fn, `${p}.${name}`, [n], [arr.length], 'one value per point');
    }
    for (let j = 0; j < n; j++) if (u.kind[j]! > 2) throw new InvalidArgumentError(fn, `${p}.kind[${j}]`, '0, 1 or 2', u.kind[j]);
    if (u.mode !== 'union' && u.mode !== 'fit-transform') throw new InvalidArgumentError(fn, `${p}.mode`, "'union' or 'fit-transform'", u.mode);
    if (typeof u.layer !== 'string' || typeof u.attack !== 'string') throw new InvalidArgumentError(fn, `${p}.layer/attack`, 'strings', u.layer);
  });
  d.grids!.forEach((g, i) => {
    const p = `data.grids[${i}]`;
    if (!isObj(g) || !(g.images instanceof Float32Array)) throw new InvalidArgumentError(fn, `${p}.images`, 'a Float32Array', g?.images);
    if (!Array.isArray(g.shape) || g.shape.length !== 4 || !g.shape.every((x) => Number.isInteger(x) && x > 0)) {
      throw new InvalidArgumentError(fn, `${p}.shape`, '[count, height, width, channels] positive integers', g.shape);
    }
    const [count, h, w, ch] = g.shape;
    if (ch !== 1 && ch !== 3) throw new InvalidArgumentError(fn, `${p}.shape[3]`, '1 or 3 channels', ch);
    if (g.images.length !== count * h * w * ch) throw new ShapeMismatchError(fn, `${p}.images`, [count * h * w * ch], [g.images.length]);
    if (g.captions !== undefined && (!Array.isArray(g.captions) || g.captions.length !== count)) {
      throw new ShapeMismatchError(fn, `${p}.captions`, [count], [Array.isArray(g.captions) ? g.captions.length : -1], 'one caption per image');
    }
    if (typeof g.title !== 'string') throw new InvalidArgumentError(fn, `${p}.title`, 'a string', g.title);
  });
  d.snnl!.forEach((s, i) => {
    const p = `data.snnl[${i}]`;
    if (!isObj(s)) throw new InvalidArgumentError(fn, p, 'an SnnlSeries', s);
    const ls = layers(fn, `${p}.layers`, s.layers);
    stats(fn, `${p}.testVsAdversarial`, s.testVsAdversarial, ls.length);
    stats(fn, `${p}.testVsRubbish`, s.testVsRubbish, ls.length);
    if (!Array.isArray(s.chance) || s.chance.length !== ls.length) {
      throw new ShapeMismatchError(fn, `${p}.chance`, [ls.length], [Array.isArray(s.chance) ? s.chance.length : -1], 'ℓ∞ per layer');
    }
  });
}
