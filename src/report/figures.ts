/**
 * Internal: the report's figures as standalone SVG strings (browser-safe, no DOM needed).
 * @module
 */
import { encodePng } from './png-encode.js';
import type { ImageGrid, LayerStat, MetricCurve, SnnlSeries, UmapPanel } from './types.js';
import { UMAP_POINT_KINDS } from './types.js';
import {
  base64,
  c,
  classColour,
  esc,
  fmt,
  makeFrame,
  niceTicks,
  ORIGINAL_COLOUR,
  PREDICTED_COLOUR,
  svgOpen,
  titleText,
  xAxisSpace,
  xCategories,
  yAxis,
} from './svg.js';

/** Human names of the metric ids the library produces (others are shown as given). */
export const METRIC_LABELS: Record<string, string> = {
  knnPercentileRank: 'kNN percentile rank',
  normalizedCentroidDistance: 'normalised centroid distance',
  knnClassCounts: 'kNN class count',
  convexHullProximity: 'distance to class hull',
};

export function metricName(curve: Pick<MetricCurve, 'metric' | 'metricLabel'>): string {
  return curve.metricLabel ?? METRIC_LABELS[curve.metric] ?? curve.metric;
}

function className(names: string[], i: number): string {
  return names[i] ?? String(i);
}

/** Band lower/upper: q1..q3 would hide the mean; the band is mean ± std (documented in the legend). */
function band(s: LayerStat): [number, number] {
  return [s.mean - s.std, s.mean + s.std];
}

/** A line with markers plus a translucent mean ± std band. */
function series(
  stats: LayerStat[],
  xOf: (i: number) => number,
  yOf: (v: number) => number,
  colour: string,
  dashed: boolean,
  marker: 'circle' | 'square',
): string {
  const upper = stats.map((s, i) => `${c(xOf(i))},${c(yOf(band(s)[1]))}`);
  const lower = stats.map((s, i) => `${c(xOf(i))},${c(yOf(band(s)[0]))}`).reverse();
  let out = `<polygon points="${[...upper, ...lower].join(' ')}" fill="${colour}" fill-opacity="0.16" stroke="none"/>`;
  out += `<polyline points="${stats.map((s, i) => `${c(xOf(i))},${c(yOf(s.mean))}`).join(' ')}" fill="none" stroke="${colour}" stroke-width="2.2"${dashed ? ' stroke-dasharray="7 4"' : ''}/>`;
  stats.forEach((s, i) => {
    const x = xOf(i);
    const y = yOf(s.mean);
    out +=
      marker === 'circle'
        ? `<circle cx="${c(x)}" cy="${c(y)}" r="4" fill="${colour}" stroke="#fff" stroke-width="1"/>`
        : `<rect x="${c(x - 4)}" y="${c(y - 4)}" width="8" height="8" fill="${colour}" stroke="#fff" stroke-width="1"/>`;
  });
  return out;
}

function legendRow(x: number, y: number, colour: string, dashed: boolean, marker: 'circle' | 'square', text: string): string {
  let s = `<line x1="${c(x)}" x2="${c(x + 26)}" y1="${c(y)}" y2="${c(y)}" stroke="${colour}" stroke-width="2.2"${dashed ? ' stroke-dasharray="7 4"' : ''}/>`;
  s +=
    marker === 'circle'
      ? `<circle cx="${c(x + 13)}" cy="${c(y)}" r="4" fill="${colour}"/>`
      : `<rect x="${c(x + 9)}" y="${c(y - 4)}" width="8" height="8" fill="${colour}"/>`;
  s += `<text x="${c(x + 32)}" y="${c(y)}" font-size="12" dominant-baseline="middle" fill="#222">${esc(text)}</text>`;
  return s;
}

function layerXOf(left: number, width: number, n: number): (i: number) => number {
  const pad = width / Math.max(n, 1) / 2;
  return (i: number) => (n <= 1 ? left + width / 2 : left + pad + (i * (width - 2 * pad)) / (n - 1));
}

function range(values: number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (Number.isFinite(v)) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  if (!Number.isFinite(lo)) return [0, 1];
  return [lo, hi];
}

