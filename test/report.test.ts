import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLValidator } from 'fast-xml-parser';
import { decode as decodePng } from 'fast-png';
import { AbortedError, InvalidArgumentError, ShapeMismatchError } from '../src/errors.js';
import { createRng } from '../src/internal/rng.js';
import { renderReport, reportFromJson, reportToJson, type ReportData } from '../src/report/index.js';
import { svgToPng, writeReport } from '../src/report/node.js';
import { expectTypedError } from './support/tf.js';

const LAYERS = ['input', 'conv1', 'pool1', 'relu1', 'dense128', 'logits'];

function sampleData(): ReportData {
  const rng = createRng(77);
  const stat = (m: number) => ({ mean: m, std: 0.1 * m, q1: 0.9 * m, median: m, q3: 1.1 * m, count: 40 });
  const n = 300;
  const x = new Float32Array(n);
  const y = new Float32Array(n);
  const kind = new Uint8Array(n);
  const label = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    label[i] = i % 10;
    kind[i] = i < 260 ? 0 : i < 285 ? 1 : 2;
    x[i] = (i % 10) + rng.normal() * 0.3 + (kind[i] === 2 ? 15 : 0);
    y[i] = Math.floor((i % 10) / 3) + rng.normal() * 0.3;
  }
  const img = Float32Array.from({ length: 4 * 8 * 8 }, (_, i) => (i % 8) / 7);
  return {
    title: 'Test <report> & "quotes"',
    subtitle: 'synthetic',
    notes: ['a note'],
    config: { dataset: 'mnist', attacks: ['cw-l2'], nested: { k: 50 } },
    seed: 42,
    classNames: ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'],
    curves: [
      { attack: 'cw-l2', pair: { original: 4, predicted: 9 }, metric: 'convexHullProximity', layers: LAYERS, original: LAYERS.map((_, i) => stat(2 + i * 0.3)), predicted: LAYERS.map((_, i) => stat(6 - i * 0.2)) },
      { attack: 'cw-l2', pair: { original: 4, predicted: 9 }, metric: 'knnPercentileRank', layers: LAYERS, original: LAYERS.map((_, i) => stat(0.1 + i * 0.1)), predicted: LAYERS.map(() => ({ mean: 0.5, std: 0.05 })) },
      { attack: 'cw-l0', pair: { original: 1, predicted: 8 }, metric: 'custom', metricLabel: 'my metric', layers: ['a', 'b'], original: [stat(1), stat(2)], predicted: [stat(3), { mean: NaN, std: 0 }] },
    ],
    umap: [{ attack: 'cw-l2', layer: 'relu1', mode: 'union', seed: 3, nEpochs: 200, x, y, kind, label }],
    grids: [
      { title: 'Originals', kind: 'original', shape: [4, 8, 8, 1], images: img, captions: ['a', 'b', 'c', 'd'] },
      { title: 'Perturbations', kind: 'perturbation', shape: [2, 4, 4, 3], images: Float32Array.from({ length: 96 }, (_, i) => Math.sin(i) * 0.1), amplification: 10 },
    ],
    snnl: [
      { attack: 'cw-l2', layers: LAYERS, testVsAdversarial: LAYERS.map(() => ({ mean: 0.68, std: 0.01 })), testVsRubbish: LAYERS.map((_, i) => ({ mean: 0.3 - i * 0.04, std: 0.02 })), chance: LAYERS.map(() => 0.6941) },
    ],
  };
}

describe('report: rendering', () => {
  it('renders one well-formed SVG per figure', () => {
    const data = sampleData();
    const r = renderReport(data);
    assert.equal(r.figures.length, data.curves.length + data.umap.length + data.grids.length + data.snnl.length);
    assert.deepEqual(Object.keys(r.svgs).sort(), r.figures.map((f) => f.file).sort());
    for (const [file, svg] of Object.entries(r.svgs)) {
      const v = XMLValidator.validate(svg);
      assert.equal(v, true, `${file}: ${JSON.stringify(v)}`);
      assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      assert.match(svg, /<title>[^<]+<\/title>/, `${file} has a title`);
    }
    const curve = r.svgs['curve-cw-l2-4-9-convexhullproximity.svg']!;
    for (const text of ['distance to class hull', 'original class four', 'predicted class nine', 'relu1', 'dense128', 'layer', 'mean ± std']) {
      assert.ok(curve.includes(text), `curve figure shows "${text}"`);
    }
    const umap = r.svgs['umap-cw-l2-relu1.svg']!;
    assert.equal((umap.match(/<circle /g) ?? []).length, 260 + 10 + 1, 'a dot per test point plus the legend');
    for (const text of ['adversarial (25)', 'rubbish (15)', 'test (260)', 'seven', 'UMAP 1']) assert.ok(umap.includes(text), `UMAP shows "${text}"`);
    const grid = r.svgs['grid-perturbation.svg']!;
    assert.equal((grid.match(/<image /g) ?? []).length, 2);
    assert.ok(grid.includes('amplified ×10'));
    assert.ok(r.svgs['snnl-cw-l2.svg']!.includes('chance ℓ∞'));
  });

  it('writes one self-contained HTML page with every figure and the numbers in tables', () => {
    const data = sampleData();
    const r = renderReport(data);
    assert.ok(r.html.startsWith('<!DOCTYPE html>'));
    for (const f of r.figures) assert.ok(r.html.includes(`<figure id="${f.id}"`), `page holds figure ${f.id}`);
    assert.equal((r.html.match(/<svg /g) ?? []).length, r.figures.length);
    // tables: settings + one per curve + UMAP panels + one per SNNL series
    assert.equal((r.html.match(/<table/g) ?? []).length, 1 + data.curves.length + 1 + data.snnl.length);
    assert.ok(r.html.includes('2.3 ± 0.23'), 'curve numbers appear in a table');
    assert.ok(r.html.includes('0.6941'), 'ℓ∞ appears in the SNNL table');
    assert.ok(r.html.includes('Test &lt;report&gt; &amp; &quot;quotes&quot;'), 'title escaped');
    assert.ok(!/<script|<link|src="http|href="http/.test(r.html), 'no external resources or scripts');
  });

  it('round-trips every value through JSON', () => {
    const data = sampleData();
    const json = renderReport(data).json;
    assert.equal(json, reportToJson(data));
    const back = reportFromJson(json);
    assert.deepEqual(back, data);
    assert.ok(back.umap[0]!.x instanceof Float32Array && back.umap[0]!.kind instanceof Uint8Array && back.grids[0]!.images instanceof Float32Array);
    assert.ok(Number.isNaN(back.curves[2]!.predicted[1]!.mean));
    {
      const parsed = JSON.parse(json) as { format: string; seed: number };
      assert.equal(parsed.format, 'ae-manifold-report@1');
      assert.equal(parsed.seed, 42);
    }
    assert.throws(() => reportFromJson('{"format":"other"}'), InvalidArgumentError);
    assert.throws(() => reportFromJson('not json'), InvalidArgumentError);
  });

  it('rejects malformed data naming the field', async () => {
    const bad = sampleData();
    bad.curves[0]!.original.pop();
    await expectTypedError(() => renderReport(bad), ShapeMismatchError, 'data.curves[0].original');
    const bad2 = sampleData();
    bad2.umap[0]!.kind[3] = 7;
    await expectTypedError(() => renderReport(bad2), InvalidArgumentError, 'data.umap[0].kind[3]');
    const bad3 = sampleData();
    bad3.grids[0]!.shape = [4, 8, 8, 2];
    await expectTypedError(() => renderReport(bad3), InvalidArgumentError, 'data.grids[0].shape[3]');
    await expectTypedError(() => renderReport({} as never), InvalidArgumentError, 'data.title');
  });
});

