/**
 * `renderReport`: SVG figures, one self-contained HTML page with every figure and the numbers in
 * tables, and the JSON of every value. Browser-safe: strings only, no DOM, no Node built-ins.
 * @module
 */
import { VERSION } from '../version.js';
import { imageGridSvg, metricCurveSvg, metricName, snnlSvg, umapSvg } from './figures.js';
import { reportToJson } from './report-json.js';
import { esc, fmt } from './svg.js';
import type { LayerStat, MetricCurve, ReportData } from './types.js';
import { validateReportData } from './validate-report.js';

/**
 * One figure of a rendered report.
 * @category Report
 */
export interface ReportFigure {
  /** Stable id, also the HTML element id and the SVG file stem. */
  id: string;
  /** File name of the SVG (`<id>.svg`). */
  file: string;
  section: 'curves' | 'umap' | 'images' | 'snnl';
  title: string;
}

/**
 * Result of {@link renderReport}.
 * @category Report
 */
export interface RenderedReport {
  /** The self-contained page (figures inline, no external resources). */
  html: string;
  /** Every figure as a standalone SVG document, by file name. */
  svgs: Record<string, string>;
  /** Every value of the data (see `reportFromJson`). */
  json: string;
  /** The figures in page order. */
  figures: ReportFigure[];
}

function slug(s: string): string {
  return s.toLowerCase().replace(/∞/g, 'inf').replace(/&/g, '').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'x';
}

function uniqueId(base: string, used: Set<string>): string {
  let id = base;
  for (let i = 2; used.has(id); i++) id = `${base}-${i}`;
  used.add(id);
  return id;
}

function statCell(s: LayerStat): string {
  return `${fmt(s.mean)} ± ${fmt(s.std)}`;
}

function quartCell(s: LayerStat): string {
  return s.median !== undefined && s.q1 !== undefined && s.q3 !== undefined ? `${fmt(s.median)} [${fmt(s.q1)}, ${fmt(s.q3)}]` : '–';
}

function curveTable(cv: MetricCurve, names: string[]): string {
  const o = esc(names[cv.pair.original] ?? String(cv.pair.original));
  const p = esc(names[cv.pair.predicted] ?? String(cv.pair.predicted));
  let t = `<table><caption>${esc(metricName(cv))}: ${esc(cv.attack)}, ${o} → ${p}</caption><thead><tr><th>layer</th><th>orig. ${o}: mean ± std</th><th>median [q1, q3]</th><th>pred. ${p}: mean ± std</th><th>median [q1, q3]</th><th>n</th></tr></thead><tbody>`;
  cv.layers.forEach((layer, i) => {
    const a = cv.original[i]!;
    const b = cv.predicted[i]!;
    t += `<tr><td>${esc(layer)}</td><td>${statCell(a)}</td><td>${quartCell(a)}</td><td>${statCell(b)}</td><td>${quartCell(b)}</td><td>${a.count ?? b.count ?? '–'}</td></tr>`;
  });
  return t + '</tbody></table>';
}

function configTable(data: ReportData): string {
  const rows = Object.entries({ ...data.config, seed: data.seed, 'ae-manifold': VERSION });
  let t = '<table class="config"><caption>Settings</caption><tbody>';
  for (const [k, v] of rows) t += `<tr><th>${esc(k)}</th><td>${esc(typeof v === 'string' ? v : JSON.stringify(v) ?? String(v))}</td></tr>`;
  return t + '</tbody></table>';
}