/** Metric across layers, original vs predicted class, with mean ± std bands. */
export function metricCurveSvg(curve: MetricCurve, classNames: string[]): string {
  const W = 580;
  const left = 74;
  const top = 58;
  const width = W - left - 20;
  const height = 230;
  const H = top + height + xAxisSpace(curve.layers);
  const all = [...curve.original, ...curve.predicted].flatMap((s) => [...band(s), s.mean]);
  let [lo, hi] = range(all);
  const pad = (hi - lo) * 0.06 || 1;
  if (lo >= 0 && lo < (hi - lo) * 0.5) lo = 0;
  else lo -= pad;
  const ticks = niceTicks(lo, hi + pad, 5);
  const f = makeFrame(left, top, width, height, Math.min(ticks[0]!, lo), Math.max(ticks[ticks.length - 1]!, hi + pad));
  const xOf = layerXOf(left, width, curve.layers.length);
  const o = className(classNames, curve.pair.original);
  const p = className(classNames, curve.pair.predicted);
  const title = `${metricName(curve)}: ${curve.attack}, ${o} → ${p}`;
  let s = svgOpen(W, H, title);
  s += titleText(W / 2, 24, title);
  s += yAxis(f, ticks.filter((t) => t >= f.yMin && t <= f.yMax), metricName(curve));
  s += series(curve.original, xOf, f.y, ORIGINAL_COLOUR, false, 'circle');
  s += series(curve.predicted, xOf, f.y, PREDICTED_COLOUR, true, 'square');
  s += xCategories(f, curve.layers, xOf, 'layer');
  s += legendRow(left + 2, 44, ORIGINAL_COLOUR, false, 'circle', `original class ${o}`);
  s += legendRow(left + 180, 44, PREDICTED_COLOUR, true, 'square', `predicted class ${p}`);
  s += `<text x="${c(W - 20)}" y="44" font-size="11" text-anchor="end" dominant-baseline="middle" fill="#555">bands: mean ± std</text>`;
  return s + '</svg>';
}

/** SNNL per layer: test vs adversarial and test vs rubbish, with ℓ∞ (chance, dashed grey). */
export function snnlSvg(snnl: SnnlSeries): string {
  const W = 580;
  const left = 74;
  const top = 58;
  const width = W - left - 20;
  const height = 230;
  const H = top + height + xAxisSpace(snnl.layers);
  const vals = [...snnl.testVsAdversarial, ...snnl.testVsRubbish].flatMap((s) => band(s)).concat(snnl.chance);
  const [, hi] = range(vals);
  const ticks = niceTicks(0, hi * 1.08, 5);
  const f = makeFrame(left, top, width, height, 0, Math.max(ticks[ticks.length - 1]!, hi * 1.08));
  const xOf = layerXOf(left, width, snnl.layers.length);
  const title = `SNNL across layers: ${snnl.attack}`;
  let s = svgOpen(W, H, title);
  s += titleText(W / 2, 24, title);
  s += yAxis(f, ticks, 'soft nearest neighbour loss ℓ*');
  s += `<polyline points="${snnl.chance.map((v, i) => `${c(xOf(i))},${c(f.y(v))}`).join(' ')}" fill="none" stroke="#777" stroke-width="1.6" stroke-dasharray="3 3"/>`;
  s += series(snnl.testVsAdversarial, xOf, f.y, ORIGINAL_COLOUR, false, 'circle');
  s += series(snnl.testVsRubbish, xOf, f.y, PREDICTED_COLOUR, true, 'square');
  // error bars (mean ± std over the repetitions)
  for (const [stats, colour] of [
    [snnl.testVsAdversarial, ORIGINAL_COLOUR],
    [snnl.testVsRubbish, PREDICTED_COLOUR],
  ] as const) {
    stats.forEach((st, i) => {
      const x = c(xOf(i));
      s += `<line x1="${x}" x2="${x}" y1="${c(f.y(st.mean - st.std))}" y2="${c(f.y(st.mean + st.std))}" stroke="${colour}" stroke-width="1.4"/>`;
    });
  }
  s += xCategories(f, snnl.layers, xOf, 'layer');
  s += legendRow(left + 2, 44, ORIGINAL_COLOUR, false, 'circle', 'test vs adversarial');
  s += legendRow(left + 165, 44, PREDICTED_COLOUR, true, 'square', 'test vs rubbish');
  s += `<line x1="${c(left + 305)}" x2="${c(left + 331)}" y1="44" y2="44" stroke="#777" stroke-width="1.6" stroke-dasharray="3 3"/>`;
  s += `<text x="${c(left + 337)}" y="44" font-size="12" dominant-baseline="middle" fill="#222">chance ℓ∞ (entangled)</text>`;
  return s + '</svg>';
}

