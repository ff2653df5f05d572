/**
 * Renders a study report from realistic data, opens its HTML in headless Chromium (Debian's
 * `chromium`, driven by playwright-core; never a downloaded browser), screenshots the page and each
 * figure, and checks what a person would see: the page loads without console errors, every figure
 * is laid out with a visible size, and every figure has drawn (non-white) pixels.
 *
 * The UMAP maps are real: projectUmapMap of MNIST test images (pixels, and a fixed random ReLU
 * layer of them). The "adversarial" and "rubbish" points and the metric/SNNL numbers are
 * synthetic stand-ins of plausible size (METHODS §9), labelled as such on the page, until the
 * study produces real ones.
 *
 * node build-test/bench/report-screenshot.js [--out DIR] [--n 3000] [--chromium /usr/bin/chromium] [--no-png]
 * Prints JSON lines; exits non-zero when a check fails.
 */
import { CHROMIUM_ARGS } from '../test/support/browser/chromium.js';
import * as tf from '@tensorflow/tfjs-core';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { decode as decodePng } from 'fast-png';
import { createRng } from '../src/internal/rng.js';
import { projectUmapMap } from '../src/projection/index.js';
import type { ImageGrid, LayerStat, MetricCurve, ReportData, SnnlSeries, UmapPanel } from '../src/report/index.js';
import { writeReport } from '../src/report/node.js';
import { loadMnist, useBenchWasm } from './knn-support.js';
import { emit, mnistDataDir, note, parseArgs } from './util.js';

const LAYERS = ['input', 'conv1', 'pool1', 'relu1', 'conv2', 'pool2', 'relu2', 'logits'];
const CLASS_NAMES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

function stat(mean: number, std: number, count = 120): LayerStat {
  return { mean, std, q1: mean - 0.67 * std, median: mean, q3: mean + 0.67 * std, count };
}

/** Curves shaped like METHODS §9 (Method B, 4→9: cross only at the logits). */
function syntheticCurves(rng: ReturnType<typeof createRng>): MetricCurve[] {
  const out: MetricCurve[] = [];
  const pairs: [string, number, number][] = [
    ['cw-l0', 4, 9],
    ['cw-l2', 2, 8],
  ];
  for (const [attack, o, p] of pairs) {
    const hullO = [2.6, 2.9, 3.0, 3.1, 3.3, 3.4, 3.6, 5.4];
    const hullP = [6.1, 5.9, 5.7, 5.6, 5.4, 5.2, 4.9, 5.2];
    out.push({
      attack,
      pair: { original: o, predicted: p },
      metric: 'convexHullProximity',
      metricLabel: 'distance to class hull (input space)',
      layers: LAYERS,
      original: hullO.map((m) => stat(m * (1 + 0.05 * rng.normal()), m * 0.12)),
      predicted: hullP.map((m) => stat(m * (1 + 0.05 * rng.normal()), m * 0.1)),
    });
    const ncdO = [0.9, 0.95, 0.97, 1.0, 1.05, 1.1, 1.2, 1.6];
    const ncdP = [1.5, 1.45, 1.42, 1.4, 1.32, 1.25, 1.22, 1.1];
    out.push({
      attack,
      pair: { original: o, predicted: p },
      metric: 'normalizedCentroidDistance',
      layers: LAYERS,
      original: ncdO.map((m) => stat(m, 0.15)),
      predicted: ncdP.map((m) => stat(m, 0.15)),
    });
    const kprO = [0.1, 0.12, 0.15, 0.18, 0.22, 0.3, 0.42, 0.71];
    const kprP = [0.82, 0.8, 0.77, 0.7, 0.62, 0.55, 0.48, 0.3];
    out.push({
      attack,
      pair: { original: o, predicted: p },
      metric: 'knnPercentileRank',
      layers: LAYERS,
      original: kprO.map((m) => stat(m, 0.08)),
      predicted: kprP.map((m) => stat(m, 0.09)),
    });
  }
  return out;
}

function syntheticSnnl(): SnnlSeries[] {
  const chance = LAYERS.map(() => 0.6941);
  return [
    {
      attack: 'cw-l2',
      layers: LAYERS,
      testVsAdversarial: [0.69, 0.688, 0.686, 0.684, 0.68, 0.676, 0.67, 0.6].map((m) => stat(m, 0.004, 5)),
      testVsRubbish: [0.2, 0.22, 0.18, 0.15, 0.1, 0.08, 0.05, 0.03].map((m) => stat(m, 0.02, 5)),
      chance,
    },
  ];
}

