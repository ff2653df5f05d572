// The BUILT package (dist/, made by `npm run build`) as a consumer sees it: an ESM and a CommonJS
// program import `ae-manifold` and `ae-manifold/node` through node_modules and must get the same
// values; and nothing reachable from the browser entry may import a Node built-in.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** The repository root: the first folder above this file with ae-manifold's package.json. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'ae-manifold') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('package-exports test: cannot find the ae-manifold package.json above ' + import.meta.url);
    dir = up;
  }
}

const root = repoRoot();
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
};
const BUILT = ['dist/esm/index.js', 'dist/esm/node/index.js', 'dist/cjs/index.js', 'dist/cjs/node/index.js', 'dist/cjs/package.json'];
let tmp = '';

before(() => {
  const missing = BUILT.filter((f) => !existsSync(join(root, f)));
  assert.deepEqual(missing, [], `the built package is missing ${missing.join(', ')} under ${root}: run \`npm run build\` first (npm test does it)`);
  tmp = mkdtempSync(join(tmpdir(), 'ae-manifold-consumer-'));
  mkdirSync(join(tmp, 'node_modules'));
  symlinkSync(root, join(tmp, 'node_modules', 'ae-manifold'), 'dir');
  writeFileSync(join(tmp, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
});
after(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

// The same program in both module systems: it prints what it saw as one JSON line.
const BODY = `
const rng = createRng(42);
const set = await loadMnist({ subset: { count: 3 } });
const cifar = await loadCifar10({ split: 'train', subset: { count: 20, mode: 'stratified', seed: 5 } });
let error;
try { await loadMnist({ dir: ${JSON.stringify(join(tmpdir(), 'ae-manifold-no-such-dir'))} }); } catch (e) { error = e; }
let pixelSum = 0;
for (const v of set.images) pixelSum += v;
out({
  version: VERSION,
  seed: rng.seed,
  draws: [rng.next(), rng.next(), rng.int(1000)],
  cifarMean: NORMALIZATION.cifar10.mean,
  shape: set.shape,
  labels: Array.from(set.labels),
  pixelSum,
  subset: set.subset.mode,
  cifar: { shape: cifar.shape, labels: Array.from(cifar.labels), seed: cifar.subset.seed, first: Math.round(cifar.images[0] * 255) },
  typedError: error instanceof DataUnavailableError && error instanceof AeManifoldError,
  errorCode: error && error.code,
  nodeOnlyInBrowserEntry: ['loadMnist', 'loadCifar10', 'packageRoot'].filter((k) => k in browserEntry),
});`;

const ESM = `import { createRng, VERSION, NORMALIZATION, DataUnavailableError, AeManifoldError } from 'ae-manifold';
import * as browserEntry from 'ae-manifold';
import { loadMnist, loadCifar10 } from 'ae-manifold/node';
const out = (o) => console.log(JSON.stringify({ ...o, resolved: [import.meta.resolve('ae-manifold'), import.meta.resolve('ae-manifold/node')] }));
${BODY}
`;

const CJS = `const browserEntry = require('ae-manifold');
const { createRng, VERSION, NORMALIZATION, DataUnavailableError, AeManifoldError } = browserEntry;
const { loadMnist, loadCifar10 } = require('ae-manifold/node');
const out = (o) => console.log(JSON.stringify({ ...o, resolved: [require.resolve('ae-manifold'), require.resolve('ae-manifold/node')] }));
(async () => {
${BODY}
})().catch((e) => { console.error(e); process.exit(1); });
`;

function runConsumer(file: string, source: string): Record<string, unknown> {
  writeFileSync(join(tmp, file), source);
  let stdout: string;
  try {
    stdout = execFileSync(process.execPath, [file], { cwd: tmp, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string };
    assert.fail(`${file} failed against the built package:\n${err.stderr ?? ''}${err.stdout ?? ''}`);
  }
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
}

test('an ESM and a CommonJS consumer import ae-manifold and ae-manifold/node and see the same values', () => {
  const esm = runConsumer('consumer.mjs', ESM);
  const cjs = runConsumer('consumer.cjs', CJS);
  const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  assert.equal(esm.version, version);
  assert.deepEqual(esm.shape, [3, 28, 28, 1]);
  assert.deepEqual(esm.labels, [7, 2, 1]);
  assert.equal(esm.seed, 42);
  const cifar = esm.cifar as { shape: number[]; labels: number[]; seed: number };
  assert.deepEqual(cifar.shape, [20, 32, 32, 3]);
  assert.equal(cifar.seed, 5);
  assert.deepEqual([...cifar.labels].sort(), [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9]);
  assert.equal(esm.typedError, true, 'a loader error is an instance of the DataUnavailableError the browser entry exports');
  assert.equal(esm.errorCode, 'DATA_UNAVAILABLE');
  assert.deepEqual(esm.nodeOnlyInBrowserEntry, []);
  const { resolved: esmResolved, ...esmValues } = esm;
  const { resolved: cjsResolved, ...cjsValues } = cjs;
  assert.deepEqual(cjsValues, esmValues);
  // each consumer got its own build
  const rel = (p: string) => relative(root, p.startsWith('file:') ? fileURLToPath(p) : p).split('\\').join('/');
  assert.deepEqual((esmResolved as string[]).map(rel), ['dist/esm/index.js', 'dist/esm/node/index.js']);
  assert.deepEqual((cjsResolved as string[]).map(rel), ['dist/cjs/index.js', 'dist/cjs/node/index.js']);
});

/** Name of the npm package a bare specifier points into ('@scope/name/sub' → '@scope/name'). */
function packageName(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/**
 * Walks the relative imports (static, dynamic, re-exports, require calls) of the built files from
 * `entry`; returns every file reached and every non-relative specifier with the file using it.
 */
function importGraph(entry: string): { files: string[]; external: Array<{ spec: string; from: string }> } {
  const seen = new Set<string>();
  const external: Array<{ spec: string; from: string }> = [];
  const queue = [resolve(root, entry)];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    assert.ok(existsSync(file), `${relative(root, file)} is imported but does not exist`);
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const { fileName: spec } of info.importedFiles) {
      if (spec.startsWith('./') || spec.startsWith('../')) queue.push(resolve(dirname(file), spec));
      else external.push({ spec, from: relative(root, file) });
    }
  }
  return { files: [...seen].map((f) => relative(root, f)), external };
}

test('nothing reachable from the browser entry (ESM and CJS builds) imports a Node built-in or an undeclared package', () => {
  const allowed = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]);
  for (const entry of ['dist/esm/index.js', 'dist/cjs/index.js']) {
    const { files, external } = importGraph(entry);
    assert.ok(files.length > 5, `${entry} reaches only ${files.length} files`);
    assert.ok(files.some((f) => f.endsWith('errors.js')), `${entry} does not reach errors.js`);
    const builtins = external.filter(({ spec }) => spec.startsWith('node:') || isBuiltin(spec));
    assert.deepEqual(builtins, [], `${entry} reaches Node built-ins: ${builtins.map((b) => `${b.spec} (in ${b.from})`).join(', ')}`);
    const undeclared = external.filter(({ spec }) => !allowed.has(packageName(spec)));
    assert.deepEqual(undeclared, [], `${entry} imports packages that are not dependencies or peer dependencies`);
  }
});

test('the Node entry and the attack worker threads (ESM and CJS builds) import only Node built-ins, dependencies and peer dependencies', () => {
  const allowed = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]);
  // The worker entry is started from a path, not imported, so it is walked on its own.
  for (const entry of ['dist/esm/node/index.js', 'dist/cjs/node/index.js', 'dist/esm/parallel/attack-worker.js', 'dist/cjs/parallel/attack-worker.js']) {
    const { external } = importGraph(entry);
    const undeclared = external.filter(({ spec }) => !(spec.startsWith('node:') || isBuiltin(spec)) && !allowed.has(packageName(spec)));
    assert.deepEqual(undeclared, [], `${entry} imports packages a consumer would not have installed`);
  }
});