/** Marker of an adversarial point (triangle) or rubbish input (diamond), outlined in black. */
function marker(kind: number, x: number, y: number, fill: string, r: number): string {
  if (kind === 1) {
    const h = r * 1.25;
    return `<path d="M${c(x)} ${c(y - h)}L${c(x + h)} ${c(y + h * 0.8)}L${c(x - h)} ${c(y + h * 0.8)}Z" fill="${fill}" stroke="#000" stroke-width="0.9"/>`;
  }
  return `<path d="M${c(x)} ${c(y - r * 1.3)}L${c(x + r * 1.3)} ${c(y)}L${c(x)} ${c(y + r * 1.3)}L${c(x - r * 1.3)} ${c(y)}Z" fill="${fill}" stroke="#000" stroke-width="0.9"/>`;
}

/** UMAP map: test points by class (small dots), adversarial (triangles) and rubbish (diamonds) on top. */
export function umapSvg(panel: UmapPanel, classNames: string[]): string {
  const n = panel.x.length;
  const [x0, x1] = range(Array.from(panel.x));
  const [y0, y1] = range(Array.from(panel.y));
  const span = Math.max(x1 - x0, y1 - y0) || 1;
  // equal scales on both axes; the frame follows the data's aspect ratio (at least 3:5)
  const maxSide = 470;
  const inner = maxSide - 20;
  const fw = Math.max(0.6 * maxSide, ((x1 - x0) / span) * inner + 20);
  const fh = Math.max(0.6 * maxSide, ((y1 - y0) / span) * inner + 20);
  const left = 34;
  const top = 56;
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  const sx = (v: number) => left + fw / 2 + ((v - cx) / span) * inner;
  const sy = (v: number) => top + fh / 2 - ((v - cy) / span) * inner;
  const counts = [0, 0, 0];
  for (let i = 0; i < n; i++) counts[panel.kind[i]!] = (counts[panel.kind[i]!] ?? 0) + 1;
  const legendX = left + fw + 22;
  const W = legendX + 150;
  const H = Math.max(top + fh + 34, top + 365);
  const title = `UMAP of ${panel.layer} (${panel.attack})`;
  let s = svgOpen(W, H, title);
  s += titleText(W / 2, 24, title);
  s += `<text x="${c(W / 2)}" y="42" font-size="11" text-anchor="middle" fill="#555">${esc(
    `${panel.mode === 'union' ? 'fitted on the union of all points' : 'fitted on test, others transformed'} · seed ${panel.seed} · ${panel.nEpochs} epochs`,
  )}</text>`;
  s += `<rect x="${c(left)}" y="${c(top)}" width="${c(fw)}" height="${c(fh)}" fill="none" stroke="#444"/>`;
  s += `<text x="${c(left + fw / 2)}" y="${c(top + fh + 20)}" font-size="12" text-anchor="middle" fill="#444">UMAP 1</text>`;
  s += `<text transform="translate(${c(left - 12)},${c(top + fh / 2)}) rotate(-90)" font-size="12" text-anchor="middle" fill="#444">UMAP 2</text>`;
  const r = n > 5000 ? 1.6 : n > 1500 ? 2.1 : 3;
  let dots = '';
  for (let i = 0; i < n; i++) {
    if (panel.kind[i] !== 0) continue;
    dots += `<circle cx="${c(sx(panel.x[i]!))}" cy="${c(sy(panel.y[i]!))}" r="${r}" fill="${classColour(panel.label[i]!)}"/>`;
  }
  s += `<g fill-opacity="0.6">${dots}</g>`;
  for (const kind of [2, 1]) {
    for (let i = 0; i < n; i++) {
      if (panel.kind[i] !== kind) continue;
      s += marker(kind, sx(panel.x[i]!), sy(panel.y[i]!), classColour(panel.label[i]!), 3.6);
    }
  }
  // legend: classes, then point kinds
  const lx = legendX;
  let ly = top + 8;
  s += `<text x="${c(lx)}" y="${ly}" font-size="12" font-weight="bold" fill="#222">class</text>`;
  const numClasses = Math.max(classNames.length, 1);
  for (let k = 0; k < numClasses; k++) {
    ly += 19;
    s += `<circle cx="${c(lx + 6)}" cy="${ly}" r="5.5" fill="${classColour(k)}"/>`;
    s += `<text x="${c(lx + 17)}" y="${ly}" font-size="12" dominant-baseline="middle" fill="#222">${esc(className(classNames, k))}</text>`;
  }
  ly += 34;
  s += `<text x="${c(lx)}" y="${ly}" font-size="12" font-weight="bold" fill="#222">points</text>`;
  const kinds: [number, string][] = [
    [0, `test (${counts[0]})`],
    [1, `adversarial (${counts[1]})`],
    [2, `rubbish (${counts[2]})`],
  ];
  for (const [k, text] of kinds) {
    ly += 21;
    s += k === 0 ? `<circle cx="${c(lx + 6)}" cy="${ly}" r="3" fill="#666"/>` : marker(k, lx + 6, ly, '#bbbbbb', 5);
    s += `<text x="${c(lx + 17)}" y="${ly}" font-size="12" dominant-baseline="middle" fill="#222">${esc(text)}</text>`;
  }
  ly += 24;
  s += `<text x="${c(lx)}" y="${ly}" font-size="10.5" fill="#555"><tspan x="${c(lx)}">colour: true class (test),</tspan><tspan x="${c(lx)}" dy="14">predicted (adversarial),</tspan><tspan x="${c(lx)}" dy="14">target (rubbish)</tspan></text>`;
  return s + '</svg>';
}