export async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const outDir = resolve(typeof args.out === 'string' ? args.out : join(tmpdir(), 'ae-manifold-report-screenshot'));
  const n = Number(args.n ?? 3000);
  const chromiumPath = typeof args.chromium === 'string' ? args.chromium : '/usr/bin/chromium';
  await useBenchWasm(2);
  const rng = createRng(2024);

  // --- data: MNIST test images, synthetic adversarials (blend towards another digit) and rubbish
  const test = loadMnist(mnistDataDir(), 't10k', n + 400);
  const D = test.cols;
  const testM = { data: test.data.subarray(0, n * D), rows: n, cols: D };
  const testLabels = test.labels.subarray(0, n);
  const nAdv = 120;
  const adv = new Float32Array(nAdv * D);
  const advLabels = new Int32Array(nAdv);
  const advOrig = new Float32Array(nAdv * D);
  for (let i = 0; i < nAdv; i++) {
    const src = n + i;
    const other = n + 200 + i;
    advLabels[i] = test.labels[other]!;
    for (let j = 0; j < D; j++) {
      const x = test.data[src * D + j]!;
      advOrig[i * D + j] = x;
      adv[i * D + j] = Math.min(1, Math.max(0, x + 0.28 * (test.data[other * D + j]! - x) + 0.03 * rng.normal()));
    }
  }
  const nRub = 100;
  const rub = new Float32Array(nRub * D);
  const rubLabels = new Int32Array(nRub);
  for (let i = 0; i < nRub; i++) {
    rubLabels[i] = i % 10;
    // smooth blobs: sums of a few Gaussian bumps, unlike any digit
    const bumps = Array.from({ length: 4 }, () => [rng.next() * 28, rng.next() * 28, 2 + rng.next() * 5]);
    for (let y = 0; y < 28; y++)
      for (let x = 0; x < 28; x++) {
        let v = 0;
        for (const [bx, by, r] of bumps) v += Math.exp(-((x - bx!) ** 2 + (y - by!) ** 2) / (2 * r! * r!));
        rub[i * D + y * 28 + x] = Math.min(1, v * 0.8);
      }
  }

  // --- two "layers": pixels, and a fixed random ReLU layer of 128 units
  const W = new Float32Array(D * 128);
  for (let i = 0; i < W.length; i++) W[i] = rng.normal() / Math.sqrt(D);
  const relu = (m: Float32Array, rows: number) =>
    tf.tidy(() => {
      const h = tf.relu(tf.matMul(tf.tensor2d(m, [rows, D]), tf.tensor2d(W, [D, 128])));
      return { data: h.dataSync() as Float32Array, rows, cols: 128 };
    });
  const umap: UmapPanel[] = [];
  for (const [layer, T, A, R] of [
    ['input', testM, { data: adv, rows: nAdv, cols: D }, { data: rub, rows: nRub, cols: D }],
    ['dense128 (ReLU)', relu(testM.data, n), relu(adv, nAdv), relu(rub, nRub)],
  ] as const) {
    const t0 = performance.now();
    const map = await projectUmapMap(
      { test: { activations: T, labels: testLabels }, adversarial: { activations: A, labels: advLabels }, rubbish: { activations: R, labels: rubLabels } },
      { seed: 7 },
    );
    note(`umap ${layer}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    umap.push({ attack: 'cw-l2', layer, mode: map.mode, seed: map.seed, nEpochs: map.nEpochs, x: map.x, y: map.y, kind: map.kind, label: map.label });
  }

  const show = 10;
  const pert = new Float32Array(show * D);
  for (let i = 0; i < pert.length; i++) pert[i] = adv[i]! - advOrig[i]!;
  const captions = Array.from({ length: show }, (_, i) => `${test.labels[n + i]}→${advLabels[i]}`);
  const grids: ImageGrid[] = [
    { title: 'Originals', kind: 'original', shape: [show, 28, 28, 1], images: advOrig.slice(0, show * D), captions },
    { title: 'Adversarial examples (cw-l2, synthetic)', kind: 'adversarial', shape: [show, 28, 28, 1], images: adv.slice(0, show * D), captions },
    { title: 'Perturbations', kind: 'perturbation', shape: [show, 28, 28, 1], images: pert, captions },
    { title: 'Rubbish inputs', kind: 'rubbish', shape: [show, 28, 28, 1], images: rub.slice(0, show * D), captions: Array.from({ length: show }, (_, i) => `target ${rubLabels[i]}`) },
    {
      title: 'Method B pre-images, 2 → 8',
      kind: 'pre-image',
      shape: [LAYERS.length, 28, 28, 1],
      images: Float32Array.from({ length: LAYERS.length * D }, (_, i) => {
        const l = Math.floor(i / D);
        const j = i % D;
        const t = l / (LAYERS.length - 1);
        const two = test.data[1 * D + j]!; // test image 1 is a 2
        const eight = test.data[61 * D + j]!; // test image 61 is an 8
        return (1 - t ** 3) * two + t ** 3 * eight;
      }),
      captions: LAYERS,
      columns: LAYERS.length,
    },
  ];
  const data: ReportData = {
    title: 'ae-manifold study report: MNIST CNN (demonstration)',
    subtitle: 'Where adversarial examples live inside the network, layer by layer.',
    notes: [
      'UMAP maps are real projections of MNIST test images (input pixels, and a fixed random 128-unit ReLU layer).',
      'Adversarial and rubbish points, metric curves and SNNL values are synthetic stand-ins of plausible size for this rendering check.',
    ],
    config: { dataset: 'mnist', model: 'mnist-cnn', attacks: ['cw-l0', 'cw-l2'], umap: { nNeighbors: 15, minDist: 0.1, mode: 'union' }, testPoints: n },
    seed: 2024,
    classNames: CLASS_NAMES,
    curves: syntheticCurves(rng),
    umap,
    grids,
    snnl: syntheticSnnl(),
  };

  rmSync(outDir, { recursive: true, force: true });
  const written = await writeReport(data, outDir, { png: args['no-png'] !== true });
  emit({ bench: 'report-screenshot', phase: 'written', folder: outDir, files: written.files.length, htmlKB: Math.round(written.rendered.html.length / 1024) });

  // --- headless Chromium
  if (!existsSync(chromiumPath)) {
    note(`${chromiumPath} missing: install Debian's chromium (apt-get install -y chromium)`);
    return 2;
  }
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'ae-manifold-chromium-'));
  // a fresh profile folder (playwright passes it as --user-data-dir)
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 1400, height: 1000 },
    deviceScaleFactor: 1,
    args: CHROMIUM_ARGS,
  });
  const failures: string[] = [];
  try {
    const page = await browser.newPage();
    const consoleErrors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    page.on('requestfailed', (r) => consoleErrors.push(`request failed: ${r.url()}`));
    await page.goto(pathToFileURL(join(outDir, 'index.html')).href, { waitUntil: 'load' });
    const shot = join(outDir, 'screenshot.png');
    await page.screenshot({ path: shot, fullPage: true });
    const figs = page.locator('figure');
    const count = await figs.count();
    if (count !== written.rendered.figures.length) failures.push(`page shows ${count} figures, report has ${written.rendered.figures.length}`);
    const perFigure: Record<string, unknown>[] = [];
    for (let i = 0; i < count; i++) {
      const fig = figs.nth(i);
      const id = (await fig.getAttribute('id')) ?? `#${i}`;
      const box = await fig.boundingBox();
      if (!box || box.width < 100 || box.height < 100) failures.push(`figure ${id} laid out at ${JSON.stringify(box)}`);
      const buf = await fig.locator('svg').screenshot();
      const img = decodePng(buf);
      const ch = img.channels;
      let ink = 0;
      const px = img.width * img.height;
      for (let p = 0; p < px; p++) {
        const r = img.data[p * ch]!;
        const g = img.data[p * ch + 1]!;
        const b = img.data[p * ch + 2]!;
        if (r < 235 || g < 235 || b < 235) ink++;
      }
      const inkFraction = ink / px;
      if (inkFraction < 0.01) failures.push(`figure ${id} is nearly blank (${(inkFraction * 100).toFixed(2)} % ink)`);
      if (i < 4 || id.startsWith('umap')) writeFileSync(join(outDir, `shot-${id}.png`), buf);
      perFigure.push({ id, width: Math.round(box?.width ?? 0), height: Math.round(box?.height ?? 0), inkPercent: Math.round(inkFraction * 1000) / 10 });
    }
    const tables = await page.locator('table').count();
    if (tables < data.curves.length + data.snnl.length + 1) failures.push(`only ${tables} tables`);
    if (consoleErrors.length) failures.push(`console errors: ${consoleErrors.join(' | ')}`);
    emit({ bench: 'report-screenshot', phase: 'checked', screenshot: shot, figures: count, tables, consoleErrors: consoleErrors.length, perFigure, failures, pass: failures.length === 0 });
  } finally {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  }
  // also check a PNG written by svgToPng is a real raster
  const firstPng = written.files.find((f) => f.endsWith('.png'));
  if (firstPng) {
    const img = decodePng(readFileSync(join(outDir, firstPng)));
    emit({ bench: 'report-screenshot', phase: 'png', file: firstPng, width: img.width, height: img.height });
    if (img.width < 600) failures.push(`PNG ${firstPng} is only ${img.width} px wide`);
  }
  for (const f of failures) note(`FAIL: ${f}`);
  return failures.length ? 1 : 0;
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  main().then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
      process.exit(1);
    },
  );
}