describe('report: files (Node)', () => {
  it('writes index.html, report.json and the figures, leaving no temporary files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ae-report-test-'));
    try {
      const out = await writeReport(sampleData(), dir, { png: true, pngOptions: { scale: 1 } });
      assert.equal(out.files.length, 2 + out.rendered.figures.length * 2);
      for (const f of out.files) assert.ok(existsSync(join(dir, f)), f);
      assert.equal(readFileSync(join(dir, 'index.html'), 'utf8'), out.rendered.html);
      assert.deepEqual(reportFromJson(readFileSync(join(dir, 'report.json'), 'utf8')), sampleData());
      const all = [...readdirSync(dir), ...readdirSync(join(dir, 'figures'))];
      assert.ok(!all.some((f) => f.includes('.tmp-')), 'no temporary files left');
      const png = decodePng(readFileSync(join(dir, 'figures', 'snnl-cw-l2.png')));
      assert.ok(png.width >= 500 && png.height >= 300);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an abort leaves only complete files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ae-report-test-'));
    try {
      const pre = new AbortController();
      pre.abort();
      await expectTypedError(() => writeReport(sampleData(), join(dir, 'a'), { signal: pre.signal }), AbortedError, 'writeReport');
      assert.ok(!existsSync(join(dir, 'a')));
      // a signal that turns aborted at its fourth check: the entry check, then two files
      let reads = 0;
      const signal = { get aborted() { return ++reads > 3; }, reason: 'stop' } as unknown as AbortSignal;
      await expectTypedError(() => writeReport(sampleData(), join(dir, 'b'), { signal }), AbortedError, 'stop');
      const figs = readdirSync(join(dir, 'b', 'figures'));
      assert.equal(figs.length, 2, 'two figures written, completely');
      assert.ok(!figs.some((f) => f.includes('.tmp-')));
      assert.ok(!existsSync(join(dir, 'b', 'index.html')), 'no page for an aborted report');
      const first = renderReport(sampleData()).figures[0]!;
      assert.equal(readFileSync(join(dir, 'b', 'figures', first.file), 'utf8'), renderReport(sampleData()).svgs[first.file]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rasterises a figure to PNG with drawn pixels at the requested scale', async () => {
    const r = renderReport(sampleData());
    const svg = r.svgs['curve-cw-l2-4-9-convexhullproximity.svg']!;
    const w = Number(/width="(\d+)"/.exec(svg)![1]);
    const png = decodePng(await svgToPng(svg, { scale: 2 }));
    assert.equal(png.width, 2 * w);
    let dark = 0;
    for (let p = 0; p < png.width * png.height; p++) if (png.data[p * png.channels]! < 128) dark++;
    assert.ok(dark > 1000, `${dark} dark pixels (text, axes, lines)`);
    await expectTypedError(() => svgToPng('nope'), InvalidArgumentError, 'svg');
    await expectTypedError(() => svgToPng(svg, { scale: 0 }), InvalidArgumentError, 'options.scale');
  });
});

describe('report: PNG encoder of the image grids', () => {
  it('encodes grey and RGB images that a PNG decoder reads back exactly', async () => {
    const { encodePng } = await import('../src/report/png-encode.js');
    for (const ch of [1, 3] as const) {
      const w = 300;
      const h = 250; // > 65,535 bytes of RGB: several stored blocks
      const px = Uint8Array.from({ length: w * h * ch }, (_, i) => (i * 7 + (i >> 5)) & 255);
      const img = decodePng(encodePng(px, w, h, ch));
      assert.equal(img.width, w);
      assert.equal(img.height, h);
      assert.equal(img.channels, ch);
      assert.deepEqual(Uint8Array.from(img.data), px);
    }
  });
});