/** One image as a PNG data URL, values mapped from `range` to 0..255. */
export function imageDataUrl(values: Float32Array, h: number, w: number, ch: number, range: [number, number]): string {
  const [lo, hi] = range;
  const scale = hi > lo ? 255 / (hi - lo) : 0;
  const px = new Uint8Array(h * w * ch);
  for (let i = 0; i < px.length; i++) {
    const v = (values[i]! - lo) * scale;
    px[i] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
  }
  const png = encodePng(px, w, h, ch === 3 ? 3 : 1);
  return `data:image/png;base64,${base64(png)}`;
}

/** Default display range of a grid. */
export function gridRange(grid: ImageGrid): [number, number] {
  if (grid.range) return grid.range;
  if (grid.kind !== 'perturbation') return [0, 1];
  let m = 0;
  for (let i = 0; i < grid.images.length; i++) m = Math.max(m, Math.abs(grid.images[i]!));
  return [-(m || 1), m || 1];
}

/** Image grid: tiles drawn pixel-exact (no smoothing), captions under each tile. */
export function imageGridSvg(grid: ImageGrid): string {
  const [count, h, w, ch] = grid.shape;
  const cols = Math.max(1, Math.min(grid.columns ?? Math.min(count, 10), count));
  const rows = Math.ceil(count / cols);
  const tile = Math.max(44, Math.min(96, Math.floor((600 - 10 * (cols + 1)) / cols)));
  const gap = 10;
  const capH = grid.captions ? 18 : 4;
  const top = 48;
  const W = Math.max(cols * (tile + gap) + gap, 420);
  const H = top + rows * (tile + capH + gap) + (grid.kind === 'perturbation' ? 18 : 4);
  const range = gridRange(grid);
  const title = grid.title;
  let s = svgOpen(W, H, title);
  s += titleText(W / 2, 22, title);
  const sub =
    grid.kind === 'perturbation'
      ? `perturbation x′ − x${grid.amplification ? ` amplified ×${grid.amplification}` : ''}; grey = 0`
      : grid.layer
        ? `layer ${grid.layer}`
        : '';
  if (sub) s += `<text x="${c(W / 2)}" y="38" font-size="11" text-anchor="middle" fill="#555">${esc(sub)}</text>`;
  const per = h * w * ch;
  const x0 = (W - (cols * (tile + gap) - gap)) / 2;
  for (let i = 0; i < count; i++) {
    const col = i % cols;
    const row = Math.floor(i / cols);
    const x = x0 + col * (tile + gap);
    const y = top + row * (tile + capH + gap);
    const url = imageDataUrl(grid.images.subarray(i * per, (i + 1) * per), h, w, ch, range);
    s += `<image x="${c(x)}" y="${c(y)}" width="${tile}" height="${tile}" preserveAspectRatio="none" style="image-rendering:pixelated" image-rendering="optimizeSpeed" href="${url}" xlink:href="${url}"/>`;
    s += `<rect x="${c(x)}" y="${c(y)}" width="${tile}" height="${tile}" fill="none" stroke="#999" stroke-width="0.8"/>`;
    const cap = grid.captions?.[i];
    if (cap) s += `<text x="${c(x + tile / 2)}" y="${c(y + tile + 13)}" font-size="12" text-anchor="middle" fill="#222">${esc(cap)}</text>`;
  }
  if (grid.kind === 'perturbation') {
    s += `<text x="${c(W / 2)}" y="${c(H - 6)}" font-size="11" text-anchor="middle" fill="#555">${esc(`black = ${fmt(range[0])}, white = +${fmt(range[1])}`)}</text>`;
  }
  return s + '</svg>';
}

export { UMAP_POINT_KINDS };