const CSS = `
body{font-family:"DejaVu Sans",Helvetica,Arial,sans-serif;margin:24px auto;max-width:1400px;padding:0 12px;color:#1a1a1a;background:#fafafa;line-height:1.4}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:34px 0 10px;border-bottom:2px solid #ddd;padding-bottom:4px}h3{font-size:16px;margin:22px 0 8px}
p.sub{color:#444;margin:0 0 10px}ul.notes{color:#333}
.grid{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
.tables{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start;margin-top:6px}
figure{margin:0;background:#fff;border:1px solid #ddd;border-radius:4px;padding:8px}
figure svg{display:block;max-width:100%;height:auto}
figcaption{font-size:12px;color:#444;margin-top:4px;max-width:640px}
table{border-collapse:collapse;font-size:12px;margin:8px 0 4px;background:#fff}
caption{text-align:left;font-weight:bold;padding:2px 0 4px;font-size:13px}
th,td{border:1px solid #ccc;padding:2px 6px;text-align:right}th{background:#f0f0f0}td:first-child,th:first-child{text-align:left}
table.config td{text-align:left;font-family:monospace}
.pair{margin-bottom:10px}
`;

/**
 * Renders a study report: one SVG per figure (metric curves per attack, class pair and metric; a
 * UMAP map per panel; image grids; SNNL per attack), one self-contained HTML page holding all of
 * them with the numbers in tables, and the JSON of every value. Pure string work, browser-safe;
 * write it to disk with `writeReport` from `ae-manifold/node`.
 *
 * @example
 * ```ts
 * import { renderReport } from 'ae-manifold';
 * const { html, svgs, json, figures } = renderReport({
 *   title: 'MNIST MLP', seed: 1, config: { attacks: ['cw-l2'] }, classNames: ['0','1','2','3','4','5','6','7','8','9'],
 *   curves: [{ attack: 'cw-l2', pair: { original: 4, predicted: 9 }, metric: 'normalizedCentroidDistance',
 *     layers: ['input', 'relu1'], original: [{ mean: 1, std: 0.1 }, { mean: 1.2, std: 0.2 }],
 *     predicted: [{ mean: 1.5, std: 0.1 }, { mean: 1.3, std: 0.2 }] }],
 *   umap: [], grids: [], snnl: [],
 * });
 * // figures[0].file === 'curve-cw-l2-4-9-normalizedcentroiddistance.svg'
 * ```
 * @category Report
 */
