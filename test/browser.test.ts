// The library in the browser: the `ae-manifold` entry bundles with esbuild for `platform: 'browser'`
// (no Node built-ins), and a page served on 127.0.0.1 runs probeLayers, a short CW-L2 and
// projectUmap in Debian's headless chromium (through playwright-core, never a downloaded browser)
// on the cpu backend and on WebGL when the browser has it; the numbers must match the same run in
// Node on the cpu backend. Also opens examples/browser/ and checks a screenshot of its figure, and
// runs CW-L2 and SNNL on WebGL forced onto float16 textures (docs/attacks.md, "Float16 backends").
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decode } from 'fast-png';
import { useCpu, tf } from './support/tf.js';
import { bundleLibrary, bundlePage } from './support/browser/bundle.js';
import type { BundleResult } from './support/browser/bundle.js';
import { chromiumMissing, launchChromium } from './support/browser/chromium.js';
import type { ChromiumSession } from './support/browser/chromium.js';
import { serveFiles } from './support/browser/server.js';
import type { ServedFile, StaticServer } from './support/browser/server.js';
import { runScenarioChecked } from './support/browser/scenario.js';
import type { ScenarioResult } from './support/browser/scenario.js';
import type { BackendRun } from './support/browser/page-entry.js';
import type { Float16ScenarioResult } from './support/browser/float16-scenario.js';

const here = dirname(fileURLToPath(import.meta.url)); // <build>/test
const buildDir = resolve(here, '..');
const root = (() => {
  let dir = buildDir;
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'ae-manifold') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`browser test: no ae-manifold package.json above ${buildDir}`);
    dir = up;
  }
})();
/** The library's browser entry compiled from the current sources by the same tsc run as this test. */
const LIB_ENTRY = join(buildDir, 'src', 'index.js');
const PAGE_ENTRY = join(buildDir, 'test', 'support', 'browser', 'page-entry.js');
const EXAMPLE_ENTRY = join(buildDir, 'examples', 'browser', 'main.js');
const EXAMPLE_HTML = join(root, 'examples', 'browser', 'index.html');

const PAGE_HTML = `<!doctype html><html><head><meta charset="utf-8"><title>ae-manifold browser test</title></head>
<body><script src="/bundle.js"></script></body></html>`;

let pageBundle: BundleResult;
let exampleBundle: BundleResult;
let server: StaticServer | null = null;
let browser: ChromiumSession | null = null;
let nodeRun: ScenarioResult;

