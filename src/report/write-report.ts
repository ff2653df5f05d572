/**
 * Node only: writes a rendered report to a folder (`writeReport`) and rasterises SVG figures to
 * PNG with resvg compiled to WebAssembly (`svgToPng`; no native code, no browser).
 * @module
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { AbortedError, DataUnavailableError, InvalidArgumentError } from '../errors.js';
import { checkKnownOptions, checkNumber, throwIfAborted } from '../internal/validate.js';
import { thisModuleFile } from '../node/module-location.js';
import { renderReport, type RenderedReport } from './render-report.js';
import type { ReportData } from './types.js';

/** Fonts tried when none are given: DejaVu Sans (Debian's `fonts-dejavu-core`), then Liberation Sans. */
const DEFAULT_FONT_FILES = [
  '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf',
  '/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf',
  '/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf',
  '/usr/share/fonts/TTF/DejaVuSans.ttf',
  '/usr/share/fonts/TTF/DejaVuSans-Bold.ttf',
  '/Library/Fonts/Arial.ttf',
  'C:\\Windows\\Fonts\\arial.ttf',
];

/**
 * Options of {@link svgToPng}.
 * @category Report
 */
export interface SvgToPngOptions {
  /** Pixels per SVG unit. Default 2 (print quality for a 640-unit-wide figure: 1,280 px). */
  scale?: number;
  /** TrueType/OpenType files for the text. Default: DejaVu Sans or Liberation Sans when installed. */
  fontFiles?: string[];
}

let resvg: Promise<typeof import('@resvg/resvg-wasm')> | undefined;
const fontCache = new Map<string, Uint8Array>();

async function loadResvg(): Promise<typeof import('@resvg/resvg-wasm')> {
  resvg ??= (async () => {
    const mod = await import('@resvg/resvg-wasm');
    const require = createRequire(thisModuleFile());
    const wasm = await readFile(require.resolve('@resvg/resvg-wasm/index_bg.wasm'));
    await mod.initWasm(wasm);
    return mod;
  })();
  return resvg;
}

async function fonts(fn: string, files: string[] | undefined): Promise<Uint8Array[]> {
  const list = files ?? DEFAULT_FONT_FILES.filter((f) => existsSync(f));
  if (list.length === 0) {
    throw new DataUnavailableError(fn, 'no font found for the figure text: pass options.fontFiles (a .ttf file), or install fonts-dejavu-core');
  }
  const out: Uint8Array[] = [];
  for (const f of list) {
    let buf = fontCache.get(f);
    if (!buf) {
      try {
        buf = new Uint8Array(await readFile(f));
      } catch (e) {
        throw new InvalidArgumentError(fn, 'options.fontFiles', 'readable font files', `${f} (${(e as Error).message})`);
      }
      fontCache.set(f, buf);
    }
    out.push(buf);
  }
  return out;
}

/**
 * Rasterises one SVG figure (as made by `renderReport`) to PNG bytes.
 *
 * @example
 * ```ts
 * import { renderReport } from 'ae-manifold';
 * import { svgToPng } from 'ae-manifold/node';
 * const stat = (mean: number) => ({ mean, std: 0.1 });
 * const { svgs } = renderReport({ title: 'demo', seed: 1, config: {}, classNames: ['4', '9'], umap: [], grids: [], curves: [],
 *   snnl: [{ attack: 'cw-l2', layers: ['input', 'relu1'], testVsAdversarial: [stat(0.69), stat(0.68)], testVsRubbish: [stat(0.3), stat(0.1)], chance: [0.694, 0.694] }] });
 * const png = await svgToPng(svgs['snnl-cw-l2.svg']!, { scale: 2 }); // PNG bytes, 1,160 px wide
 * ```
 * @category Report
 */