export function renderReport(data: ReportData): RenderedReport {
  const FN = 'renderReport';
  validateReportData(FN, data);
  const names = data.classNames;
  const used = new Set<string>();
  const figures: ReportFigure[] = [];
  const svgs: Record<string, string> = {};
  const add = (base: string, section: ReportFigure['section'], title: string, svg: string): ReportFigure => {
    const id = uniqueId(slug(base), used);
    const fig = { id, file: `${id}.svg`, section, title };
    figures.push(fig);
    svgs[fig.file] = svg;
    return fig;
  };
  const figureHtml = (fig: ReportFigure, caption: string) =>
    `<figure id="${fig.id}" data-figure="${fig.section}">${svgs[fig.file]!.replace(/^<svg /, '<svg class="figure" ')}<figcaption>${caption}</figcaption></figure>`;

  let body = `<h1>${esc(data.title)}</h1>`;
  if (data.subtitle) body += `<p class="sub">${esc(data.subtitle)}</p>`;
  if (data.notes?.length) body += `<ul class="notes">${data.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>`;
  body += configTable(data);

  // 1. metric curves, grouped by attack and class pair
  if (data.curves.length) {
    body += '<h2 id="curves">Distances to the class manifolds across layers</h2>';
    body += '<p class="sub">Per attack type and class pair (original o → predicted p): each metric at every analysis point, for the original class manifold (blue, solid) and the predicted class manifold (vermillion, dashed). Bands show mean ± std over the adversarial examples.</p>';
    const groups = new Map<string, MetricCurve[]>();
    for (const cv of data.curves) {
      const key = `${cv.attack}\u0000${cv.pair.original}\u0000${cv.pair.predicted}`;
      const list = groups.get(key) ?? [];
      list.push(cv);
      groups.set(key, list);
    }
    for (const list of groups.values()) {
      const cv0 = list[0]!;
      const o = names[cv0.pair.original] ?? String(cv0.pair.original);
      const p = names[cv0.pair.predicted] ?? String(cv0.pair.predicted);
      body += `<div class="pair"><h3>${esc(cv0.attack)}: ${esc(o)} → ${esc(p)}</h3><div class="grid">`;
      let tables = '';
      for (const cv of list) {
        const fig = add(`curve-${cv.attack}-${cv.pair.original}-${cv.pair.predicted}-${cv.metric}`, 'curves', `${metricName(cv)}: ${cv.attack}, ${o} → ${p}`, metricCurveSvg(cv, names));
        body += figureHtml(fig, esc(`${fig.title}. Mean ± std over ${cv.original[0]?.count ?? 'the'} adversarial examples.`));
        tables += curveTable(cv, names);
      }
      body += `</div><div class="tables">${tables}</div></div>`;
    }
  }

  // 2. UMAP maps
  if (data.umap.length) {
    body += '<h2 id="umap">UMAP maps of hidden activations</h2>';
    body += '<p class="sub">Test points are coloured by true class; adversarial examples (triangles) by predicted class; rubbish inputs (diamonds) by target class.</p><div class="grid">';
    let table = '<table><caption>UMAP panels</caption><thead><tr><th>layer</th><th>attack</th><th>mode</th><th>test</th><th>adversarial</th><th>rubbish</th><th>seed</th><th>epochs</th></tr></thead><tbody>';
    for (const panel of data.umap) {
      const fig = add(`umap-${panel.attack}-${panel.layer}`, 'umap', `UMAP of ${panel.layer} (${panel.attack})`, umapSvg(panel, names));
      const counts = [0, 0, 0];
      for (let i = 0; i < panel.kind.length; i++) counts[panel.kind[i]!]!++;
      body += figureHtml(fig, esc(`${fig.title}: ${panel.x.length} points, ${panel.mode === 'union' ? 'fitted on the union' : 'fit then transform'}.`));
      table += `<tr><td>${esc(panel.layer)}</td><td>${esc(panel.attack)}</td><td>${panel.mode}</td><td>${counts[0]}</td><td>${counts[1]}</td><td>${counts[2]}</td><td>${panel.seed}</td><td>${panel.nEpochs}</td></tr>`;
    }
    body += `</div>${table}</tbody></table>`;
  }

  // 3. image grids
  if (data.grids.length) {
    body += '<h2 id="images">Images</h2><div class="grid">';
    for (const g of data.grids) {
      const fig = add(`grid-${g.kind}-${g.attack ?? ''}-${g.layer ?? ''}`, 'images', g.title, imageGridSvg(g));
      body += figureHtml(fig, esc(`${g.title} (${g.shape[0]} images, ${g.shape[1]}×${g.shape[2]}${g.shape[3] === 3 ? ' RGB' : ''})`));
    }
    body += '</div>';
  }

  // 4. SNNL
  if (data.snnl.length) {
    body += '<h2 id="snnl">Soft nearest neighbour loss per layer</h2>';
    body += '<p class="sub">ℓ* near the chance level ℓ∞ means the two groups are entangled; near 0, separated.</p>';
    for (const s of data.snnl) {
      const fig = add(`snnl-${s.attack}`, 'snnl', `SNNL across layers: ${s.attack}`, snnlSvg(s));
      let t = `<table><caption>SNNL: ${esc(s.attack)}</caption><thead><tr><th>layer</th><th>test vs adversarial</th><th>test vs rubbish</th><th>ℓ∞</th></tr></thead><tbody>`;
      s.layers.forEach((layer, i) => {
        t += `<tr><td>${esc(layer)}</td><td>${statCell(s.testVsAdversarial[i]!)}</td><td>${statCell(s.testVsRubbish[i]!)}</td><td>${fmt(s.chance[i]!, 4)}</td></tr>`;
      });
      body += `<div class="grid"><div>${figureHtml(fig, esc(fig.title))}</div>${t}</tbody></table></div>`;
    }
  }

  const html = `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(data.title)}</title><meta name="generator" content="ae-manifold ${VERSION}"><style>${CSS}</style></head><body>${body}</body></html>\n`;
  return { html, svgs, json: reportToJson(data), figures };
}