function maxAbsDiff(a: readonly number[], b: readonly number[]): number {
  assert.equal(a.length, b.length, 'length differs');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

before(async () => {
  const missing = chromiumMissing();
  if (missing) throw new Error(missing); // fails every test below with the apt-get hint
  pageBundle = await bundlePage(PAGE_ENTRY);
  exampleBundle = await bundlePage(EXAMPLE_ENTRY, LIB_ENTRY);
  const files = new Map<string, ServedFile>([
    ['/', { body: PAGE_HTML, type: 'text/html; charset=utf-8' }],
    ['/bundle.js', { body: pageBundle.code, type: 'text/javascript; charset=utf-8' }],
    ['/example/', { body: readFileSync(EXAMPLE_HTML, 'utf8'), type: 'text/html; charset=utf-8' }],
    ['/example/example.js', { body: exampleBundle.code, type: 'text/javascript; charset=utf-8' }],
  ]);
  server = await serveFiles(files);
  browser = await launchChromium();
  await useCpu();
  nodeRun = await runScenarioChecked();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

test('the ae-manifold browser entry bundles for platform browser with no Node built-ins', async () => {
  const entries = [LIB_ENTRY];
  const dist = join(root, 'dist', 'esm', 'index.js');
  if (existsSync(dist)) entries.push(dist); // the published build as well, when it has been built
  for (const entry of entries) {
    // esbuild with platform 'browser' rejects a Node built-in it cannot resolve: a throw here is the failure.
    const lib = await bundleLibrary(entry);
    assert.deepEqual(lib.nodeBuiltins, [], `${entry} pulls in Node built-ins`);
    assert.ok(lib.bytes > 10_000, `bundle of ${entry} is suspiciously small (${lib.bytes} bytes)`);
    assert.ok(!lib.inputs.some((f) => f.includes('@tensorflow/')), 'tfjs must stay external to the library bundle (peer dependency)');
    assert.ok(!lib.inputs.some((f) => f.includes('resvg')), 'the browser entry must not pull the PNG encoder (resvg wasm)');
  }
  for (const b of [pageBundle, exampleBundle]) {
    assert.deepEqual(b.nodeBuiltins, []);
    for (const pkg of ['tfjs-core', 'tfjs-layers', 'tfjs-backend-cpu', 'tfjs-backend-webgl']) {
      assert.ok(b.inputs.some((f) => f.includes(`@tensorflow/${pkg}/`)), `page bundle lacks @tensorflow/${pkg}`);
    }
  }
});

test('probeLayers, CW-L2 and projectUmap in chromium match Node (cpu; WebGL when available)', { timeout: 240_000 }, async () => {
  const page = await browser!.context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await page.goto(`${server!.origin}/`);
    await page.waitForFunction(() => typeof (globalThis as unknown as { aeScenario?: unknown }).aeScenario === 'function', undefined, { timeout: 30_000 });
    assert.deepEqual(errors, []);
    const run = (backend: string) =>
      page.evaluate(
        (b) => (globalThis as unknown as { aeScenario: (b: string) => Promise<BackendRun> }).aeScenario(b),
        backend,
      );

    // cpu: the same kernels as Node, so probes, attack and UMAP must agree closely (UMAP bit for bit).
    const cpu = await run('cpu');
    assert.equal(cpu.available, true, `cpu backend unavailable in chromium: ${cpu.error}`);
    const c = cpu.result!;
    assert.equal(c.backend, 'cpu');
    assert.equal(c.leakedTensors, 0, 'tensors leaked in the browser (cpu)');
    for (let l = 0; l < nodeRun.layers.length; l++) {
      const d = maxAbsDiff(c.layers[l]!.data, nodeRun.layers[l]!.data);
      assert.ok(d <= 1e-5, `layer ${nodeRun.layers[l]!.name}: browser cpu differs from Node by ${d}`);
    }
    assert.deepEqual(c.labels, nodeRun.labels);
    assert.deepEqual(c.cw.success, nodeRun.cw.success);
    assert.deepEqual(c.cw.predicted, nodeRun.cw.predicted);
    assert.ok(maxAbsDiff(c.cw.distance, nodeRun.cw.distance) <= 1e-4, 'CW-L2 distances differ between browser cpu and Node');
    assert.equal(c.umap.seed, nodeRun.umap.seed);
    // UMAP: the neighbour graph and the seeded start are the same as in Node; the 60 epochs of
    // layout use Math.exp/Math.log, which differ in the last bit between Node 20's V8 and
    // Chromium's V8 (measured: ~10-15% of results), and the layout amplifies that. So the guarantee
    // is "same seed + same backend + same JS engine → bit-identical", checked by a rerun in the page.
    assert.deepEqual(c.umap.knnIndices, nodeRun.umap.knnIndices, 'UMAP kNN graph differs between browser cpu and Node');
    assert.ok(maxAbsDiff(c.umap.knnDistances, nodeRun.umap.knnDistances) <= 1e-6, 'UMAP kNN distances differ');
    assert.ok(maxAbsDiff(c.umapOneEpoch, nodeRun.umapOneEpoch) <= 1e-4, 'UMAP seeded start (1 epoch) differs between browser and Node');
    assert.equal(c.umapRepeatIdentical, true, 'projectUmap with the same seed gave two different embeddings in the browser');
    assert.equal(nodeRun.umapRepeatIdentical, true, 'projectUmap with the same seed gave two different embeddings in Node');
    assert.ok(c.umap.data.every(Number.isFinite));
    console.log(
      `# browser cpu vs Node: kNN graph identical, 1-epoch start Δ=${maxAbsDiff(c.umapOneEpoch, nodeRun.umapOneEpoch)}, ` +
        `60-epoch embedding Δ=${maxAbsDiff(c.umap.data, nodeRun.umap.data).toExponential(2)}`,
    );
    console.log(`# browser cpu: probes Δ≤1e-5, CW-L2 ${c.cw.success.filter((s) => s).length}/${c.cw.success.length} succeeded as in Node, UMAP kNN + start identical, rerun in page bit-identical`);

    // WebGL: SwiftShader may or may not give it under --disable-gpu; report what ran.
    const gl = await run('webgl');
    if (!gl.available) {
      console.log(`# WebGL unavailable in headless chromium (${gl.error}); only the cpu backend was compared`);
      return;
    }
    const g = gl.result!;
    assert.equal(g.backend, 'webgl');
    console.log(`# WebGL really ran (tfjs floatPrecision() ${g.floatPrecision}, measured ${g.measuredPrecision})`);
    // Float32 textures here: the library must not mistake them for float16 (tfjs's floatPrecision() does).
    assert.equal(g.measuredPrecision, 32, 'backendFloatPrecision() on WebGL with float32 textures');
    assert.equal(g.leakedTensors, 0, 'tensors leaked in the browser (webgl)');
    const tol = g.floatPrecision === 16 ? 5e-2 : 1e-4;
    const glDiffs: string[] = [];
    for (let l = 0; l < nodeRun.layers.length; l++) {
      const d = maxAbsDiff(g.layers[l]!.data, nodeRun.layers[l]!.data);
      glDiffs.push(`${nodeRun.layers[l]!.name} ${d.toExponential(1)}`);
      assert.ok(d <= tol, `layer ${nodeRun.layers[l]!.name}: webgl differs from Node by ${d} (tolerance ${tol})`);
    }
    console.log(`# webgl probes max |Δ| vs Node: ${glDiffs.join(', ')}; CW-L2 distances webgl [${g.cw.distance.map((v) => v.toFixed(3)).join(' ')}] vs Node [${nodeRun.cw.distance.map((v) => v.toFixed(3)).join(' ')}]`);
    assert.deepEqual(g.labels, nodeRun.labels);
    // The attack is a 120-step optimisation: on another backend its path can drift a little.
    const nodeOk = nodeRun.cw.success.reduce((s, v) => s + v, 0);
    const glOk = g.cw.success.reduce((s, v) => s + v, 0);
    assert.ok(Math.abs(nodeOk - glOk) <= 1, `CW-L2 successes: webgl ${glOk}, Node ${nodeOk}`);
    for (let i = 0; i < g.cw.distance.length; i++) {
      if (g.cw.success[i] && nodeRun.cw.success[i]) {
        const a = g.cw.distance[i]!;
        const b = nodeRun.cw.distance[i]!;
        assert.ok(Math.abs(a - b) <= 0.05 + 0.1 * b, `CW-L2 distance of example ${i}: webgl ${a}, Node ${b}`);
      }
    }
    assert.equal(g.umap.rows, nodeRun.umap.rows);
    assert.ok(g.umap.data.every(Number.isFinite), 'webgl UMAP embedding has non-finite values');
    console.log(`# webgl: UMAP max |Δ| vs Node cpu = ${maxAbsDiff(g.umap.data, nodeRun.umap.data).toExponential(2)} (not required to be identical across backend types)`);
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
});

test('float16 WebGL: detected, CW-L2 warns and stays in the box with re-checked success, SNNL stays finite', { timeout: 240_000 }, async () => {
  const page = await browser!.context.newPage(); // a fresh page: no WebGL backend initialised yet
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await page.goto(`${server!.origin}/`);
    await page.waitForFunction(() => typeof (globalThis as unknown as { aeFloat16Scenario?: unknown }).aeFloat16Scenario === 'function', undefined, { timeout: 30_000 });
    const r = await page.evaluate(() => (globalThis as unknown as { aeFloat16Scenario: () => Promise<Float16ScenarioResult> }).aeFloat16Scenario());
    assert.equal(r.available, true, `WebGL did not start in chromium: ${r.error}`);
    assert.equal(r.renderFloat32Enabled, false);
    console.log(`# float16 WebGL: tfjs floatPrecision() says ${r.tfjsFloatPrecision}, backendFloatPrecision() measures ${r.measuredPrecision}`);
    assert.equal(r.measuredPrecision, 16, 'half-float textures must be detected as float16');
    assert.equal(r.cpuMeasuredPrecision, 32);
    assert.equal(r.leakedTensors, 0, 'tensors leaked on float16 WebGL');
    const N = r.labels.length;
    for (const run of r.runs) {
      const tag = `κ=${run.confidence}`;
      assert.equal(run.warnings.length, 1, `${tag}: one float16 warning expected, got ${JSON.stringify(run.warnings)}`);
      assert.match(run.warnings[0]!, /^carliniWagnerL2: the webgl backend stores tensors in float16/);
      assert.ok(run.adversarial.every((v) => Number.isFinite(v) && v >= 0 && v <= 1), `${tag}: adversarial values outside [0, 1] or not finite`);
      // Success is re-checked: a fresh float16 prediction of the returned inputs gives the same classes.
      assert.deepEqual(run.repredictedFloat16, run.predicted, `${tag}: predicted differs from a fresh float16 prediction`);
      for (let i = 0; i < N; i++) {
        assert.equal(run.success[i], run.predicted[i] !== r.labels[i] ? 1 : 0, `${tag}: success of example ${i} does not match its prediction`);
        const d = run.distance[i] ?? null;
        if (run.success[i]) {
          let acc = 0;
          for (let k = 0; k < 8; k++) acc += (run.adversarial[i * 8 + k]! - r.inputs[i * 8 + k]!) ** 2;
          assert.ok(d !== null && Math.abs(d - Math.sqrt(acc)) <= 1e-6, `${tag}: distance of example ${i} is ${d}, the returned input is ${Math.sqrt(acc)} away`);
        } else assert.equal(d, null, `${tag}: a failed example must have distance Infinity`);
      }
      const ok = run.success.reduce((a, b) => a + b, 0);
      // Values exactly at 0 or 1 can move (with the float32 shrink factor their gradient is exactly 0 in float16).
      let edgeMoved = 0;
      for (let i = 0; i < N; i++) {
        if (!run.success[i]) continue;
        for (let k = 0; k < 8; k++) {
          const x0 = r.inputs[i * 8 + k]!;
          if ((x0 === 0 || x0 === 1) && Math.abs(run.adversarial[i * 8 + k]! - x0) > 1e-3) edgeMoved++;
        }
      }
      console.log(
        `# float16 CW-L2 ${tag}: ${ok}/${N} succeeded (cpu κ=0: ${r.cpuRun.success.reduce((a, b) => a + b, 0)}/${N}), ` +
          `distances [${run.distance.map((v) => (v === null ? 'inf' : v.toFixed(3))).join(' ')}] vs cpu [${r.cpuRun.distance.map((v) => (v === null ? 'inf' : v.toFixed(3))).join(' ')}], ` +
          `${edgeMoved} edge values moved, cpu margins [${run.cpuMargin.map((v) => v.toFixed(4)).join(' ')}]`,
      );
      assert.ok(ok >= N - 2, `${tag}: only ${ok}/${N} adversarial examples on float16 WebGL`);
      assert.ok(edgeMoved > 0, `${tag}: no value at 0 or 1 moved: the edges are frozen`);
    }
    // With a confidence above the float16 logit error, every success holds on float32 (cpu).
    const k = r.runs.find((run) => run.confidence > 0)!;
    for (let i = 0; i < N; i++) {
      if (k.success[i]) assert.ok(k.cpuMargin[i]! > 0 && k.repredictedCpu[i] !== r.labels[i], `κ=${k.confidence}: example ${i} is not adversarial on cpu (margin ${k.cpuMargin[i]})`);
    }
    // SNNL: finite where the squared distances overflow float16, and close to float32.
    for (let t = 0; t < r.snnl.temperatures.length; t++) {
      const a = r.snnl.float16[t]!;
      const b = r.snnl.cpu[t]!;
      assert.ok(Number.isFinite(a), `SNNL at T=${r.snnl.temperatures[t]} is ${a} on float16`);
      assert.ok(Math.abs(a - b) <= 2e-3 + 5e-3 * Math.abs(b), `SNNL at T=${r.snnl.temperatures[t]}: float16 ${a}, cpu ${b}`);
    }
    assert.equal(r.snnl.gradFinite, true, 'SNNL gradient has non-finite values on float16');
    const o16 = r.optimal.float16;
    const o32 = r.optimal.cpu;
    assert.ok([o16.loss, o16.temperature, o16.mu].every(Number.isFinite), `optimalSnnl on float16: ${JSON.stringify(o16)}`);
    assert.ok(Math.abs(o16.mu - o32.mu) <= 1e-5 * o32.mu, `median squared distance: float16 ${o16.mu}, cpu ${o32.mu}`);
    assert.ok(Math.abs(o16.loss - o32.loss) <= 1e-4, `optimal SNNL: float16 ${o16.loss}, cpu ${o32.loss}`);
    console.log(`# float16 SNNL at T=[${r.snnl.temperatures.join(', ')}]: [${r.snnl.float16.map((v) => v.toFixed(4)).join(' ')}] vs cpu [${r.snnl.cpu.map((v) => v.toFixed(4)).join(' ')}]; ℓ* ${o16.loss} vs ${o32.loss}`);
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
});

test('examples/browser draws a UMAP map with adversarial examples (screenshot has figure pixels)', { timeout: 240_000 }, async () => {
  const page = await browser!.context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await page.goto(`${server!.origin}/example/?backend=cpu`); // cpu: fast and the same everywhere
    await page.waitForFunction(() => document.body.dataset['status'] !== 'loading', undefined, { timeout: 180_000 });
    const status = await page.evaluate(() => ({
      status: document.body.dataset['status'],
      text: document.getElementById('status')?.textContent ?? '',
      info: (globalThis as unknown as { aeExample?: { backend: string; points: number; succeeded: number } }).aeExample ?? null,
    }));
    assert.equal(status.status, 'done', `example page failed: ${status.text} ${errors.join('; ')}`);
    assert.equal(status.info!.points, 90 + 15);
    assert.ok(status.info!.succeeded >= 10, `only ${status.info!.succeeded}/15 adversarial examples found`);
    console.log(`# example page: ${status.text}`);

    const png = await page.locator('#figure svg').screenshot();
    const img = decode(png);
    assert.ok(img.width >= 400 && img.height >= 400, `figure is ${img.width}x${img.height}`);
    const ch = img.channels;
    let coloured = 0;
    const hues = new Set<string>();
    for (let p = 0; p < img.width * img.height; p++) {
      const r = Number(img.data[p * ch]);
      const g = Number(img.data[p * ch + 1]);
      const b = Number(img.data[p * ch + 2]);
      if (Math.max(r, g, b) - Math.min(r, g, b) > 60) {
        coloured++;
        hues.add(`${r >> 6},${g >> 6},${b >> 6}`);
      }
    }
    const share = coloured / (img.width * img.height);
    assert.ok(share > 0.01 && share < 0.6, `coloured pixel share ${share.toFixed(4)} (blank or flooded figure)`);
    assert.ok(hues.size >= 3, `only ${hues.size} colour bins drawn; expected the three class colours`);
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
});

test('Node reference run leaves no tensors behind', () => {
  assert.equal(nodeRun.leakedTensors, 0);
  assert.equal(nodeRun.backend, 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
});