export async function svgToPng(svg: string, options: SvgToPngOptions = {}): Promise<Uint8Array> {
  const FN = 'svgToPng';
  checkKnownOptions(FN, options, ['scale', 'fontFiles']);
  if (typeof svg !== 'string' || !svg.includes('<svg')) throw new InvalidArgumentError(FN, 'svg', 'an SVG document string', svg);
  const scale = checkNumber(FN, 'options.scale', options.scale ?? 2, 0, 16, true);
  const mod = await loadResvg();
  const fontBuffers = await fonts(FN, options.fontFiles);
  const r = new mod.Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: '#ffffff',
    imageRendering: 1, // image grids: keep pixels sharp (nearest neighbour)
    font: { fontBuffers, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
  });
  try {
    const img = r.render();
    try {
      return img.asPng();
    } finally {
      img.free();
    }
  } finally {
    r.free();
  }
}

/**
 * Options of {@link writeReport}.
 * @category Report
 */
export interface WriteReportOptions {
  /** Also write a PNG next to every SVG. Default false. */
  png?: boolean;
  /** Options of the PNG rasterisation. */
  pngOptions?: SvgToPngOptions;
  /** Checked between files; an abort leaves no half-written file behind. */
  signal?: AbortSignal;
}

/**
 * What {@link writeReport} wrote.
 * @category Report
 */
export interface WrittenReport {
  folder: string;
  /** Paths relative to `folder`: index.html, report.json, figures/*.svg (and *.png). */
  files: string[];
  rendered: RenderedReport;
}

/**
 * Renders a report and writes it to `folder`: `index.html` (self-contained), `report.json` (every
 * value), and `figures/<id>.svg` (plus `.png` with `png: true`). Each file is written under a
 * temporary name and renamed into place, so an abort or a crash never leaves a half-written file.
 *
 * @example
 * ```ts
 * import { writeReport } from 'ae-manifold/node';
 * const stat = (mean: number) => ({ mean, std: 0.1 });
 * const { files } = await writeReport(
 *   { title: 'demo', seed: 1, config: {}, classNames: ['4', '9'], umap: [], grids: [], snnl: [],
 *     curves: [{ attack: 'cw-l2', pair: { original: 0, predicted: 1 }, metric: 'normalizedCentroidDistance',
 *       layers: ['input', 'relu1'], original: [stat(1), stat(1.2)], predicted: [stat(1.5), stat(1.1)] }] },
 *   'out/report', { png: true },
 * );
 * // files: ['figures/curve-cw-l2-0-1-normalizedcentroiddistance.svg', '….png', 'report.json', 'index.html']
 * ```
 * @category Report
 */
export async function writeReport(data: ReportData, folder: string, options: WriteReportOptions = {}): Promise<WrittenReport> {
  const FN = 'writeReport';
  checkKnownOptions(FN, options, ['png', 'pngOptions', 'signal']);
  if (typeof folder !== 'string' || folder.length === 0) throw new InvalidArgumentError(FN, 'folder', 'a folder path', folder);
  const { signal } = options;
  throwIfAborted(FN, signal);
  const rendered = renderReport(data);
  const dir = resolve(folder);
  await mkdir(join(dir, 'figures'), { recursive: true });
  const files: string[] = [];
  const tag = `.tmp-${process.pid}-${Date.now().toString(36)}`;
  const pending: string[] = [];
  const put = async (rel: string, content: string | Uint8Array) => {
    if (signal?.aborted) throw new AbortedError(FN, signal.reason);
    const target = join(dir, rel);
    const tmp = target + tag;
    pending.push(tmp);
    await writeFile(tmp, content);
    await rename(tmp, target);
    pending.pop();
    files.push(rel);
  };
  try {
    for (const fig of rendered.figures) {
      const svg = rendered.svgs[fig.file]!;
      await put(`figures/${fig.file}`, svg);
      if (options.png) await put(`figures/${fig.id}.png`, await svgToPng(svg, options.pngOptions));
    }
    await put('report.json', rendered.json);
    await put('index.html', rendered.html);
  } finally {
    for (const tmp of pending) await rm(tmp, { force: true });
  }
  return { folder: dir, files, rendered };
}
