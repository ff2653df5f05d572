// Long work stopped part-way: writeReport aborted before each of its file writes must throw
// AbortedError, leave no temporary (half-written) file in the output folder, and every file it did
// write must be complete (equal to the rendered content).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { AbortedError, renderReport } from '../src/index.js';
import type { ReportData } from '../src/index.js';
import { writeReport } from '../src/node/index.js';

const root = mkdtempSync(join(tmpdir(), 'ae-abort-'));
after(() => rmSync(root, { recursive: true, force: true }));

function data(): ReportData {
  const n = 30;
  const stat = (m: number) => ({ mean: m, std: 0.1, q1: m - 0.1, median: m, q3: m + 0.1, count: 10 });
  return {
    title: 'abort test',
    seed: 1,
    config: {},
    classNames: ['a', 'b', 'c'],
    curves: [{ attack: 'cw-l2', pair: { original: 0, predicted: 1 }, metric: 'knnPercentileRank', layers: ['l1', 'l2'], original: [stat(1), stat(2)], predicted: [stat(2), stat(1)] }],
    umap: [
      {
        attack: 'cw-l2',
        layer: 'l1',
        mode: 'union',
        seed: 3,
        nEpochs: 10,
        x: Float32Array.from({ length: n }, (_, i) => Math.sin(i)),
        y: Float32Array.from({ length: n }, (_, i) => Math.cos(i)),
        kind: Uint8Array.from({ length: n }, (_, i) => (i < 20 ? 0 : i < 25 ? 1 : 2)),
        label: Int32Array.from({ length: n }, (_, i) => i % 3),
      },
    ],
    grids: [],
    snnl: [],
  } as ReportData;
}

/** An AbortSignal that reports `aborted` from its (k+1)-th look on: stops before write number k. */
function abortAfter(k: number): AbortSignal {
  let looks = 0;
  const reason = new Error(`stopped before write ${k}`);
  const s = {
    get aborted() {
      looks += 1;
      return looks > k + 1; // the first look is the entry check
    },
    reason,
    onabort: null,
    throwIfAborted() {
      if (this.aborted) throw reason;
    },
    addEventListener() {},
    removeEventListener() {},
    dispatchEvent: () => true,
    any: undefined,
  };
  return s as unknown as AbortSignal;
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listFiles(p));
    else out.push(relative(root, p));
  }
  return out;
}

test('writeReport aborted at every stage leaves only complete files, never a temporary one', async () => {
  const rendered = renderReport(data());
  const expected = new Map<string, string>([
    ...rendered.figures.map((f) => [`figures/${f.file}`, rendered.svgs[f.file]!] as [string, string]),
    ['report.json', rendered.json],
    ['index.html', rendered.html],
  ]);
  const total = expected.size;
  for (let k = 0; k < total; k++) {
    const folder = join(root, `stop-${k}`);
    let caught: unknown;
    try {
      await writeReport(data(), folder, { signal: abortAfter(k) });
    } catch (e) {
      caught = e;
    }
    assert.ok(caught instanceof AbortedError, `stop before write ${k}: expected AbortedError, got ${String(caught)}`);
    const files = listFiles(folder).map((f) => relative(`stop-${k}`, f));
    assert.ok(!files.some((f) => f.includes('.tmp')), `temporary files left: ${files.join(', ')}`);
    assert.equal(files.length, k, `stop before write ${k}: ${files.length} files written (${files.join(', ')})`);
    for (const f of files) assert.equal(readFileSync(join(folder, f), 'utf8'), expected.get(f), `${f} is not complete`);
  }
  // and without an abort, every file is there
  const full = await writeReport(data(), join(root, 'full'));
  assert.equal(full.files.length, total);
});
